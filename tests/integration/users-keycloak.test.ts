import { randomBytes } from 'node:crypto';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { Connection } from '@temporalio/client';
import { createApp } from '../../api/app.js';
import { ROLES } from '../../domain/rbac.js';
import { openDatabase, type Database } from '../../db/orm.js';
import { createKeycloakAdmin, KeycloakUpstreamError, type KeycloakAdmin } from '../../identity/keycloak-admin.js';
import { ACME, passwordToken, silentLog, testConfig, testEnv } from '../support/stack.js';

/** Keycloak behind a proxy that holds every request `delayMs` before passing it on, and counts the admin calls. */
async function slowKeycloak(upstream: string, delayMs: number) {
  const target = new URL(upstream);
  const stats = { adminCalls: 0, inFlight: 0, maxInFlight: 0 };
  const server = createServer((req, res) => {
    // Admin calls only: the service account's token request is not one of them.
    const admin = req.url?.startsWith('/admin/') ?? false;
    if (admin) {
      stats.adminCalls += 1;
      stats.inFlight += 1;
      stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
    }
    const done = () => {
      if (admin) stats.inFlight -= 1;
    };
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      setTimeout(() => {
        const forward = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
          done(); // answered: what the client waits for is here (the body follows)
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        });
        forward.on('error', () => {
          done();
          res.destroy();
        });
        forward.end(Buffer.concat(chunks));
      }, delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, stats, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

async function listen(app: ReturnType<typeof createApp>): Promise<{ base: string; server: Server }> {
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const run = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
const DELAY_MS = 500;

describe('/users and Keycloak: no database connection held while Keycloak answers; security events audited first', () => {
  const env = testEnv();
  const config = testConfig();
  const keycloakOrigin = new URL(config.OIDC_ISSUER).origin;
  let proxy: Awaited<ReturnType<typeof slowKeycloak>>;
  let direct: KeycloakAdmin;
  let db: Database;
  let owner: pg.Client;
  let temporal: Connection;
  const servers: Server[] = [];
  const created: string[] = [];
  const tokens = new Map<string, Promise<string>>();
  const token = (username: string) => {
    if (!tokens.has(username)) tokens.set(username, passwordToken(username));
    return tokens.get(username)!;
  };
  const call = async (base: string, username: string, method: string, path: string, body?: unknown) =>
    fetch(`${base}${path}`, {
      method,
      headers: { Authorization: `Bearer ${await token(username)}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  /** An API whose Keycloak admin client is `identity`, on the production pool size. */
  async function api(identity: KeycloakAdmin): Promise<string> {
    const { base, server } = await listen(createApp({ config, db, temporal, log: silentLog, identity }));
    servers.push(server);
    return base;
  }

  beforeAll(async () => {
    proxy = await slowKeycloak(keycloakOrigin, DELAY_MS);
    direct = createKeycloakAdmin({ issuer: config.OIDC_ISSUER, clientId: config.KEYCLOAK_ADMIN_CLIENT_ID, clientSecret: config.KEYCLOAK_ADMIN_CLIENT_SECRET! });
    db = await openDatabase({ url: env.DATABASE_URL!, poolSize: 10 });
    owner = new pg.Client({ connectionString: env.DATABASE_OWNER_URL });
    await owner.connect();
    temporal = Connection.lazy({ address: config.TEMPORAL_ADDRESS });
    // More users in the company than roles, so one role lookup per user would show in the counts.
    for (const n of [1, 2, 3]) {
      created.push(await direct.createUser(ACME, { username: `kc-load-${run}-${n}`, email: `kc-load-${run}-${n}@demo.safeshipper.test`, firstName: 'Kay', lastName: `Load ${n}`, role: 'VIEWER' }));
    }
  });
  afterAll(async () => {
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    const master = await passwordToken('admin', { realm: 'master', clientId: 'admin-cli', password: env.KEYCLOAK_ADMIN_PASSWORD! });
    const realm = config.OIDC_ISSUER.replace(/^.*\/realms\//, '');
    for (const id of created) await fetch(`${keycloakOrigin}/admin/realms/${realm}/users/${id}`, { method: 'DELETE', headers: { Authorization: `Bearer ${master}` } });
    await proxy?.close();
    await temporal?.close();
    await owner?.end();
    await db?.close();
  });

  const throughProxy = () =>
    createKeycloakAdmin({ issuer: config.OIDC_ISSUER.replace(keycloakOrigin, proxy.origin), clientId: config.KEYCLOAK_ADMIN_CLIENT_ID, clientSecret: config.KEYCLOAK_ADMIN_CLIENT_SECRET! });

  it('a list costs the same number of Keycloak calls whatever its size: one page of users and one query per role', async () => {
    const base = await api(throughProxy());
    expect((await call(base, 'acme-admin', 'GET', '/api/v1/users?limit=1')).status).toBe(200); // token fetched, caller recorded
    for (const limit of [2, 100]) {
      proxy.stats.adminCalls = 0;
      const response = await call(base, 'acme-admin', 'GET', `/api/v1/users?limit=${limit}`);
      const body = (await response.json()) as { items: Array<{ username: string; role: string }>; total: number };
      expect(body.items).toHaveLength(Math.min(limit, body.total));
      expect(body.total).toBeGreaterThanOrEqual(8);
      expect(proxy.stats.adminCalls).toBe(1 + ROLES.length);
    }
    const all = (await (await call(base, 'acme-admin', 'GET', '/api/v1/users?limit=100')).json()) as { items: Array<{ username: string; role: string }> };
    expect(all.items.find((user) => user.username === 'acme-manager')?.role).toBe('MANAGER');
    expect(all.items.find((user) => user.username === `kc-load-${run}-1`)?.role).toBe('VIEWER');
  });

  it('twelve parallel GET /users against a slow Keycloak do not block another tenant, and Keycloak sees a bounded number at once', async () => {
    const base = await api(throughProxy());
    await call(base, 'boreal-manager', 'GET', '/api/v1/vehicles'); // first sight recorded before the race
    proxy.stats.maxInFlight = 0;
    let usersDone = 0;
    const lists = Array.from({ length: 12 }, () =>
      call(base, 'acme-admin', 'GET', '/api/v1/users').then(async (response) => {
        usersDone += 1;
        return response.status;
      }),
    );
    // Every list is in Keycloak's hands (the proxy holds them) before the other tenant asks.
    while (proxy.stats.inFlight < 8) await new Promise((resolve) => setTimeout(resolve, 20));
    const vehicles = await call(base, 'boreal-manager', 'GET', '/api/v1/vehicles');
    expect(vehicles.status).toBe(200);
    expect(usersDone).toBe(0);
    expect(await Promise.all(lists)).toEqual(Array.from({ length: 12 }, () => 200));
    expect(proxy.stats.maxInFlight).toBeLessThanOrEqual(8);
  });

  it('when the step after the Keycloak change fails, the change is still in the audit log', async () => {
    const userId = created[0]!;
    // Keycloak changes the role; reading the user back (the step after) fails.
    let changed = false;
    const failing: KeycloakAdmin = {
      ...direct,
      changeRole: async (...args) => {
        const change = await direct.changeRole(...args);
        changed = true;
        return change;
      },
      getUser: (...args) => (changed ? Promise.reject(new KeycloakUpstreamError('read user: Keycloak answered 503', 503)) : direct.getUser(...args)),
    };
    const base = await api(failing);
    const response = await call(base, 'acme-admin', 'PATCH', `/api/v1/users/${userId}`, { role: 'OPERATOR' });
    expect(response.status).toBe(502);
    expect((await direct.getUser(ACME, userId)).role).toBe('OPERATOR');
    const audit = await owner.query(`SELECT action, before, after FROM audit_log WHERE entity_id = $1 ORDER BY id`, [userId]);
    expect(audit.rows).toEqual([
      { action: 'security.role_change_requested', before: null, after: { role: 'OPERATOR' } },
      { action: 'security.role_changed', before: { role: 'VIEWER' }, after: { role: 'OPERATOR' } },
    ]);
  });
});
