import { Migration } from '@mikro-orm/migrations';

/**
 * The audit chain in the order it is linked, sealed from outside; idempotency replays without PII.
 *
 * - An audit row's id came from the identity default, before the trigger took the chain's lock:
 *   with two writers, the later id could be linked first, and verification (in id order) saw a
 *   broken link that was not there. The id is now drawn under the lock, which is held to commit,
 *   so a chain's id order is its link order.
 * - The chain alone cannot catch its owner: rewrite the tail, recompute the hashes, and it
 *   verifies. `audit_checkpoints` keeps each company's chain head as it was, with an HMAC under
 *   a key the database never sees (AUDIT_CHECKPOINT_KEY); each MAC also covers the checkpoint
 *   before it, so a checkpoint cannot be dropped from the middle either.
 * - Idempotency replays hold the answer of a create, which may carry decrypted fields: the body
 *   is stored encrypted now (`body_ciphertext`). Keys kept so far held plaintext and are
 *   dropped; a retry across this upgrade is a new request. Expired keys are purged by a
 *   scheduled workflow through `purge_expired_idempotency_keys()`.
 */
export class Migration20261130110000AuditChain extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      CREATE OR REPLACE FUNCTION audit_log_chain() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS
      $$ BEGIN
        NEW.chain := coalesce(NEW.company_id::text, 'platform');
        PERFORM pg_advisory_xact_lock(hashtext('audit_log:' || NEW.chain));
        NEW.id := nextval(pg_get_serial_sequence('public.audit_log', 'id'));
        NEW.occurred_at := clock_timestamp();
        NEW.prev_hash := coalesce((SELECT hash FROM audit_log WHERE chain = NEW.chain ORDER BY id DESC LIMIT 1), 'genesis');
        NEW.hash := audit_row_hash(NEW);
        RETURN NEW;
      END $$`);

    this.addSql(`
      CREATE TABLE audit_checkpoints (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        company_id uuid NOT NULL REFERENCES companies(id),
        audit_id bigint NOT NULL,
        head_hash text NOT NULL,
        mac text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    this.addSql('CREATE INDEX audit_checkpoints_company_idx ON audit_checkpoints (company_id, id)');
    this.addSql('ALTER TABLE audit_checkpoints ENABLE ROW LEVEL SECURITY');
    this.addSql('CREATE POLICY tenant_isolation ON audit_checkpoints USING (company_id = current_company_id()) WITH CHECK (company_id = current_company_id())');
    // Like the log: the app appends and reads, never rewrites.
    this.addSql('GRANT SELECT, INSERT ON audit_checkpoints TO safeshipper_app');

    this.addSql('DELETE FROM idempotency_keys');
    this.addSql('ALTER TABLE idempotency_keys DROP COLUMN body');
    this.addSql('ALTER TABLE idempotency_keys ADD COLUMN body_ciphertext text');
    this.addSql('CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at)');
    // Across every company (RLS would show the app one at a time); it removes only what has expired.
    this.addSql(`
      CREATE FUNCTION purge_expired_idempotency_keys() RETURNS bigint
      LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public AS
      $$ WITH gone AS (DELETE FROM idempotency_keys WHERE created_at < now() - interval '24 hours' RETURNING 1) SELECT count(*) FROM gone $$`);
    this.addSql('REVOKE ALL ON FUNCTION purge_expired_idempotency_keys() FROM PUBLIC');
    this.addSql('GRANT EXECUTE ON FUNCTION purge_expired_idempotency_keys() TO safeshipper_app');
  }
}
