import { randomBytes } from 'node:crypto';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import Koa, { type Context, type Middleware } from 'koa';
import Router from '@koa/router';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../config/env.js';
import { createLogger } from '../../config/logger.js';
import { ROUTE_POLICY, type PolicyRoute } from '../../domain/policy.js';
import type { Principal } from '../../api/auth.js';
import type { RouteDeps } from '../../api/routing.js';
import { problemDetails } from '../../api/middleware/errors.js';
import {
  authFailureLimit,
  COMPUTE_ROUTES,
  DEFAULT_LIMITS,
  enforceRateLimit,
  limitsFromConfig,
  perUserLimit,
  rateLimiter,
  rateLimiterFromConfig,
  routeClassFor,
  type RateLimiter,
} from '../../api/middleware/rate-limit.js';
import { Problem, unauthorized } from '../../api/problem.js';

const silent = createLogger('test', 'silent');
const T0 = new Date('2030-01-01T00:00:00.000Z');

/** A real Koa context for one request, without a server. */
function request(options: { ip?: string; authorization?: string; method?: string; path?: string } = {}): Context {
  const app = new Koa();
  const req = new IncomingMessage(new Socket());
  req.method = options.method ?? 'GET';
  req.url = options.path ?? '/api/v1/me';
  req.headers = options.authorization ? { authorization: options.authorization } : {};
  const res = new ServerResponse(req);
  res.statusCode = 404; // as Koa does before the middleware runs
  const ctx = app.createContext(req, res) as unknown as Context;
  ctx.request.ip = options.ip ?? '203.0.113.7';
  return ctx;
}

/** Runs a request through the problem+json middleware and then `chain`; returns what the client sees. */
async function answer(ctx: Context, ...chain: Middleware[]) {
  const run = (index: number): Promise<void> => (index < chain.length ? Promise.resolve(chain[index]!(ctx, () => run(index + 1))) : Promise.resolve());
  await problemDetails(silent)(ctx, () => run(0));
  const header = (name: string) => ctx.response.get(name) || undefined;
  return {
    status: ctx.status,
    type: ctx.response.type,
    body: ctx.body as Record<string, unknown>,
    limit: header('RateLimit-Limit'),
    remaining: header('RateLimit-Remaining'),
    reset: header('RateLimit-Reset'),
    retryAfter: header('Retry-After'),
  };
}

/** Moves the (faked) clock to T0 + `ms`. */
const at = (ms: number) => vi.setSystemTime(T0.getTime() + ms);

describe('route classes', () => {
  it('reads are GETs, the DG compatibility check and placards are compute, other writes are write', () => {
    expect(routeClassFor('GET /api/v1/me')).toBe('read');
    expect(routeClassFor('GET /api/v1/dangerous-goods/:id')).toBe('read');
    expect(routeClassFor('POST /api/v1/dangerous-goods/check-compatibility')).toBe('compute');
    expect(routeClassFor('POST /api/v1/dangerous-goods/placards')).toBe('compute');
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) expect(routeClassFor(`${method} /api/v1/vehicles/:id` as PolicyRoute)).toBe('write');
    // Every route of the policy table has its class by that rule.
    for (const route of Object.keys(ROUTE_POLICY) as PolicyRoute[]) {
      const expected = COMPUTE_ROUTES.has(route) ? 'compute' : route.startsWith('GET ') ? 'read' : 'write';
      expect([route, routeClassFor(route)]).toEqual([route, expected]);
    }
    expect([...COMPUTE_ROUTES].every((route) => route in ROUTE_POLICY)).toBe(true);
  });
});

