import type Router from '@koa/router';
import type { Context, Next } from 'koa';
import { Problem } from '../problem.js';
import type { ApiState } from '../routing.js';

/**
 * Which methods a path takes, decided once for all routers, before any runs: a path that exists
 * answers a method it does not take — TRACE, PROPFIND, anything — with 405 and `Allow`, and
 * OPTIONS with 204 and `Allow`. The most specific route decides: `/geofences/nearby` takes only
 * what its own route takes, not what `/geofences/:id` would. (@koa/router's `allowedMethods()`
 * answers 501 to methods outside its list, sees one router's routes, and counts every pattern
 * that matches.)
 */
export function allowedMethods(routers: ReadonlyArray<Pick<Router<ApiState>, 'match'>>) {
  return async (ctx: Context, next: Next) => {
    const layers = routers.flatMap((router) => router.match(ctx.path, ctx.method).path).filter((layer) => layer.methods.length > 0);
    if (layers.length === 0) return next();
    const fewestParams = Math.min(...layers.map((layer) => layer.paramNames.length));
    const allowed = [...new Set(layers.filter((layer) => layer.paramNames.length === fewestParams).flatMap((layer) => layer.methods))];
    if (allowed.includes(ctx.method)) return next();
    const allow = allowed.join(', ');
    if (ctx.method === 'OPTIONS') {
      ctx.status = 204;
      ctx.set('Allow', allow);
      return;
    }
    throw new Problem(405, 'Method Not Allowed', `${ctx.method} is not allowed here; allowed: ${allow}`, { headers: { Allow: allow } });
  };
}
