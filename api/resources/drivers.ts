import { z } from 'zod';
import { DriverSchema, TrainingRecordSchema, type Driver, type TrainingRecord } from '../../db/entities.js';
import type { ResourceDefinition } from '../resource.js';
import { validationFailed } from '../problem.js';
import { text } from '../validation.js';

const driverFields = {
  fullName: text(200),
  phone: z.string().trim().regex(/^\+?[0-9 ()-]{6,20}$/, 'must be a phone number').nullable(),
  dgLicenceNumber: text(64),
  dgLicenceClass: text(32),
  dgLicenceExpiresOn: z.iso.date(),
};
const createDriver = z.strictObject({ ...driverFields, phone: driverFields.phone.default(null) });
const updateDriver = z.strictObject(driverFields).partial();

export const drivers: ResourceDefinition<Driver, z.infer<typeof createDriver>, z.infer<typeof updateDriver>, unknown> = {
  type: 'driver',
  path: '/api/v1/drivers',
  entity: DriverSchema,
  createSchema: createDriver,
  updateSchema: updateDriver,
  build: async (input) => ({ ...input, userId: null }),
  apply: async (driver, input) => {
    Object.assign(driver, input);
  },
  view: (d) => ({
    id: d.id,
    fullName: d.fullName,
    phone: d.phone,
    dgLicenceNumber: d.dgLicenceNumber,
    dgLicenceClass: d.dgLicenceClass,
    dgLicenceExpiresOn: d.dgLicenceExpiresOn,
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
  }),
  filters: z.object({ licenceExpiresBefore: z.iso.date().optional() }),
  where: (f) => (f.licenceExpiresBefore ? { dgLicenceExpiresOn: { $lt: f.licenceExpiresBefore as string } } : {}),
  orders: { fullName: 'fullName', dgLicenceExpiresOn: 'dgLicenceExpiresOn' },
};

const trainingFields = {
  course: text(200),
  completedOn: z.iso.date(),
  expiresOn: z.iso.date(),
};
const laterThanCompletion = (record: { completedOn?: string; expiresOn?: string }) => !record.completedOn || !record.expiresOn || record.expiresOn >= record.completedOn;
const createTraining = z.strictObject(trainingFields).refine(laterThanCompletion, { path: ['expiresOn'], message: 'must not be before completedOn' });
const updateTraining = z.strictObject(trainingFields).partial().refine(laterThanCompletion, { path: ['expiresOn'], message: 'must not be before completedOn' });

export const trainingRecords: ResourceDefinition<TrainingRecord, z.infer<typeof createTraining>, z.infer<typeof updateTraining>, unknown> = {
  type: 'driver_training_record',
  path: '/api/v1/drivers/:driverId/training-records',
  entity: TrainingRecordSchema,
  createSchema: createTraining,
  updateSchema: updateTraining,
  parent: { param: 'driverId', entity: DriverSchema as never, field: 'driverId' },
  build: async (input, _rc, params) => ({ ...input, driverId: params.driverId! }),
  apply: async (record, input) => {
    Object.assign(record, input);
    if (record.expiresOn < record.completedOn) throw validationFailed([{ path: 'expiresOn', message: 'must not be before completedOn' }]);
  },
  view: (t) => ({ id: t.id, driverId: t.driverId, course: t.course, completedOn: t.completedOn, expiresOn: t.expiresOn, createdAt: t.createdAt, updatedAt: t.updatedAt }),
  orders: { expiresOn: 'expiresOn' },
};

/** What `view` answers, as JSON (dates as ISO strings): the response schemas of the OpenAPI contract (api/openapi.ts). */
export const driverView = z.object({
  id: z.uuid(),
  fullName: z.string(),
  phone: z.string().nullable(),
  dgLicenceNumber: z.string(),
  dgLicenceClass: z.string(),
  dgLicenceExpiresOn: z.iso.date(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export const trainingRecordView = z.object({
  id: z.uuid(),
  driverId: z.uuid(),
  course: z.string(),
  completedOn: z.iso.date(),
  expiresOn: z.iso.date(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
