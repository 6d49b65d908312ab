import type { Client } from '@temporalio/client';
import { z } from 'zod';
import { ConsignmentItemSchema, DriverSchema, EmergencyContactSchema, ShipmentSchema, VehicleSchema, type ConsignmentItem, type Shipment } from '../../db/entities.js';
import type { EntityManager } from '../../db/orm.js';
import type { RequestContext } from '../routing.js';
import type { ResourceDefinition } from '../resource.js';
import { Problem, validationFailed, type FieldError } from '../problem.js';
import { text } from '../validation.js';
import { lockShipmentStatus, shipmentViewSql } from '../../db/shipments.js';
import { itemChangeRefusal, SHIPMENT_STATUSES } from '../../domain/shipment-lifecycle.js';
import { amendedSignal, shipmentWorkflowId } from '../../workflows/contracts/shipment.js';

const place = z.strictObject({
  address: text(500),
  location: z.tuple([z.number().min(-180).max(180), z.number().min(-90).max(90)], { error: 'must be [longitude, latitude]' }),
});
const reference = z.uuid({ error: 'must be a UUID' }).nullable();
const fields = {
  shipmentNumber: z.string().trim().toUpperCase().regex(/^[A-Z0-9][A-Z0-9-]{2,31}$/, 'must be 3–32 letters, digits or dashes'),
  origin: place,
  destination: place,
  pickupAt: z.iso.datetime({ offset: true }),
  deliverBy: z.iso.datetime({ offset: true }),
  vehicleId: reference,
  driverId: reference,
  emergencyContactId: reference,
};
const scheduleIsOrdered = (s: { pickupAt?: string; deliverBy?: string }) => !s.pickupAt || !s.deliverBy || new Date(s.deliverBy) > new Date(s.pickupAt);
const create = z
  .strictObject({ ...fields, vehicleId: reference.default(null), driverId: reference.default(null), emergencyContactId: reference.default(null) })
  .refine(scheduleIsOrdered, { path: ['deliverBy'], message: 'must be after pickupAt' });
const update = z.strictObject(fields).partial();

/** Ids in a payload must name the caller's own records: another company's id is as unknown as a made-up one. */
async function checkReferences(em: EntityManager, input: { vehicleId?: string | null; driverId?: string | null; emergencyContactId?: string | null }): Promise<void> {
  const errors: FieldError[] = [];
  const checks = [
    ['vehicleId', VehicleSchema, input.vehicleId],
    ['driverId', DriverSchema, input.driverId],
    ['emergencyContactId', EmergencyContactSchema, input.emergencyContactId],
  ] as const;
  for (const [path, schema, id] of checks) {
    if (id && !(await em.findOne(schema as never, { id } as never))) errors.push({ path, message: 'no such record in your company' });
  }
  if (errors.length) throw validationFailed(errors);
}

const point = (location: [number, number]) => ({ type: 'Point' as const, coordinates: location });

