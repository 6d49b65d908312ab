import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Connection } from '@temporalio/client';
import { createApp } from '../../api/app.js';
import type { Database } from '../../db/orm.js';
import { passwordToken, silentLog, testConfig, testDatabase, testEnv } from '../support/stack.js';

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
const decode = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;

describe('Keycloak tokens against the API', () => {
  const config = testConfig();
  let db: Database;
  let temporal: Connection;
  const servers: Server[] = [];

  async function serve(clock?: () => Date, withConfig = config): Promise<string> {
    const app = createApp({ config: withConfig, db, temporal, log: silentLog, ...(clock ? { clock } : {}) });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    servers.push(server);
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  const me = (base: string, token: string) => fetch(`${base}/api/v1/me`, { headers: { Authorization: `Bearer ${token}` } });

  let base: string;
  beforeAll(async () => {
    db = await testDatabase();
    temporal = Connection.lazy({ address: config.TEMPORAL_ADDRESS });
    base = await serve();
  });
  afterAll(async () => {
    for (const server of servers) await new Promise((resolve) => server.close(resolve));
    await temporal.close();
    await db.close();
  });

  it('accepts a demo user token: the caller, role and company come from the token and the database', async () => {
    const response = await me(base, await passwordToken('acme-operator'));
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body).toMatchObject({ username: 'acme-operator', role: 'OPERATOR', platformStaff: false, company: { id: '11111111-1111-4111-8111-111111111111', name: 'Acme Chemicals' } });
  });

  it('takes the highest role of the composite roles Keycloak expands', async () => {
    const token = await passwordToken('boreal-admin');
    expect((decode(token).realm_access as { roles: string[] }).roles).toEqual(expect.arrayContaining(['ADMIN', 'MANAGER', 'OPERATOR', 'DRIVER', 'VIEWER']));
    const body = await (await me(base, token)).json();
    expect(body).toMatchObject({ role: 'ADMIN', company: { name: 'Boreal Freight' } });
  });

  const problem = async (response: Response) => {
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(response.headers.get('www-authenticate')).toContain('Bearer');
    return (await response.json()) as { status: number; detail: string };
  };

  it('refuses a missing or malformed Authorization header with 401', async () => {
    const none = await fetch(`${base}/api/v1/me`);
    expect(none.status).toBe(401);
    expect((await problem(none)).detail).toBe('A Bearer access token is required');
    const basic = await fetch(`${base}/api/v1/me`, { headers: { Authorization: 'Basic YWNtZTpwdw==' } });
    expect(basic.status).toBe(401);
  });

  it('refuses an expired token (a real token presented after its expiry plus the allowed skew)', async () => {
    const token = await passwordToken('acme-operator');
    const exp = decode(token).exp as number;
    const later = await serve(() => new Date((exp + 31) * 1000));
    const response = await me(later, token);
    expect(response.status).toBe(401);
    expect((await problem(response)).detail).toBe('The access token has expired');
    // Within the 30 s of clock skew it is still accepted.
    const withinSkew = await serve(() => new Date((exp + 20) * 1000));
    expect((await me(withinSkew, token)).status).toBe(200);
  });

  it('a token verified once is refused again once it expires (the verification cache honours expiry)', async () => {
    const { tokenVerifier } = await import('../../api/auth.js');
    const token = await passwordToken('acme-operator');
    const exp = decode(token).exp as number;
    let now = new Date();
    const verify = tokenVerifier({ issuer: config.OIDC_ISSUER, audience: config.OIDC_AUDIENCE, allowedClients: config.OIDC_ALLOWED_CLIENTS, now: () => now });
    expect((await verify(`Bearer ${token}`)).username).toBe('acme-operator');
    now = new Date((exp + 31) * 1000);
    await expect(verify(`Bearer ${token}`)).rejects.toMatchObject({ status: 401, detail: 'The access token has expired' });
  });

  it('refuses a tampered token (payload changed, signature kept)', async () => {
    const [header, payload, signature] = (await passwordToken('acme-viewer')).split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const forged = `${header}.${b64({ ...claims, realm_access: { roles: ['ADMIN'] } })}.${signature}`;
    const response = await me(base, forged);
    expect(response.status).toBe(401);
    expect((await problem(response)).detail).toBe('The access token signature is invalid');
  });

  it('refuses a token from another issuer (the master realm of the same Keycloak)', async () => {
    const token = await passwordToken('admin', { realm: 'master', clientId: 'admin-cli', password: testEnv().KEYCLOAK_ADMIN_PASSWORD! });
    expect(decode(token).iss).toBe(config.OIDC_ISSUER.replace(/\/realms\/[^/]+$/, '/realms/master'));
    const response = await me(base, token);
    expect(response.status).toBe(401);
    // The master realm's keys are not in the safeshipper JWKS, so it fails before the issuer check.
    expect((await problem(response)).detail).toMatch(/unknown key|"iss" claim/);
  });

  it('refuses a token for another audience (same realm, a client without the API audience)', async () => {
    const token = await passwordToken('acme-operator', { clientId: 'admin-cli' });
    expect(decode(token).aud).toBeUndefined();
    const response = await me(base, token);
    expect(response.status).toBe(401);
    expect((await problem(response)).detail).toBe(`The access token's "aud" claim is not accepted`);
  });

  it('refuses a real token issued to a client the API does not accept (its azp is not in OIDC_ALLOWED_CLIENTS)', async () => {
    const token = await passwordToken('acme-operator');
    expect(decode(token).azp).toBe('safeshipper-dev');
    const productionLike = await serve(undefined, testConfig({ OIDC_ALLOWED_CLIENTS: 'safeshipper-web,safeshipper-integrations' }));
    const response = await me(productionLike, token);
    expect(response.status).toBe(401);
    expect((await problem(response)).detail).toBe(`The access token's "azp" claim is not accepted`);
    // The local stack's list includes the dev client, so the same token is accepted there.
    expect((await me(base, token)).status).toBe(200);
  });

  it('refuses an unsigned token (alg: none) carrying valid-looking claims', async () => {
    const claims = decode(await passwordToken('acme-admin'));
    const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`;
    const response = await me(base, unsigned);
    expect(response.status).toBe(401);
    expect((await problem(response)).detail).toMatch(/not signed with an accepted algorithm|invalid/);
  });

  it('refuses an HS256 token signed with the public key material (algorithm confusion)', async () => {
    const { SignJWT } = await import('jose');
    const claims = decode(await passwordToken('acme-admin'));
    const jwks = (await (await fetch(`${config.OIDC_ISSUER}/protocol/openid-connect/certs`)).json()) as { keys: Array<{ n: string }> };
    const token = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(jwks.keys[0]!.n));
    const response = await me(base, token);
    expect(response.status).toBe(401);
    expect((await problem(response)).detail).toBe('The access token is not signed with an accepted algorithm');
  });

  it('answers 403 to an account linked to no company, and 400 problem+json with field paths to bad input', async () => {
    const platform = await passwordToken('platform-staff');
    const noCompany = await me(base, platform);
    expect(noCompany.status).toBe(403);
    const viewer = await passwordToken('acme-viewer');
    const bad = await fetch(`${base}/api/v1/geofences/nearby?lon=200&lat=x`, { headers: { Authorization: `Bearer ${viewer}` } });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ status: 400, errors: [{ path: 'lon' }, { path: 'lat' }] });
  });
});
