import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminBaseUrl,
  createKeycloakAdmin,
  KeycloakUpstreamError,
  KeycloakUserConflict,
  KeycloakUserNotFound,
  KeycloakUserRejected,
  type KeycloakAdmin,
} from '../../identity/keycloak-admin.js';
import { ROLES } from '../../domain/rbac.js';
import { ACME, BOREAL, passwordToken, testEnv } from '../support/stack.js';

/**
 * The Keycloak admin client against the running Keycloak, as the API's service account.
 *
 * The service account client comes from the realm file when it declares `safeshipper-admin-api`
 * (secret from KEYCLOAK_ADMIN_CLIENT_SECRET, or read through the master admin); until then this
 * file creates a client of its own with the same settings and removes it afterwards. The master
 * admin is used only for that, to look up demo users, and to delete the users created here.
 */
const env = testEnv();
const issuer = env.OIDC_ISSUER!;
const adminBase = adminBaseUrl(issuer);
const origin = new URL(issuer).origin;
const run = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
const password = `kc-admin-test-${randomBytes(9).toString('base64url')}`;

const decode = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { realm_access?: { roles?: string[] }; company_id?: string };
const tokenRoles = async (username: string) => {
  const claims = decode(await passwordToken(username, { password }));
  return { roles: claims.realm_access?.roles ?? [], companyId: claims.company_id };
};

async function masterToken(): Promise<string> {
  const response = await fetch(`${origin}/realms/master/protocol/openid-connect/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'password', client_id: 'admin-cli', username: 'admin', password: env.KEYCLOAK_ADMIN_PASSWORD! }),
  });
  const body = (await response.json()) as { access_token?: string };
  if (!body.access_token) throw new Error(`no master admin token: ${response.status}`);
  return body.access_token;
}

async function asMaster<T>(method: string, path: string, body?: unknown): Promise<{ status: number; location: string | null; json: T }> {
  const response = await fetch(`${adminBase}${path}`, {
    method,
    headers: { authorization: `Bearer ${await masterToken()}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, location: response.headers.get('location'), json: (text ? JSON.parse(text) : undefined) as T };
}

const userIdOf = async (username: string) => {
  const { json } = await asMaster<Array<{ id: string }>>('GET', `/users?username=${encodeURIComponent(username)}&exact=true`);
  if (!json[0]) throw new Error(`no user ${username}`);
  return json[0].id;
};

/** The service account client: declared by the realm, or created for this run. */
async function serviceAccountClient(): Promise<{ clientId: string; clientSecret: string; cleanup(): Promise<void> }> {
  const declared = env.KEYCLOAK_ADMIN_CLIENT_ID ?? 'safeshipper-admin-api';
  if (env.KEYCLOAK_ADMIN_CLIENT_SECRET) return { clientId: declared, clientSecret: env.KEYCLOAK_ADMIN_CLIENT_SECRET, cleanup: async () => {} };
  const existing = await asMaster<Array<{ id: string }>>('GET', `/clients?clientId=${declared}`);
  if (existing.json[0]) {
    const secret = await asMaster<{ value: string }>('GET', `/clients/${existing.json[0].id}/client-secret`);
    return { clientId: declared, clientSecret: secret.json.value, cleanup: async () => {} };
  }
  const clientId = `${declared}-test-${run}`;
  const clientSecret = randomBytes(24).toString('base64url');
  const created = await asMaster('POST', '/clients', {
    clientId,
    enabled: true,
    protocol: 'openid-connect',
    publicClient: false,
    standardFlowEnabled: false,
    implicitFlowEnabled: false,
    directAccessGrantsEnabled: false,
    serviceAccountsEnabled: true,
    clientAuthenticatorType: 'client-secret',
    secret: clientSecret,
    defaultClientScopes: ['basic', 'acr', 'roles', 'service_account'],
  });
  expect(created.status).toBe(201);
  const id = created.location!.split('/').pop()!;
  const serviceAccount = await asMaster<{ id: string }>('GET', `/clients/${id}/service-account-user`);
  const [realmManagement] = (await asMaster<Array<{ id: string }>>('GET', '/clients?clientId=realm-management')).json;
  const roles = await Promise.all(['manage-users', 'view-users', 'query-users'].map(async (name) => (await asMaster<{ id: string; name: string }>('GET', `/clients/${realmManagement!.id}/roles/${name}`)).json));
  expect((await asMaster('POST', `/users/${serviceAccount.json.id}/role-mappings/clients/${realmManagement!.id}`, roles)).status).toBe(204);
  return { clientId, clientSecret, cleanup: async () => void (await asMaster('DELETE', `/clients/${id}`)) };
}