export const shipments: ResourceDefinition<Shipment, z.infer<typeof create>, z.infer<typeof update>, unknown> = {
  type: 'shipment',
  path: '/api/v1/shipments',
  entity: ShipmentSchema,
  createSchema: create,
  updateSchema: update,
  // Status changes are lifecycle transitions (Temporal workflows), never field updates: a new shipment is a DRAFT.
  build: async (input, rc) => {
    await checkReferences(rc.em, input);
    return {
      shipmentNumber: input.shipmentNumber,
      status: 'DRAFT',
      originAddress: input.origin.address,
      originLocation: point(input.origin.location),
      destinationAddress: input.destination.address,
      destinationLocation: point(input.destination.location),
      pickupAt: new Date(input.pickupAt),
      deliverBy: new Date(input.deliverBy),
      vehicleId: input.vehicleId,
      driverId: input.driverId,
      emergencyContactId: input.emergencyContactId,
    };
  },
  apply: async (shipment, input, rc) => {
    await checkReferences(rc.em, input);
    // Once booked, the vehicle and driver are the lifecycle's: checked on assignment (licence, training, inspection, placard
    // holders) and released on cancellation by the workflow, never set around it.
    if ((input.vehicleId !== undefined || input.driverId !== undefined) && shipment.status !== 'DRAFT') {
      throw new Problem(409, 'Conflict', `the vehicle and driver of a ${shipment.status} shipment change only through its lifecycle: POST /api/v1/shipments/${shipment.id}/assign`);
    }
    if (input.shipmentNumber !== undefined) shipment.shipmentNumber = input.shipmentNumber;
    if (input.origin) Object.assign(shipment, { originAddress: input.origin.address, originLocation: point(input.origin.location) });
    if (input.destination) Object.assign(shipment, { destinationAddress: input.destination.address, destinationLocation: point(input.destination.location) });
    if (input.pickupAt !== undefined) shipment.pickupAt = new Date(input.pickupAt);
    if (input.deliverBy !== undefined) shipment.deliverBy = new Date(input.deliverBy);
    if (input.vehicleId !== undefined) shipment.vehicleId = input.vehicleId;
    if (input.driverId !== undefined) shipment.driverId = input.driverId;
    if (input.emergencyContactId !== undefined) shipment.emergencyContactId = input.emergencyContactId;
    if (shipment.deliverBy <= shipment.pickupAt) throw validationFailed([{ path: 'deliverBy', message: 'must be after pickupAt' }]);
  },
  view: (s) => ({
    id: s.id,
    shipmentNumber: s.shipmentNumber,
    status: s.status,
    origin: { address: s.originAddress, location: s.originLocation.coordinates },
    destination: { address: s.destinationAddress, location: s.destinationLocation.coordinates },
    pickupAt: s.pickupAt,
    deliverBy: s.deliverBy,
    vehicleId: s.vehicleId,
    driverId: s.driverId,
    emergencyContactId: s.emergencyContactId,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
  }),
  filters: z.object({
    status: z.enum(SHIPMENT_STATUSES).optional(),
    shipmentNumber: text(32, 0).optional(),
    vehicleId: z.uuid().optional(),
  }),
  where: (f) => ({
    ...(f.status ? { status: f.status as Shipment['status'] } : {}),
    ...(f.shipmentNumber ? { shipmentNumber: String(f.shipmentNumber).toUpperCase() } : {}),
    ...(f.vehicleId ? { vehicleId: f.vehicleId as string } : {}),
  }),
  orders: { pickupAt: 'pickupAt', shipmentNumber: 'shipmentNumber' },
  // GET /shipments/{id} without the ORM (the hottest read): `view` above, built by PostgreSQL.
  readSql: shipmentViewSql,
  deletable: false,
};

const itemFields = {
  dangerousGoodId: z.uuid({ error: 'must be the id of a dangerous-goods catalogue entry' }),
  technicalName: text(300).nullable(),
  // numeric(12, 3): the smallest quantity it keeps is 0.001 (a smaller one would round to 0).
  quantity: z.number().min(0.001).max(200_000),
  unit: z.enum(['kg', 'L']),
  packages: z.number().int().min(1).max(1_000_000),
};
const createItem = z.strictObject({ ...itemFields, technicalName: itemFields.technicalName.default(null), packages: itemFields.packages.default(1) });
const updateItem = z.strictObject(itemFields).partial();

/** The catalogue entry must be in force, not Forbidden, and named technically where 172.203(k) asks. */
async function checkDangerousGood(em: EntityManager, id: string, technicalName: string | null, unit: string): Promise<void> {
  const [entry] = await em.execute<Array<{ forbidden: boolean; technical_name_required: boolean; withdrawn: boolean; physical_state: string | null; un_number: string | null; proper_shipping_name: string }>>(
    'SELECT forbidden, technical_name_required, withdrawn_at IS NOT NULL AS withdrawn, physical_state, un_number, proper_shipping_name FROM dangerous_goods WHERE id = ?',
    [id],
  );
  if (!entry || entry.withdrawn) throw validationFailed([{ path: 'dangerousGoodId', message: 'no such entry in force in the Hazardous Materials Table (49 CFR 172.101)' }]);
  if (entry.forbidden) throw validationFailed([{ path: 'dangerousGoodId', message: `${entry.proper_shipping_name} is Forbidden for transportation (49 CFR 172.101(d)(1))` }]);
  if (entry.technical_name_required && !technicalName) throw validationFailed([{ path: 'technicalName', message: `${entry.un_number} is a "G" entry: the technical name is required (49 CFR 172.203(k))` }]);
  if (entry.physical_state === 'solid' && unit === 'L') throw validationFailed([{ path: 'unit', message: `${entry.un_number} ${entry.proper_shipping_name} is a solid: declare it in kg` }]);
}

