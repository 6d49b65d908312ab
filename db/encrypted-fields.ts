import pg from 'pg';
import type { FieldBinding, FieldEncryption } from '../security/field-encryption.js';

/**
 * Every column that holds field-encrypted values (security/field-encryption.ts), and how each
 * row binds its values: table, column, row id and company are the associated data, so a value
 * moved to another row or company no longer opens. `rowId` is the SQL for the row's id (what the
 * writer passes as `rowId`); `key` orders and resumes the batches. A new encrypted column is
 * added here, so `safeshipper data reencrypt` rewrites it too.
 */
export interface EncryptedTable {
  table: string;
  key: readonly string[];
  columns: readonly string[];
  rowId: string;
}

export const ENCRYPTED_TABLES: readonly EncryptedTable[] = [
  { table: 'emergency_contacts', key: ['id'], columns: ['phone', 'email', 'details'], rowId: 'id::text' },
  { table: 'idempotency_keys', key: ['company_id', 'user_subject', 'key'], columns: ['body_ciphertext'], rowId: `user_subject || ' ' || key` },
  { table: 'erp_connections', key: ['id'], columns: ['credentials'], rowId: 'id::text' },
  { table: 'webhook_subscriptions', key: ['id'], columns: ['secret'], rowId: 'id::text' },
];

/** The associated data of a bound column's value: where it lives. */
export const fieldBinding = (table: string, column: string, row: { id: string; companyId: string }): FieldBinding => ({ table, column, rowId: row.id, companyId: row.companyId });

/** An idempotency key's row id for binding: subject and key (a key is visible ASCII, never a space). */
export const idempotencyRowId = (subject: string, key: string): string => `${subject} ${key}`;

export interface ReencryptionCounts {
  table: string;
  column: string;
  rewritten: number;
  alreadyCurrent: number;
}

/**
 * Rewrites every encrypted value that is not under the current key (or still in the first
 * format) with the current key, one batch per transaction, in key order. Idempotent (current
 * values are skipped) and resumable (a stopped run leaves committed batches current; a rerun
 * skips them). Runs as the schema owner: every company's rows, no row-level security. A value no
 * configured key opens stops the run before its batch commits, naming the row.
 */
export async function reencryptFields(ownerUrl: string, fields: FieldEncryption, options: { batchSize: number }): Promise<ReencryptionCounts[]> {
  const client = new pg.Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    const totals: ReencryptionCounts[] = [];
    for (const spec of ENCRYPTED_TABLES) {
      const counts = new Map(spec.columns.map((column) => [column, { table: spec.table, column, rewritten: 0, alreadyCurrent: 0 }]));
      const keyList = spec.key.join(', ');
      let after: unknown[] | undefined;
      for (;;) {
        await client.query('BEGIN');
        try {
          const where = after ? `WHERE (${keyList}) > (${spec.key.map((_, i) => `$${i + 1}`).join(', ')})` : '';
          const { rows } = await client.query<Record<string, string | null>>(
            `SELECT ${keyList}, ${spec.rowId} AS row_id, company_id::text AS row_company, ${spec.columns.join(', ')}
             FROM ${spec.table} ${where} ORDER BY ${keyList} LIMIT ${options.batchSize} FOR UPDATE`,
            after ?? [],
          );
          for (const row of rows) {
            const changes: Record<string, string> = {};
            for (const column of spec.columns) {
              const stored = row[column];
              if (stored === null || stored === undefined) continue;
              const count = counts.get(column)!;
              if (fields.isCurrent(stored)) {
                count.alreadyCurrent += 1;
                continue;
              }
              const binding = fieldBinding(spec.table, column, { id: row.row_id!, companyId: row.row_company! });
              try {
                changes[column] = fields.encrypt(fields.decrypt(stored, binding), binding);
              } catch (error) {
                throw new Error(`${spec.table}.${column} of row (${spec.key.map((k) => row[k]).join(', ')}): ${(error as Error).message}`, { cause: error });
              }
              count.rewritten += 1;
            }
            const columns = Object.keys(changes);
            if (columns.length > 0) {
              await client.query(
                `UPDATE ${spec.table} SET ${columns.map((column, i) => `${column} = $${i + 1}`).join(', ')} WHERE (${keyList}) = (${spec.key.map((_, i) => `$${columns.length + i + 1}`).join(', ')})`,
                [...columns.map((column) => changes[column]), ...spec.key.map((k) => row[k])],
              );
            }
          }
          await client.query('COMMIT');
          if (rows.length === 0) break;
          after = spec.key.map((k) => rows.at(-1)![k]);
          if (rows.length < options.batchSize) break;
        } catch (error) {
          await client.query('ROLLBACK');
          throw error;
        }
      }
      totals.push(...counts.values());
    }
    return totals;
  } finally {
    await client.end();
  }
}