describe('limits come from the environment, with defaults', () => {
  const valid = {
    DATABASE_URL: 'postgresql://app:pw@db:5432/safeshipper',
    TEMPORAL_ADDRESS: 'temporal:7233',
    OIDC_ISSUER: 'https://id.example.com/realms/safeshipper',
    OIDC_AUDIENCE: 'safeshipper-api',
    DATA_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    AUDIT_CHECKPOINT_KEY: randomBytes(32).toString('base64'),
    OIDC_ALLOWED_CLIENTS: 'safeshipper-web',
  };

  it('defaults: read 600, write 120, compute 300 per user, 30 failed authentications per address, per minute; no Redis', () => {
    const config = loadConfig(valid);
    expect(limitsFromConfig(config)).toEqual({ read: 600, write: 120, compute: 300, 'auth-failure': 30 });
    expect(limitsFromConfig(config)).toEqual(DEFAULT_LIMITS);
    expect(config.REDIS_URL).toBeUndefined();
    expect(config.RATE_LIMIT_KEY_PREFIX).toBe('safeshipper:ratelimit');
  });

  it('takes each limit and REDIS_URL from the environment, and names a bad value', () => {
    const config = loadConfig({ ...valid, REDIS_URL: 'redis://cache:6379/2', RATE_LIMIT_READ_PER_MINUTE: '1000', RATE_LIMIT_WRITE_PER_MINUTE: '60', RATE_LIMIT_COMPUTE_PER_MINUTE: '90', RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '10' });
    expect(limitsFromConfig(config)).toEqual({ read: 1000, write: 60, compute: 90, 'auth-failure': 10 });
    expect(config.REDIS_URL).toBe('redis://cache:6379/2');
    expect(() => loadConfig({ ...valid, REDIS_URL: 'http://cache:6379' })).toThrow('REDIS_URL: must be a redis:// or rediss:// URL');
    expect(() => loadConfig({ ...valid, RATE_LIMIT_WRITE_PER_MINUTE: '0' })).toThrow('RATE_LIMIT_WRITE_PER_MINUTE: must be at least 1 (requests per minute)');
    expect(() => loadConfig({ ...valid, RATE_LIMIT_COMPUTE_PER_MINUTE: 'lots' })).toThrow('RATE_LIMIT_COMPUTE_PER_MINUTE');
    expect(loadConfig({ ...valid, RATE_LIMIT_KEY_PREFIX: 'staging:rl' }).RATE_LIMIT_KEY_PREFIX).toBe('staging:rl');
    expect(() => loadConfig({ ...valid, RATE_LIMIT_KEY_PREFIX: 'has space' })).toThrow('RATE_LIMIT_KEY_PREFIX: must be 1–100 letters, digits, _ : . -');
  });

  it('API_RATE_LIMITS: on unless the environment says off (contract fuzzing, benchmarks); anything else is refused by name', async () => {
    expect(loadConfig(valid).API_RATE_LIMITS).toBe('on');
    expect(loadConfig({ ...valid, API_RATE_LIMITS: 'off' }).API_RATE_LIMITS).toBe('off');
    expect(() => loadConfig({ ...valid, API_RATE_LIMITS: 'false' })).toThrow('API_RATE_LIMITS: must be on or off');
    // Off, nothing counts: the limiter built from the configuration does not even connect to Redis.
    const off = rateLimiterFromConfig(loadConfig({ ...valid, API_RATE_LIMITS: 'off', REDIS_URL: 'redis://127.0.0.1:1' }));
    expect(off.store).toBe('memory');
    await off.close();
  });

  it('refuses a limit below 1 given in code', () => {
    expect(() => rateLimiter({ limits: { read: 0 } })).toThrow('rate limit for "read" must be a whole number ≥ 1, not 0');
  });
});

