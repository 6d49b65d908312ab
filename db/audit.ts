import type { EntityManager } from './orm.js';

export interface AuditEntry {
  companyId: string | null;
  actorSubject: string;
  actorUsername: string | null | undefined;
  action: string;
  entityType: string;
  entityId?: string | null | undefined;
  before?: unknown;
  after?: unknown;
  requestId?: string | undefined;
}

/** Appends to the company's chain; the database trigger sets prev_hash and hash (see the Platform migration). */
export async function appendAudit(em: EntityManager, entry: AuditEntry): Promise<void> {
  await em.execute(
    `INSERT INTO audit_log (company_id, chain, actor_subject, actor_username, action, entity_type, entity_id, before, after, request_id, prev_hash, hash)
     VALUES (?, '', ?, ?, ?, ?, ?, ?::jsonb, ?::jsonb, ?, '', '')`,
    [
      entry.companyId,
      entry.actorSubject,
      entry.actorUsername ?? null,
      entry.action,
      entry.entityType,
      entry.entityId ?? null,
      entry.before === undefined ? null : JSON.stringify(entry.before),
      entry.after === undefined ? null : JSON.stringify(entry.after),
      entry.requestId ?? null,
    ],
  );
}

export interface ChainVerification {
  valid: boolean;
  entries: number;
  /** The first entry whose hash or link does not match, with what was found. */
  firstBreak: { id: number; reason: 'hash-mismatch' | 'broken-link' } | null;
}

/** Recomputes every hash of the company's chain, in order, and checks each link to the entry before. */
export async function verifyAuditChain(em: EntityManager, companyId: string): Promise<ChainVerification> {
  const rows = await em.execute<Array<{ id: string; ok_hash: boolean; ok_link: boolean }>>(
    `SELECT id, hash = audit_row_hash(a) AS ok_hash,
            prev_hash = coalesce(lag(hash) OVER (ORDER BY id), 'genesis') AS ok_link
       FROM audit_log a WHERE chain = ? ORDER BY id`,
    [companyId],
  );
  const broken = rows.find((row) => !row.ok_hash || !row.ok_link);
  return {
    valid: broken === undefined,
    entries: rows.length,
    firstBreak: broken ? { id: Number(broken.id), reason: broken.ok_hash ? 'broken-link' : 'hash-mismatch' } : null,
  };
}
