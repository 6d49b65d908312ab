import Router from '@koa/router';
import { z } from 'zod';
import type { RulesSource } from '../../db/dangerous-goods-rules.js';
import { inTenant, type EntityManager } from '../../db/orm.js';
import { documentKindOf, getSds, insertSds, listSds, revisionsOf, type SdsRow } from '../../db/sds.js';
import { normalizeUnNumber } from '../../domain/dangerous-goods/catalogue.js';
import { UN_PATTERN } from '../../domain/dangerous-goods/load.js';
import { currentRevisionIds, isExpired, reviewDueOn } from '../../domain/sds.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { notFound, Problem, validationFailed } from '../problem.js';
import { routeParams } from '../resource.js';
import { securedRoute, securedRouteWithoutTenantData, type ApiState, type RouteDeps } from '../routing.js';
import { parse, text } from '../validation.js';

/** Today's date (UTC): what "current" and "expired" are judged on. */
export const today = () => new Date().toISOString().slice(0, 10);

const unNumber = z
  .string()
  .regex(UN_PATTERN, 'must be an identification number such as UN1203')
  .transform((value) => normalizeUnNumber(value)!);

export const createSds = z.strictObject({
  product: text(200),
  supplier: text(200),
  revisionDate: z.iso.date({ error: 'must be a date YYYY-MM-DD' }),
  unNumbers: z.array(unNumber).min(1).max(50),
  documentId: z.uuid({ error: 'must be a UUID' }),
});

export const sdsListQuery = z.strictObject({
  product: text(200).optional(),
  unNumber: unNumber.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(25),
  cursor: z.string().max(400).optional(),
});
const cursorSchema = z.strictObject({ p: z.string(), d: z.iso.date(), id: z.uuid() });

/** An SDS as the API answers it: the revision, whether it is its product's current one, and whether it is past its five-year review. */
export const sdsView = z.object({
  id: z.uuid(),
  product: z.string(),
  supplier: z.string(),
  revisionDate: z.iso.date(),
  unNumbers: z.array(z.string()),
  documentId: z.uuid(),
  current: z.boolean(),
  expired: z.boolean(),
  reviewDueOn: z.iso.date(),
  createdAt: z.iso.datetime(),
});
export type SdsView = z.infer<typeof sdsView>;

export function viewSds(row: SdsRow, current: ReadonlySet<string>, asOf: string): SdsView {
  return {
    id: row.id,
    product: row.product,
    supplier: row.supplier,
    revisionDate: row.revisionDate,
    unNumbers: row.unNumbers,
    documentId: row.documentId,
    current: current.has(row.id),
    expired: isExpired(row.revisionDate, asOf),
    reviewDueOn: reviewDueOn(row.revisionDate),
    createdAt: row.createdAt.toISOString(),
  };
}

/** The current revisions among every revision of the products these rows belong to. */
export async function currentAmong(em: EntityManager, companyId: string, rows: readonly SdsRow[]): Promise<Set<string>> {
  return currentRevisionIds(await revisionsOf(em, companyId, rows.map((row) => row.product)));
}

/** The safety data sheet library: an SDS is a product's revision, recorded over an uploaded SDS document. */
export function sdsRoutes(deps: RouteDeps, rules: RulesSource): Router<ApiState> {
  const router = new Router<ApiState>({ prefix: '/api/v1' });

  securedRoute(router, deps, 'POST /api/v1/sds', async (ctx, rc) => {
    const input = parse(createSds, ctx.request.body);
    const { companyId } = rc.caller;
    const asOf = today();
    const { catalogue } = await rules.current();
    const errors = [
      ...input.unNumbers.flatMap((un, i) => (catalogue.byIdNumber.has(un) ? [] : [{ path: `unNumbers.${i}`, message: `${un} is not in the dangerous goods catalogue` }])),
      ...(input.revisionDate > asOf ? [{ path: 'revisionDate', message: `is after today (${asOf})` }] : []),
    ];
    const kind = await documentKindOf(rc.em, companyId, input.documentId);
    if (kind === undefined) errors.push({ path: 'documentId', message: 'no such document in your company' });
    else if (kind !== 'SDS') errors.push({ path: 'documentId', message: `must be a document of kind SDS (it is ${kind})` });
    if (errors.length) throw validationFailed(errors);
    const row = await insertSds(rc.em, { companyId, ...input, unNumbers: [...new Set(input.unNumbers)], createdBy: { subject: rc.caller.subject, username: rc.caller.username ?? null } });
    if (!row) throw new Problem(409, 'Conflict', `Document ${input.documentId} is already recorded as an SDS`);
    const sds = viewSds(row, await currentAmong(rc.em, companyId, [row]), asOf);
    await rc.audit({ action: 'create', entityType: 'sds', entityId: row.id, after: sds });
    ctx.status = 201;
    ctx.set('Location', `/api/v1/sds/${row.id}`);
    ctx.body = sds;
  });

  securedRouteWithoutTenantData(router, deps, 'GET /api/v1/sds', async (ctx, caller) => {
    const query = parse(sdsListQuery, ctx.query, 400);
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, cursorSchema);
    const { page, current } = await inTenant(deps.db, caller.companyId, async (em) => {
      const found = await listSds(em, caller.companyId, { product: query.product, unNumber: query.unNumber, after: after ? { productKey: after.p, revisionDate: after.d, id: after.id } : undefined, limit: query.limit });
      return { page: found, current: await currentAmong(em, caller.companyId, found.items) };
    });
    const asOf = today();
    ctx.body = { items: page.items.map((row) => viewSds(row, current, asOf)), nextCursor: page.next ? encodeCursor({ p: page.next.productKey, d: page.next.revisionDate, id: page.next.id }) : null };
  });

  securedRouteWithoutTenantData(router, deps, 'GET /api/v1/sds/:id', async (ctx, caller) => {
    const id = routeParams(ctx).id!;
    const found = await inTenant(deps.db, caller.companyId, async (em) => {
      const row = await getSds(em, caller.companyId, id);
      return row ? { row, current: await currentAmong(em, caller.companyId, [row]) } : undefined;
    });
    if (!found) throw notFound('No such SDS in your company');
    ctx.body = viewSds(found.row, found.current, today());
  });

  return router;
}
