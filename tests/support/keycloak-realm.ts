import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/**
 * Each test run gets a Keycloak realm of its own, created from the development realm file and
 * deleted afterwards: the demo realm that people use on this machine can be changed freely (users
 * disabled, roles changed, passwords reset) without breaking a test run, and tests that change
 * users never touch it.
 */
const REALM_FILE = fileURLToPath(new URL('../../infra/keycloak/safeshipper-realm.json', import.meta.url));
const SOURCE_REALM = 'safeshipper';
export const TEST_REALM_PREFIX = 'safeshipper-test-';
/** A run never lasts this long: realms older than this were left by a run that was killed. */
const ABANDONED_AFTER_MS = 6 * 3600_000;

export interface KeycloakAdminAccess {
  /** Keycloak's base URL, e.g. http://localhost:8180 */
  origin: string;
  adminPassword: string;
}

async function masterToken({ origin, adminPassword }: KeycloakAdminAccess): Promise<string> {
  const response = await fetch(`${origin}/realms/master/protocol/openid-connect/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'password', client_id: 'admin-cli', username: 'admin', password: adminPassword }),
  });
  if (!response.ok) throw new Error(`Keycloak master admin login failed: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { access_token: string }).access_token;
}

async function admin(access: KeycloakAdminAccess, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${access.origin}/admin${path}`, {
    method,
    headers: { Authorization: `Bearer ${await masterToken(access)}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

/** The realm name encodes when it was made (base-36 milliseconds), so abandoned ones can be found. */
export function testRealmName(runId: string): string {
  return `${TEST_REALM_PREFIX}${runId}`;
}

/** Creates the run's realm from the development realm file; answers its issuer URL. */
export async function createTestRealm(access: KeycloakAdminAccess, name: string): Promise<string> {
  const text = (await readFile(REALM_FILE, 'utf8')).replaceAll(`default-roles-${SOURCE_REALM}`, `default-roles-${name}`);
  // Without brute-force detection: with test files running side by side, Keycloak 26 answered a correct password grant for a
  // demo user "user_temporarily_disabled" (no failed login before it) when other files logged the same user in at that moment.
  const realm = { ...(JSON.parse(text) as Record<string, unknown>), realm: name, displayName: `SafeShipper test run ${name}`, bruteForceProtected: false };
  const response = await admin(access, 'POST', '/realms', realm);
  if (response.status !== 201) throw new Error(`creating test realm ${name} failed: ${response.status} ${await response.text()}`);
  return `${access.origin}/realms/${name}`;
}

export async function deleteTestRealm(access: KeycloakAdminAccess, name: string): Promise<void> {
  if (!name.startsWith(TEST_REALM_PREFIX)) throw new Error(`refusing to delete ${name}: not a test realm`);
  const response = await admin(access, 'DELETE', `/realms/${name}`);
  if (response.status !== 204 && response.status !== 404) throw new Error(`deleting test realm ${name} failed: ${response.status}`);
}

/** Deletes test realms left behind by runs that were killed before their teardown. */
export async function deleteAbandonedTestRealms(access: KeycloakAdminAccess, now = Date.now()): Promise<string[]> {
  const response = await admin(access, 'GET', '/realms?briefRepresentation=true');
  const realms = (await response.json()) as Array<{ realm: string }>;
  const abandoned = realms
    .map((realm) => realm.realm)
    .filter((name) => name.startsWith(TEST_REALM_PREFIX))
    .filter((name) => {
      const made = parseInt(name.slice(TEST_REALM_PREFIX.length, TEST_REALM_PREFIX.length + 8), 36);
      return !Number.isFinite(made) || now - made > ABANDONED_AFTER_MS;
    });
  for (const name of abandoned) await deleteTestRealm(access, name);
  return abandoned;
}

export function keycloakOrigin(issuer: string): string {
  return issuer.replace(/\/realms\/[^/]+$/, '');
}
