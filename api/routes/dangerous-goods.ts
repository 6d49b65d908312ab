import Router from '@koa/router';
import { z } from 'zod';
import { dangerousGoodsByUn, getDangerousGood, listDangerousGoods } from '../../db/dangerous-goods.js';
import { normalizeUnNumber } from '../../domain/dangerous-goods/catalogue.js';
import { parseCompatibilityRequest, parseLoad, resolveLoad, UN_PATTERN, type Load, type ParseResult, type ResolvedItem } from '../../domain/dangerous-goods/load.js';
import { REGIMES } from '../../domain/dangerous-goods/regime.js';
import { companyRegime } from '../../db/company-regime.js';
import { checkCompatibility } from '../../domain/dangerous-goods/segregation.js';
import { determinePlacards } from '../../domain/dangerous-goods/placards.js';
import type { ResolutionPurpose } from '../../domain/dangerous-goods/catalogue.js';
import { notFound, validationFailed } from '../problem.js';
import { securedRouteWithoutTenantData as route, type ApiState, type RouteDeps } from '../routing.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { parse, text } from '../validation.js';
import { routeParams } from '../resource.js';
import type { RulesSource } from '../../db/dangerous-goods-rules.js';

export const listQuery = z.strictObject({
  search: text(200).optional(),
  class: z.string().regex(/^(1(\.[1-6])?|2(\.[1-3])?|3|4(\.[1-3])?|5(\.[12])?|6(\.[12])?|7|8|9)$/, 'must be a class (1–9) or a division such as 6.1').optional(),
  packingGroup: z.enum(['I', 'II', 'III']).optional(),
  cursor: z.string().max(400).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(25),
});
const cursorSchema = z.strictObject({ name: z.string(), id: z.uuid() });
export const byUnParams = z.strictObject({ un: z.string().regex(UN_PATTERN, 'must be an identification number such as UN1203, NA1993 or ID8000') });
export const placardQuery = z.strictObject({ regime: z.enum(REGIMES), domestic: z.enum(['true', 'false']).default('true') });
/** The regime may come in the query or the body; neither: the caller's company's regime. */
export const compatibilityQuery = z.strictObject({ regime: z.enum(REGIMES).optional() });

/** A parsed body, or 422 naming each field. */
function parsed<T>(result: ParseResult<T>): T {
  if (!result.ok) throw validationFailed(result.errors.map((error) => ({ path: error.field, message: error.message })));
  return result.value;
}

/** The DG catalogue (49 CFR 172.101) and the rules over a load under a regime: compatibility and placards. */
export function dangerousGoodsRoutes(deps: RouteDeps, rules: RulesSource): Router<ApiState> {
  const { db } = deps;
  const router = new Router<ApiState>({ prefix: '/api/v1' });

  route(router, deps, 'GET /api/v1/dangerous-goods', async (ctx) => {
    const query = parse(listQuery, ctx.query, 400);
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, cursorSchema);
    const page = await listDangerousGoods(db, { search: query.search, hazardClass: query.class, packingGroup: query.packingGroup, after, limit: query.limit });
    ctx.body = { items: page.items, nextCursor: page.next ? encodeCursor(page.next) : null };
  });

  route(router, deps, 'GET /api/v1/dangerous-goods/by-un/:un', async (ctx) => {
    const params = parse(byUnParams, ctx.params, 400);
    const un = normalizeUnNumber(params.un) ?? params.un;
    const items = await dangerousGoodsByUn(db, un);
    if (items.length === 0) throw notFound(`${un} is not in the Hazardous Materials Table (49 CFR 172.101)`);
    ctx.body = { unNumber: un, items };
  });

  route(router, deps, 'GET /api/v1/dangerous-goods/:id', async (ctx) => {
    const { id } = routeParams(ctx);
    const entry = await getDangerousGood(db, id!);
    if (!entry) throw notFound();
    ctx.body = entry;
  });

  const resolved = async (load: Load, purpose: ResolutionPurpose): Promise<readonly ResolvedItem[]> => {
    const { catalogue } = await rules.current();
    const resolution = resolveLoad(catalogue, load, purpose);
    if (!resolution.ok) throw validationFailed(resolution.problems.map((problem) => ({ path: problem.field, message: problem.message })));
    return resolution.items;
  };

  route(router, deps, 'POST /api/v1/dangerous-goods/check-compatibility', async (ctx, caller) => {
    const query = parse(compatibilityQuery, ctx.query, 400);
    const { regime: inBody, ...load } = parsed(parseCompatibilityRequest(ctx.request.body));
    if (query.regime !== undefined && inBody !== undefined && query.regime !== inBody) {
      throw validationFailed([{ path: 'regime', message: `the query says "${query.regime}" and the body "${inBody}": give the regime once` }]);
    }
    const regime = query.regime ?? inBody ?? (await companyRegime(db, caller.companyId));
    const items = await resolved(load, 'segregation');
    ctx.body = checkCompatibility(items, (await rules.current()).segregation, regime);
  });

  route(router, deps, 'POST /api/v1/dangerous-goods/placards', async (ctx) => {
    const query = parse(placardQuery, ctx.query, 400);
    const items = await resolved(parsed(parseLoad(ctx.request.body)), 'placards');
    ctx.body = determinePlacards(items, query.regime, { domestic: query.domestic === 'true' });
  });

  return router;
}
