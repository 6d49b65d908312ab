import { request, type ClientRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ajv2020 } from 'ajv/dist/2020.js';
import * as formats from 'ajv-formats';
import type { LiveEvent, LivePosition } from '../../domain/live-events.js';
import { notifyLive } from '../../db/live-feed.js';
import { inTenant } from '../../db/orm.js';
import { startApi } from '../../api/server.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { ACME, BOREAL, silentLog, testConfig } from '../support/stack.js';

const run = Date.now().toString(36).slice(-6);
const HOUR = 3_600_000;

interface SseEvent {
  event: string;
  data: unknown;
}

/** A live stream as EventSource reads it: frames split on blank lines, comments (heartbeats) counted apart. */
async function openStream(api: Pick<TestApi, 'base' | 'token'>, username: string, query = '') {
  const abort = new AbortController();
  const response = await fetch(`${api.base}/api/v1/live${query}`, { headers: { Authorization: `Bearer ${await api.token(username)}`, Accept: 'text/event-stream' }, signal: abort.signal });
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let comments = 0;
  const next = async (): Promise<SseEvent | null> => {
    for (;;) {
      const end = buffer.indexOf('\n\n');
      if (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const lines = block.split('\n');
        if (lines.every((line) => line.startsWith(':'))) comments += 1;
        const event = lines.find((line) => line.startsWith('event: '))?.slice(7);
        const data = lines.find((line) => line.startsWith('data: '))?.slice(6);
        if (event) return { event, data: data === undefined ? undefined : JSON.parse(data) };
        continue;
      }
      const chunk = await reader.read();
      if (chunk.done) return null;
      buffer += chunk.value;
    }
  };
  return { response, next, comments: () => comments, close: () => abort.abort() };
}

const position = (vehicleId: string, deviceId: string, at: string, lon: number): LivePosition => ({ type: 'position', vehicleId, deviceId, at, lat: -37.8, lon, speedKmh: 80, headingDeg: 90 });

