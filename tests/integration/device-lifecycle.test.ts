import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import pg from 'pg';
import type { Database } from '../../db/orm.js';
import { startIngest, type RunningIngest } from '../../ingest/broker.js';
import { telemetryTopic } from '../../domain/telemetry-topics.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { silentLog, testConfig, testDatabase, testEnv } from '../support/stack.js';

/** The API provisions, rotates and revokes; the broker authenticates: they meet only in PostgreSQL. */
describe('a device from provisioning to revocation, across the API and the MQTT broker', () => {
  let api: TestApi;
  let db: Database;
  let ingest: RunningIngest;
  const username = `truck-${Date.now().toString(36)}`;

  const connect = (secret: string) =>
    new Promise<{ ok: true; client: mqtt.MqttClient } | { ok: false; code: number | undefined }>((resolve) => {
      const client = mqtt.connect(`mqtt://127.0.0.1:${ingest.port}`, { username, password: secret, reconnectPeriod: 0, connectTimeout: 5000 });
      client.once('connect', () => resolve({ ok: true, client }));
      client.once('error', (error: Error & { code?: number }) => {
        client.end(true);
        resolve({ ok: false, code: error.code });
      });
    });

  beforeAll(async () => {
    api = await startTestApi();
    db = await testDatabase();
    ingest = await startIngest(testConfig({ MQTT_PORT: '0', MQTT_HOST: '127.0.0.1' }), db, silentLog);
  });
  afterAll(async () => {
    await ingest?.close();
    await db?.close();
    await api?.close();
  });

  it('provisioned secret works, a rotated-out secret does not, a revoked device cannot connect', async () => {
    const provisioned = (await (await api.call('acme-manager', 'POST', '/api/v1/devices', { body: { name: 'Trailer tracker', mqttUsername: username } })).json()) as { id: string; mqtt: { secret: string; topic: string } };
    expect(provisioned.mqtt.topic).toBe(telemetryTopic(username));

    const first = await connect(provisioned.mqtt.secret);
    if (!first.ok) throw new Error(`provisioned secret refused (${first.code})`);
    const ts = new Date(Date.now() - 2000).toISOString();
    await first.client.publishAsync(provisioned.mqtt.topic, JSON.stringify({ ts, lat: -37.9, lon: 145.1 }), { qos: 1 });
    await first.client.endAsync();
    const owner = new pg.Client({ connectionString: testEnv().DATABASE_OWNER_URL });
    await owner.connect();
    const stored = await owner.query('SELECT count(*)::int AS n FROM telemetry_points WHERE device_id = $1 AND recorded_at = $2', [provisioned.id, ts]);
    await owner.end();
    expect(stored.rows[0].n).toBe(1);

    const rotated = (await (await api.call('acme-manager', 'POST', `/api/v1/devices/${provisioned.id}/rotate-secret`)).json()) as { mqtt: { secret: string } };
    expect(await connect(provisioned.mqtt.secret)).toEqual({ ok: false, code: 4 });
    const second = await connect(rotated.mqtt.secret);
    expect(second.ok).toBe(true);
    if (second.ok) await second.client.endAsync();

    expect((await api.call('acme-manager', 'POST', `/api/v1/devices/${provisioned.id}/revoke`)).status).toBe(200);
    expect(await connect(rotated.mqtt.secret)).toEqual({ ok: false, code: 4 });
  });
});
