import type Router from '@koa/router';
import { z } from 'zod';
import { DeviceSchema, VehicleSchema, type Device } from '../../db/entities.js';
import { hashDeviceSecret, newDeviceSecret } from '../../security/device-secrets.js';
import { brokerSecretHash } from '../../security/broker-secrets.js';
import { telemetryTopic } from '../../domain/telemetry-topics.js';
import { DEVICE_CONNECTION_STATUSES, REJECTION_REASONS } from '../../domain/telemetry-message.js';
import { notFound, validationFailed } from '../problem.js';
import { etag, resourceRoutes, routeParams, type ResourceDefinition } from '../resource.js';
import { securedRoute, type ApiState, type RequestContext, type RouteDeps } from '../routing.js';
import { parse, text } from '../validation.js';

const vehicleId = z.uuid({ error: 'must be a UUID' }).nullable();
const create = z.strictObject({
  name: text(200),
  mqttUsername: z.string().regex(/^[a-z0-9][a-z0-9._-]{2,63}$/, 'must be 3–64 lower-case letters, digits, dots, dashes or underscores'),
  vehicleId: vehicleId.default(null),
});
const update = z.strictObject({ name: text(200), vehicleId }).partial();

async function checkVehicle(rc: RequestContext, id: string | null | undefined): Promise<void> {
  if (id && !(await rc.em.findOne(VehicleSchema, { id }))) throw validationFailed([{ path: 'vehicleId', message: 'no such record in your company' }]);
}

const view = (d: Device) => ({
  id: d.id,
  name: d.name,
  mqttUsername: d.mqttUsername,
  vehicleId: d.vehicleId,
  status: d.revokedAt ? 'REVOKED' : 'ACTIVE',
  revokedAt: d.revokedAt,
  secretRotatedAt: d.secretRotatedAt,
  connectionStatus: d.connectionStatus,
  lastSeenAt: d.lastSeenAt,
  rejections: d.rejections ?? {},
  createdAt: d.createdAt,
  updatedAt: d.updatedAt,
});

const definition: ResourceDefinition<Device, never, z.infer<typeof update>, unknown> = {
  type: 'device',
  path: '/api/v1/devices',
  entity: DeviceSchema,
  createSchema: z.never(),
  updateSchema: update,
  creatable: false,
  build: async () => {
    throw new Error('devices are provisioned by their own route');
  },
  apply: async (device, input, rc) => {
    await checkVehicle(rc, input.vehicleId);
    Object.assign(device, input);
  },
  view,
  filters: z.object({ vehicleId: z.uuid().optional() }),
  where: (f) => (f.vehicleId ? { vehicleId: f.vehicleId as string } : {}),
  orders: { name: 'name' },
};

/**
 * Devices: provisioning and rotation hand out the MQTT secret once, in that response only; the
 * database keeps only its hash (security/device-secrets.ts). Revoking stops the device authenticating at its next CONNECT.
 */
export function deviceRoutes(router: Router<ApiState>, deps: RouteDeps): void {
  resourceRoutes(router, deps, definition);

  const issued = (device: Device, secret: string) => ({ ...view(device), mqtt: { username: device.mqttUsername, secret, topic: telemetryTopic(device.mqttUsername) } });

  securedRoute(router, deps, 'POST /api/v1/devices', async (ctx, rc) => {
    const input = parse(create, ctx.request.body);
    await checkVehicle(rc, input.vehicleId);
    const secret = newDeviceSecret();
    const device = rc.em.create(DeviceSchema, { ...input, companyId: rc.caller.companyId, secretHash: await hashDeviceSecret(secret), brokerSecretHash: await brokerSecretHash(secret), revokedAt: null });
    try {
      await rc.em.flush();
    } catch (error) {
      if ((error as { code?: string }).code === '23505') throw validationFailed([{ path: 'mqttUsername', message: 'is taken' }], 422);
      throw error;
    }
    await rc.em.refresh(device);
    await rc.audit({ action: 'create', entityType: 'device', entityId: device.id, after: view(device) });
    await rc.audit({ action: 'security.device_secret_issued', entityType: 'device', entityId: device.id });
    ctx.status = 201;
    ctx.set({ Location: `${ctx.path}/${device.id}`, ETag: etag(device), 'Cache-Control': 'no-store' });
    ctx.body = issued(device, secret);
  });

  const load = async (rc: RequestContext, id: string) => {
    const device = await rc.em.findOne(DeviceSchema, { id });
    if (!device) throw notFound();
    return device;
  };

  securedRoute(router, deps, 'POST /api/v1/devices/:id/rotate-secret', async (ctx, rc) => {
    const device = await load(rc, routeParams(ctx).id!);
    if (device.revokedAt) throw validationFailed([{ path: 'id', message: 'a revoked device cannot get a new secret' }]);
    const secret = newDeviceSecret();
    device.secretHash = await hashDeviceSecret(secret);
    device.brokerSecretHash = await brokerSecretHash(secret);
    device.secretRotatedAt = new Date();
    await rc.em.flush();
    await rc.em.refresh(device);
    await rc.audit({ action: 'security.device_secret_issued', entityType: 'device', entityId: device.id, after: { rotated: true } });
    ctx.set({ ETag: etag(device), 'Cache-Control': 'no-store' });
    ctx.body = issued(device, secret);
  });

  securedRoute(router, deps, 'POST /api/v1/devices/:id/revoke', async (ctx, rc) => {
    const device = await load(rc, routeParams(ctx).id!);
    const before = view(device);
    device.revokedAt ??= new Date();
    await rc.em.flush();
    await rc.em.refresh(device);
    await rc.audit({ action: 'security.device_revoked', entityType: 'device', entityId: device.id, before, after: view(device) });
    ctx.set('ETag', etag(device));
    ctx.body = view(device);
  });
}

/** For the OpenAPI contract (api/openapi.ts): the create body, the generic routes' definition, and what the views answer as JSON. */
export { create as createDevice, definition as deviceResource };
export const deviceView = z.object({
  id: z.uuid(),
  name: z.string(),
  mqttUsername: z.string(),
  vehicleId: z.uuid().nullable(),
  status: z.enum(['ACTIVE', 'REVOKED']),
  revokedAt: z.iso.datetime().nullable(),
  secretRotatedAt: z.iso.datetime().nullable(),
  connectionStatus: z.enum(DEVICE_CONNECTION_STATUSES).describe('Its MQTT connection as ingest last saw it (a last will says OFFLINE)'),
  lastSeenAt: z.iso.datetime().nullable().describe('When ingest last heard from it'),
  rejections: z.partialRecord(z.enum(REJECTION_REASONS), z.number().int()).describe('Messages refused, by reason, since the device was provisioned'),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export const deviceIssuedView = deviceView.extend({
  mqtt: z.object({
    username: z.string(),
    secret: z.string().describe('The MQTT password: shown in this response only, never again'),
    topic: z.string().describe('The topic the device publishes its telemetry to'),
  }),
});
