import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startTestApi, type TestApi } from '../support/api.js';
import { inTenant } from '../../db/orm.js';
import { recordCaller } from '../../db/users.js';
import { ACME, BOREAL, passwordToken, testEnv } from '../support/stack.js';

const run = Date.now().toString(36);

describe('users through the Keycloak admin API, and platform staff across companies', () => {
  let api: TestApi;
  let owner: pg.Client;
  const created: string[] = [];
  beforeAll(async () => {
    api = await startTestApi();
    owner = new pg.Client({ connectionString: testEnv().DATABASE_OWNER_URL });
    await owner.connect();
  });
  afterAll(async () => {
    // Users created here are removed from Keycloak with the master admin, so runs do not pile up.
    const env = testEnv();
    const master = env.OIDC_ISSUER!.replace(/\/realms\/.*$/, '');
    const token = await passwordToken('admin', { realm: 'master', clientId: 'admin-cli', password: env.KEYCLOAK_ADMIN_PASSWORD! });
    for (const id of created) await fetch(`${master}/admin/realms/${env.OIDC_ISSUER!.replace(/^.*\/realms\//, '')}/users/${id}`, { method: 'DELETE', headers: { Authorization: `Bearer ${token}` } });
    await owner?.end();
    await api?.close();
  });

  it('/me maps the caller to a user row created on first sight, recorded in the audit log', async () => {
    const me = (await (await api.call('acme-driver', 'GET', '/api/v1/me')).json()) as { userId: string; role: string; company: { id: string } };
    expect(me).toMatchObject({ role: 'DRIVER', company: { id: ACME } });
    const row = (await owner.query('SELECT company_id, username, role FROM users WHERE id = $1', [me.userId])).rows[0];
    expect(row).toEqual({ company_id: ACME, username: 'acme-driver', role: 'DRIVER' });
    const events = await owner.query(`SELECT action FROM audit_log WHERE entity_id = $1 AND action LIKE 'security.%'`, [me.userId]);
    expect(events.rows.map((event) => event.action)).toEqual(['security.user_first_seen']);
  });

  it('a token whose role differs from the stored one is noticed as a role change (and a new subject as first seen)', async () => {
    const caller = { subject: `subject-${run}`, companyId: ACME, username: `someone-${run}` };
    const first = await inTenant(api.db, ACME, (em) => recordCaller(em, { ...caller, role: 'VIEWER' }));
    expect(first).toMatchObject({ firstSeen: true, roleChangedFrom: undefined });
    const same = await inTenant(api.db, ACME, (em) => recordCaller(em, { ...caller, role: 'VIEWER' }));
    expect(same).toEqual({ userId: first.userId, firstSeen: false, roleChangedFrom: undefined });
    const promoted = await inTenant(api.db, ACME, (em) => recordCaller(em, { ...caller, role: 'MANAGER' }));
    expect(promoted).toEqual({ userId: first.userId, firstSeen: false, roleChangedFrom: 'VIEWER' });
    expect((await owner.query('SELECT role FROM users WHERE id = $1', [first.userId])).rows[0]).toEqual({ role: 'MANAGER' });
  });

  it('an admin creates a user in their company, changes its role, disables it — each audited', async () => {
    const username = `ops-${run}`;
    const response = await api.call('acme-admin', 'POST', '/api/v1/users', { body: { username, email: `${username}@demo.safeshipper.test`, firstName: 'Olive', lastName: 'Ops', role: 'OPERATOR', temporaryPassword: 'temporary-password-1' } });
    expect(response.status).toBe(201);
    const user = (await response.json()) as { id: string; role: string; enabled: boolean; requiredActions: string[] };
    created.push(user.id);
    expect(user).toMatchObject({ role: 'OPERATOR', enabled: true, requiredActions: ['UPDATE_PASSWORD'] });
    expect(response.headers.get('location')).toBe(`/api/v1/users/${user.id}`);

    const list = (await (await api.call('acme-manager', 'GET', `/api/v1/users?search=${username}`)).json()) as { items: Array<{ id: string }> };
    expect(list.items.map((item) => item.id)).toEqual([user.id]);
    expect((await api.call('boreal-admin', 'GET', `/api/v1/users/${user.id}`)).status).toBe(404);

    const promoted = await api.call('acme-admin', 'PATCH', `/api/v1/users/${user.id}`, { body: { role: 'MANAGER' } });
    expect(await promoted.json()).toMatchObject({ role: 'MANAGER' });
    const disabled = await api.call('acme-admin', 'POST', `/api/v1/users/${user.id}/disable`);
    expect(await disabled.json()).toMatchObject({ enabled: false });
    // Each change: the intent committed before Keycloak is called, then the outcome.
    const audit = await owner.query(`SELECT action, before, after FROM audit_log WHERE entity_id = $1 OR after->>'username' = $2 ORDER BY id`, [user.id, username]);
    expect(audit.rows.map((row) => row.action)).toEqual([
      'security.user_create_requested',
      'create',
      'security.role_change_requested',
      'security.role_changed',
      'security.user_disable_requested',
      'security.user_disabled',
    ]);
    expect(audit.rows[3]).toMatchObject({ before: { role: 'OPERATOR' }, after: { role: 'MANAGER' } });
    expect(audit.rows[5]).toMatchObject({ before: { enabled: true }, after: { enabled: false } });
  });

  it('nobody changes their own role or disables themselves; a taken username is 409; managers may read but not write', async () => {
    const me = (await (await api.call('acme-admin', 'GET', '/api/v1/me')).json()) as { subject: string };
    const self = await api.call('acme-admin', 'PATCH', `/api/v1/users/${me.subject}`, { body: { role: 'VIEWER' } });
    expect(self.status).toBe(422);
    const taken = await api.call('acme-admin', 'POST', '/api/v1/users', { body: { username: 'acme-viewer', email: `x-${run}@demo.safeshipper.test`, firstName: 'X', lastName: 'Y', role: 'VIEWER' } });
    expect(taken.status).toBe(409);
    expect((await api.call('acme-manager', 'GET', '/api/v1/users')).status).toBe(200);
    expect((await api.call('acme-manager', 'POST', '/api/v1/users', { body: {} })).status).toBe(403);
  });

  it('platform staff list and onboard companies; company users cannot', async () => {
    const list = (await (await api.call('platform-staff', 'GET', '/api/v1/admin/companies')).json()) as { items: Array<{ id: string }> };
    expect(list.items.map((company) => company.id)).toEqual(expect.arrayContaining([ACME, BOREAL]));
    const createdCompany = await api.call('platform-staff', 'POST', '/api/v1/admin/companies', { body: { name: `Cobalt Carriers ${run}` } });
    expect(createdCompany.status).toBe(201);
    const { id } = (await createdCompany.json()) as { id: string };
    expect((await owner.query('SELECT name FROM companies WHERE id = $1', [id])).rows[0]).toEqual({ name: `Cobalt Carriers ${run}` });
    expect((await api.call('acme-admin', 'GET', '/api/v1/admin/companies')).status).toBe(403);
  });

  it('a cross-company look needs a reason and leaves an audit entry in the company it looked into', async () => {
    const noReason = await api.call('platform-staff', 'GET', `/api/v1/admin/companies/${BOREAL}/shipments`);
    expect(noReason.status).toBe(400);
    const response = await api.call('platform-staff', 'GET', `/api/v1/admin/companies/${BOREAL}/shipments?reason=${encodeURIComponent(`support ticket ${run}`)}`);
    expect(response.status).toBe(200);
    const audit = await owner.query(`SELECT company_id, actor_username, action, after->>'reason' AS reason FROM audit_log WHERE after->>'reason' = $1`, [`support ticket ${run}`]);
    expect(audit.rows).toEqual([{ company_id: BOREAL, actor_username: 'platform-staff', action: 'security.cross_company_access', reason: `support ticket ${run}` }]);
  });
});
