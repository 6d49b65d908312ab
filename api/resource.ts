import type Router from '@koa/router';
import type { RouterContext } from '@koa/router';
import type { EntitySchema, FilterQuery, RequiredEntityData } from '@mikro-orm/core';
import { OptimisticLockError } from '@mikro-orm/core';
import { z } from 'zod';
import type { PolicyRoute } from '../domain/policy.js';
import { claimIdempotencyKey } from './idempotency.js';
import { notFound, Problem, validationFailed } from './problem.js';
import { securedRoute, securedRouteWithoutTenantData, type ApiState, type RequestContext, type RouteDeps } from './routing.js';
import { readInTenant } from '../db/tenant-read.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { parse } from './validation.js';

interface Versioned {
  id: string;
  companyId: string;
  version: number;
  createdAt: Date;
}

export type Params = Record<string, string>;

/**
 * One collection of the REST API: list (filter, order, cursor), create (201 + Location + ETag,
 * Idempotency-Key), read (ETag), update (PATCH with If-Match: 412 when stale, 428 when absent),
 * delete (204). Every write is audited in the same transaction. Tenancy needs nothing here: the
 * request's transaction is scoped to the caller's company by the ORM filter and by RLS.
 */
export interface ResourceDefinition<E extends Versioned, Create, Update, View> {
  /** Audit entity type, e.g. "vehicle". */
  type: string;
  /** Collection path, e.g. "/api/v1/vehicles" or "/api/v1/shipments/:shipmentId/consignment-items". */
  path: string;
  entity: EntitySchema<E>;
  createSchema: z.ZodType<Create>;
  updateSchema: z.ZodType<Update>;
  /** Checks references (another company's id is a 422, never a silent link) and returns the row to insert. */
  build(input: Create, rc: RequestContext, params: Params): Promise<Omit<RequiredEntityData<E>, 'companyId'>>;
  apply(entity: E, input: Update, rc: RequestContext): Promise<void>;
  view(entity: E): View;
  /** What the audit log keeps: defaults to the view; sensitive resources redact. */
  auditView?(entity: E): unknown;
  /** Query filters (beyond paging and order) and how they narrow the list. */
  filters?: z.ZodObject;
  where?(filters: Record<string, unknown>, params: Params): FilterQuery<E>;
  /** Orderable fields: query name → entity property. `createdAt` is always available. */
  orders?: Record<string, keyof E & string>;
  /** For nested collections: the parent that must exist in the caller's company. */
  parent?: { param: string; entity: EntitySchema<{ id: string }>; field: keyof E & string };
  /** false leaves out DELETE (e.g. shipments are cancelled through their lifecycle, not deleted). */
  deletable?: boolean;
  /** Runs in the DELETE's transaction before the row goes: may refuse it (a Problem) or tell others (a consignment item's workflow). */
  remove?(entity: E, rc: RequestContext): Promise<void>;
  /** false leaves out POST (the resource registers its own create, e.g. devices hand out a secret once). */
  creatable?: boolean;
  /**
   * The hottest reads skip the ORM: GET /{id} answers from one SELECT of `version` and the JSON
   * `view` (exactly what `view` answers), given the ids as SQL literals (db/tenant-read.ts).
   */
  readSql?(literals: { companyId: string; id: string }): string;
}

export const etag = (entity: Pick<Versioned, 'version'>) => `"v${entity.version}"`;

/** The version If-Match names, undefined without one. A malformed one (empty included) is the client's syntax error (400), not a precondition that failed (412). */
function ifMatchVersion(ctx: RouterContext<ApiState>): number | undefined {
  if (!Object.hasOwn(ctx.headers, 'if-match')) return undefined;
  const match = /^"v(\d+)"$/.exec(ctx.get('If-Match'));
  if (!match) throw validationFailed([{ path: 'If-Match', message: 'must be the ETag this API returned, e.g. "v3"' }], 400);
  return Number(match[1]);
}

export const listQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(25),
  cursor: z.string().max(500).optional(),
  order: z.string().regex(/^-?[a-zA-Z]+$/).default('-createdAt'),
});