describe('telemetry read side: positions, tracks and the live stream', () => {
  let api: TestApi;
  const acme: Record<string, string> = {};
  const base = Math.floor(Date.now() / HOUR) * HOUR - 3 * HOUR;
  /** Ten fixes a minute apart, from three hours ago; the device numbers two fixes of one millisecond. */
  const fixes = Array.from({ length: 10 }, (_, i) => ({ at: new Date(base + i * 60_000).toISOString(), lon: 144 + i / 100, speed: 10 * i }));

  const create = async (path: string, body: unknown) => {
    const response = await api.call('acme-admin', 'POST', path, { body });
    if (response.status !== 201) throw new Error(`${path}: ${response.status} ${await response.text()}`);
    return ((await response.json()) as { id: string }).id;
  };

  beforeAll(async () => {
    api = await startTestApi();
    acme.vehicleId = await create('/api/v1/vehicles', { registration: `TR ${run}`.toUpperCase(), vehicleType: 'TANKER', capacityKg: 20000 });
    acme.idleVehicleId = await create('/api/v1/vehicles', { registration: `TI ${run}`.toUpperCase(), vehicleType: 'VAN', capacityKg: 1000 });
    acme.deviceId = await create('/api/v1/devices', { name: `Tracker ${run}`, mqttUsername: `tr-${run}`, vehicleId: acme.vehicleId });
    acme.shipmentId = await create('/api/v1/shipments', {
      shipmentNumber: `TR-${run}`.toUpperCase(),
      origin: { address: 'Laverton', location: [144.77, -37.86] },
      destination: { address: 'Geelong', location: [144.36, -38.15] },
      pickupAt: new Date(base + 2 * 60_000).toISOString(),
      deliverBy: new Date(base + 6 * 60_000).toISOString(),
      vehicleId: acme.vehicleId,
    });
    // The points and last position as ingest commits them (P's writer): the rows are what this side reads.
    await inTenant(api.db, ACME, async (em) => {
      for (const fix of fixes) {
        await em.execute(
          `INSERT INTO telemetry_points (company_id, device_id, vehicle_id, recorded_at, sequence, location, speed_kmh, heading_deg, accuracy_m) VALUES (?, ?, ?, ?, 0, ST_SetSRID(ST_MakePoint(?, -37.8), 4326)::geography, ?, 90, 5)`,
          [ACME, acme.deviceId, acme.vehicleId, fix.at, fix.lon, fix.speed],
        );
      }
      const last = fixes.at(-1)!;
      await em.execute(
        `INSERT INTO vehicle_last_positions (vehicle_id, company_id, device_id, recorded_at, sequence, location, speed_kmh, heading_deg, accuracy_m, received_at) VALUES (?, ?, ?, ?, 0, ST_SetSRID(ST_MakePoint(?, -37.8), 4326)::geography, ?, 90, 5, ?)`,
        [acme.vehicleId, ACME, acme.deviceId, last.at, last.lon, last.speed, last.at],
      );
    });
  });
  afterAll(async () => {
    await api?.close();
  });

  it('answers where a vehicle is now; one without a fix, or another company’s, is a 404', async () => {
    const response = await api.call('acme-viewer', 'GET', `/api/v1/vehicles/${acme.vehicleId}/position`);
    expect(response.status).toBe(200);
    const last = fixes.at(-1)!;
    expect(await response.json()).toEqual({ vehicleId: acme.vehicleId, deviceId: acme.deviceId, recordedAt: last.at, receivedAt: last.at, lat: -37.8, lon: last.lon, speedKmh: 90, headingDeg: 90, accuracyM: 5 });
    const idle = await api.call('acme-viewer', 'GET', `/api/v1/vehicles/${acme.idleVehicleId}/position`);
    expect([idle.status, ((await idle.json()) as { detail: string }).detail]).toEqual([404, 'The vehicle has reported no position yet']);
    const foreign = await api.call('boreal-admin', 'GET', `/api/v1/vehicles/${acme.vehicleId}/position`);
    expect([foreign.status, ((await foreign.json()) as { detail: string }).detail]).toEqual([404, 'No such vehicle in your company']);
  });

  it('answers a track raw when it fits, else the last fix of each bucket; a reversed range is a 422', async () => {
    const from = new Date(base).toISOString();
    const to = new Date(base + 10 * 60_000).toISOString();
    const track = async (query: string) => (await api.call('acme-viewer', 'GET', `/api/v1/vehicles/${acme.vehicleId}/track?${query}`)).json();
    const points = (indexes: number[]) => indexes.map((i) => ({ at: fixes[i]!.at, lat: -37.8, lon: fixes[i]!.lon, speedKmh: fixes[i]!.speed, headingDeg: 90 }));
    expect(await track(`from=${from}&to=${to}`)).toEqual({ vehicleId: acme.vehicleId, from, to, resolution: 'raw', bucketSeconds: null, points: points([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]) });
    // 600 s in at most 3 points: buckets of 200 s from `from`, each answered by its last fix (minutes 3, 6, 9).
    expect(await track(`from=${from}&to=${to}&maxPoints=3`)).toEqual({ vehicleId: acme.vehicleId, from, to, resolution: 'downsampled', bucketSeconds: 200, points: points([3, 6, 9]) });
    const reversed = await api.call('acme-viewer', 'GET', `/api/v1/vehicles/${acme.vehicleId}/track?from=${to}&to=${from}`);
    expect([reversed.status, await reversed.json()]).toEqual([422, expect.objectContaining({ errors: [{ path: 'from', message: 'must be before to' }] })]);
    expect((await api.call('boreal-admin', 'GET', `/api/v1/vehicles/${acme.vehicleId}/track`)).status).toBe(404);
  });

  it('answers a shipment’s track over its pickup-to-delivery window', async () => {
    const response = await api.call('acme-viewer', 'GET', `/api/v1/shipments/${acme.shipmentId}/track`);
    const body = (await response.json()) as { points: Array<{ at: string }> };
    expect([response.status, body]).toEqual([200, expect.objectContaining({ shipmentId: acme.shipmentId, vehicleId: acme.vehicleId, from: fixes[2]!.at, to: fixes[6]!.at, resolution: 'raw' })]);
    expect(body.points.map((p) => p.at)).toEqual([2, 3, 4, 5].map((i) => fixes[i]!.at));
  });

  it('streams only what commits, only to its company, in commit order, however many NOTIFY payloads a batch needs', async () => {
    const stream = await openStream(api, 'acme-viewer');
    const alarms = await openStream(api, 'acme-viewer', '?type=alarm');
    expect([stream.response.status, stream.response.headers.get('content-type')]).toEqual([200, 'text/event-stream; charset=utf-8']);
    expect((await stream.next())?.event).toBe('ready');
    expect((await alarms.next())?.event).toBe('ready');

    const at = new Date().toISOString();
    // Rolled back: never delivered. Boreal's: never to Acme.
    await inTenant(api.db, ACME, async (em) => {
      await notifyLive(em, ACME, [position(acme.vehicleId!, acme.deviceId!, at, 1)]);
      throw new Error('rolled back');
    }).catch(() => undefined);
    await inTenant(api.db, BOREAL, (em) => notifyLive(em, BOREAL, [position(acme.vehicleId!, acme.deviceId!, at, 2)]));
    // 300 positions: about 50 kB, several payloads under NOTIFY's 8000 bytes, and an alarm after them.
    const batch: LiveEvent[] = Array.from({ length: 300 }, (_, i) => position(acme.vehicleId!, acme.deviceId!, at, 100 + i / 1000));
    const alarm: LiveEvent = { type: 'alarm', alarmId: crypto.randomUUID(), state: 'ACTIVE_UNACK', severity: 'HIGH', rule: 'leak', vehicleId: acme.vehicleId!, deviceId: acme.deviceId!, at, message: 'Leak detected' };
    await inTenant(api.db, ACME, (em) => notifyLive(em, ACME, [...batch, alarm]));

    const received: SseEvent[] = [];
    while (received.length < 301) received.push((await stream.next())!);
    expect(received).toEqual([...batch, alarm].map((event) => ({ event: event.type, data: event })));
    expect(await alarms.next()).toEqual({ event: 'alarm', data: alarm });
    stream.close();
    alarms.close();
  });

  it('answers a client that does not ask for the stream with the snapshot it starts from', async () => {
    const response = await api.call('acme-viewer', 'GET', `/api/v1/live?vehicleId=${acme.vehicleId}`);
    const last = fixes.at(-1)!;
    expect([response.status, await response.json()]).toEqual([200, { positions: [{ type: 'position', vehicleId: acme.vehicleId, deviceId: acme.deviceId, at: last.at, lat: -37.8, lon: last.lon, speedKmh: 90, headingDeg: 90 }] }]);
    const boreal = (await (await api.call('boreal-admin', 'GET', '/api/v1/live')).json()) as { positions: LivePosition[] };
    expect(boreal.positions.filter((p) => p.vehicleId === acme.vehicleId)).toEqual([]);
    expect((await fetch(`${api.base}/api/v1/live`, { headers: { Accept: 'text/event-stream' } })).status).toBe(401);
    // HEAD has no body to stream: answered at once, never held open.
    expect((await api.call('acme-viewer', 'HEAD', '/api/v1/live', { headers: { Accept: 'text/event-stream' } })).status).toBe(200);
  });

  it('answers as the OpenAPI document describes (every field named, none more)', async () => {
    const doc = (await (await fetch(`${api.base}/api/v1/openapi.json`)).json()) as Record<string, unknown>;
    const closed = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(closed);
      if (value === null || typeof value !== 'object') return value;
      const out = Object.fromEntries(Object.entries(value).map(([key, child]) => [key, closed(child)]));
      return out.properties ? { ...out, additionalProperties: false } : out;
    };
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    (formats.default as unknown as (a: Ajv2020) => Ajv2020)(ajv);
    ajv.addSchema(closed(doc) as Record<string, unknown>, 'openapi.json');
    const answers = {
      VehiclePosition: `/api/v1/vehicles/${acme.vehicleId}/position`,
      VehicleTrack: `/api/v1/vehicles/${acme.vehicleId}/track?from=${new Date(base).toISOString()}&maxPoints=3`,
      ShipmentTrack: `/api/v1/shipments/${acme.shipmentId}/track`,
      LiveSnapshot: '/api/v1/live',
    };
    for (const [schema, path] of Object.entries(answers)) {
      const body: unknown = await (await api.call('acme-viewer', 'GET', path)).json();
      const check = ajv.compile({ $ref: `openapi.json#/components/schemas/${schema}` });
      expect([schema, check(body) ? [] : check.errors]).toEqual([schema, []]);
    }
  });
});

