import Router from '@koa/router';
import type { Logger } from '../../config/logger.js';
import type { ApiState } from '../routing.js';

export type ReadinessCheck = () => Promise<void>;

class NoAnswer extends Error {}

const withTimeout = (check: ReadinessCheck, ms: number) =>
  Promise.race([check(), new Promise<never>((_, reject) => setTimeout(() => reject(new NoAnswer(`no answer within ${ms} ms`)), ms).unref())]);

/**
 * Liveness says the process runs; readiness says each dependency answers, naming any that does
 * not. The endpoint is public, so a failure is answered in fixed words only: the error's own text
 * (host names, addresses, role names) goes to the log, never to the caller.
 */
export function healthRoutes(checks: Record<string, ReadinessCheck>, log: Logger, options: { timeoutMs?: number } = {}): Router<ApiState> {
  const timeoutMs = options.timeoutMs ?? 3000;
  const router = new Router<ApiState>();
  router.get('/health', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/health/ready', async (ctx) => {
    const names = Object.keys(checks);
    const results = await Promise.allSettled(names.map((name) => withTimeout(checks[name]!, timeoutMs)));
    const components = Object.fromEntries(
      results.map((result, i) => {
        if (result.status === 'fulfilled') return [names[i]!, { status: 'up' }];
        log.error({ component: names[i], err: result.reason as unknown, requestId: ctx.state.requestId }, 'readiness check failed');
        return [names[i]!, { status: 'down', reason: result.reason instanceof NoAnswer ? 'no answer in time' : 'check failed' }];
      }),
    );
    const failing = names.filter((_, i) => results[i]!.status === 'rejected');
    ctx.status = failing.length === 0 ? 200 : 503;
    ctx.body = { status: failing.length === 0 ? 'ready' : 'not ready', ...(failing.length ? { failing } : {}), components };
  });
  return router;
}
