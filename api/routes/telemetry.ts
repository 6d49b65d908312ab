import Router from '@koa/router';
import { decodeJwt } from 'jose';
import { z } from 'zod';
import { LIVE_EVENT_TYPES } from '../../domain/live-events.js';
import { fleetPositions, shipmentTrackWindow, vehiclePosition, vehicleTrack } from '../../db/telemetry-read.js';
import type { LiveHub } from '../live/hub.js';
import { Problem, notFound, validationFailed } from '../problem.js';
import { routeParams } from '../resource.js';
import { securedRouteWithoutTenantData as route, type ApiState, type RouteDeps } from '../routing.js';
import { parse } from '../validation.js';

export const TRACK_MAX_POINTS = 10_000;
/** The longest range one track request covers: a year. */
export const TRACK_MAX_RANGE_DAYS = 366;
const TRACK_DEFAULT_HOURS = 24;
/** How many vehicles the live snapshot answers at most (the most recent fixes). */
export const LIVE_SNAPSHOT_MAX = 10_000;

const instant = z.iso.datetime({ offset: true, error: 'must be an RFC 3339 date-time, e.g. 2026-12-01T08:00:00Z' });
const maxPoints = z.coerce.number().int().min(2).max(TRACK_MAX_POINTS).default(1000);

export const trackQuery = z.strictObject({ from: instant.optional(), to: instant.optional(), maxPoints });
export const shipmentTrackQuery = z.strictObject({ maxPoints });
export const liveQuery = z.strictObject({
  type: z.enum(LIVE_EVENT_TYPES).optional(),
  vehicleId: z.uuid({ error: 'must be a UUID' }).optional(),
});

/** The range asked for, defaulting to the last 24 hours up to `to` (or now); refused (422: a rule across the fields) when empty, reversed or over a year. */
function range(query: z.infer<typeof trackQuery>): { from: Date; to: Date } {
  const to = query.to ? new Date(query.to) : new Date();
  const from = query.from ? new Date(query.from) : new Date(to.getTime() - TRACK_DEFAULT_HOURS * 3_600_000);
  if (from >= to) throw validationFailed([{ path: 'from', message: 'must be before to' }]);
  if (to.getTime() - from.getTime() > TRACK_MAX_RANGE_DAYS * 86_400_000) throw validationFailed([{ path: 'from', message: `must be at most ${TRACK_MAX_RANGE_DAYS} days before to` }]);
  return { from, to };
}

