import Router from '@koa/router';
import { z } from 'zod';
import { alarmView, listAlarms, writeAlarmTransition } from '../../db/alarms.js';
import { notifyLive } from '../../db/live-feed.js';
import { ALARM_RULES, ALARM_STATES, ALARM_TRANSITIONS, alarmRefusal, type AlarmEvent } from '../../domain/alarm-lifecycle.js';
import { INCIDENT_SEVERITIES } from '../../domain/incident-lifecycle.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { notFound, Problem } from '../problem.js';
import { routeParams } from '../resource.js';
import { securedRoute, type ApiState, type RouteDeps } from '../routing.js';
import { parse } from '../validation.js';

export const alarmListQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(25),
  cursor: z.string().max(500).optional(),
  state: z.enum(ALARM_STATES).optional(),
  active: z.enum(['true', 'false']).optional(),
  severity: z.enum(INCIDENT_SEVERITIES).optional(),
  rule: z.enum(ALARM_RULES).optional(),
  deviceId: z.uuid({ error: 'must be a UUID' }).optional(),
  vehicleId: z.uuid({ error: 'must be a UUID' }).optional(),
});

/** Acknowledge and clear take no body; an empty JSON object is accepted. */
export const alarmTransitionBody = z.strictObject({}).optional();

const step = z.object({ by: z.object({ subject: z.string(), username: z.string().nullable() }), at: z.iso.datetime() });
const view = z.object({
  id: z.uuid(),
  deviceId: z.uuid(),
  vehicleId: z.uuid().nullable(),
  rule: z.enum(ALARM_RULES),
  severity: z.enum(INCIDENT_SEVERITIES),
  state: z.enum(ALARM_STATES),
  message: z.string(),
  citation: z.string().nullable(),
  value: z.number().nullable(),
  raisedAt: z.iso.datetime(),
  lastSeenAt: z.iso.datetime(),
  occurrences: z.number().int(),
  location: z.object({ lat: z.number(), lon: z.number() }).nullable(),
  incidentId: z.uuid().nullable(),
  acknowledged: step.nullable(),
  cleared: step.nullable(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

/** What the routes answer (the OpenAPI contract's response schemas). */
export const alarmViews = { view, page: z.object({ items: z.array(view), nextCursor: z.string().nullable() }) };

const cursorSchema = z.strictObject({ c: z.string().regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/), id: z.uuid() });

/**
 * Alarms raised by ingest's sensor rules: listed and read with any role, acknowledged and cleared
 * by emergency coordination, each change audited and published on the live feed in its transaction.
 */
export function alarmRoutes(deps: RouteDeps): Router<ApiState> {
  const router = new Router<ApiState>({ prefix: '/api/v1' });

  securedRoute(router, deps, 'GET /api/v1/alarms', async (ctx, rc) => {
    const query = parse(alarmListQuery, ctx.query, 400);
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, cursorSchema);
    const { cursor: _cursor, limit, active, ...filters } = query;
    const page = await listAlarms(rc.em, { limit, ...filters, ...(active ? { active: active === 'true' } : {}), ...(after ? { after: { createdAt: after.c, id: after.id } } : {}) });
    ctx.body = { items: page.items, nextCursor: page.more && page.last ? encodeCursor({ c: page.last.createdAt, id: page.last.id }) : null };
  });

  securedRoute(router, deps, 'GET /api/v1/alarms/:id', async (ctx, rc) => {
    const stored = await alarmView(rc.em, routeParams(ctx).id!);
    if (!stored) throw notFound('No such alarm in your company');
    ctx.set('ETag', `"v${stored.version}"`);
    ctx.body = stored.view;
  });

  const transition = (event: AlarmEvent) =>
    securedRoute(router, deps, `POST /api/v1/alarms/:id/${event}`, async (ctx, rc) => {
      const alarmId = routeParams(ctx).id!;
      parse(alarmTransitionBody, ctx.request.body);
      const before = await alarmView(rc.em, alarmId, true);
      if (!before) throw notFound('No such alarm in your company');
      const refused = alarmRefusal(before.view.state, event);
      if (refused) throw new Problem(409, 'Conflict', refused);
      const state = ALARM_TRANSITIONS[event].to;
      await writeAlarmTransition(rc.em, alarmId, { event, state, by: { subject: rc.caller.subject, username: rc.caller.username ?? null } });
      const after = (await alarmView(rc.em, alarmId))!;
      await rc.audit({ action: `alarm.${event}`, entityType: 'alarm', entityId: alarmId, before: { state: before.view.state }, after: { state } });
      const alarm = after.view;
      await notifyLive(rc.em, rc.caller.companyId, [{ type: 'alarm', alarmId, state, severity: alarm.severity, rule: alarm.rule, vehicleId: alarm.vehicleId, deviceId: alarm.deviceId, at: alarm.updatedAt, message: alarm.message }]);
      ctx.set('ETag', `"v${after.version}"`);
      ctx.body = alarm;
    });
  transition('acknowledge');
  transition('clear');
  return router;
}
