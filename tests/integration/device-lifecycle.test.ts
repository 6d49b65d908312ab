import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import mqtt from 'mqtt';
import pg from 'pg';
import type { Database } from '../../db/orm.js';
import { startIngest, type RunningIngest } from '../../ingest/index.js';
import { telemetryTopic } from '../../domain/telemetry-topics.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { silentLog, testConfig, testDatabase, testEnv } from '../support/stack.js';

type Connected = { ok: true; client: mqtt.MqttClient; closedAt: Promise<number> } | { ok: false; code: number | undefined };

/** The API provisions, rotates, revokes and deletes; the broker authenticates: they meet only in PostgreSQL. */
describe('a device from provisioning to revocation, across the API and the MQTT broker', () => {
  let api: TestApi;
  let db: Database;
  let ingest: RunningIngest;
  let owner: pg.Client;
  const run = Date.now().toString(36);

  const connect = (username: string, secret: string) =>
    new Promise<Connected>((resolve) => {
      const client = mqtt.connect(`mqtt://127.0.0.1:${ingest.port}`, { username, password: secret, clientId: username, reconnectPeriod: 0, connectTimeout: 5000 });
      const closedAt = new Promise<number>((closed) => client.once('close', () => closed(performance.now())));
      client.once('connect', () => resolve({ ok: true, client, closedAt }));
      client.once('error', (error: Error & { code?: number }) => {
        client.end(true);
        resolve({ ok: false, code: error.code });
      });
    });
  const provision = async (username: string) =>
    (await (await api.call('acme-manager', 'POST', '/api/v1/devices', { body: { name: 'Trailer tracker', mqttUsername: username } })).json()) as { id: string; mqtt: { secret: string; topic: string } };
  const rowsOf = async (deviceId: string) => (await owner.query('SELECT count(*)::int AS n FROM telemetry_points WHERE device_id = $1', [deviceId])).rows[0].n as number;
  /** QoS 1 publish: 'acked', or 'refused' when the connection is closed first (no PUBACK), or 'silent' after 2 s. */
  const publish = (client: mqtt.MqttClient, topic: string) =>
    new Promise<'acked' | 'refused' | 'silent'>((resolve) => {
      if (!client.connected) return resolve('refused');
      const timer = setTimeout(() => resolve('silent'), 2000);
      client.once('close', () => resolve('refused'));
      client.publish(topic, JSON.stringify({ ts: new Date(Date.now() - 1000).toISOString(), lat: -37.9, lon: 145.1 }), { qos: 1 }, (error) => {
        clearTimeout(timer);
        resolve(error ? 'refused' : 'acked');
      });
    });

  beforeAll(async () => {
    api = await startTestApi();
    db = await testDatabase();
    ingest = await startIngest(testConfig({ MQTT_PORT: '0', MQTT_HOST: '127.0.0.1' }), db, silentLog);
    owner = new pg.Client({ connectionString: testEnv().DATABASE_OWNER_URL });
    await owner.connect();
  });
  afterAll(async () => {
    await ingest?.close();
    await owner?.end();
    await db?.close();
    await api?.close();
  });

  it('provisioned secret works, a rotated-out secret does not, a revoked device cannot connect', async () => {
    const username = `truck-${run}`;
    const provisioned = await provision(username);
    expect(provisioned.mqtt.topic).toBe(telemetryTopic(username));

    const first = await connect(username, provisioned.mqtt.secret);
    if (!first.ok) throw new Error(`provisioned secret refused (${first.code})`);
    expect(await publish(first.client, provisioned.mqtt.topic)).toBe('acked');
    // Ingest's view of the device reaches the API: online and heard from, then a refused message counted by reason.
    const device = async () => (await (await api.call('acme-manager', 'GET', `/api/v1/devices/${provisioned.id}`)).json()) as { connectionStatus: string; lastSeenAt: string | null; rejections: Record<string, number> };
    await vi.waitFor(async () => expect(await device()).toMatchObject({ connectionStatus: 'ONLINE', lastSeenAt: expect.any(String), rejections: {} }), { timeout: 5000, interval: 200 });
    first.client.publish(provisioned.mqtt.topic, '{"ts":"yesterday"}', { qos: 1 });
    await first.closedAt;
    await vi.waitFor(async () => expect(await device()).toMatchObject({ connectionStatus: 'OFFLINE', rejections: { invalid: 1 } }), { timeout: 5000, interval: 200 });
    expect(await rowsOf(provisioned.id)).toBe(1);

    const rotated = (await (await api.call('acme-manager', 'POST', `/api/v1/devices/${provisioned.id}/rotate-secret`)).json()) as { mqtt: { secret: string } };
    expect(await connect(username, provisioned.mqtt.secret)).toEqual({ ok: false, code: 4 });
    const second = await connect(username, rotated.mqtt.secret);
    expect(second.ok).toBe(true);
    if (second.ok) await second.client.endAsync();

    expect((await api.call('acme-manager', 'POST', `/api/v1/devices/${provisioned.id}/revoke`)).status).toBe(200);
    expect(await connect(username, rotated.mqtt.secret)).toEqual({ ok: false, code: 4 });
  });

  it.each([
    ['revoked', (id: string) => api.call('acme-manager', 'POST', `/api/v1/devices/${id}/revoke`), 200],
    ['rotated', (id: string) => api.call('acme-manager', 'POST', `/api/v1/devices/${id}/rotate-secret`), 200],
    ['deleted', (id: string) => api.call('acme-manager', 'DELETE', `/api/v1/devices/${id}`), 204],
  ] as const)('a %s device loses its live session within a second: its next QoS 1 point gets no PUBACK and no row', async (what, change, status) => {
    const username = `live-${what}-${run}`;
    const device = await provision(username);
    const session = await connect(username, device.mqtt.secret);
    if (!session.ok) throw new Error(`provisioned secret refused (${session.code})`);
    expect(await publish(session.client, device.mqtt.topic)).toBe('acked');

    expect((await change(device.id)).status).toBe(status);
    const changedAt = performance.now();
    expect(await publish(session.client, device.mqtt.topic)).toBe('refused');
    expect((await session.closedAt) - changedAt).toBeLessThan(1000);
    expect(await rowsOf(device.id)).toBe(1);
    session.client.end(true);
  });

  it('a change made while the broker cannot hear changes is caught when it hears again, or at the next publish', async () => {
    const username = `deaf-${run}`;
    const device = await provision(username);
    const session = await connect(username, device.mqtt.secret);
    if (!session.ok) throw new Error(`provisioned secret refused (${session.code})`);
    // Cut the broker's LISTEN connection, then revoke behind its back: that NOTIFY is lost.
    // This process's broker (the listener is named for its process; other test files run their own beside this one).
    const listeners = await owner.query(`SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()`, [`ingest-credentials-listener ${process.pid}`]);
    expect(listeners.rowCount).toBe(1);
    const { pid } = listeners.rows[0];
    // As the app role: a role may end its own backends.
    const app = new pg.Client({ connectionString: testEnv().DATABASE_URL });
    await app.connect();
    await app.query('SELECT pg_terminate_backend($1)', [pid]);
    await app.end();
    // Once the backend is gone its FATAL goodbye has been sent to the broker's listener.
    while ((await owner.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).rowCount) await new Promise((resolve) => setTimeout(resolve, 10));
    await owner.query('UPDATE devices SET revoked_at = now() WHERE id = $1', [device.id]);
    expect(await publish(session.client, device.mqtt.topic)).toBe('refused');
    expect(await rowsOf(device.id)).toBe(0);
  });
});
