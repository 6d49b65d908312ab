import Router from '@koa/router';
import { z } from 'zod';
import { ROLES } from '../../domain/rbac.js';
import {
  KeycloakUpstreamError,
  KeycloakUserConflict,
  KeycloakUserNotFound,
  KeycloakUserRejected,
  type CompanyUser,
  type KeycloakAdmin,
} from '../../identity/keycloak-admin.js';
import { notFound, Problem, validationFailed } from '../problem.js';
import { routeParams } from '../resource.js';
import { securedExternalRoute, type ApiState, type AuditRecord, type ExternalCallContext, type RouteDeps } from '../routing.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { parse } from '../validation.js';

export const createUser = z.strictObject({
  username: z.string().trim().toLowerCase().regex(/^[a-z0-9][a-z0-9._-]{2,63}$/, 'must be 3–64 lower-case letters, digits, dots, dashes or underscores'),
  email: z.email().max(254),
  firstName: z.string().trim().min(1).max(100),
  lastName: z.string().trim().min(1).max(100),
  role: z.enum(ROLES),
  temporaryPassword: z.string().min(12).max(128).optional(),
});
export const updateUser = z.strictObject({ role: z.enum(ROLES) });
export const listQuery = z.strictObject({ search: z.string().trim().min(1).max(100).optional(), limit: z.coerce.number().int().min(1).max(100).default(25), cursor: z.string().max(100).optional() });

const view = (user: CompanyUser) => ({
  id: user.id,
  username: user.username,
  email: user.email ?? null,
  firstName: user.firstName ?? null,
  lastName: user.lastName ?? null,
  role: user.role ?? null,
  enabled: user.enabled,
  requiredActions: user.requiredActions,
  createdAt: user.createdAt ?? null,
});

/** Keycloak's answers in the API's terms: its outage is a 502, our caller's mistakes are 4xx. */
async function keycloak<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof KeycloakUserNotFound) throw notFound();
    if (error instanceof KeycloakUserConflict) throw new Problem(409, 'Conflict', error.field ? `That ${error.field} is already taken` : error.message);
    if (error instanceof KeycloakUserRejected) throw validationFailed(error.errors.map((e) => ({ path: e.field ?? '(body)', message: e.message })));
    if (error instanceof KeycloakUpstreamError) throw new Problem(502, 'Bad Gateway', 'The identity provider did not complete the request');
    throw error;
  }
}

/**
 * A security change made in Keycloak, audited so that it cannot go unrecorded: the intent is
 * committed first, then Keycloak is changed, then the outcome (or the failure) is recorded. If
 * anything after the change fails, the intent is already in the log.
 */
async function auditedChange<T>(xc: ExternalCallContext, intent: AuditRecord, change: () => Promise<T>, outcome: (result: T) => AuditRecord, failed: AuditRecord): Promise<T> {
  await xc.audit(intent);
  let result: T;
  try {
    result = await keycloak(change);
  } catch (error) {
    // The intent is recorded already; the caller needs the original error more than this entry.
    await xc.audit({ ...failed, after: { ...(failed.after as object), error: error instanceof Problem ? error.status : 'error' } }).catch(() => undefined);
    throw error;
  }
  await xc.audit(outcome(result));
  return result;
}

/** A user of another company, or none, is a 404 before anything is recorded: the log names only the company's own users. */
async function mustExist(admin: KeycloakAdmin, xc: ExternalCallContext, userId: string): Promise<void> {
  await keycloak(() => admin.getUser(xc.caller.companyId, userId));
}

/**
 * A company's users live in Keycloak (role and company there); its admins manage them here,
 * through Keycloak's admin API, scoped to their own company and audited. Nobody changes their
 * own role or disables themselves, so a company cannot lock out its last admin by accident.
 * No database transaction is held while Keycloak answers (securedExternalRoute).
 */
