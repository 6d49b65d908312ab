import { z } from 'zod';
import { VehicleSchema, type Vehicle } from '../../db/entities.js';
import type { ResourceDefinition } from '../resource.js';

const fields = {
  registration: z.string().trim().toUpperCase().regex(/^[A-Z0-9 -]{2,16}$/, 'must be 2–16 letters, digits, spaces or dashes'),
  vehicleType: z.enum(['RIGID', 'ARTICULATED', 'TANKER', 'VAN', 'UTE']),
  capacityKg: z.number().int().min(1).max(200_000),
  status: z.enum(['ACTIVE', 'GROUNDED']),
  placardHolders: z.number().int().min(0).max(12),
  inspectionExpiresOn: z.iso.date().nullable(),
};

const create = z.strictObject({ ...fields, status: fields.status.default('ACTIVE'), placardHolders: fields.placardHolders.default(0), inspectionExpiresOn: fields.inspectionExpiresOn.default(null) });
const update = z.strictObject(fields).partial();

export const vehicles: ResourceDefinition<Vehicle, z.infer<typeof create>, z.infer<typeof update>, unknown> = {
  type: 'vehicle',
  path: '/api/v1/vehicles',
  entity: VehicleSchema,
  createSchema: create,
  updateSchema: update,
  build: async (input) => input,
  apply: async (vehicle, input) => {
    Object.assign(vehicle, input);
  },
  view: (v) => ({
    id: v.id,
    registration: v.registration,
    vehicleType: v.vehicleType,
    capacityKg: v.capacityKg,
    status: v.status,
    placardHolders: v.placardHolders,
    inspectionExpiresOn: v.inspectionExpiresOn,
    createdAt: v.createdAt,
    updatedAt: v.updatedAt,
  }),
  filters: z.object({ status: z.enum(['ACTIVE', 'GROUNDED']).optional(), vehicleType: fields.vehicleType.optional() }),
  where: (f) => ({ ...(f.status ? { status: f.status as Vehicle['status'] } : {}), ...(f.vehicleType ? { vehicleType: f.vehicleType as Vehicle['vehicleType'] } : {}) }),
  orders: { registration: 'registration' },
};

/** What `view` answers, as JSON (dates as ISO strings): the response schema of the OpenAPI contract (api/openapi.ts). */
export const vehicleView = z.object({
  id: z.uuid(),
  registration: z.string(),
  vehicleType: fields.vehicleType,
  capacityKg: z.number().int(),
  status: fields.status,
  placardHolders: z.number().int(),
  inspectionExpiresOn: z.iso.date().nullable(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
