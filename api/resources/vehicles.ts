import { z } from 'zod';
import { VehicleSchema, type Vehicle } from '../../db/entities.js';
import { runningDgProgramTypes } from '../../db/inspections.js';
import { DG_RELEVANT_TYPES, VEHICLE_STATUSES } from '../../domain/inspection-lifecycle.js';
import { Problem } from '../problem.js';
import type { ResourceDefinition } from '../resource.js';

/**
 * `status` (and why a vehicle is grounded) is not a field a client sets: the vehicle's inspection
 * programmes decide it (api/routes/inspections.ts), and a PATCH naming it is a 422 like any unknown field.
 */
const fields = {
  registration: z.string().trim().toUpperCase().regex(/^[A-Z0-9 -]{2,16}$/, 'must be 2–16 letters, digits, spaces or dashes'),
  vehicleType: z.enum(['RIGID', 'ARTICULATED', 'TANKER', 'VAN', 'UTE']),
  capacityKg: z.number().int().min(1).max(200_000),
  placardHolders: z.number().int().min(0).max(12),
  inspectionExpiresOn: z.iso.date().nullable(),
};

const create = z.strictObject({ ...fields, placardHolders: fields.placardHolders.default(0), inspectionExpiresOn: fields.inspectionExpiresOn.default(null) });
const update = z.strictObject(fields).partial();

export const vehicles: ResourceDefinition<Vehicle, z.infer<typeof create>, z.infer<typeof update>, unknown> = {
  type: 'vehicle',
  path: '/api/v1/vehicles',
  entity: VehicleSchema,
  createSchema: create,
  updateSchema: update,
  // A new vehicle has no inspection programme yet: nothing grounds it.
  build: async (input) => ({ ...input, status: 'ACTIVE' }),
  apply: async (vehicle, input, rc) => {
    // While a DG-relevant inspection programme runs, the vehicle's inspection expiry is its next due date, kept by the programme.
    if (input.inspectionExpiresOn !== undefined && input.inspectionExpiresOn !== vehicle.inspectionExpiresOn) {
      const keptBy = await runningDgProgramTypes(rc.em, vehicle.id, DG_RELEVANT_TYPES);
      if (keptBy.length > 0) throw new Problem(409, 'Conflict', `inspectionExpiresOn is kept by the vehicle's inspection programmes (${keptBy.join(', ')}): record an inspection instead`);
    }
    Object.assign(vehicle, input);
  },
  view: (v) => ({
    id: v.id,
    registration: v.registration,
    vehicleType: v.vehicleType,
    capacityKg: v.capacityKg,
    status: v.status,
    groundedReason: v.groundedReason,
    placardHolders: v.placardHolders,
    inspectionExpiresOn: v.inspectionExpiresOn,
    createdAt: v.createdAt,
    updatedAt: v.updatedAt,
  }),
  filters: z.object({ status: z.enum(VEHICLE_STATUSES).optional(), vehicleType: fields.vehicleType.optional() }),
  where: (f) => ({ ...(f.status ? { status: f.status as Vehicle['status'] } : {}), ...(f.vehicleType ? { vehicleType: f.vehicleType as Vehicle['vehicleType'] } : {}) }),
  orders: { registration: 'registration' },
};

/** What `view` answers, as JSON (dates as ISO strings): the response schema of the OpenAPI contract (api/openapi.ts). */
export const vehicleView = z.object({
  id: z.uuid(),
  registration: z.string(),
  vehicleType: fields.vehicleType,
  capacityKg: z.number().int(),
  status: z.enum(VEHICLE_STATUSES),
  groundedReason: z.string().nullable(),
  placardHolders: z.number().int(),
  inspectionExpiresOn: z.iso.date().nullable(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
