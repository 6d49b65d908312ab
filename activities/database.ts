import type { Database } from '../db/orm.js';

/** Activities that talk to PostgreSQL. */
export function databaseActivities(db: Database) {
  return {
    /**
     * Creates the coming days' telemetry partitions (pg_partman); returns how many days lie
     * ready ahead, or null where TimescaleDB creates chunks itself.
     */
    async maintainTelemetryPartitions(): Promise<number | null> {
      const rows = await db.em.fork().execute<Array<{ days: number | null }>>('SELECT run_telemetry_maintenance() AS days');
      return rows[0]?.days ?? null;
    },

    /** Deletes every company's idempotency keys older than their 24 hours; returns how many went. */
    async purgeExpiredIdempotencyKeys(): Promise<number> {
      const rows = await db.em.fork().execute<Array<{ purged: string }>>('SELECT purge_expired_idempotency_keys() AS purged');
      return Number(rows[0]?.purged ?? 0);
    },
  };
}