export function userRoutes(deps: RouteDeps, admin: KeycloakAdmin | undefined): Router<ApiState> {
  const router = new Router<ApiState>({ prefix: '/api/v1' });
  const configured = (): KeycloakAdmin => {
    if (!admin) throw new Problem(503, 'Service Unavailable', 'User management is not configured (KEYCLOAK_ADMIN_CLIENT_SECRET)');
    return admin;
  };
  const notSelf = (callerSubject: string, userId: string) => {
    if (callerSubject === userId) throw validationFailed([{ path: 'id', message: 'you cannot change your own role or access; ask another admin' }]);
  };

  securedExternalRoute(router, deps, 'GET /api/v1/users', async (ctx, { caller }) => {
    const query = parse(listQuery, ctx.query, 400);
    const first = query.cursor === undefined ? 0 : decodeCursor(query.cursor, z.strictObject({ first: z.number().int().min(0) })).first;
    const page = await keycloak(() => configured().listUsers(caller.companyId, { first, max: query.limit, ...(query.search ? { search: query.search } : {}) }));
    const next = first + page.users.length;
    ctx.body = { items: page.users.map(view), total: page.total, nextCursor: next < page.total ? encodeCursor({ first: next }) : null };
  });

  securedExternalRoute(router, deps, 'POST /api/v1/users', async (ctx, xc) => {
    const input = parse(createUser, ctx.request.body);
    const admin = configured();
    const requested = { username: input.username, email: input.email, firstName: input.firstName, lastName: input.lastName, role: input.role };
    const id = await auditedChange(
      xc,
      { action: 'security.user_create_requested', entityType: 'user', after: requested },
      () => admin.createUser(xc.caller.companyId, { ...requested, ...(input.temporaryPassword ? { password: { value: input.temporaryPassword, temporary: true } } : {}) }),
      (created) => ({ action: 'create', entityType: 'user', entityId: created, after: requested }),
      { action: 'security.user_create_failed', entityType: 'user', after: requested },
    );
    const user = await keycloak(() => admin.getUser(xc.caller.companyId, id));
    ctx.status = 201;
    ctx.set('Location', `${ctx.path}/${id}`);
    ctx.body = view(user);
  });

  securedExternalRoute(router, deps, 'GET /api/v1/users/:id', async (ctx, { caller }) => {
    const { id } = routeParams(ctx);
    ctx.body = view(await keycloak(() => configured().getUser(caller.companyId, id!)));
  });

  securedExternalRoute(router, deps, 'PATCH /api/v1/users/:id', async (ctx, xc) => {
    const { id } = routeParams(ctx);
    const input = parse(updateUser, ctx.request.body);
    notSelf(xc.caller.subject, id!);
    const admin = configured();
    await mustExist(admin, xc, id!);
    await auditedChange(
      xc,
      { action: 'security.role_change_requested', entityType: 'user', entityId: id, after: { role: input.role } },
      () => admin.changeRole(xc.caller.companyId, id!, input.role),
      (change) => ({ action: 'security.role_changed', entityType: 'user', entityId: id, before: { role: change.before ?? null }, after: { role: change.after } }),
      { action: 'security.role_change_failed', entityType: 'user', entityId: id, after: { role: input.role } },
    );
    ctx.body = view(await keycloak(() => admin.getUser(xc.caller.companyId, id!)));
  });

  securedExternalRoute(router, deps, 'POST /api/v1/users/:id/disable', async (ctx, xc) => {
    const { id } = routeParams(ctx);
    notSelf(xc.caller.subject, id!);
    const admin = configured();
    await mustExist(admin, xc, id!);
    await auditedChange(
      xc,
      { action: 'security.user_disable_requested', entityType: 'user', entityId: id, after: { enabled: false } },
      () => admin.disableUser(xc.caller.companyId, id!),
      (change) => ({ action: 'security.user_disabled', entityType: 'user', entityId: id, before: { enabled: change.wasEnabled }, after: { enabled: false } }),
      { action: 'security.user_disable_failed', entityType: 'user', entityId: id, after: { enabled: false } },
    );
    ctx.body = view(await keycloak(() => admin.getUser(xc.caller.companyId, id!)));
  });

  return router;
}

/** What `view` answers, as JSON (dates as ISO strings): the response schema of the OpenAPI contract (api/openapi.ts). */
export const userView = z.object({
  id: z.string().describe('The Keycloak user id'),
  username: z.string(),
  email: z.string().nullable(),
  firstName: z.string().nullable(),
  lastName: z.string().nullable(),
  role: z.enum(ROLES).nullable(),
  enabled: z.boolean(),
  requiredActions: z.array(z.string()),
  createdAt: z.iso.datetime().nullable(),
});
