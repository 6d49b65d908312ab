import type Router from '@koa/router';
import type { RouterContext } from '@koa/router';
import { allows } from '../domain/rbac.js';
import { ROUTE_POLICY, type PolicyRoute } from '../domain/policy.js';
import type { Principal, TokenVerifier } from './auth.js';
import { forbidden } from './problem.js';

export interface ApiState {
  requestId: string;
}

/** A caller who passed authentication and authorisation and belongs to a company. */
export interface Caller extends Principal {
  companyId: string;
}

export type Handler = (ctx: RouterContext<ApiState>, caller: Caller) => Promise<void>;

/**
 * Registers a route under its entry in the policy table: the key is typed against the table,
 * so a route without a declared permission does not compile, and the check below is the only
 * way a handler is ever reached.
 */
export function securedRoute(router: Router<ApiState>, verify: TokenVerifier, key: PolicyRoute, handler: Handler): void {
  const [method, fullPath] = key.split(' ') as [string, string];
  const requirement = ROUTE_POLICY[key];
  const path = fullPath.replace(/^\/api\/v1/, '');
  router.register(path, [method], async (ctx: RouterContext<ApiState>) => {
    const principal = await verify(ctx.get('Authorization') || undefined);
    if (!principal.companyId) throw forbidden('Your account is not linked to a company');
    if (!allows(principal.role, requirement)) throw forbidden(`This action needs the "${requirement}" permission, which your role does not have`);
    await handler(ctx, { ...principal, companyId: principal.companyId });
  });
}
