import Router from '@koa/router';
import { z } from 'zod';
import { CompanySchema, type Company } from '../../db/entities.js';
import { REGIMES } from '../../domain/dangerous-goods/regime.js';
import { verifyAuditChain } from '../../db/audit.js';
import { notFound } from '../problem.js';
import { securedRoute, type ApiState, type RouteDeps } from '../routing.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { parse } from '../validation.js';

export const updateCompany = z.strictObject({
  name: z.string().trim().min(1).max(200).optional(),
  /** The DG regime compatibility answers default to (ADMIN only: the route needs manage_company). */
  dgRegime: z.enum(REGIMES).optional(),
});

const view = (company: Company) => ({ id: company.id, name: company.name, dgRegime: company.dgRegime, createdAt: company.createdAt, updatedAt: company.updatedAt });
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
    ctx.body = view(company);
  });

  securedRoute(router, deps, 'PATCH /api/v1/company', async (ctx, rc) => {
    const input = parse(updateCompany, ctx.request.body);
    const company = await rc.em.findOne(CompanySchema, { id: rc.caller.companyId });
    if (!company) throw notFound('Your company has no record yet');
    // The audit entry holds the fields the request set, before and after; a body that sets none changes nothing.
    const fields = (['name', 'dgRegime'] as const).filter((field) => input[field] !== undefined);
    if (fields.length > 0) {
      const before = Object.fromEntries(fields.map((field) => [field, company[field]]));
      if (input.name !== undefined) company.name = input.name;
      if (input.dgRegime !== undefined) company.dgRegime = input.dgRegime;
      await rc.em.flush();
      await rc.audit({ action: 'update', entityType: 'company', entityId: company.id, before, after: Object.fromEntries(fields.map((field) => [field, company[field]])) });
    }
    ctx.body = view(company);
  });

  securedRoute(router, deps, 'GET /api/v1/audit-log', async (ctx, { em }) => {
    const query = parse(auditQuery, ctx.query, 400);
    const before = query.cursor === undefined ? undefined : decodeCursor(query.cursor, z.strictObject({ id: z.number().int().positive() }));
    const rows = await em.execute<Array<Record<string, unknown> & { id: string }>>(
      // RFC 3339 with the microseconds the chain hashes (the driver hands timestamptz over as PostgreSQL's own text, `2026-01-01 10:00:00.5+00`).
      `SELECT id, actor_subject, actor_username, action, entity_type, entity_id, before, after, request_id,
              to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS occurred_at, hash
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

