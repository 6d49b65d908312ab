import type { Context, Next } from 'koa';
import { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type IRateLimiterOptions } from 'rate-limiter-flexible';
import type { Config } from '../../config/env.js';
import type { Logger } from '../../config/logger.js';
import type { PolicyRoute } from '../../domain/policy.js';
import type { Principal } from '../auth.js';
import { Problem } from '../problem.js';

/**
 * Rate limits per user and route class, and per client address for failed authentication.
 *
 * Counters are fixed one-minute windows (rate-limiter-flexible), in Redis when REDIS_URL is set
 * so every API replica spends from the same budget, in this process otherwise. Every limited
 * response carries RateLimit-Limit / -Remaining / -Reset (draft-ietf-httpapi-ratelimit-headers,
 * Reset in seconds); a refusal is a 429 problem+json with Retry-After.
 *
 * When Redis cannot be reached (down, or no answer within 500 ms) each class falls back to an
 * in-memory limiter with the same limits (rate-limiter-flexible's insurance limiter): limits
 * still hold, per process instead of shared, and a warning is logged. Failing closed would turn
 * a Redis outage into an API outage; failing open would drop the protection exactly when
 * something is already wrong.
 */

export const ROUTE_CLASSES = ['read', 'write', 'compute', 'auth-failure'] as const;
export type RouteClass = (typeof ROUTE_CLASSES)[number];

/** Requests per minute for each class; `auth-failure` counts failed authentications per client address. */
export type Limits = Record<RouteClass, number>;

export const DEFAULT_LIMITS: Limits = { read: 600, write: 120, compute: 300, 'auth-failure': 30 };
export const WINDOW_SECONDS = 60;
export const DEFAULT_KEY_PREFIX = 'safeshipper:ratelimit';

/** Routes whose work is heavy for one request: limited on their own budget, not as writes. */
export const COMPUTE_ROUTES: ReadonlySet<PolicyRoute> = new Set<PolicyRoute>([
  'POST /api/v1/dangerous-goods/check-compatibility',
  'POST /api/v1/dangerous-goods/placards',
]);

export function routeClassFor(route: PolicyRoute): RouteClass {
  if (COMPUTE_ROUTES.has(route)) return 'compute';
  const method = route.slice(0, route.indexOf(' '));
  return method === 'GET' || method === 'HEAD' ? 'read' : 'write';
}

export interface RateDecision {
  routeClass: RouteClass;
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the window ends and the budget is whole again. */
  resetSeconds: number;
}

