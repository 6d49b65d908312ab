import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../support/api.js';

/** What reaches the API before anyone is authenticated: no body is read, and every address is limited. */
describe('the API edge before authentication', () => {
  let api: TestApi;
  const FAILURES_PER_MINUTE = 5;
  beforeAll(async () => {
    api = await startTestApi({ API_RATE_LIMITS: 'on', RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: String(FAILURES_PER_MINUTE) });
  });
  afterAll(async () => {
    await api?.close();
  });

  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(`${api.base}/api/v1/vehicles`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body });

  it('a body is read only after the token is verified: without one, malformed or oversized JSON is 401, not 400 or 413', async () => {
    const malformed = await post('{"registration":');
    expect(malformed.status).toBe(401);
    const oversized = await post(JSON.stringify({ registration: 'x'.repeat(3 * 1024 * 1024) }));
    expect(oversized.status).toBe(401);
    // With a valid token the same bodies get their usual answers.
    const token = `Bearer ${await api.token('acme-manager')}`;
    expect((await post('{"registration":', { Authorization: token })).status).toBe(400);
    expect((await post(JSON.stringify({ registration: 'x'.repeat(3 * 1024 * 1024) }), { Authorization: token })).status).toBe(413);
  });

  it('requests without a token are limited per client address', async () => {
    const statuses: number[] = [];
    for (let n = 0; n < FAILURES_PER_MINUTE + 2; n += 1) statuses.push((await fetch(`${api.base}/api/v1/shipments`)).status);
    // The first test spent two of the address's failures already (its 401s).
    expect(statuses.filter((status) => status === 401)).toHaveLength(FAILURES_PER_MINUTE - 2);
    expect(statuses.slice(FAILURES_PER_MINUTE - 2)).toEqual(Array.from({ length: 4 }, () => 429));
    const refused = await fetch(`${api.base}/api/v1/shipments`);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});