/** EventSource asks for `text/event-stream` by name; a client that does not (`*\/*`, JSON) gets the snapshot instead of a stream that never ends. */
function wantsStream(accept: string | undefined): boolean {
  return (accept ?? '').split(',').some((part) => {
    const [type, ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    return type === 'text/event-stream' && !params.some((param) => /^q=0(\.0*)?$/.test(param));
  });
}

/**
 * Where the company's vehicles are and have been: each vehicle's last known position, its track
 * over a range (downsampled for long ranges), a shipment's track, and the live stream of the
 * company's positions and alarms (Server-Sent Events, fed by PostgreSQL NOTIFY from ingest's
 * commits: api/live/hub.ts). Every read is scoped to the caller's company; another company's
 * vehicle or shipment is a 404.
 */
export function telemetryRoutes(deps: RouteDeps, live: LiveHub | undefined): Router<ApiState> {
  const router = new Router<ApiState>({ prefix: '/api/v1' });

  route(router, deps, 'GET /api/v1/live', async (ctx, caller) => {
    const query = parse(liveQuery, ctx.query, 400);
    // HEAD has no body to stream: it is answered as the snapshot would be.
    if (ctx.method !== 'GET' || !wantsStream(ctx.get('Accept'))) {
      const positions = await fleetPositions(deps.db, caller.companyId, LIVE_SNAPSHOT_MAX);
      ctx.body = { positions: query.vehicleId ? positions.filter((p) => p.vehicleId === query.vehicleId) : positions };
      return;
    }
    if (!live) throw new Problem(503, 'Service Unavailable', 'The live stream is not available from this server');
    if (live.full) throw new Problem(503, 'Service Unavailable', 'This API process serves as many live streams as it may; retry shortly (another process may take it)', { headers: { 'Retry-After': '5' } });
    // The stream is answered by hand: Koa would wait for the body to end before anything else.
    ctx.respond = false;
    ctx.req.socket.setNoDelay(true);
    ctx.res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache, no-transform', 'X-Accel-Buffering': 'no', Connection: 'keep-alive' });
    ctx.res.write('retry: 3000\n\n');
    const stream = live.subscribe(caller.companyId, { types: new Set(query.type ? [query.type] : LIVE_EVENT_TYPES), vehicleId: query.vehicleId }, ctx.res);
    // The token authorised the stream until it expires: then the client reconnects with a fresh one (and is authorised again).
    const exp = decodeJwt(ctx.get('Authorization').replace(/^Bearer\s+/i, '')).exp;
    if (exp !== undefined) {
      const expiry = setTimeout(() => stream.end('expired', { at: new Date().toISOString() }), Math.max(0, Math.min(exp * 1000 - Date.now(), 2 ** 31 - 1)));
      ctx.res.once('close', () => clearTimeout(expiry));
    }
  });

  route(router, deps, 'GET /api/v1/vehicles/:id/position', async (ctx, caller) => {
    const { id } = routeParams(ctx);
    const found = await vehiclePosition(deps.db, caller.companyId, id!);
    if (!found.exists) throw notFound('No such vehicle in your company');
    if (!found.position) throw notFound('The vehicle has reported no position yet');
    ctx.body = found.position;
  });

  route(router, deps, 'GET /api/v1/vehicles/:id/track', async (ctx, caller) => {
    const { id } = routeParams(ctx);
    const query = parse(trackQuery, ctx.query, 400);
    const { from, to } = range(query);
    if (!(await vehiclePosition(deps.db, caller.companyId, id!)).exists) throw notFound('No such vehicle in your company');
    const track = await vehicleTrack(deps.db, caller.companyId, id!, from, to, query.maxPoints);
    ctx.body = { vehicleId: id, from: from.toISOString(), to: to.toISOString(), ...track };
  });

  route(router, deps, 'GET /api/v1/shipments/:id/track', async (ctx, caller) => {
    const { id } = routeParams(ctx);
    const query = parse(shipmentTrackQuery, ctx.query, 400);
    const window = await shipmentTrackWindow(deps.db, caller.companyId, id!);
    if (!window) throw notFound('No such shipment in your company');
    const [from, to] = [new Date(window.from), new Date(window.to)];
    const track = window.vehicleId ? await vehicleTrack(deps.db, caller.companyId, window.vehicleId, from, to, query.maxPoints) : { resolution: 'raw' as const, bucketSeconds: null, points: [] };
    ctx.body = { shipmentId: id, vehicleId: window.vehicleId, from: window.from, to: window.to, ...track };
  });

  return router;
}

/**
 * The routes' part of the OpenAPI contract (api/openapi.ts), built when the document is: schemas
 * made now carry `.openapi()` (the generator extends zod before it calls this).
 */
export function telemetryOperations() {
  const at = z.iso.datetime().openapi({ description: 'The device’s time of the fix (UTC)', example: '2026-12-01T08:00:00.000Z' });
  const lat = z.number().min(-90).max(90).openapi({ example: -37.8591 });
  const lon = z.number().min(-180).max(180).openapi({ example: 144.7689 });
  const speedKmh = z.number().nullable().openapi({ description: 'km/h, as the device reported it' });
  const headingDeg = z.number().nullable().openapi({ description: 'Degrees clockwise from north, 0–360' });
  const position = z
    .object({
      vehicleId: z.uuid(),
      deviceId: z.uuid().openapi({ description: 'The device that reported the fix' }),
      recordedAt: at,
      receivedAt: z.iso.datetime().openapi({ description: 'When ingest stored it (UTC)' }),
      lat,
      lon,
      speedKmh,
      headingDeg,
      accuracyM: z.number().nullable().openapi({ description: 'The fix’s horizontal accuracy in metres, as reported' }),
    })
    .openapi('VehiclePosition');
  const livePosition = z
    .object({ type: z.literal('position'), vehicleId: z.uuid().nullable(), deviceId: z.uuid(), at, lat, lon, speedKmh, headingDeg })
    .openapi('LivePosition', { description: 'A vehicle’s newest fix; on the stream, the `data` of a `position` event.' });
  const point = z.object({ at, lat, lon, speedKmh, headingDeg }).openapi('TrackPoint');
  const track = {
    from: z.iso.datetime(),
    to: z.iso.datetime(),
    resolution: z.enum(['raw', 'downsampled', 'hourly']).openapi({
      description: '`raw`: every fix in the range (at most `maxPoints`); `downsampled`: more fixes than `maxPoints`, so the last fix of each `bucketSeconds` bucket, counted from `from`; `hourly`: the same with buckets of whole hours, read from the hourly rollups (the newest hours not yet rolled up from the points).',
    }),
    bucketSeconds: z.number().int().nullable().openapi({ description: 'The bucket width; null for `raw`' }),
    points: z.array(point).openapi({ description: 'Oldest first; fixes without a location are left out' }),
  };
  const vehicleTrackView = z.object({ vehicleId: z.uuid(), ...track }).openapi('VehicleTrack');
  const shipmentTrackView = z.object({ shipmentId: z.uuid(), vehicleId: z.uuid().nullable().openapi({ description: 'The shipment’s vehicle; null (and no points) before one is assigned' }), ...track }).openapi('ShipmentTrack');
  const params = z.object({ id: z.uuid().openapi({ description: 'A UUID; one that is malformed or not in your company is 404.' }) });
  const maxPointsDoc = maxPoints.clone().openapi({ description: `At most this many points (2–${TRACK_MAX_POINTS}); a range with more is downsampled` });
  return {
    'GET /api/v1/vehicles/:id/position': {
      operationId: 'getVehiclePosition',
      summary: 'Where a vehicle is now',
      description: 'The newest fix any of its devices reported (by device time: a late point never moves it back).',
      tag: 'Telemetry' as const,
      params,
      success: { status: 200 as const, description: 'The last known position.', schema: position },
      errors: { 404: 'No such vehicle in your company, or it has reported no position yet (`detail` says which).' },
    },
    'GET /api/v1/vehicles/:id/track': {
      operationId: 'getVehicleTrack',
      summary: 'Where a vehicle has been',
      description: `Its fixes over [\`from\`, \`to\`) by device time, oldest first: every one when they are at most \`maxPoints\`, else one per bucket of (to − from) / maxPoints (the bucket's last fix), from the hourly rollups when a bucket spans an hour or more. The range defaults to the ${TRACK_DEFAULT_HOURS} hours before \`to\` (default now) and spans at most ${TRACK_MAX_RANGE_DAYS} days.`,
      tag: 'Telemetry' as const,
      params,
      query: z.object({
        from: trackQuery.shape.from.clone().openapi({ description: `Start of the range, inclusive (default: ${TRACK_DEFAULT_HOURS} hours before \`to\`)`, example: '2026-12-01T00:00:00Z' }),
        to: trackQuery.shape.to.clone().openapi({ description: 'End of the range, exclusive (default: now)', example: '2026-12-02T00:00:00Z' }),
        maxPoints: maxPointsDoc,
      }),
      success: { status: 200 as const, description: 'The track.', schema: vehicleTrackView },
      errors: { 400: 'A query parameter is unknown or invalid (`errors` names it).', 404: 'No such vehicle in your company.', 422: `\`from\` is not before \`to\` (default now), or the range exceeds ${TRACK_MAX_RANGE_DAYS} days.` },
    },
    'GET /api/v1/shipments/:id/track': {
      operationId: 'getShipmentTrack',
      summary: 'Where a shipment has been',
      description: 'Its vehicle’s track from pickup until delivery is due (while it is still in transit past that, until now, for up to 7 days), downsampled as for a vehicle’s track.',
      tag: 'Telemetry' as const,
      params,
      query: z.object({ maxPoints: maxPointsDoc }),
      success: { status: 200 as const, description: 'The track.', schema: shipmentTrackView },
      errors: { 400: 'A query parameter is unknown or invalid (`errors` names it).', 404: 'No such shipment in your company.' },
    },
    'GET /api/v1/live': {
      operationId: 'streamLive',
      summary: 'Live positions and alarms (Server-Sent Events)',
      description: [
        'With `Accept: text/event-stream` (as EventSource sends): a stream of your company’s events as ingest commits them. Each event’s `event` is its type and its `data` one JSON object: `position` (a LivePosition) or `alarm` (`alarmId`, `state`, `severity`, `rule`, `vehicleId`, `deviceId`, `at`, `message`). Control events: `ready` once the stream hears every commit (events committed before it are not replayed), `resync` after the server lost and regained the feed (some events may be missing: reload the snapshot), `expired` when the access token expires (the stream ends: reconnect with a fresh token). A comment line is sent every heartbeat; a client that falls too far behind is cut off (and should reconnect). `type` and `vehicleId` narrow the stream.',
        `Without it (\`*/*\`, JSON): the snapshot to start from, the last known position of each of your vehicles (at most ${LIVE_SNAPSHOT_MAX}, the most recent first; \`vehicleId\` narrows it).`,
      ].join('\n\n'),
      tag: 'Telemetry' as const,
      query: z.object({
        type: liveQuery.shape.type.clone().openapi({ description: 'Only events of this type (the stream)' }),
        vehicleId: liveQuery.shape.vehicleId.clone().openapi({ description: 'Only this vehicle’s events' }),
      }),
      success: {
        status: 200 as const,
        description: 'The snapshot as JSON, or the stream as `text/event-stream`.',
        schema: z.object({ positions: z.array(livePosition) }).openapi('LiveSnapshot'),
        stream: 'text/event-stream' as const,
      },
      errors: { 400: 'A query parameter is unknown or invalid (`errors` names it).', 503: 'This API process already serves as many streams as it may (LIVE_MAX_STREAMS): retry after `Retry-After`; or the server has no live feed.' },
    },
  };
}
