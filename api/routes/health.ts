import Router from '@koa/router';
import type { ApiState } from '../routing.js';

export type ReadinessCheck = () => Promise<void>;

const withTimeout = (check: ReadinessCheck, ms: number) =>
  Promise.race([check(), new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref())]);

/** Liveness says the process runs; readiness says each dependency answers, naming any that does not. */
export function healthRoutes(checks: Record<string, ReadinessCheck>): Router<ApiState> {
  const router = new Router<ApiState>();
  router.get('/health', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/health/ready', async (ctx) => {
    const names = Object.keys(checks);
    const results = await Promise.allSettled(names.map((name) => withTimeout(checks[name]!, 3000)));
    const components = Object.fromEntries(
      results.map((result, i) => [names[i]!, result.status === 'fulfilled' ? { status: 'up' } : { status: 'down', error: String((result.reason as Error)?.message ?? result.reason) }]),
    );
    const failing = names.filter((_, i) => results[i]!.status === 'rejected');
    ctx.status = failing.length === 0 ? 200 : 503;
    ctx.body = { status: failing.length === 0 ? 'ready' : 'not ready', ...(failing.length ? { failing } : {}), components };
  });
  return router;
}
