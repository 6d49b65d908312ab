import type { Database } from '../db/orm.js';

/** Activities that talk to PostgreSQL. */
export function databaseActivities(db: Database) {
  return {
    /** Creates the coming days' telemetry partitions (pg_partman); returns how many days lie ready ahead. */
    async maintainTelemetryPartitions(): Promise<number> {
      const rows = await db.em.fork().execute<Array<{ days: number }>>('SELECT run_telemetry_maintenance() AS days');
      return Number(rows[0]?.days ?? 0);
    },
  };
}