export interface RateLimiter {
  readonly store: 'memory' | 'redis';
  /** Spends one request from `key`'s budget for the class. */
  consume(key: string, routeClass: RouteClass): Promise<RateDecision>;
  /** The standing of `key` without spending: `allowed` says whether the next request would pass. */
  peek(key: string, routeClass: RouteClass): Promise<RateDecision>;
  /** Resolves once the store answers (memory at once, Redis when connected); rejects after `timeoutMs`. */
  ready(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface RateLimiterOptions {
  redisUrl?: string | undefined;
  limits?: Partial<Limits>;
  /** Namespaces the Redis keys (tests use one per run). */
  keyPrefix?: string;
  log?: Logger;
}

export function limitsFromConfig(config: Pick<Config, 'RATE_LIMIT_READ_PER_MINUTE' | 'RATE_LIMIT_WRITE_PER_MINUTE' | 'RATE_LIMIT_COMPUTE_PER_MINUTE' | 'RATE_LIMIT_AUTH_FAILURES_PER_MINUTE'>): Limits {
  return {
    read: config.RATE_LIMIT_READ_PER_MINUTE,
    write: config.RATE_LIMIT_WRITE_PER_MINUTE,
    compute: config.RATE_LIMIT_COMPUTE_PER_MINUTE,
    'auth-failure': config.RATE_LIMIT_AUTH_FAILURES_PER_MINUTE,
  };
}

/**
 * The limiter a deployment asks for: Redis-backed when REDIS_URL is set, in memory otherwise.
 * With API_RATE_LIMITS=off createApp consults no limiter, so none connects to Redis.
 */
export function rateLimiterFromConfig(config: Config, log?: Logger): RateLimiter {
  const redisUrl = config.API_RATE_LIMITS === 'on' ? config.REDIS_URL : undefined;
  return rateLimiter({ redisUrl, limits: limitsFromConfig(config), keyPrefix: config.RATE_LIMIT_KEY_PREFIX, ...(log ? { log } : {}) });
}

/** Stands in for Redis while it is unreachable, and says so (at most once a minute). */
class InsuranceLimiter extends RateLimiterMemory {
  constructor(
    options: IRateLimiterOptions,
    private readonly onUse: () => void,
  ) {
    super(options);
  }

  override consume(...args: Parameters<RateLimiterMemory['consume']>) {
    this.onUse();
    return super.consume(...args);
  }

  override get(...args: Parameters<RateLimiterMemory['get']>) {
    this.onUse();
    return super.get(...args);
  }
}

export function rateLimiter(options: RateLimiterOptions = {}): RateLimiter {
  const limits: Limits = { ...DEFAULT_LIMITS, ...options.limits };
  for (const routeClass of ROUTE_CLASSES) {
    if (!Number.isInteger(limits[routeClass]) || limits[routeClass] < 1) throw new Error(`rate limit for "${routeClass}" must be a whole number ≥ 1, not ${limits[routeClass]}`);
  }
  const prefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
  const log = options.log;

  let client: Redis | undefined;
  let lastWarning = 0;
  const warn = (reason: string) => {
    if (Date.now() - lastWarning < 60_000) return;
    lastWarning = Date.now();
    log?.warn({ reason }, 'rate limits: Redis unreachable, counting in this process only until it is back');
  };

  const limiters = {} as Record<RouteClass, RateLimiterMemory | RateLimiterRedis>;
  if (options.redisUrl) {
    client = new Redis(options.redisUrl, {
      // Fail fast instead of queueing while disconnected; the insurance limiter answers meanwhile.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: 500,
      connectTimeout: 2000,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    });
    client.on('error', (error: Error) => warn(error.message));
    client.on('ready', () => {
      if (lastWarning === 0) return;
      lastWarning = 0;
      log?.info('rate limits: Redis reachable again, limits are shared across replicas');
    });
    for (const routeClass of ROUTE_CLASSES) {
      const base = { keyPrefix: `${prefix}:${routeClass}`, points: limits[routeClass], duration: WINDOW_SECONDS };
      limiters[routeClass] = new RateLimiterRedis({
        ...base,
        storeClient: client,
        rejectIfRedisNotReady: true,
        // A key over its limit is refused from memory for the rest of its window: a flood does not reach Redis.
        inMemoryBlockOnConsumed: limits[routeClass] + 1,
        insuranceLimiter: new InsuranceLimiter(base, () => warn('no answer from Redis')),
      });
    }
  } else {
    for (const routeClass of ROUTE_CLASSES) {
      limiters[routeClass] = new RateLimiterMemory({ keyPrefix: routeClass, points: limits[routeClass], duration: WINDOW_SECONDS });
    }
  }

  /** `res` is null for a key with no window running (nothing spent yet). */
  const decision = (routeClass: RouteClass, res: RateLimiterRes | null, allowed: boolean): RateDecision => ({
    routeClass,
    allowed,
    limit: limits[routeClass],
    // A refusal from the in-memory block carries no count: whatever it says, nothing is left.
    remaining: !allowed ? 0 : res ? Math.max(0, limits[routeClass] - res.consumedPoints) : limits[routeClass],
    resetSeconds: !res ? WINDOW_SECONDS : res.msBeforeNext > 0 ? Math.ceil(res.msBeforeNext / 1000) : 0,
  });

  return {
    store: client ? 'redis' : 'memory',

    async consume(key, routeClass) {
      try {
        return decision(routeClass, await limiters[routeClass].consume(key), true);
      } catch (refusal) {
        if (refusal instanceof RateLimiterRes) return decision(routeClass, refusal, false);
        throw refusal;
      }
    },

    async peek(key, routeClass) {
      const found = await limiters[routeClass].get(key);
      // The memory store sweeps ended windows on a timer: one that has ended counts as none.
      const res = found && found.msBeforeNext > 0 ? found : null;
      return decision(routeClass, res, !res || res.consumedPoints < limits[routeClass]);
    },

    async ready(timeoutMs = 5000) {
      if (!client || client.status === 'ready') return;
      const redis = client;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          redis.off('ready', onReady);
          reject(new Error(`Redis at ${options.redisUrl} not ready within ${timeoutMs} ms (status ${redis.status})`));
        }, timeoutMs);
        const onReady = () => {
          clearTimeout(timer);
          resolve();
        };
        redis.once('ready', onReady);
      });
    },

    async close() {
      if (!client) return;
      if (client.status === 'ready') await client.quit().catch(() => client?.disconnect());
      else client.disconnect();
    },
  };
}

