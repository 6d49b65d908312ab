import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startIngest, type RunningIngest } from '../../ingest/index.js';
import { startFleet, type Fleet } from '../../iot-simulator/fleet.js';
import { provisionDevices, type ProvisionedDevice } from '../../iot-simulator/provision.js';
import type { SimPoint } from '../../iot-simulator/payload.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { silentLog, testConfig, testEnv } from '../support/stack.js';

/**
 * The simulator against the platform: devices provisioned through the API, their points through
 * the embedded broker into PostgreSQL, compared row for row with what the broker acknowledged.
 */
describe('iot-simulator → API provisioning → ingest → PostgreSQL', () => {
  let api: TestApi;
  let ingest: RunningIngest;
  let owner: pg.Client;
  let fleet: Fleet;
  let devices: ProvisionedDevice[];
  const vehicles: string[] = [];
  const acked = new Map<string, SimPoint[]>();
  const run = Date.now().toString(36);

  const rows = async (deviceId: string) =>
    (
      await owner.query(
        `SELECT (extract(epoch FROM recorded_at) * 1000)::float8 AS ts, sequence::int AS seq, ST_Y(location::geometry) AS lat, ST_X(location::geometry) AS lon,
                speed_kmh, heading_deg, accuracy_m, temperature_c, payload
           FROM telemetry_points WHERE device_id = $1 ORDER BY sequence`,
        [deviceId],
      )
    ).rows;
  /** A point as stored (PostgreSQL prints a real as its shortest float32 text: the value sent, at these few digits). */
  const stored = (point: SimPoint) => ({
    ts: point.ts,
    seq: point.seq,
    lat: point.lat,
    lon: point.lon,
    speed_kmh: point.speedKmh,
    heading_deg: point.headingDeg,
    accuracy_m: point.accuracyM,
    temperature_c: point.sensors.temperatureC,
    payload: point.sensors,
  });

  beforeAll(async () => {
    api = await startTestApi();
    ingest = await startIngest(testConfig({ MQTT_PORT: '0', MQTT_HOST: '127.0.0.1' }), api.db, silentLog);
    owner = new pg.Client({ connectionString: testEnv().DATABASE_OWNER_URL });
    await owner.connect();
    for (const n of [1, 2]) {
      const response = await api.call('acme-manager', 'POST', '/api/v1/vehicles', { body: { registration: `SIM${run.slice(-5)}${n}`.toUpperCase(), vehicleType: 'TANKER', capacityKg: 24_000, placardHolders: 4 } });
      expect(response.status).toBe(201);
      vehicles.push(((await response.json()) as { id: string }).id);
    }
    devices = await provisionDevices({ apiUrl: api.base, auth: { token: await api.token('acme-manager') }, count: 2, prefix: `sim-${run}-`, vehicleIds: vehicles });
    fleet = await startFleet({
      mqttUrl: ingest.url.replace('localhost', '127.0.0.1'),
      devices,
      mode: 'manual',
      routes: ['hume'],
      startAt: 'Goulburn',
      timeScale: 60,
      onAcked: (username, points) => acked.set(username, [...(acked.get(username) ?? []), ...points]),
    });
  });
  afterAll(async () => {
    await fleet?.stop({ drainMs: 2000 });
    await ingest?.close();
    await owner?.end();
    await api?.close();
  });

  it('provisions through the API: each device is attached to its vehicle', async () => {
    expect(devices.map((device) => device.vehicleId)).toEqual(vehicles);
    const response = await api.call('acme-manager', 'GET', `/api/v1/devices/${devices[0]!.id}`);
    expect(await response.json()).toMatchObject({ mqttUsername: `sim-${run}-1`, vehicleId: vehicles[0], status: 'ACTIVE' });
  });

  it('every acknowledged point is one row, exactly as sent; the vehicle’s last position is the newest', async () => {
    const [device] = devices;
    const simulated = fleet.device(device!.username);
    await simulated.step(5);
    simulated.inject({ kind: 'leak' });
    simulated.inject({ kind: 'temperature-excursion', celsius: 64.5 });
    await simulated.step(1);
    simulated.inject({ kind: 'clear' });
    const sent = acked.get(device!.username)!;
    expect(sent.map((point) => point.seq)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(sent[5]!.sensors).toMatchObject({ leak: true, temperatureC: 64.5 });
    expect(await rows(device!.id)).toEqual(sent.map(stored));
    const newest = sent[5]!;
    const { rows: last } = await owner.query(
      `SELECT device_id, (extract(epoch FROM recorded_at) * 1000)::float8 AS ts, ST_Y(location::geometry) AS lat, ST_X(location::geometry) AS lon FROM vehicle_last_positions WHERE vehicle_id = $1`,
      [vehicles[0]],
    );
    expect(last).toEqual([{ device_id: device!.id, ts: newest.ts, lat: newest.lat, lon: newest.lon }]);
  });

  it('a network drop: the points made offline arrive as a burst on reconnect, each stored once, none lost', async () => {
    const device = devices[1]!;
    const simulated = fleet.device(device.username);
    await simulated.step(3);
    simulated.inject({ kind: 'network-drop', seconds: 0.5 });
    simulated.produce(40);
    expect(simulated.stats()).toMatchObject({ buffered: 40, acked: 3 });
    await simulated.idle();
    expect(simulated.stats()).toMatchObject({ generated: 43, acked: 43, buffered: 0, discarded: 0 });
    const sent = acked.get(device.username)!;
    expect(await rows(device.id)).toEqual(sent.map(stored));
    expect(sent.map((point) => point.seq)).toEqual(Array.from({ length: 43 }, (_, i) => i));
  });

  it('a device clock an hour behind: its late points are stored with their device time, and do not move the vehicle back', async () => {
    const device = devices[1]!;
    const simulated = fleet.device(device.username);
    const { rows: before } = await owner.query('SELECT recorded_at, sequence FROM vehicle_last_positions WHERE vehicle_id = $1', [vehicles[1]]);
    simulated.inject({ kind: 'clock-skew', seconds: -3600 });
    await simulated.step(2);
    simulated.inject({ kind: 'clear' });
    const late = acked.get(device.username)!.slice(-2);
    expect(late.every((point) => Date.now() - point.ts > 3_590_000)).toBe(true);
    const stored = await rows(device.id);
    expect(stored.slice(-2).map((row) => row.ts)).toEqual(late.map((point) => point.ts));
    const { rows: after } = await owner.query('SELECT recorded_at, sequence FROM vehicle_last_positions WHERE vehicle_id = $1', [vehicles[1]]);
    expect(after).toEqual(before);
  });
});
