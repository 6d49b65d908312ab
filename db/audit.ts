import type { AuditCheckpointSeal } from '../security/audit-checkpoint.js';
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
  /**
   * The first problem found: an entry whose hash or link does not match; an entry a checkpoint
   * sealed that no longer has the sealed hash, or is gone (`checkpoint-mismatch`: rewritten and
   * re-hashed, or truncated); a checkpoint whose seal does not verify (`checkpoint-forged`).
   */
  firstBreak: { id: number; reason: 'hash-mismatch' | 'broken-link' | 'checkpoint-mismatch' | 'checkpoint-forged' } | null;
  /** The last entry sealed by a verified checkpoint: entries after it are protected by the chain only. */
  checkpointedThrough: number | null;
}

interface CheckpointRow {
  audit_id: string;
  head_hash: string;
  mac: string;
  /** The sealed entry's hash as it is now; null when the entry is gone. */
  current_hash: string | null;
}

/**
 * Recomputes every hash of the company's chain, in order, checks each link to the entry before,
 * then checks every checkpoint's seal and that the entry it sealed still has the sealed hash.
 */
export async function verifyAuditChain(em: EntityManager, companyId: string, seal: AuditCheckpointSeal): Promise<ChainVerification> {
  const rows = await em.execute<Array<{ id: string; ok_hash: boolean; ok_link: boolean }>>(
    `SELECT id, hash = audit_row_hash(a) AS ok_hash,
            prev_hash = coalesce(lag(hash) OVER (ORDER BY id), 'genesis') AS ok_link
       FROM audit_log a WHERE chain = ? ORDER BY id`,
    [companyId],
  );
  const broken = rows.find((row) => !row.ok_hash || !row.ok_link);
  const checkpoints = await em.execute<CheckpointRow[]>(
    `SELECT c.audit_id, c.head_hash, c.mac, a.hash AS current_hash
       FROM audit_checkpoints c LEFT JOIN audit_log a ON a.id = c.audit_id AND a.chain = ?
      WHERE c.company_id = ? ORDER BY c.id`,
    [companyId, companyId],
  );
  let previousMac = 'genesis';
  let checkpointedThrough: number | null = null;
  let checkpointBreak: ChainVerification['firstBreak'] = null;
  for (const checkpoint of checkpoints) {
    const auditId = Number(checkpoint.audit_id);
    if (!seal.verify({ companyId, auditId, headHash: checkpoint.head_hash, previousMac }, checkpoint.mac)) {
      checkpointBreak = { id: auditId, reason: 'checkpoint-forged' };
      break;
    }
    if (checkpoint.current_hash !== checkpoint.head_hash) {
      checkpointBreak = { id: auditId, reason: 'checkpoint-mismatch' };
      break;
    }
    previousMac = checkpoint.mac;
    checkpointedThrough = auditId;
  }
  const firstBreak = broken ? { id: Number(broken.id), reason: broken.ok_hash ? ('broken-link' as const) : ('hash-mismatch' as const) } : checkpointBreak;
  return { valid: firstBreak === null, entries: rows.length, firstBreak, checkpointedThrough };
}

/**
 * Seals the company's chain head if it moved since the last checkpoint; answers the sealed
 * entry's id, or null when there was nothing new to seal. Run in the company's transaction.
 */
export async function checkpointAuditChain(em: EntityManager, companyId: string, seal: AuditCheckpointSeal): Promise<number | null> {
  // Two sealers at once would both extend the same checkpoint and break the sequence.
  await em.execute(`SELECT pg_advisory_xact_lock(hashtext('audit_checkpoints:' || ?))`, [companyId]);
  const [head] = await em.execute<Array<{ id: string; hash: string }>>('SELECT id, hash FROM audit_log WHERE chain = ? ORDER BY id DESC LIMIT 1', [companyId]);
  if (!head) return null;
  const [last] = await em.execute<Array<{ audit_id: string; mac: string }>>('SELECT audit_id, mac FROM audit_checkpoints WHERE company_id = ? ORDER BY id DESC LIMIT 1', [companyId]);
  if (last && last.audit_id === head.id) return null;
  const auditId = Number(head.id);
  const mac = seal.mac({ companyId, auditId, headHash: head.hash, previousMac: last?.mac ?? 'genesis' });
  await em.execute('INSERT INTO audit_checkpoints (company_id, audit_id, head_hash, mac) VALUES (?, ?, ?, ?)', [companyId, auditId, head.hash, mac]);
  return auditId;
}
