import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import Router from '@koa/router';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenVerifier } from '../../api/auth.js';
import { problemDetails } from '../../api/middleware/errors.js';
import { authFailureLimit, perUserLimit, rateLimiter, type RateLimiter } from '../../api/middleware/rate-limit.js';
import type { RouteDeps } from '../../api/routing.js';
import { passwordToken, silentLog, testConfig, testEnv } from '../support/stack.js';

/**
 * Against the stack's real redis-server: two limiters sharing Redis are two API replicas, and
 * they spend from one budget. Each run has its own key prefix, so runs never share counters.
 */
describe('rate limits shared through Redis', () => {
  const redisUrl = testEnv().REDIS_URL;
  const prefix = `safeshipper-test:${randomUUID()}`;
  const limits = { read: 3, write: 4, compute: 5, 'auth-failure': 2 };
  let redis: Redis;
  const limiters: RateLimiter[] = [];

  async function replica(): Promise<RateLimiter> {
    const limiter = rateLimiter({ redisUrl, limits, keyPrefix: prefix, log: silentLog });
    limiters.push(limiter);
    await limiter.ready();
    return limiter;
  }

  beforeAll(async () => {
    expect(redisUrl).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
    redis = new Redis(redisUrl!);
  });
  afterAll(async () => {
    for (const limiter of limiters) await limiter.close();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  it('two replicas spend one budget per user and class; the counter lives in Redis', async () => {
    const [a, b] = [await replica(), await replica()];
    expect([a.store, b.store]).toEqual(['redis', 'redis']);

    const spent = [];
    for (const limiter of [a, b, a, b, a]) spent.push(await limiter.consume('user:alice', 'compute'));
    expect(spent.map(({ allowed, remaining, limit }) => ({ allowed, remaining, limit }))).toEqual([
      { allowed: true, remaining: 4, limit: 5 },
      { allowed: true, remaining: 3, limit: 5 },
      { allowed: true, remaining: 2, limit: 5 },
      { allowed: true, remaining: 1, limit: 5 },
      { allowed: true, remaining: 0, limit: 5 },
    ]);
    // The window started with the first request; every answer names a reset within it.
    for (const decision of spent) expect(decision.resetSeconds).toBeGreaterThanOrEqual(1);
    for (const decision of spent) expect(decision.resetSeconds).toBeLessThanOrEqual(60);

    // b has never seen alice over her limit, yet refuses: the count is shared.
    const refusedByB = await b.consume('user:alice', 'compute');
    expect(refusedByB).toMatchObject({ routeClass: 'compute', allowed: false, remaining: 0, limit: 5 });
    expect((await a.consume('user:alice', 'compute')).allowed).toBe(false);
    // Both have now seen the refusal, so both refuse from memory without asking Redis again.
    expect((await b.consume('user:alice', 'compute')).allowed).toBe(false);
    expect((await a.consume('user:alice', 'compute')).allowed).toBe(false);

    // One fixed window in Redis for (class, user): 5 allowed + the 2 refusals that reached Redis.
    expect(await redis.keys(`${prefix}:*`)).toEqual([`${prefix}:compute:user:alice`]);
    expect(await redis.get(`${prefix}:compute:user:alice`)).toBe('7');
    const ttl = await redis.pttl(`${prefix}:compute:user:alice`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);

    // Another user, and another class of the same user, have budgets of their own.
    expect(await b.consume('user:bob', 'compute')).toMatchObject({ allowed: true, remaining: 4 });
    expect(await a.consume('user:alice', 'write')).toMatchObject({ allowed: true, remaining: 3, limit: 4 });
    expect(await b.peek('user:alice', 'read')).toMatchObject({ allowed: true, remaining: 3, limit: 3 });
    expect(await a.peek('user:alice', 'compute')).toMatchObject({ allowed: false, remaining: 0 });
  });

  describe('over HTTP, behind two replicas, with real Keycloak tokens', () => {
    const config = testConfig();
    const verify = tokenVerifier({ issuer: config.OIDC_ISSUER, audience: config.OIDC_AUDIENCE, allowedClients: config.OIDC_ALLOWED_CLIENTS });
    const servers: Server[] = [];
    let replicas: string[];

    /** An API replica reduced to what the limits need: authFailureLimit before the router, perUserLimit after token verification. */
    async function serve(limiter: RateLimiter): Promise<string> {
      const app = new Koa();
      app.use(problemDetails(silentLog));
      app.use(authFailureLimit(limiter));
      const hook: NonNullable<RouteDeps['beforeHandler']> = perUserLimit(limiter);
      const router = new Router({ prefix: '/api/v1' });
      router.get('/me', async (ctx) => {
        const caller = await verify(ctx.get('Authorization') || undefined);
        await hook(ctx, caller, 'authenticated');
        ctx.body = { subject: caller.subject };
      });
      app.use(router.routes());
      const server = app.listen(0, '127.0.0.1');
      await new Promise((resolve) => server.once('listening', resolve));
      servers.push(server);
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/me`;
    }

    beforeAll(async () => {
      replicas = [await serve(await replica()), await serve(await replica())];
    });
    afterAll(async () => {
      for (const server of servers) await new Promise((resolve) => server.close(resolve));
    });

    const headers = (response: Response) => ({
      status: response.status,
      limit: response.headers.get('ratelimit-limit'),
      remaining: response.headers.get('ratelimit-remaining'),
      retryAfter: response.headers.get('retry-after'),
    });

    it('a user is limited by the subject of the verified token, across replicas; 429 is problem+json with Retry-After', async () => {
      const token = await passwordToken('acme-viewer');
      const call = (base: string) => fetch(base, { headers: { Authorization: `Bearer ${token}` } });
      const answers = [];
      for (const base of [replicas[0]!, replicas[1]!, replicas[0]!, replicas[1]!]) answers.push(await call(base));
      expect(answers.map(headers)).toEqual([
        { status: 200, limit: '3', remaining: '2', retryAfter: null },
        { status: 200, limit: '3', remaining: '1', retryAfter: null },
        { status: 200, limit: '3', remaining: '0', retryAfter: null },
        { status: 429, limit: '3', remaining: '0', retryAfter: answers[3]!.headers.get('ratelimit-reset') },
      ]);
      const subject = ((await answers[0]!.json()) as { subject: string }).subject;
      expect(subject).toMatch(/^[0-9a-f-]{36}$/);
      expect(Number(answers[3]!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(answers[3]!.headers.get('content-type')).toContain('application/problem+json');
      expect(await answers[3]!.json()).toMatchObject({ type: 'about:blank', title: 'Too Many Requests', status: 429, instance: '/api/v1/me' });
      expect(await redis.get(`${prefix}:read:user:${subject}`)).toBe('4');
    });

    it('failed authentications are counted per address across replicas; past the budget even a valid token gets 429', async () => {
      const bad = (base: string) => fetch(base, { headers: { Authorization: 'Bearer not.a-valid.token' } });
      expect(headers(await bad(replicas[0]!))).toEqual({ status: 401, limit: '2', remaining: '1', retryAfter: null });
      expect(headers(await bad(replicas[1]!))).toEqual({ status: 401, limit: '2', remaining: '0', retryAfter: null });
      const token = await passwordToken('boreal-viewer');
      const blocked = await fetch(replicas[0]!, { headers: { Authorization: `Bearer ${token}` } });
      expect(headers(blocked)).toMatchObject({ status: 429, limit: '2', remaining: '0' });
      expect(await blocked.json()).toMatchObject({ title: 'Too Many Requests', detail: expect.stringMatching(/^Too many failed authentications from this address \(2 per minute\); retry in \d+ s$/) });
      expect(await redis.get(`${prefix}:auth-failure:ip:127.0.0.1`)).toBe('2');
    });
  });
});