describe('Keycloak admin client: a company ADMIN manages the users of their own company', () => {
  let admin: KeycloakAdmin;
  let cleanupClient: () => Promise<void> = async () => {};
  const created: string[] = [];
  const username = `kc-admin-test-${run}`;
  const email = `${username}@example.test`;
  let userId: string;

  beforeAll(async () => {
    const client = await serviceAccountClient();
    cleanupClient = client.cleanup;
    admin = createKeycloakAdmin({ issuer, clientId: client.clientId, clientSecret: client.clientSecret });
  });

  afterAll(async () => {
    for (const id of created) await asMaster('DELETE', `/users/${id}`);
    for (const name of [`${username}-dup`, `${username}-weak`]) {
      const { json } = await asMaster<Array<{ id: string }>>('GET', `/users?username=${name}&exact=true`);
      for (const leftover of json ?? []) await asMaster('DELETE', `/users/${leftover.id}`);
    }
    await cleanupClient();
  });

  it('creates a user in Acme with company, role and a permanent password; reads it back', async () => {
    userId = await admin.createUser(ACME, { username, email, firstName: 'Kim', lastName: 'Tester', role: 'OPERATOR', password: { value: password, temporary: false } });
    created.push(userId);
    expect(userId).toMatch(/^[0-9a-f-]{36}$/);

    const user = await admin.getUser(ACME, userId);
    expect(user).toMatchObject({ id: userId, username, email, firstName: 'Kim', lastName: 'Tester', companyId: ACME, role: 'OPERATOR', enabled: true, emailVerified: false, requiredActions: [] });
    expect(user.createdAt).toBeInstanceOf(Date);

    // A real token for the new user carries the company and the role (composites expanded).
    const token = await tokenRoles(username);
    expect(token.companyId).toBe(ACME);
    expect(token.roles).toEqual(expect.arrayContaining(['OPERATOR', 'DRIVER', 'VIEWER']));
    expect(token.roles).not.toContain('MANAGER');
  });

  it('creates a user without a password with UPDATE_PASSWORD pending, or with a temporary one', async () => {
    const pendingId = await admin.createUser(ACME, { username: `${username}-new`, email: `${username}-new@example.test`, firstName: 'New', lastName: 'Starter', role: 'VIEWER' });
    created.push(pendingId);
    expect(await admin.getUser(ACME, pendingId)).toMatchObject({ role: 'VIEWER', enabled: true, requiredActions: ['UPDATE_PASSWORD'] });

    const temporaryId = await admin.createUser(BOREAL, { username: `${username}-tmp`, email: `${username}-tmp@example.test`, firstName: 'Temp', lastName: 'Orary', role: 'DRIVER', password: { value: password } });
    created.push(temporaryId);
    expect(await admin.getUser(BOREAL, temporaryId)).toMatchObject({ companyId: BOREAL, role: 'DRIVER', requiredActions: ['UPDATE_PASSWORD'] });
    // The temporary password must be changed first: no token through the password grant.
    await expect(passwordToken(`${username}-tmp`, { password })).rejects.toThrow(/Account is not fully set up/);
  });

  it("lists only the company's users (never Boreal's, never service accounts), with search and paging", async () => {
    const all = await admin.listUsers(ACME, { max: 100 });
    const names = all.users.map((user) => user.username);
    expect(names).toEqual(expect.arrayContaining(['acme-admin', 'acme-driver', 'acme-manager', 'acme-operator', 'acme-viewer', username, `${username}-new`]));
    expect(names.filter((name) => name.startsWith('boreal-') || name.startsWith('service-account-') || name === 'platform-staff')).toEqual([]);
    expect(names).not.toContain(`${username}-tmp`);
    expect(all.users.every((user) => user.companyId === ACME)).toBe(true);
    expect(all.total).toBe(all.users.length);
    expect(all.users.find((user) => user.username === 'acme-admin')?.role).toBe('ADMIN');
    expect(all.users.find((user) => user.username === 'acme-viewer')?.role).toBe('VIEWER');
    expect(names).toEqual([...names].sort());

    const searched = await admin.listUsers(ACME, { search: run.toUpperCase() });
    expect(searched.users.map((user) => user.username)).toEqual([username, `${username}-new`]);
    expect(searched.total).toBe(2);
    expect((await admin.listUsers(ACME, { search: 'Kim Tester' })).users.map((user) => user.id)).toEqual([userId]);
    expect((await admin.listUsers(BOREAL, { search: run })).users.map((user) => user.username)).toEqual([`${username}-tmp`]);
    expect((await admin.listUsers(BOREAL, { max: 100 })).users.every((user) => user.username.startsWith('boreal-') || user.username.startsWith(username))).toBe(true);

    const first = await admin.listUsers(ACME, { first: 0, max: 2 });
    const second = await admin.listUsers(ACME, { first: 2, max: 2 });
    expect(first.users.map((user) => user.username)).toEqual(names.slice(0, 2));
    expect(second.users.map((user) => user.username)).toEqual(names.slice(2, 4));
    expect(first.total).toBe(all.total);
    await expect(admin.listUsers(ACME, { max: 101 })).rejects.toThrow(RangeError);
  });

  it('changes the role (before/after for the audit log); a fresh real token carries it', async () => {
    expect(await admin.changeRole(ACME, userId, 'MANAGER')).toEqual({ userId, before: 'OPERATOR', after: 'MANAGER' });
    expect((await admin.getUser(ACME, userId)).role).toBe('MANAGER');
    expect((await tokenRoles(username)).roles).toEqual(expect.arrayContaining(['MANAGER', 'OPERATOR', 'DRIVER', 'VIEWER']));

    // A demotion removes the higher role: the token no longer carries it.
    expect(await admin.changeRole(ACME, userId, 'VIEWER')).toEqual({ userId, before: 'MANAGER', after: 'VIEWER' });
    const demoted = await tokenRoles(username);
    expect(demoted.roles).toContain('VIEWER');
    expect(demoted.roles.filter((role) => (ROLES as readonly string[]).includes(role))).toEqual(['VIEWER']);
    // Direct assignments: exactly one SafeShipper role, the default roles untouched.
    const direct = (await asMaster<Array<{ name: string }>>('GET', `/users/${userId}/role-mappings/realm`)).json.map((role) => role.name);
    expect(direct.sort()).toEqual(['VIEWER', `default-roles-${issuer.replace(/^.*\/realms\//, '')}`]);

    // Same role again: nothing changes.
    expect(await admin.changeRole(ACME, userId, 'VIEWER')).toEqual({ userId, before: 'VIEWER', after: 'VIEWER' });
  });

  it("treats another company's user, a service account, and unknown or malformed ids as not found", async () => {
    const borealAdmin = await userIdOf('boreal-admin');
    await expect(admin.getUser(ACME, borealAdmin)).rejects.toBeInstanceOf(KeycloakUserNotFound);
    await expect(admin.changeRole(ACME, borealAdmin, 'VIEWER')).rejects.toBeInstanceOf(KeycloakUserNotFound);
    await expect(admin.disableUser(ACME, borealAdmin)).rejects.toBeInstanceOf(KeycloakUserNotFound);
    // Nothing happened to the Boreal user.
    expect(await admin.getUser(BOREAL, borealAdmin)).toMatchObject({ username: 'boreal-admin', role: 'ADMIN', enabled: true });
    await expect(admin.getUser(BOREAL, userId)).rejects.toBeInstanceOf(KeycloakUserNotFound);

    // The integrations client's service account carries Acme's company_id, but is not Acme's to manage.
    const serviceAccount = await userIdOf('service-account-safeshipper-integrations');
    await expect(admin.changeRole(ACME, serviceAccount, 'ADMIN')).rejects.toBeInstanceOf(KeycloakUserNotFound);
    await expect(admin.getUser(ACME, await userIdOf('platform-staff'))).rejects.toBeInstanceOf(KeycloakUserNotFound);

    await expect(admin.getUser(ACME, '00000000-0000-4000-8000-000000000000')).rejects.toBeInstanceOf(KeycloakUserNotFound);
    await expect(admin.getUser(ACME, '..')).rejects.toBeInstanceOf(KeycloakUserNotFound);
    await expect(admin.getUser(ACME, `${userId}/role-mappings`)).rejects.toBeInstanceOf(KeycloakUserNotFound);
    await expect(admin.listUsers(`${ACME} username:boreal-admin`)).rejects.toThrow(TypeError);
  });

  it('answers a taken username or e-mail with a conflict, and a weak password with a rejection, leaving no user', async () => {
    const duplicate = admin.createUser(ACME, { username, email: `${username}-other@example.test`, firstName: 'Dup', lastName: 'Licate', role: 'VIEWER' });
    await expect(duplicate).rejects.toBeInstanceOf(KeycloakUserConflict);
    await expect(duplicate).rejects.toMatchObject({ field: 'username' });
    // Usernames are realm-wide: another company cannot take it either.
    await expect(admin.createUser(BOREAL, { username, email: `${username}-b@example.test`, firstName: 'Dup', lastName: 'Licate', role: 'VIEWER' })).rejects.toMatchObject({ field: 'username' });
    await expect(admin.createUser(ACME, { username: `${username}-dup`, email, firstName: 'Dup', lastName: 'Licate', role: 'VIEWER' })).rejects.toMatchObject({ name: 'KeycloakUserConflict', field: 'email' });

    const weak = admin.createUser(ACME, { username: `${username}-weak`, email: `${username}-weak@example.test`, firstName: 'Weak', lastName: 'Password', role: 'VIEWER', password: { value: 'short' } });
    await expect(weak).rejects.toBeInstanceOf(KeycloakUserRejected);
    await expect(weak).rejects.toThrow(/minimum length 12/);
    const invalid = admin.createUser(ACME, { username: `${username}-weak`, email: 'not-an-email', firstName: 'Weak', lastName: 'Email', role: 'VIEWER' });
    await expect(invalid).rejects.toMatchObject({ name: 'KeycloakUserRejected', errors: [{ field: 'email', message: 'error-invalid-email' }] });
    await expect(admin.createUser(ACME, { username: 'service-account-sneaky', email: 'sneaky@example.test', firstName: 'S', lastName: 'A', role: 'ADMIN' })).rejects.toBeInstanceOf(KeycloakUserRejected);
    expect((await admin.listUsers(ACME, { search: `${username}-` })).users.map((user) => user.username)).toEqual([`${username}-new`]);
  });

  it('disables a user, keeping the record; a token request then fails; enabling restores it', async () => {
    expect(await admin.disableUser(ACME, userId)).toEqual({ userId, wasEnabled: true });
    expect(await admin.getUser(ACME, userId)).toMatchObject({ enabled: false, companyId: ACME, role: 'VIEWER', email });
    await expect(passwordToken(username, { password })).rejects.toThrow(/Account disabled/);
    expect(await admin.disableUser(ACME, userId)).toEqual({ userId, wasEnabled: false });

    expect(await admin.enableUser(ACME, userId)).toEqual({ userId, wasEnabled: false });
    expect((await tokenRoles(username)).companyId).toBe(ACME);
  });

  it('reports a refused service account and an unreachable Keycloak as upstream errors', async () => {
    const wrongSecret = createKeycloakAdmin({ issuer, clientId: 'safeshipper-integrations', clientSecret: 'not-the-secret' });
    await expect(wrongSecret.listUsers(ACME)).rejects.toMatchObject({ name: 'KeycloakUpstreamError', status: 401 });
    // A client without realm-management roles gets a token, then a 403 from the admin API.
    const noRoles = createKeycloakAdmin({ issuer, clientId: 'safeshipper-integrations', clientSecret: 'dev-only-integrations-secret-change-me' });
    await expect(noRoles.getUser(ACME, userId)).rejects.toMatchObject({ name: 'KeycloakUpstreamError', status: 403 });
    const unreachable = createKeycloakAdmin({ issuer: 'http://127.0.0.1:9/realms/safeshipper', clientId: 'x', clientSecret: 'y', timeoutMs: 2000 });
    const error = await unreachable.listUsers(ACME).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(KeycloakUpstreamError);
    expect((error as KeycloakUpstreamError).status).toBeUndefined();
  });
});
