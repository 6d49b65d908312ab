import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import pg from 'pg';
import type { Database } from '../../db/orm.js';
import { startIngest, type RunningIngest } from '../../ingest/index.js';
import { telemetryTopic } from '../../domain/telemetry-topics.js';
import { DEMO_DEVICE } from '../../db/seed.js';
import { hashDeviceSecret, newDeviceSecret } from '../../security/device-secrets.js';
import { Batcher } from '../../ingest/batcher.js';
import { commitTelemetry, isRowError, type TelemetryPoint } from '../../db/telemetry.js';
import { ACME, BOREAL, silentLog, testConfig, testDatabase, testEnv } from '../support/stack.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('MQTT telemetry into the embedded broker (aedes) with mqtt.js', () => {
  let db: Database;
  let ingest: RunningIngest;
  let owner: pg.Client;
  const clients: MqttClient[] = [];

  const connect = (username: string, password: string) => {
    const client = mqtt.connect(`mqtt://127.0.0.1:${ingest.port}`, { username, password, clientId: `${username}:test-${clients.length}`, reconnectPeriod: 0, connectTimeout: 5000 });
    clients.push(client);
    return client;
  };
  const connected = (client: MqttClient) =>
    new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
  const publish = (client: MqttClient, topic: string, body: unknown) =>
    new Promise<void>((resolve, reject) => client.publish(topic, typeof body === 'string' ? body : JSON.stringify(body), { qos: 1 }, (error) => (error ? reject(error) : resolve())));
  /** Resolves 'acked', 'closed' when the connection ends first, or 'silent' after `ms`. */
  const publishOutcome = (client: MqttClient, topic: string, body: unknown, ms = 5000) =>
    new Promise<'acked' | 'closed' | 'silent'>((resolve) => {
      if (!client.connected) return resolve('closed');
      const timer = setTimeout(() => resolve('silent'), ms);
      const settle = (outcome: 'acked' | 'closed') => {
        clearTimeout(timer);
        resolve(outcome);
      };
      client.once('close', () => settle('closed'));
      client.publish(topic, JSON.stringify(body), { qos: 1 }, (error) => settle(error ? 'closed' : 'acked'));
    });
  /** A device of another company, provisioned straight into the table as the API would. */
  const provisionDevice = async (companyId: string, username: string) => {
    const secret = newDeviceSecret();
    const { rows } = await owner.query(`INSERT INTO devices (company_id, name, mqtt_username, secret_hash) VALUES ($1, $2, $2, $3) RETURNING id`, [companyId, username, await hashDeviceSecret(secret)]);
    return { id: rows[0].id as string, username, secret };
  };
  const pointsAt = async (recordedAt: string) =>
    (await owner.query(`SELECT company_id, device_id, ST_X(location::geometry) AS lon, ST_Y(location::geometry) AS lat, speed_kmh, payload FROM telemetry_points WHERE recorded_at = $1`, [recordedAt])).rows;

  beforeAll(async () => {
    db = await testDatabase();
    ingest = await startIngest(testConfig({ MQTT_PORT: '0', MQTT_HOST: '127.0.0.1' }), db, silentLog);
    owner = new pg.Client({ connectionString: testEnv().DATABASE_OWNER_URL });
    await owner.connect();
  });
  afterAll(async () => {
    for (const client of clients) client.end(true);
    await ingest?.close();
    await owner.end();
    await db.close();
  });

  it('a QoS 1 publish is in PostgreSQL by the time the PUBACK arrives', async () => {
    const device = connect(DEMO_DEVICE.mqttUsername, testEnv().TEST_DEVICE_SECRET!);
    await connected(device);
    const ts = new Date(Date.now() - 1000).toISOString();
    await publish(device, telemetryTopic(DEMO_DEVICE.mqttUsername), { ts, lat: -37.8136, lon: 144.9631, speedKmh: 62.5, sensors: { tankPressureKpa: 101 } });
    // No waiting, no polling: the acknowledgement itself is the promise.
    expect(await pointsAt(ts)).toEqual([{ company_id: ACME, device_id: DEMO_DEVICE.id, lon: 144.9631, lat: -37.8136, speed_kmh: 62.5, payload: { tankPressureKpa: 101 } }]);
    // A redelivery of the same point (same device, same time) is stored once.
    await publish(device, telemetryTopic(DEMO_DEVICE.mqttUsername), { ts, lat: -37.8136, lon: 144.9631, speedKmh: 62.5, sensors: { tankPressureKpa: 101 } });
    expect(await pointsAt(ts)).toHaveLength(1);
  });

  it('refuses a wrong secret and an unknown device at CONNECT', async () => {
    for (const [username, password] of [[DEMO_DEVICE.mqttUsername, 'wrong-secret'], ['no-such-device', 'x']] as const) {
      const client = connect(username, password);
      const error = await new Promise<Error & { code?: number }>((resolve) => client.once('error', resolve));
      expect(error.code).toBe(4);
    }
  });

  it('never acknowledges a point it did not store: bad payloads and foreign topics end the connection', async () => {
    for (const [topic, body] of [
      [telemetryTopic(DEMO_DEVICE.mqttUsername), '{not json'],
      [telemetryTopic(DEMO_DEVICE.mqttUsername), { ts: new Date().toISOString(), lat: 95, lon: 0 }],
      [telemetryTopic('another-device'), { ts: new Date().toISOString() }],
    ] as const) {
      const device = connect(DEMO_DEVICE.mqttUsername, testEnv().TEST_DEVICE_SECRET!);
      await connected(device);
      const closed = new Promise<void>((resolve) => device.once('close', () => resolve()));
      let acked = false;
      device.publish(topic, typeof body === 'string' ? body : JSON.stringify(body), { qos: 1 }, (error) => {
        if (!error) acked = true;
      });
      await closed;
      expect(acked).toBe(false);
    }
    const { rows } = await owner.query(`SELECT count(*)::int AS n FROM telemetry_points WHERE ST_Y(location::geometry) > 90`);
    expect(rows[0].n).toBe(0);
  });

  it('a device looping poison points costs another company nothing: every point acknowledged and stored', async () => {
    const boreal = await provisionDevice(BOREAL, `boreal-poison-${Date.now().toString(36)}`);
    const victim = connect(boreal.username, boreal.secret);
    await connected(victim);
    // Each passes the old decoder and is refused by PostgreSQL: 359.9999999 is 360 as `real`
    // (CHECK < 360), 1e-50 underflows `real`, NUL and a lone surrogate are not valid `jsonb`.
    const poisons = [{ headingDeg: 359.9999999 }, { speedKmh: 1e-50 }, { sensors: { note: 'a\u0000b' } }, { sensors: { note: 'x\udc00' } }];
    let running = true;
    let poisonSent = 0;
    const poisonOutcomes: string[] = [];
    const attacker = (async () => {
      while (running) {
        const device = connect(DEMO_DEVICE.mqttUsername, testEnv().TEST_DEVICE_SECRET!);
        await connected(device);
        const body = { ts: new Date(Date.now() - 3_600_000 + poisonSent).toISOString(), lat: -37.7, lon: 144.8, ...poisons[poisonSent % poisons.length] };
        poisonSent += 1;
        poisonOutcomes.push(await publishOutcome(device, telemetryTopic(DEMO_DEVICE.mqttUsername), body, 3000));
        device.end(true);
      }
    })();
    const base = Date.now() - 600_000;
    const outcomes: string[] = [];
    for (let wave = 0; wave < 20; wave += 1) {
      const stamps = Array.from({ length: 10 }, (_, i) => new Date(base + wave * 10 + i).toISOString());
      outcomes.push(...(await Promise.all(stamps.map((ts) => publishOutcome(victim, telemetryTopic(boreal.username), { ts, lat: -33.9, lon: 151.2, speedKmh: 40 })))));
      await sleep(5);
    }
    running = false;
    await attacker;

    expect(outcomes.filter((outcome) => outcome !== 'acked')).toEqual([]);
    expect(poisonSent).toBeGreaterThanOrEqual(4);
    const stored = await owner.query('SELECT count(*)::int AS n FROM telemetry_points WHERE device_id = $1', [boreal.id]);
    expect(stored.rows[0].n).toBe(200);
    // The poison is never acknowledged and never stored; its sender alone is disconnected.
    expect(poisonOutcomes.every((outcome) => outcome === 'closed')).toBe(true);
    const poisonRows = await owner.query(`SELECT count(*)::int AS n FROM telemetry_points WHERE device_id = $1 AND recorded_at < now() - interval '50 minutes'`, [DEMO_DEVICE.id]);
    expect(poisonRows.rows[0].n).toBe(0);
  });

  it('a point PostgreSQL refuses fails alone: the rest of its batch, of every company, commits', async () => {
    const boreal = await provisionDevice(BOREAL, `boreal-batch-${Date.now().toString(36)}`);
    const base = Date.now() - 7_200_000;
    const point = (deviceId: string, companyId: string, i: number, extra: Partial<TelemetryPoint> = {}): TelemetryPoint => ({
      companyId, deviceId, vehicleId: null, recordedAt: new Date(base + i), sequence: 0, lon: 150, lat: -30, speedKmh: 10, headingDeg: 90, accuracyM: null, sensors: {}, ...extra,
    });
    const good = Array.from({ length: 20 }, (_, i) => (i % 2 ? point(boreal.id, BOREAL, i) : point(DEMO_DEVICE.id, ACME, i)));
    const bad = [point(DEMO_DEVICE.id, ACME, 100, { headingDeg: 359.9999999 }), point(boreal.id, BOREAL, 101, { sensors: { note: 'a\u0000b' } })];
    // The pipeline's batcher as ingest/pipeline.ts builds it: a batch PostgreSQL refuses for a row's sake is bisected.
    const writer = new Batcher<TelemetryPoint>(async (points) => void (await commitTelemetry(db, points)), { maxSize: 500, maxWaitMs: 20, isolate: isRowError });
    const results = await Promise.allSettled([...good.slice(0, 10), bad[0]!, ...good.slice(10), bad[1]!].map((p) => writer.add(p)));
    expect(results.map((result) => result.status)).toEqual([...Array(10).fill('fulfilled'), 'rejected', ...Array(10).fill('fulfilled'), 'rejected']);
    const { rows } = await owner.query('SELECT count(*)::int AS n FROM telemetry_points WHERE device_id = ANY($1) AND recorded_at BETWEEN $2 AND $3', [[DEMO_DEVICE.id, boreal.id], new Date(base), new Date(base + 200)]);
    expect(rows[0].n).toBe(20);
  });
});
