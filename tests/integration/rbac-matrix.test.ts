import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTE_POLICY } from '../../domain/policy.js';
import { allows, ROLES, type Requirement } from '../../domain/rbac.js';
import { startTestApi, type TestApi } from '../support/api.js';

const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';
const USERS = [...ROLES.map((role) => ({ username: `acme-${role.toLowerCase()}`, role, platform: false })), { username: 'platform-staff', role: undefined, platform: true }];

/** What the policy table says a caller gets: through to the handler, or 403. */
function expectedThrough(requirement: Requirement, user: (typeof USERS)[number]): boolean {
  if (requirement === 'platform_staff') return user.platform;
  return !user.platform && allows(user.role, requirement);
}

describe('RBAC matrix: every route × every role, as the policy table says', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
    await Promise.all(USERS.map((user) => api.token(user.username)));
  });
  afterAll(async () => {
    await api?.close();
  });

  const routes = Object.entries(ROUTE_POLICY) as Array<[string, Requirement]>;

  it(`covers ${routes.length} routes × ${USERS.length} callers`, async () => {
    const mismatches: string[] = [];
    for (const [route, requirement] of routes) {
      const [method, pattern] = route.split(' ') as [string, string];
      const path = pattern.replace(':un', 'UN1203').replace(/:\w+/g, UNKNOWN_ID);
      for (const user of USERS) {
        const response = await api.call(user.username, method, path, ['POST', 'PATCH'].includes(method) ? { body: {} } : {});
        await response.arrayBuffer();
        const through = response.status !== 403 && response.status !== 401;
        if (through !== expectedThrough(requirement, user) || response.status >= 500) {
          mismatches.push(`${route} as ${user.username}: ${response.status} (policy: ${requirement})`);
        }
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('a forbidden answer names the missing permission as problem+json', async () => {
    const response = await api.call('acme-viewer', 'POST', '/api/v1/vehicles', { body: {} });
    expect(response.status).toBe(403);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(await response.json()).toMatchObject({ status: 403, detail: 'This action needs the "manage_fleet" permission, which your role does not have' });
  });
});