describe('live stream limits: heartbeats, a cap per process, a slow client cut off', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({ LIVE_HEARTBEAT_SECONDS: '1', LIVE_MAX_STREAMS: '1', LIVE_CLIENT_BUFFER_BYTES: '65536' });
  });
  afterAll(async () => {
    await api?.close();
  });

  it('keeps an idle stream alive with comments, refuses a stream past the cap with 503 until one closes', async () => {
    // Idle for real: narrowed to a vehicle no one drives, so the positions other test files commit for Acme meanwhile do not reach it.
    const first = await openStream(api, 'acme-viewer', `?vehicleId=${crypto.randomUUID()}`);
    expect((await first.next())?.event).toBe('ready');
    const refused = await api.call('acme-viewer', 'GET', '/api/v1/live', { headers: { Accept: 'text/event-stream' } });
    expect([refused.status, refused.headers.get('retry-after')]).toEqual([503, '5']);
    // Wait for a heartbeat: comments only, no event, on an idle stream.
    const idle = first.next();
    while (first.comments() === 0) await new Promise((resolve) => setTimeout(resolve, 100));
    first.close();
    await idle.catch(() => undefined);
    // The closed stream leaves its place: a new one is served once the server has seen it go.
    let status = 503;
    while (status === 503) {
      const retry = await openStream(api, 'acme-viewer');
      status = retry.response.status;
      if (status === 200) expect((await retry.next())?.event).toBe('ready');
      retry.close();
    }
    expect(status).toBe(200);
  });

  it('ends its open streams with `shutdown` when the server stops, instead of holding the close open until a heartbeat', async () => {
    const server = await startApi(testConfig({ API_PORT: '0', API_HOST: '127.0.0.1', LIVE_HEARTBEAT_SECONDS: '300' }), api.db, silentLog);
    const stream = await openStream({ base: server.url, token: api.token }, 'acme-viewer');
    expect((await stream.next())?.event).toBe('ready');
    await server.close();
    expect((await stream.next())?.event).toBe('shutdown');
    expect(await stream.next()).toBeNull();
  });

  it('cuts off a client that stops reading once its backlog passes the bound, instead of buffering without end', async () => {
    const token = await api.token('acme-viewer');
    const url = new URL(`${api.base}/api/v1/live`);
    // Reads the headers and the first bytes, then nothing: the socket's buffers fill and the server's backlog grows. A paused
    // socket never reads the server's close, so the cut is seen from the server: its one stream (LIVE_MAX_STREAMS) is free again.
    // (That place is free once the server has seen the previous test's stream go: until then, 503.)
    let slow: ClientRequest | undefined;
    for (let status = 0; status !== 200; ) {
      status = await new Promise<number>((resolve) => {
        const req = request({ host: url.hostname, port: url.port, path: url.pathname, headers: { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' } }, (res) => {
          if (res.statusCode !== 200) {
            res.resume();
            resolve(res.statusCode!);
            return;
          }
          slow = req;
          res.once('data', () => {
            res.pause();
            resolve(200);
          });
        });
        req.end();
      });
    }
    const batch: LiveEvent[] = Array.from({ length: 60 }, (_, i) => ({ type: 'alarm', alarmId: crypto.randomUUID(), state: 'ACTIVE_UNACK', severity: 'LOW', rule: 'door', vehicleId: null, deviceId: crypto.randomUUID(), at: new Date().toISOString(), message: 'x'.repeat(80 + i) }));
    let replaced = false;
    for (let sent = 1; !replaced && sent <= 2000; sent += 1) {
      await inTenant(api.db, ACME, (em) => notifyLive(em, ACME, batch));
      if (sent % 20 !== 0) continue;
      const probe = await openStream(api, 'acme-viewer');
      replaced = probe.response.status === 200;
      probe.close();
    }
    slow?.destroy();
    expect(replaced).toBe(true);
  });
});
