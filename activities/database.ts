import type { Database } from '../db/orm.js';

/** Activities that talk to PostgreSQL. */
export function databaseActivities(db: Database) {
  return {
    /** Creates the coming days' telemetry partitions (pg_partman); returns how many partitions exist. */
    async maintainTelemetryPartitions(): Promise<number> {
      const rows = await db.em.fork().execute<Array<{ partitions: number }>>('SELECT run_telemetry_maintenance() AS partitions');
      return Number(rows[0]?.partitions ?? 0);
    },
  };
}
