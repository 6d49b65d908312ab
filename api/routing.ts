import type Router from '@koa/router';
import type { RouterContext } from '@koa/router';
import { allows, type Requirement } from '../domain/rbac.js';
import { ROUTE_POLICY, type PolicyRoute } from '../domain/policy.js';
import { inTenant, type Database, type EntityManager } from '../db/orm.js';
import { appendAudit, type AuditEntry } from '../db/audit.js';
import { recordCaller } from '../db/users.js';
import type { AuditCheckpointSeal } from '../security/audit-checkpoint.js';
import type { FieldEncryption } from '../security/field-encryption.js';
import type { Principal, TokenVerifier } from './auth.js';
import { readJsonBody } from './middleware/json-body.js';
import { forbidden } from './problem.js';

export interface ApiState {
  requestId: string;
}

/** A caller who passed authentication and authorisation and belongs to a company. */
export interface Caller extends Principal {
  companyId: string;
}

export type AuditRecord = Omit<AuditEntry, 'companyId' | 'actorSubject' | 'actorUsername' | 'requestId'>;

/** What a handler gets: the caller, and one transaction scoped to the caller's company. */
export interface RequestContext {
  caller: Caller;
  em: EntityManager;
  requestId: string;
  audit(record: AuditRecord): Promise<void>;
}

/**
 * What a handler that calls another system (Keycloak) gets: no transaction is open while it
 * waits, and each audit entry commits on its own, at once — an entry written before the call
 * stays whatever happens after it.
 */
export interface ExternalCallContext {
  caller: Caller;
  requestId: string;
  audit(record: AuditRecord): Promise<void>;
}

export interface RouteDeps {
  db: Database;
  verify: TokenVerifier;
  /** Fields encrypted at rest, and the stored answers that may repeat them (idempotency). */
  fields: FieldEncryption;
  /** Seals of the audit chain heads, checked by /audit-log/verify. */
  auditSeal: AuditCheckpointSeal;
  /** Callers recorded recently (subject|role|company → until), so the user row is not written on every request. */
  recentCallers: Map<string, number>;
  /** Runs after authentication, before the handler (rate limiting). */
  beforeHandler?: (ctx: RouterContext<ApiState>, caller: Principal, requirement: Requirement) => Promise<void>;
}

const RECORD_EVERY_MS = 60_000;

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

function policyOf(key: string): { method: Method; path: string; requirement: Requirement } {
  const requirement = (ROUTE_POLICY as Record<string, Requirement>)[key];
  // A route the policy table does not declare cannot be registered: the API refuses to start.
  if (!requirement) throw new Error(`route "${key}" is not declared in domain/policy.ts`);
  const [method, fullPath] = key.split(' ') as [Method, string];
  return { method, path: fullPath.replace(/^\/api\/v1/, ''), requirement };
}

async function authorise(ctx: RouterContext<ApiState>, deps: RouteDeps, requirement: Requirement, body: 'json' | 'stream' = 'json'): Promise<Caller> {
  const principal = await deps.verify(ctx.get('Authorization') || undefined);
  await deps.beforeHandler?.(ctx, principal, requirement);
  if (!principal.companyId) throw forbidden('Your account is not linked to a company');
  if (!allows(principal.role, requirement)) throw forbidden(`This action needs the "${requirement}" permission, which your role does not have`);
  // Only now is the body read: nobody unauthenticated makes the API parse up to 2 MB.
  if (body === 'json') await readJsonBody(ctx);
  const caller = { ...principal, companyId: principal.companyId };
  await remember(ctx, deps, caller);
  return caller;
}

/** The user row is created on first sight and follows role changes; both are security events in the audit log. */
async function remember(ctx: RouterContext<ApiState>, deps: RouteDeps, caller: Caller): Promise<void> {
  const key = `${caller.subject}|${caller.role}|${caller.companyId}`;
  if ((deps.recentCallers.get(key) ?? 0) > Date.now()) return;
  await inTenant(deps.db, caller.companyId, async (em) => {
    const record = await recordCaller(em, caller);
    const base = { companyId: caller.companyId, actorSubject: caller.subject, actorUsername: caller.username, entityType: 'user', entityId: record.userId, requestId: ctx.state.requestId };
    if (record.firstSeen) await appendAudit(em, { ...base, action: 'security.user_first_seen', after: { username: caller.username, role: caller.role } });
    else if (record.roleChangedFrom !== undefined) await appendAudit(em, { ...base, action: 'security.role_changed', before: { role: record.roleChangedFrom }, after: { role: caller.role } });
  });
  if (deps.recentCallers.size > 50_000) deps.recentCallers.clear();
  deps.recentCallers.set(key, Date.now() + RECORD_EVERY_MS);
}