/**
 * A change to a shipment's load, checked and announced in the change's transaction: refused (409) once the load's compliance is
 * settled, and, on a NON_COMPLIANT shipment, signalled to its workflow (`amended`), which checks the load again. The shipment's
 * row stays locked until the change commits, so the workflow's next status write (the amendment's, or a booking's) waits for it
 * and the compliance engine reads the items as changed. A change rolled back after its signal costs one more check of the same load.
 */
async function changeLoad(client: Client, rc: RequestContext, shipmentId: string): Promise<void> {
  const status = await lockShipmentStatus(rc.em, shipmentId);
  // The route found the shipment in the caller's company before this runs.
  if (!status) throw new Error(`shipment ${shipmentId} vanished under its consignment item`);
  const refused = itemChangeRefusal(status);
  if (refused) throw new Problem(409, 'Conflict', refused);
  if (status === 'NON_COMPLIANT') await client.workflow.getHandle(shipmentWorkflowId(shipmentId)).signal(amendedSignal, { subject: rc.caller.subject, username: rc.caller.username ?? null });
}

/** A shipment's consignment items; `client` tells a NON_COMPLIANT shipment's workflow its load was amended. */
export function consignmentItems(client: Client): ResourceDefinition<ConsignmentItem, z.infer<typeof createItem>, z.infer<typeof updateItem>, unknown> {
  return {
    type: 'consignment_item',
    path: '/api/v1/shipments/:shipmentId/consignment-items',
    entity: ConsignmentItemSchema,
    createSchema: createItem,
    updateSchema: updateItem,
    parent: { param: 'shipmentId', entity: ShipmentSchema as never, field: 'shipmentId' },
    build: async (input, rc, params) => {
      await checkDangerousGood(rc.em, input.dangerousGoodId, input.technicalName, input.unit);
      await changeLoad(client, rc, params.shipmentId!);
      return { ...input, quantity: String(input.quantity), shipmentId: params.shipmentId! };
    },
    apply: async (item, input, rc) => {
      await checkDangerousGood(rc.em, input.dangerousGoodId ?? item.dangerousGoodId, input.technicalName === undefined ? item.technicalName : input.technicalName, input.unit ?? item.unit);
      await changeLoad(client, rc, item.shipmentId);
      if (input.dangerousGoodId !== undefined) item.dangerousGoodId = input.dangerousGoodId;
      if (input.technicalName !== undefined) item.technicalName = input.technicalName;
      if (input.quantity !== undefined) item.quantity = String(input.quantity);
      if (input.unit !== undefined) item.unit = input.unit;
      if (input.packages !== undefined) item.packages = input.packages;
    },
    remove: (item, rc) => changeLoad(client, rc, item.shipmentId),
    view: (i) => ({ id: i.id, shipmentId: i.shipmentId, dangerousGoodId: i.dangerousGoodId, technicalName: i.technicalName, quantity: Number(i.quantity), unit: i.unit, packages: i.packages, createdAt: i.createdAt, updatedAt: i.updatedAt }),
  };
}

/** What the views answer, as JSON (dates as ISO strings): the response schemas of the OpenAPI contract (api/openapi.ts). */
const placeView = z.object({ address: z.string(), location: z.tuple([z.number(), z.number()]).describe('[longitude, latitude]') });
export const shipmentView = z.object({
  id: z.uuid(),
  shipmentNumber: z.string(),
  status: z.enum(SHIPMENT_STATUSES),
  origin: placeView,
  destination: placeView,
  pickupAt: z.iso.datetime(),
  deliverBy: z.iso.datetime(),
  vehicleId: z.uuid().nullable(),
  driverId: z.uuid().nullable(),
  emergencyContactId: z.uuid().nullable(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export const consignmentItemView = z.object({
  id: z.uuid(),
  shipmentId: z.uuid(),
  dangerousGoodId: z.uuid(),
  technicalName: z.string().nullable(),
  quantity: z.number(),
  unit: itemFields.unit,
  packages: z.number().int(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
