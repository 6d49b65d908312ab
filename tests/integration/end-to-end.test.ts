import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import pg from 'pg';
import { apiRouters, createApp } from '../../api/app.js';
import { tokenVerifier } from '../../api/auth.js';
import { databaseRules } from '../../db/dangerous-goods-rules.js';
import { FieldEncryption } from '../../security/field-encryption.js';
import { AuditCheckpointSeal } from '../../security/audit-checkpoint.js';
import { Client, Connection } from '@temporalio/client';
import { taskQueues } from '../../config/env.js';
import { ROUTE_POLICY } from '../../domain/policy.js';
import { DEMO_DEVICE } from '../../db/seed.js';
import { telemetryTopic } from '../../domain/telemetry-topics.js';
import { startServices, type RunningServices } from '../../services/run.js';
import { passwordToken, silentLog, testConfig, testDatabase, testEnv } from '../support/stack.js';

describe('api + worker + ingest in one process, as `npm start` runs them', () => {
  let services: RunningServices;
  beforeAll(async () => {
    services = await startServices(['worker', 'ingest', 'api'], { ...testEnv(), API_PORT: '0', API_HOST: '127.0.0.1', MQTT_PORT: '0', MQTT_HOST: '127.0.0.1' });
  });
  afterAll(async () => {
    await services?.stop();
  });

  it('is ready: PostgreSQL, Temporal and the Keycloak JWKS all answer', async () => {
    const response = await fetch(`${services.urls.api}/health/ready`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ready', components: { postgres: { status: 'up' }, temporal: { status: 'up' }, keycloak: { status: 'up' } } });
    expect(await (await fetch(`${services.urls.api}/health`)).json()).toEqual({ status: 'ok' });
  });

  it('makes a request id when none (or an unsafe one) is sent, and echoes it in the problem too', async () => {
    const none = await fetch(`${services.urls.api}/api/v1/me`);
    const made = none.headers.get('x-request-id');
    expect(made).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(((await none.json()) as { requestId: string }).requestId).toBe(made);
    const unsafe = await fetch(`${services.urls.api}/health`, { headers: { 'X-Request-Id': 'bad id<script>' } });
    expect(unsafe.headers.get('x-request-id')).not.toBe('bad id<script>');
    expect(unsafe.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('serves a Keycloak user, stores a device point, and echoes request ids', async () => {
    const token = await passwordToken('acme-manager');
    const response = await fetch(`${services.urls.api}/api/v1/geofences/nearby?lon=144.7689&lat=-37.8591&radiusM=100`, { headers: { Authorization: `Bearer ${token}`, 'X-Request-Id': 'e2e-check-1' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toBe('e2e-check-1');
    expect(await response.json()).toEqual({ items: [{ id: 'a1a1a1a1-0000-4000-8000-000000000001', name: 'Acme Laverton depot', kind: 'DEPOT', distanceM: 0 }] });

    const device = mqtt.connect(services.urls.ingest!.replace('localhost', '127.0.0.1'), { username: DEMO_DEVICE.mqttUsername, password: testEnv().TEST_DEVICE_SECRET!, clientId: DEMO_DEVICE.mqttUsername, reconnectPeriod: 0 });
    const ts = new Date(Date.now() - 5000).toISOString();
    await new Promise<void>((resolve, reject) => device.once('connect', () => resolve()).once('error', reject));
    await device.publishAsync(telemetryTopic(DEMO_DEVICE.mqttUsername), JSON.stringify({ ts, lat: -37.85, lon: 144.77 }), { qos: 1 });
    await device.endAsync();
    const owner = new pg.Client({ connectionString: testEnv().DATABASE_OWNER_URL });
    await owner.connect();
    const { rows } = await owner.query('SELECT count(*)::int AS n FROM telemetry_points WHERE recorded_at = $1', [ts]);
    await owner.end();
    expect(rows[0].n).toBe(1);
  });
});

describe('readiness names the part that is down', () => {
  it('answers 503 naming Temporal when its frontend is unreachable', async () => {
    const config = testConfig({ TEMPORAL_ADDRESS: '127.0.0.1:1' });
    const db = await testDatabase();
    const temporal = Connection.lazy({ address: config.TEMPORAL_ADDRESS, connectTimeout: 1000 });
    const server = createApp({ config, db, temporal, log: silentLog }).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const port = (server.address() as { port: number }).port;
      const response = await fetch(`http://127.0.0.1:${port}/health/ready`);
      expect(response.status).toBe(503);
      const body = (await response.json()) as { failing: string[]; components: Record<string, { status: string }> };
      expect(body.failing).toEqual(['temporal']);
      expect(body.components.postgres).toEqual({ status: 'up' });
      expect(body.components.keycloak).toEqual({ status: 'up' });
    } finally {
      server.close();
      await db.close();
    }
  });
});

describe('the policy table', () => {
  it('declares exactly the routes the API registers, and every one of them demands a token', async () => {
    const config = testConfig();
    const db = await testDatabase();
    try {
      const registered = apiRouters({ db, verify: tokenVerifier({ issuer: config.OIDC_ISSUER, audience: config.OIDC_AUDIENCE, allowedClients: config.OIDC_ALLOWED_CLIENTS }), fields: new FieldEncryption(config.DATA_ENCRYPTION_KEY), auditSeal: new AuditCheckpointSeal(config.AUDIT_CHECKPOINT_KEY), recentCallers: new Map() }, databaseRules(db), undefined, { client: new Client(), shipmentsTaskQueue: taskQueues(config).shipments })
        .flatMap((router) => router.stack.flatMap((layer) => layer.methods.filter((method) => method !== 'HEAD').map((method) => `${method} ${String(layer.path)}`)))
        .sort();
      expect(registered).toEqual(Object.keys(ROUTE_POLICY).sort());

      // Every route once without a token: more than one address's budget of 401s (counted since tokenless requests are limited too).
      const routes = Object.keys(ROUTE_POLICY).length;
      const server = createApp({ config: testConfig({ RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: String(routes + 1) }), db, temporal: Connection.lazy({ address: config.TEMPORAL_ADDRESS }), log: silentLog }).listen(0, '127.0.0.1');
      await new Promise((resolve) => server.once('listening', resolve));
      const port = (server.address() as { port: number }).port;
      for (const route of Object.keys(ROUTE_POLICY)) {
        const [method, path] = route.split(' ') as [string, string];
        const response = await fetch(`http://127.0.0.1:${port}${path.replace(/:\w+/g, '00000000-0000-4000-8000-000000000000')}`, { method });
        expect([route, response.status]).toEqual([route, 401]);
      }
      server.close();
    } finally {
      await db.close();
    }
  });
});