/**
 * Registers a route under its entry in the policy table; authentication, the permission check
 * and the tenant transaction happen here, the only way a handler is reached. The handler's
 * writes and its audit entries commit together, before the answer is sent.
 */
export function securedRoute(router: Router<ApiState>, deps: RouteDeps, key: PolicyRoute, handler: (ctx: RouterContext<ApiState>, rc: RequestContext) => Promise<void>): void {
  const { method, path, requirement } = policyOf(key);
  router.register(path, [method], async (ctx: RouterContext<ApiState>) => {
    const caller = await authorise(ctx, deps, requirement);
    await inTenant(deps.db, caller.companyId, (em) =>
      handler(ctx, {
        caller,
        em,
        requestId: ctx.state.requestId,
        audit: (record) => appendAudit(em, { ...record, companyId: caller.companyId, actorSubject: caller.subject, actorUsername: caller.username, requestId: ctx.state.requestId }),
      }),
    );
  });
}

/** What an admin route's handler gets: a platform operator, and a way to act in one company, audited there. */
export interface PlatformContext {
  principal: Principal;
  requestId: string;
  /** Runs `work` in `companyId`'s transaction and records the cross-company access in that company's audit chain. */
  inCompany<T>(companyId: string, reason: string, work: (em: EntityManager) => Promise<T>): Promise<T>;
}

/** Admin routes for SafeShipper's own staff (realm role PLATFORM_STAFF): the only way across companies. */
export function platformRoute(router: Router<ApiState>, deps: RouteDeps, key: PolicyRoute, handler: (ctx: RouterContext<ApiState>, pc: PlatformContext) => Promise<void>): void {
  const { method, path, requirement } = policyOf(key);
  if (requirement !== 'platform_staff') throw new Error(`${key} is not declared as a platform_staff route`);
  router.register(path, [method], async (ctx: RouterContext<ApiState>) => {
    const principal = await deps.verify(ctx.get('Authorization') || undefined);
    await deps.beforeHandler?.(ctx, principal, requirement);
    if (!principal.platformStaff) throw forbidden('This route is for SafeShipper platform staff');
    await readJsonBody(ctx);
    await handler(ctx, {
      principal,
      requestId: ctx.state.requestId,
      inCompany: (companyId, reason, work) =>
        inTenant(deps.db, companyId, async (em) => {
          await appendAudit(em, { companyId, actorSubject: principal.subject, actorUsername: principal.username, action: 'security.cross_company_access', entityType: 'company', entityId: companyId, after: { route: key, reason }, requestId: ctx.state.requestId });
          return work(em);
        }),
    });
  });
}

/** A route without the ORM's tenant transaction (the DG rules over a posted load; reads through db/tenant-read.ts): same checks. */
export function securedRouteWithoutTenantData(router: Router<ApiState>, deps: RouteDeps, key: PolicyRoute, handler: (ctx: RouterContext<ApiState>, caller: Caller) => Promise<void>): void {
  const { method, path, requirement } = policyOf(key);
  router.register(path, [method], async (ctx: RouterContext<ApiState>) => {
    await handler(ctx, await authorise(ctx, deps, requirement));
  });
}

/**
 * A route whose handler calls another system (Keycloak's admin API): the same checks, but no
 * tenant transaction around the handler, so a slow answer holds no database connection.
 */
export function securedExternalRoute(router: Router<ApiState>, deps: RouteDeps, key: PolicyRoute, handler: (ctx: RouterContext<ApiState>, xc: ExternalCallContext) => Promise<void>): void {
  const { method, path, requirement } = policyOf(key);
  router.register(path, [method], async (ctx: RouterContext<ApiState>) => {
    const caller = await authorise(ctx, deps, requirement);
    await handler(ctx, {
      caller,
      requestId: ctx.state.requestId,
      audit: (record) =>
        inTenant(deps.db, caller.companyId, (em) =>
          appendAudit(em, { ...record, companyId: caller.companyId, actorSubject: caller.subject, actorUsername: caller.username, requestId: ctx.state.requestId }),
        ),
    });
  });
}

/**
 * A route whose handler reads the request body itself, as a stream (a multipart document upload):
 * the same checks, the body left unread until the caller is authorised, and no transaction open
 * while the body arrives (the handler opens its own once the bytes are stored).
 */
export function securedStreamRoute(router: Router<ApiState>, deps: RouteDeps, key: PolicyRoute, handler: (ctx: RouterContext<ApiState>, caller: Caller) => Promise<void>): void {
  const { method, path, requirement } = policyOf(key);
  router.register(path, [method], async (ctx: RouterContext<ApiState>) => {
    await handler(ctx, await authorise(ctx, deps, requirement, 'stream'));
  });
}