/** A concurrent change caught at flush is the client's stale precondition; the database's own refusals are mapped in api/middleware/errors.ts. */
function asProblem(error: unknown): unknown {
  if (error instanceof OptimisticLockError) return new Problem(412, 'Precondition Failed', 'The resource changed since you read it; fetch it again and reapply your change');
  return error;
}

const idSchema = z.uuid({ error: 'must be a UUID' });

/** The route's ids; a malformed one can match nothing, and answering 404 keeps ids uniform. */
export function routeParams(ctx: RouterContext<ApiState>): Params {
  const values: Params = {};
  for (const [name, value] of Object.entries(ctx.params)) {
    if (!idSchema.safeParse(value).success) throw notFound();
    values[name] = value as string;
  }
  return values;
}


/** The Idempotency-Key as sent: an empty one is a malformed key (400), not an absent one. */
const idempotencyKey = (ctx: RouterContext<ApiState>) => (Object.hasOwn(ctx.headers, 'idempotency-key') ? ctx.get('Idempotency-Key') : undefined);

export function resourceRoutes<E extends Versioned, Create, Update, View>(router: Router<ApiState>, deps: RouteDeps, def: ResourceDefinition<E, Create, Update, View>): void {
  const item = `${def.path}/:id`;
  const key = (method: string, path: string) => `${method} ${path}` as PolicyRoute;
  // A Map: `order` is the client's string, and an object would answer `constructor` or `__proto__` from its prototype.
  const orders = new Map<string, string>(Object.entries({ createdAt: 'createdAt', ...def.orders }));
  const auditView = (entity: E) => (def.auditView ?? def.view)(entity);

  const params = routeParams;

  const ensureParent = async (rc: RequestContext, p: Params) => {
    if (!def.parent) return {};
    const parentId = p[def.parent.param]!;
    if (!(await rc.em.findOne(def.parent.entity, { id: parentId } as FilterQuery<{ id: string }>))) throw notFound();
    return { [def.parent.field]: parentId } as FilterQuery<E>;
  };

  const load = async (rc: RequestContext, p: Params): Promise<E> => {
    const scope = await ensureParent(rc, p);
    const entity = await rc.em.findOne(def.entity, { ...scope, id: p.id } as FilterQuery<E>);
    if (!entity) throw notFound();
    return entity;
  };

  const guarded = async (work: () => Promise<void>) => {
    try {
      await work();
    } catch (error) {
      throw asProblem(error);
    }
  };

  securedRoute(router, deps, key('GET', def.path), async (ctx, rc) => {
    const p = params(ctx);
    const scope = await ensureParent(rc, p);
    const filterSchema = def.filters ? listQuery.extend(def.filters.shape).strict() : listQuery.strict();
    const query = parse(filterSchema, ctx.query, 400) as z.infer<typeof listQuery> & Record<string, unknown>;
    const descending = query.order.startsWith('-');
    const orderName = query.order.replace(/^-/, '');
    const field = orders.get(orderName);
    if (!field) throw validationFailed([{ path: 'order', message: `must be one of ${[...orders.keys()].flatMap((o) => [o, `-${o}`]).join(', ')}` }], 400);
    const direction = descending ? 'desc' : 'asc';
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, z.strictObject({ o: z.literal(query.order), v: z.union([z.string(), z.number(), z.boolean(), z.null()]), id: z.uuid() }));
    const where: Record<string, unknown> = { ...(scope as object), ...((def.where?.(query, p) ?? {}) as object) };
    if (after) {
      const value = field === 'createdAt' && typeof after.v === 'string' ? new Date(after.v) : after.v;
      const beyond = descending ? '$lt' : '$gt';
      where.$or = [{ [field]: { [beyond]: value } }, { [field]: value, id: { [beyond]: after.id } }];
    }
    const rows = await rc.em.find(def.entity, where as FilterQuery<E>, { orderBy: { [field]: direction, id: direction } as never, limit: query.limit + 1 });
    const page = rows.slice(0, query.limit);
    const last = page.at(-1) as Record<string, unknown> | undefined;
    const lastValue = last?.[field];
    ctx.body = {
      items: page.map((entity) => def.view(entity)),
      nextCursor: rows.length > query.limit && last ? encodeCursor({ o: query.order, v: lastValue instanceof Date ? lastValue.toISOString() : lastValue, id: last.id }) : null,
    };
  });

  if (def.creatable !== false) securedRoute(router, deps, key('POST', def.path), async (ctx, rc) => {
    const p = params(ctx);
    await ensureParent(rc, p);
    const body: unknown = ctx.request.body;
    const idempotency = await claimIdempotencyKey(rc.em, deps.fields, { companyId: rc.caller.companyId, subject: rc.caller.subject, key: idempotencyKey(ctx), method: 'POST', path: ctx.path, body });
    if (idempotency && 'replay' in idempotency) {
      ctx.status = idempotency.replay.status;
      ctx.set({ ...idempotency.replay.headers, 'Idempotent-Replayed': 'true' });
      ctx.body = idempotency.replay.body;
      return;
    }
    const input = parse(def.createSchema, body);
    await guarded(async () => {
      const data = await def.build(input, rc, p);
      const entity = rc.em.create(def.entity, { ...data, companyId: rc.caller.companyId } as RequiredEntityData<E>);
      await rc.em.flush();
      await rc.em.refresh(entity);
      await rc.audit({ action: 'create', entityType: def.type, entityId: entity.id, after: auditView(entity) });
      const headers = { Location: `${ctx.path}/${entity.id}`, ETag: etag(entity) };
      ctx.status = 201;
      ctx.set(headers);
      ctx.body = def.view(entity);
      await idempotency?.store({ status: 201, headers, body: ctx.body });
    });
  });

  const { readSql } = def;
  if (readSql && !def.parent) {
    securedRouteWithoutTenantData(router, deps, key('GET', item), async (ctx, caller) => {
      const id = params(ctx).id!;
      const [row] = await readInTenant<{ version: number; view: View }>(deps.db, caller.companyId, (uuid) => readSql({ companyId: uuid(caller.companyId), id: uuid(id) }));
      if (!row) throw notFound();
      ctx.set('ETag', etag(row));
      ctx.body = row.view;
    });
  } else {
    securedRoute(router, deps, key('GET', item), async (ctx, rc) => {
      const entity = await load(rc, params(ctx));
      ctx.set('ETag', etag(entity));
      ctx.body = def.view(entity);
    });
  }

  securedRoute(router, deps, key('PATCH', item), async (ctx, rc) => {
    const entity = await load(rc, params(ctx));
    const version = ifMatchVersion(ctx);
    if (version === undefined) throw new Problem(428, 'Precondition Required', 'Send If-Match with the ETag you read, so a concurrent change is not overwritten');
    // A malformed request is refused as such, whichever version it names.
    const input = parse(def.updateSchema, ctx.request.body);
    if (version !== entity.version) throw new Problem(412, 'Precondition Failed', 'The resource changed since you read it; fetch it again and reapply your change');
    const before = auditView(entity);
    await guarded(async () => {
      await def.apply(entity, input, rc);
      await rc.em.flush();
      await rc.em.refresh(entity);
    });
    await rc.audit({ action: 'update', entityType: def.type, entityId: entity.id, before, after: auditView(entity) });
    ctx.set('ETag', etag(entity));
    ctx.body = def.view(entity);
  });

  if (def.deletable !== false) {
    securedRoute(router, deps, key('DELETE', item), async (ctx, rc) => {
      const entity = await load(rc, params(ctx));
      const version = ifMatchVersion(ctx);
      if (version !== undefined && version !== entity.version) throw new Problem(412, 'Precondition Failed', 'The resource changed since you read it');
      const before = auditView(entity);
      await guarded(async () => {
        await def.remove?.(entity, rc);
        rc.em.remove(entity);
        await rc.em.flush();
      });
      await rc.audit({ action: 'delete', entityType: def.type, entityId: entity.id, before });
      ctx.status = 204;
    });
  }
}
