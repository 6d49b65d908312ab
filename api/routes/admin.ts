import Router from '@koa/router';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { CompanySchema, ShipmentSchema } from '../../db/entities.js';
import { appendAudit } from '../../db/audit.js';
import { inTenant } from '../../db/orm.js';
import { platformRoute, type ApiState, type RouteDeps } from '../routing.js';
import { routeParams } from '../resource.js';
import { parse } from '../validation.js';
import { shipments } from '../resources/shipments.js';

export const createCompany = z.strictObject({ name: z.string().trim().min(1).max(200) });
export const reason = z.strictObject({ reason: z.string().trim().min(3).max(500), limit: z.coerce.number().int().min(1).max(100).default(25) });

/**
 * SafeShipper staff: onboard companies, and look into one company when support needs it — each
 * look recorded in that company's own audit chain with the reason given.
 */
export function adminRoutes(deps: RouteDeps): Router<ApiState> {
  const router = new Router<ApiState>({ prefix: '/api/v1' });

  platformRoute(router, deps, 'GET /api/v1/admin/companies', async (ctx) => {
    const rows = await deps.db.em.fork().execute<Array<{ id: string; name: string; created_at: string }>>(
      // RFC 3339: the driver hands timestamptz over as PostgreSQL's own text (`2026-01-01 10:00:00.5+00`).
      `SELECT id, name, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at FROM platform_companies()`,
    );
    ctx.body = { items: rows.map((row) => ({ id: row.id, name: row.name, createdAt: row.created_at })) };
  });

  platformRoute(router, deps, 'POST /api/v1/admin/companies', async (ctx, pc) => {
    const input = parse(createCompany, ctx.request.body);
    const id = randomUUID();
    const company = await inTenant(deps.db, id, async (em) => {
      const created = em.create(CompanySchema, { id, name: input.name, createdAt: new Date(), updatedAt: new Date() });
      await em.flush();
      await appendAudit(em, { companyId: id, actorSubject: pc.principal.subject, actorUsername: pc.principal.username, action: 'create', entityType: 'company', entityId: id, after: { name: input.name }, requestId: pc.requestId });
      return created;
    });
    ctx.status = 201;
    ctx.set('Location', `/api/v1/admin/companies/${id}`);
    ctx.body = { id: company.id, name: company.name, createdAt: company.createdAt };
  });

  platformRoute(router, deps, 'GET /api/v1/admin/companies/:companyId/shipments', async (ctx, pc) => {
    const { companyId } = routeParams(ctx);
    const query = parse(reason, ctx.query, 400);
    const rows = await pc.inCompany(companyId!, query.reason, (em) => em.find(ShipmentSchema, {}, { orderBy: { createdAt: 'desc', id: 'desc' }, limit: query.limit }));
    ctx.body = { items: rows.map((row) => shipments.view(row)) };
  });

  return router;
}
