import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import pg from 'pg';
import type { Database } from '../../db/orm.js';
import { startIngest, type RunningIngest } from '../../ingest/index.js';
import { commandsTopic, eventsTopic, statusTopic, telemetryTopic } from '../../domain/telemetry-topics.js';
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
  const provisionDevice = async (companyId: string, username: string, vehicleId: string | null = null) => {
    const secret = newDeviceSecret();
    const { rows } = await owner.query(`INSERT INTO devices (company_id, name, mqtt_username, secret_hash, vehicle_id) VALUES ($1, $2, $2, $3, $4) RETURNING id`, [companyId, username, await hashDeviceSecret(secret), vehicleId]);
    return { id: rows[0].id as string, username, secret };
  };
  const unique = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  /** A fresh device of ACME on a vehicle of its own, connected. */
  const truck = async () => {
    const { rows } = await owner.query(`INSERT INTO vehicles (company_id, registration, vehicle_type, capacity_kg) VALUES ($1, $2, 'TANKER', 20000) RETURNING id`, [ACME, `T ${unique().slice(-10).toUpperCase()}`]);
    const device = await provisionDevice(ACME, `truck-${unique()}`, rows[0].id as string);
    const client = connect(device.username, device.secret);
    await connected(client);
    return { ...device, vehicleId: rows[0].id as string, client };
  };
  /** Publishes on a fresh connection of `device`: 'acked' or 'closed' (refused: MQTT 3.1.1 has no negative PUBACK). */
  const refusedOrAcked = async (device: { username: string; secret: string }, topic: string, body: unknown) => {
    const client = connect(device.username, device.secret);
    await connected(client);
    const outcome = await new Promise<'acked' | 'closed'>((resolve) => {
      client.once('close', () => resolve('closed'));
      client.publish(topic, typeof body === 'string' ? body : JSON.stringify(body), { qos: 1 }, (error) => resolve(error ? 'closed' : 'acked'));
    });
    client.end(true);
    return outcome;
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

  it('a batch message stores each point once by (device, time, sequence); a late point keeps its device time and never moves the vehicle back', async () => {
    const device = await truck();
    const now = Date.now() - 5000;
    const batch = { v: 1, points: [
      { ts: now, seq: 1, lat: -37.80, lon: 144.90, speedKmh: 50, accuracyM: 3.5, sensors: { temperatureC: 18.5, leak: false } },
      { ts: now, seq: 2, lat: -37.81, lon: 144.91, speedKmh: 51 },
      { ts: now + 1000, seq: 3, lat: -37.82, lon: 144.92, headingDeg: 90 },
    ] };
    await publish(device.client, telemetryTopic(device.username), batch);
    // Redelivered whole: nothing new.
    await publish(device.client, telemetryTopic(device.username), batch);
    const rows = async () => (await owner.query(`SELECT recorded_at, sequence::int AS seq, accuracy_m, temperature_c, payload FROM telemetry_points WHERE device_id = $1 ORDER BY recorded_at, sequence`, [device.id])).rows;
    expect(await rows()).toEqual([
      { recorded_at: new Date(now), seq: 1, accuracy_m: 3.5, temperature_c: 18.5, payload: { temperatureC: 18.5, leak: false } },
      { recorded_at: new Date(now), seq: 2, accuracy_m: null, temperature_c: null, payload: {} },
      { recorded_at: new Date(now + 1000), seq: 3, accuracy_m: null, temperature_c: null, payload: {} },
    ]);
    const position = async () => (await owner.query(`SELECT device_id, recorded_at, sequence::int AS seq, ST_Y(location::geometry) AS lat, ST_X(location::geometry) AS lon, heading_deg FROM vehicle_last_positions WHERE vehicle_id = $1`, [device.vehicleId])).rows;
    const newest = { device_id: device.id, recorded_at: new Date(now + 1000), seq: 3, lat: -37.82, lon: 144.92, heading_deg: 90 };
    expect(await position()).toEqual([newest]);

    // Two days late (a device that was offline), on the events topic: stored with its own time; the vehicle stays where it is now.
    const late = now - 2 * 86_400_000;
    await publish(device.client, eventsTopic(device.username), { ts: new Date(late).toISOString(), lat: -33.0, lon: 151.0, sensors: { doorOpen: true } });
    expect((await rows())[0]).toEqual({ recorded_at: new Date(late), seq: 0, accuracy_m: null, temperature_c: null, payload: { doorOpen: true } });
    expect(await position()).toEqual([newest]);
  });

  it('refused messages are counted per device and reason; the device is marked online, then offline by its last will', async () => {
    const device = await truck();
    for (const body of ['{nope', { v: 2, ts: Date.now() }, { ts: Date.now() + 3_600_000 }, { ts: Date.now(), speedKmh: 'fast' }, '[]']) {
      expect(await refusedOrAcked(device, telemetryTopic(device.username), body)).toBe('closed');
    }
    // Its own commands topic is for receiving only; another device's topics are not its.
    expect(await refusedOrAcked(device, commandsTopic(device.username), { ts: Date.now() })).toBe('closed');
    expect(await refusedOrAcked(device, statusTopic(DEMO_DEVICE.mqttUsername), { status: 'offline' })).toBe('closed');
    const counts = async () => (await owner.query(`SELECT reason, count::int AS n, company_id FROM telemetry_rejections WHERE device_id = $1 ORDER BY reason`, [device.id])).rows;
    await vi.waitFor(async () => expect(await counts()).toEqual([
      { reason: 'future_timestamp', n: 1, company_id: ACME },
      { reason: 'invalid', n: 2, company_id: ACME },
      { reason: 'not_json', n: 1, company_id: ACME },
      { reason: 'topic_not_allowed', n: 2, company_id: ACME },
      { reason: 'unsupported_version', n: 1, company_id: ACME },
    ]), { timeout: 5000, interval: 200 });

    const presence = async () => (await owner.query(`SELECT status, last_seen_at IS NOT NULL AS seen FROM devices WHERE id = $1`, [device.id])).rows[0];
    const withWill = mqtt.connect(`mqtt://127.0.0.1:${ingest.port}`, { username: device.username, password: device.secret, clientId: `${device.username}:will`, reconnectPeriod: 0, will: { topic: statusTopic(device.username), payload: Buffer.from('{"status":"offline"}'), qos: 1, retain: false } });
    clients.push(withWill);
    await connected(withWill);
    await publish(withWill, statusTopic(device.username), { v: 1, status: 'online' });
    device.client.end(true);
    await vi.waitFor(async () => expect(await presence()).toEqual({ status: 'ONLINE', seen: true }), { timeout: 5000, interval: 200 });
    // Gone without a DISCONNECT: the broker publishes its will.
    withWill.stream.destroy();
    await vi.waitFor(async () => expect(await presence()).toEqual({ status: 'OFFLINE', seen: true }), { timeout: 5000, interval: 200 });
  });

  it('a device subscribes only to its own commands topic', async () => {
    const device = await truck();
    expect((await device.client.subscribeAsync(commandsTopic(device.username), { qos: 1 }))[0]!.qos).toBe(1);
    for (const topic of [commandsTopic(DEMO_DEVICE.mqttUsername), telemetryTopic(DEMO_DEVICE.mqttUsername), 'safeshipper/v1/devices/+/commands', '#']) {
      const client = connect(device.username, device.secret);
      await connected(client);
      const granted = await client.subscribeAsync(topic, { qos: 1 }).catch(() => [{ qos: 128 }]);
      expect(granted[0]!.qos).toBe(128);
    }
  });

  it('past its rate a device is refused and counted', async () => {
    const limited = await startIngest(testConfig({ MQTT_PORT: '0', MQTT_HOST: '127.0.0.1', MQTT_DEVICE_MESSAGES_PER_SECOND: '0.01', MQTT_DEVICE_MESSAGE_BURST: '3' }), db, silentLog);
    try {
      const device = await provisionDevice(ACME, `rate-${unique()}`);
      const client = mqtt.connect(`mqtt://127.0.0.1:${limited.port}`, { username: device.username, password: device.secret, clientId: device.username, reconnectPeriod: 0 });
      clients.push(client);
      await connected(client);
      const base = Date.now() - 10_000;
      for (let i = 0; i < 3; i += 1) await publish(client, telemetryTopic(device.username), { ts: base + i });
      const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
      client.publish(telemetryTopic(device.username), JSON.stringify({ ts: base + 3 }), { qos: 1 });
      await closed;
      const stored = await owner.query('SELECT count(*)::int AS n FROM telemetry_points WHERE device_id = $1', [device.id]);
      expect(stored.rows[0].n).toBe(3);
      await vi.waitFor(async () => expect((await owner.query(`SELECT reason, count::int AS n FROM telemetry_rejections WHERE device_id = $1`, [device.id])).rows).toEqual([{ reason: 'rate_limited', n: 1 }]), { timeout: 5000, interval: 200 });
    } finally {
      await limited.close();
    }
  });

  it('MQTT over WebSocket: the same broker, commit before PUBACK', async () => {
    const withWs = await startIngest(testConfig({ MQTT_PORT: '0', MQTT_HOST: '127.0.0.1', MQTT_WS_PORT: '0' }), db, silentLog);
    try {
      const device = await provisionDevice(ACME, `ws-${unique()}`);
      const client = mqtt.connect(withWs.ws!.url.replace('localhost', '127.0.0.1'), { username: device.username, password: device.secret, clientId: device.username, reconnectPeriod: 0 });
      clients.push(client);
      await connected(client);
      const ts = new Date(Date.now() - 2000).toISOString();
      await publish(client, telemetryTopic(device.username), { ts, lat: -37.8, lon: 144.9 });
      expect((await owner.query('SELECT count(*)::int AS n FROM telemetry_points WHERE device_id = $1 AND recorded_at = $2', [device.id, ts])).rows[0].n).toBe(1);
      client.end(true);
    } finally {
      await withWs.close();
    }
  });
});
