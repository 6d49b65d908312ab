import Router from '@koa/router';
import { z } from 'zod';
import { deviceExists, sensorRules, writeSensorRules } from '../../db/alarms.js';
import { DEFAULT_TILT_MAX_DEG } from '../../domain/sensor-rules.js';
import { notFound } from '../problem.js';
import { routeParams } from '../resource.js';
import { securedRoute, type ApiState, type RouteDeps } from '../routing.js';
import { parse } from '../validation.js';

/** The bounds are the table's CHECKs (Migration20261202010000Alarms): what validation lets through, the database stores. */
const celsius = z.number().min(-100).max(200).nullable();
export const sensorRulesBody = z
  .strictObject({
    temperatureMinC: celsius,
    temperatureMaxC: celsius,
    tiltMaxDeg: z.number().gt(0).max(180).nullable(),
  })
  .refine((b) => b.temperatureMinC === null || b.temperatureMaxC === null || b.temperatureMinC < b.temperatureMaxC, { message: 'must be above temperatureMinC', path: ['temperatureMaxC'] });

export const sensorRulesView = z.object({
  deviceId: z.uuid(),
  temperatureMinC: z.number().nullable(),
  temperatureMaxC: z.number().nullable(),
  tiltMaxDeg: z.number().nullable(),
  /** What applies while `tiltMaxDeg` is null. */
  defaultTiltMaxDeg: z.number(),
  updatedAt: z.iso.datetime().nullable(),
});

/**
 * A device's sensor limits, read by ingest's sensor rules (domain/sensor-rules.ts): the load's
 * temperature band (for a temperature-controlled DG, its control temperature as the maximum) and
 * the tilt beyond which a rollover is suspected. Set by the fleet's managers, audited.
 */
export function sensorRuleRoutes(deps: RouteDeps): Router<ApiState> {
  const router = new Router<ApiState>({ prefix: '/api/v1' });
  const answer = (deviceId: string, rules: Awaited<ReturnType<typeof sensorRules>>) => ({
    deviceId,
    temperatureMinC: rules.temperatureMinC,
    temperatureMaxC: rules.temperatureMaxC,
    tiltMaxDeg: rules.tiltMaxDeg,
    defaultTiltMaxDeg: DEFAULT_TILT_MAX_DEG,
    updatedAt: rules.updatedAt,
  });

  securedRoute(router, deps, 'GET /api/v1/devices/:id/sensor-rules', async (ctx, rc) => {
    const deviceId = routeParams(ctx).id!;
    if (!(await deviceExists(rc.em, deviceId))) throw notFound('No such device in your company');
    ctx.body = answer(deviceId, await sensorRules(rc.em, deviceId));
  });

  securedRoute(router, deps, 'PUT /api/v1/devices/:id/sensor-rules', async (ctx, rc) => {
    const deviceId = routeParams(ctx).id!;
    if (!(await deviceExists(rc.em, deviceId))) throw notFound('No such device in your company');
    const limits = parse(sensorRulesBody, ctx.request.body);
    const before = await sensorRules(rc.em, deviceId);
    await writeSensorRules(rc.em, rc.caller.companyId, deviceId, limits);
    const after = await sensorRules(rc.em, deviceId);
    await rc.audit({ action: 'device.sensor_rules', entityType: 'device', entityId: deviceId, before: answer(deviceId, before), after: answer(deviceId, after) });
    ctx.body = answer(deviceId, after);
  });
  return router;
}
