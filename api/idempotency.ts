import { createHash } from 'node:crypto';
import type { EntityManager } from '../db/orm.js';
import type { FieldEncryption } from '../security/field-encryption.js';
import { fieldBinding, idempotencyRowId } from '../db/encrypted-fields.js';
import { canonicalJson } from '../domain/canonical-json.js';
import { Problem } from './problem.js';

export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

const KEY = /^[\x21-\x7e]{1,255}$/;

/**
 * Idempotency-Key on POST creates: the first request with a key claims it inside the request's
 * transaction (a concurrent twin waits on the key's row, then sees the stored answer); the same
 * key with the same request replays that answer; with a different request it is refused.
 * Keys live 24 hours (a scheduled workflow purges them after). The stored body is encrypted
 * like the fields it may repeat (an emergency contact's phone): a replay is no plaintext copy.
 * Returns the stored response to replay, or a function to store ours.
 */
export async function claimIdempotencyKey(
  em: EntityManager,
  fields: FieldEncryption,
  scope: { companyId: string; subject: string; key: string | undefined; method: string; path: string; body: unknown },
): Promise<{ replay: StoredResponse } | { store: (response: StoredResponse) => Promise<void> } | undefined> {
  if (scope.key === undefined) return undefined;
  if (!KEY.test(scope.key)) throw new Problem(400, 'Bad Request', 'Idempotency-Key must be 1–255 visible ASCII characters');
  const requestHash = createHash('sha256').update(`${scope.method} ${scope.path}\n${canonicalJson(scope.body)}`).digest('hex');
  const id = [scope.companyId, scope.subject, scope.key];
  // Bound to its row and company: a stored answer copied to another key or tenant does not open.
  const binding = fieldBinding('idempotency_keys', 'body_ciphertext', { id: idempotencyRowId(scope.subject, scope.key), companyId: scope.companyId });
  await em.execute(`DELETE FROM idempotency_keys WHERE company_id = ? AND user_subject = ? AND key = ? AND created_at < now() - interval '24 hours'`, id);
  const claimed = await em.execute<Array<{ claimed: number }>>(
    `INSERT INTO idempotency_keys (company_id, user_subject, key, request_hash, status, headers) VALUES (?, ?, ?, ?, 0, '{}') ON CONFLICT DO NOTHING RETURNING 1 AS claimed`,
    [...id, requestHash],
  );
  if (claimed.length === 0) {
    const [stored] = await em.execute<Array<{ request_hash: string; status: number; headers: Record<string, string>; body_ciphertext: string | null }>>(
      'SELECT request_hash, status, headers, body_ciphertext FROM idempotency_keys WHERE company_id = ? AND user_subject = ? AND key = ?',
      id,
    );
    if (!stored || stored.status === 0) throw new Problem(409, 'Conflict', 'A request with this Idempotency-Key is still being processed');
    if (stored.request_hash !== requestHash) throw new Problem(422, 'Unprocessable Content', 'This Idempotency-Key was used for a different request');
    const body: unknown = stored.body_ciphertext === null ? null : JSON.parse(fields.decrypt(stored.body_ciphertext, binding));
    return { replay: { status: stored.status, headers: stored.headers, body } };
  }
  return {
    store: async (response) => {
      await em.execute('UPDATE idempotency_keys SET status = ?, headers = ?::jsonb, body_ciphertext = ? WHERE company_id = ? AND user_subject = ? AND key = ?', [
        response.status,
        JSON.stringify(response.headers),
        fields.encrypt(JSON.stringify(response.body ?? null), binding),
        ...id,
      ]);
    },
  };
}
