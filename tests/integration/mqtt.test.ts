import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import pg from 'pg';
import type { Database } from '../../db/orm.js';
import { startIngest, type RunningIngest } from '../../ingest/broker.js';
import { telemetryTopic } from '../../domain/telemetry-topics.js';
import { DEMO_DEVICE } from '../../db/seed.js';
import { ACME, silentLog, testConfig, testDatabase, testEnv } from '../support/stack.js';

describe('MQTT telemetry into the embedded broker (aedes) with mqtt.js', () => {
  let db: Database;
  let ingest: RunningIngest;
  let owner: pg.Client;
  const clients: MqttClient[] = [];

  const connect = (username: string, password: string) => {
    const client = mqtt.connect(`mqtt://127.0.0.1:${ingest.port}`, { username, password, clientId: `test-${username}-${clients.length}`, reconnectPeriod: 0, connectTimeout: 5000 });
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
});