/** The RateLimit-* fields for a decision, and Retry-After when it is a refusal. */
export function rateLimitHeaders(decision: RateDecision): Record<string, string> {
  const headers: Record<string, string> = {
    'RateLimit-Limit': String(decision.limit),
    'RateLimit-Remaining': String(decision.remaining),
    'RateLimit-Reset': String(decision.resetSeconds),
  };
  if (!decision.allowed) headers['Retry-After'] = String(Math.max(1, decision.resetSeconds));
  return headers;
}

export function tooManyRequests(decision: RateDecision): Problem {
  const retry = Math.max(1, decision.resetSeconds);
  const detail =
    decision.routeClass === 'auth-failure'
      ? `Too many failed authentications from this address (${decision.limit} per minute); retry in ${retry} s`
      : `Rate limit of ${decision.limit} ${decision.routeClass} requests per minute reached; retry in ${retry} s`;
  return new Problem(429, 'Too Many Requests', detail, { headers: rateLimitHeaders(decision) });
}

/** Spends from `key`'s budget, sets the RateLimit-* headers, and throws a 429 problem when it is spent. */
export async function enforceRateLimit(ctx: Context, limiter: RateLimiter, key: string, routeClass: RouteClass): Promise<RateDecision> {
  const decision = await limiter.consume(key, routeClass);
  ctx.set(rateLimitHeaders(decision));
  if (!decision.allowed) throw tooManyRequests(decision);
  return decision;
}

export const clientKey = (ctx: Pick<Context, 'ip'>) => `ip:${ctx.ip || 'unknown'}`;
export const userKey = (principal: Pick<Principal, 'subject'>) => `user:${principal.subject}`;

/**
 * The route class of a request the router matched: the policy key is the method and the
 * router's pattern (`ctx._matchedRoute`, prefix included, e.g. `POST /api/v1/dangerous-goods/placards`).
 */
export function routeClassOf(ctx: Pick<Context, 'method'> & { _matchedRoute?: string | RegExp | undefined }): RouteClass {
  const pattern = typeof ctx._matchedRoute === 'string' ? ctx._matchedRoute : '';
  return routeClassFor(`${ctx.method} ${pattern}` as PolicyRoute);
}

/**
 * Per user and route class, for `RouteDeps.beforeHandler` (runs right after the token is
 * verified): spends from the caller's budget, sets the RateLimit-* headers, 429 when spent.
 */
export function perUserLimit(limiter: RateLimiter) {
  return async (ctx: Context & { _matchedRoute?: string | RegExp | undefined }, caller: Pick<Principal, 'subject'>): Promise<void> => {
    await enforceRateLimit(ctx, limiter, userKey(caller), routeClassOf(ctx));
  };
}

/**
 * Failed authentication per client address, as app middleware in front of the API routers:
 * every 401 below it spends from the address's `auth-failure` budget (and carries its
 * RateLimit-* headers), whether the request presented a bad token or none at all — an
 * anonymous flood is limited like a guessing one; an address whose budget is spent gets 429
 * for the rest of its window before any router runs, so its tokens are not even looked at.
 * Not counted: refusals that are our fault (503: Keycloak unreachable), 403s (a valid token).
 */
export function authFailureLimit(limiter: RateLimiter) {
  return async (ctx: Context, next: Next) => {
    const key = clientKey(ctx);
    const standing = await limiter.peek(key, 'auth-failure');
    if (!standing.allowed) {
      ctx.set(rateLimitHeaders(standing));
      throw tooManyRequests(standing);
    }
    try {
      await next();
    } catch (error) {
      if (error instanceof Problem && error.status === 401) await enforceRateLimit(ctx, limiter, key, 'auth-failure');
      throw error;
    }
  };
}
