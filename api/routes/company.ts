import Router from '@koa/router';
import { z } from 'zod';
import { CompanySchema } from '../../db/entities.js';
import { verifyAuditChain } from '../../db/audit.js';
import { notFound } from '../problem.js';
import { securedRoute, type ApiState, type RouteDeps } from '../routing.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { parse } from '../validation.js';

export const updateCompany = z.strictObject({ name: z.string().trim().min(1).max(200) });
export const auditQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
  entityType: z.string().max(64).optional(),
  entityId: z.string().max(64).optional(),
});

/** The caller's own company, and its audit log (read and verified; never written through the API). */
export function companyRoutes(deps: RouteDeps): Router<ApiState> {
  const router = new Router<ApiState>({ prefix: '/api/v1' });

  securedRoute(router, deps, 'GET /api/v1/company', async (ctx, { caller, em }) => {
    const company = await em.findOne(CompanySchema, { id: caller.companyId });
    if (!company) throw notFound('Your company has no record yet');
    ctx.body = { id: company.id, name: company.name, createdAt: company.createdAt, updatedAt: company.updatedAt };
  });

  securedRoute(router, deps, 'PATCH /api/v1/company', async (ctx, rc) => {
    const input = parse(updateCompany, ctx.request.body);
    const company = await rc.em.findOne(CompanySchema, { id: rc.caller.companyId });
    if (!company) throw notFound('Your company has no record yet');
    const before = { name: company.name };
    company.name = input.name;
    await rc.em.flush();
    await rc.audit({ action: 'update', entityType: 'company', entityId: company.id, before, after: { name: company.name } });
    ctx.body = { id: company.id, name: company.name, createdAt: company.createdAt, updatedAt: company.updatedAt };
  });

  securedRoute(router, deps, 'GET /api/v1/audit-log', async (ctx, { em }) => {
    const query = parse(auditQuery, ctx.query, 400);
    const before = query.cursor === undefined ? undefined : decodeCursor(query.cursor, z.strictObject({ id: z.number().int().positive() }));
    const rows = await em.execute<Array<Record<string, unknown> & { id: string }>>(
      `SELECT id, actor_subject, actor_username, action, entity_type, entity_id, before, after, request_id, occurred_at, hash
         FROM audit_log WHERE chain = current_company_id()::text
          AND (?::bigint IS NULL OR id < ?::bigint) AND (?::text IS NULL OR entity_type = ?) AND (?::text IS NULL OR entity_id = ?)
        ORDER BY id DESC LIMIT ?`,
      [before?.id ?? null, before?.id ?? null, query.entityType ?? null, query.entityType ?? null, query.entityId ?? null, query.entityId ?? null, query.limit + 1],
    );
    const page = rows.slice(0, query.limit);
    ctx.body = {
      items: page.map((row) => ({
        id: Number(row.id),
        actor: { subject: row.actor_subject, username: row.actor_username },
        action: row.action,
        entityType: row.entity_type,
        entityId: row.entity_id,
        before: row.before,
        after: row.after,
        requestId: row.request_id,
        occurredAt: row.occurred_at,
        hash: row.hash,
      })),
      nextCursor: rows.length > query.limit ? encodeCursor({ id: Number(page.at(-1)!.id) }) : null,
    };
  });

  securedRoute(router, deps, 'GET /api/v1/audit-log/verify', async (ctx, { caller, em }) => {
    ctx.body = await verifyAuditChain(em, caller.companyId, deps.auditSeal);
  });

  return router;
}