describe('the in-memory limiter (no REDIS_URL)', () => {
  let limiter: RateLimiter;
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(T0);
    limiter = rateLimiter({ limits: { read: 3, write: 2, compute: 2, 'auth-failure': 2 } });
  });
  afterEach(async () => {
    await limiter.close();
    vi.useRealTimers();
  });

  it('counts down within a one-minute window, refuses the request after the limit, and starts afresh when the window ends', async () => {
    expect(limiter.store).toBe('memory');
    expect(await limiter.consume('user:alice', 'read')).toEqual({ routeClass: 'read', allowed: true, limit: 3, remaining: 2, resetSeconds: 60 });
    at(12_300);
    expect(await limiter.consume('user:alice', 'read')).toEqual({ routeClass: 'read', allowed: true, limit: 3, remaining: 1, resetSeconds: 48 });
    at(30_000);
    expect(await limiter.consume('user:alice', 'read')).toEqual({ routeClass: 'read', allowed: true, limit: 3, remaining: 0, resetSeconds: 30 });
    at(59_001);
    expect(await limiter.consume('user:alice', 'read')).toEqual({ routeClass: 'read', allowed: false, limit: 3, remaining: 0, resetSeconds: 1 });
    expect(await limiter.peek('user:alice', 'read')).toMatchObject({ allowed: false, remaining: 0, resetSeconds: 1 });
    at(60_000);
    expect(await limiter.peek('user:alice', 'read')).toMatchObject({ allowed: true, remaining: 3, resetSeconds: 60 });
    expect(await limiter.consume('user:alice', 'read')).toEqual({ routeClass: 'read', allowed: true, limit: 3, remaining: 2, resetSeconds: 60 });
  });

  it('keeps a separate budget per user and per class', async () => {
    for (let i = 0; i < 3; i += 1) await limiter.consume('user:alice', 'read');
    expect((await limiter.consume('user:alice', 'read')).allowed).toBe(false);
    expect(await limiter.consume('user:bob', 'read')).toMatchObject({ allowed: true, remaining: 2 });
    expect(await limiter.consume('user:alice', 'write')).toMatchObject({ allowed: true, limit: 2, remaining: 1 });
    expect(await limiter.consume('user:alice', 'compute')).toMatchObject({ allowed: true, limit: 2, remaining: 1 });
    expect(await limiter.peek('user:alice', 'auth-failure')).toMatchObject({ allowed: true, limit: 2, remaining: 2 });
  });

  it('sets RateLimit-Limit/-Remaining/-Reset on an allowed answer, and answers 429 problem+json with Retry-After when spent', async () => {
    const ok = async (ctx: Context) => {
      await enforceRateLimit(ctx, limiter, 'user:alice', 'write');
      ctx.body = { ok: true };
    };
    expect(await answer(request({ method: 'POST' }), ok)).toMatchObject({ status: 200, limit: '2', remaining: '1', reset: '60', retryAfter: undefined });
    at(20_000);
    expect(await answer(request({ method: 'POST' }), ok)).toMatchObject({ status: 200, limit: '2', remaining: '0', reset: '40', retryAfter: undefined });
    at(45_500);
    const refused = await answer(request({ method: 'POST', path: '/api/v1/shipments' }), ok);
    expect(refused).toEqual({
      status: 429,
      type: 'application/problem+json',
      limit: '2',
      remaining: '0',
      reset: '15',
      retryAfter: '15',
      body: {
        type: 'about:blank',
        title: 'Too Many Requests',
        status: 429,
        detail: 'Rate limit of 2 write requests per minute reached; retry in 15 s',
        instance: '/api/v1/shipments',
        requestId: undefined,
      },
    });
  });

  describe('wired as the API wires it: authFailureLimit in front of the routers, perUserLimit as RouteDeps.beforeHandler', () => {
    const principal: Principal = { subject: 'f6e1c0de-0000-4000-8000-000000000001', username: 'acme-viewer', companyId: undefined, role: 'VIEWER', platformStaff: false };
    const verify = vi.fn(async (authorization: string | undefined) => {
      if (authorization === 'Bearer good.token.sig') return principal;
      if (authorization === 'Bearer keycloak.down.sig') throw new Problem(503, 'Service Unavailable', 'The identity provider could not be reached to verify the token');
      throw unauthorized('The access token signature is invalid');
    });
    const good = 'Bearer good.token.sig';

    /** Routes registered as routing.ts registers them (prefix /api/v1, the policy key's pattern): verify, then the hook. */
    function api(): Middleware[] {
      const hook: NonNullable<RouteDeps['beforeHandler']> = perUserLimit(limiter);
      const router = new Router({ prefix: '/api/v1' });
      for (const key of ['GET /api/v1/me', 'GET /api/v1/dangerous-goods/:id', 'POST /api/v1/dangerous-goods/check-compatibility', 'DELETE /api/v1/vehicles/:id']) {
        const [method, fullPath] = key.split(' ') as [string, string];
        router.register(fullPath.replace(/^\/api\/v1/, ''), [method], async (ctx) => {
          const caller = await verify(ctx.get('Authorization') || undefined);
          await hook(ctx, caller, 'authenticated');
          ctx.body = { subject: caller.subject };
        });
      }
      return [authFailureLimit(limiter), router.routes() as unknown as Middleware];
    }

    // (a block body: a function returned from beforeEach would be run as its teardown)
    beforeEach(() => {
      verify.mockClear();
    });

    it('limits a user per route class, the class taken from the matched route', async () => {
      const call = (method: string, path: string) => answer(request({ method, path, authorization: good }), ...api());
      expect(await call('GET', '/api/v1/me')).toMatchObject({ status: 200, limit: '3', remaining: '2' });
      expect(await call('GET', '/api/v1/dangerous-goods/0b5c2f3e-1111-4111-8111-111111111111')).toMatchObject({ status: 200, limit: '3', remaining: '1' });
      expect(await call('POST', '/api/v1/dangerous-goods/check-compatibility')).toMatchObject({ status: 200, limit: '2', remaining: '1' });
      expect(await call('DELETE', '/api/v1/vehicles/7')).toMatchObject({ status: 200, limit: '2', remaining: '1' });
      expect(await limiter.peek(`user:${principal.subject}`, 'compute')).toMatchObject({ remaining: 1 });
      expect(await limiter.peek(`user:${principal.subject}`, 'write')).toMatchObject({ remaining: 1 });
      expect(await call('POST', '/api/v1/dangerous-goods/check-compatibility')).toMatchObject({ status: 200, remaining: '0' });
      expect(await call('POST', '/api/v1/dangerous-goods/check-compatibility')).toMatchObject({ status: 429, limit: '2', remaining: '0', retryAfter: '60' });
      expect(await call('GET', '/api/v1/me')).toMatchObject({ status: 200, limit: '3', remaining: '0' });
    });

    it('counts 401s per address; past the budget the address gets 429 without its token being checked, a valid one included', async () => {
      const bad = { ip: '198.51.100.1', authorization: 'Bearer bad.token.sig' };
      expect(await answer(request(bad), ...api())).toMatchObject({ status: 401, limit: '2', remaining: '1', reset: '60' });
      at(10_000);
      expect(await answer(request(bad), ...api())).toMatchObject({ status: 401, limit: '2', remaining: '0', reset: '50' });
      expect(verify).toHaveBeenCalledTimes(2);
      const blocked = await answer(request({ ip: '198.51.100.1', authorization: good }), ...api());
      expect(blocked).toMatchObject({ status: 429, type: 'application/problem+json', limit: '2', remaining: '0', reset: '50', retryAfter: '50' });
      expect(blocked.body.detail).toBe('Too many failed authentications from this address (2 per minute); retry in 50 s');
      expect(verify).toHaveBeenCalledTimes(2);

      // Another address is not affected; its valid token is limited on the user's read budget.
      expect(await answer(request({ ip: '198.51.100.2', authorization: good }), ...api())).toMatchObject({ status: 200, limit: '3', remaining: '2', reset: '60' });

      // The address's window ends: its tokens are checked again.
      at(60_000);
      expect(await answer(request({ ip: '198.51.100.1', authorization: good }), ...api())).toMatchObject({ status: 200, limit: '3', remaining: '1' });
    });

    it('counts requests without credentials like failed ones: an anonymous flood is limited per address', async () => {
      const ip = '198.51.100.4';
      expect(await answer(request({ ip }), ...api())).toMatchObject({ status: 401, limit: '2', remaining: '1' });
      expect(await answer(request({ ip }), ...api())).toMatchObject({ status: 401, limit: '2', remaining: '0' });
      expect(await answer(request({ ip }), ...api())).toMatchObject({ status: 429, retryAfter: '60' });
      expect(verify).toHaveBeenCalledTimes(2);
    });

    it('does not count refusals that are our fault (503: Keycloak unreachable), successes, or unknown routes', async () => {
      const ip = '198.51.100.3';
      for (let i = 0; i < 3; i += 1) expect((await answer(request({ ip, authorization: 'Bearer keycloak.down.sig' }), ...api())).status).toBe(503);
      for (let i = 0; i < 3; i += 1) expect((await answer(request({ ip, path: '/api/v1/nowhere' }), ...api())).status).toBe(404);
      for (let i = 0; i < 3; i += 1) await answer(request({ ip, authorization: good }), ...api());
      expect(await limiter.peek(`ip:${ip}`, 'auth-failure')).toMatchObject({ allowed: true, remaining: 2 });
      // The three successes spent the user's whole read budget: the fourth is 429.
      expect(await answer(request({ ip, authorization: good }), ...api())).toMatchObject({ status: 429, remaining: '0', retryAfter: '60' });
    });
  });
});

describe('with Redis unreachable', () => {
  it('still limits, per process, through the in-memory insurance limiter, and logs a warning', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
    // Nothing listens on port 1: the client never becomes ready.
    const limiter = rateLimiter({ redisUrl: 'redis://127.0.0.1:1', limits: { compute: 2 }, log });
    try {
      expect(limiter.store).toBe('redis');
      expect(await limiter.consume('user:alice', 'compute')).toMatchObject({ allowed: true, remaining: 1 });
      expect(await limiter.consume('user:alice', 'compute')).toMatchObject({ allowed: true, remaining: 0 });
      expect(await limiter.consume('user:alice', 'compute')).toMatchObject({ allowed: false, remaining: 0 });
      expect(await limiter.consume('user:bob', 'compute')).toMatchObject({ allowed: true, remaining: 1 });
      const warnings = lines.map((line) => JSON.parse(line) as { level: number; msg: string }).filter((line) => line.level === 40);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]!.msg).toBe('rate limits: Redis unreachable, counting in this process only until it is back');
      await expect(limiter.ready(200)).rejects.toThrow('Redis at redis://127.0.0.1:1 not ready within 200 ms');
    } finally {
      await limiter.close();
    }
  });
});
