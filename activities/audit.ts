import { checkpointAuditChain } from '../db/audit.js';
import { inTenant, type Database } from '../db/orm.js';
import type { AuditCheckpointSeal } from '../security/audit-checkpoint.js';

/** Activities that seal the audit log from outside the database. */
export function auditActivities(db: Database, seal: AuditCheckpointSeal) {
  return {
    /**
     * Seals every company's audit chain head that moved since its last checkpoint, each in that
     * company's own transaction; returns how many chains were sealed.
     */
    async checkpointAuditChains(): Promise<number> {
      const companies = await db.em.fork().execute<Array<{ id: string }>>('SELECT id FROM platform_companies()');
      let sealed = 0;
      for (const { id } of companies) {
        if ((await inTenant(db, id, (em) => checkpointAuditChain(em, id, seal))) !== null) sealed += 1;
      }
      return sealed;
    },
  };
}
