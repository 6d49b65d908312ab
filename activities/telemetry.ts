import { Context } from '@temporalio/activity';
import type { Database } from '../db/orm.js';

export interface TelemetryRetention {
  /** Raw points older than this many days are dropped (TELEMETRY_RETENTION_DAYS). */
  rawDays: number;
  /** Hourly rollups older than this many days are deleted (TELEMETRY_ROLLUP_RETENTION_DAYS). */
  rollupDays: number;
  /** How many ended hours each run recomputes (TELEMETRY_ROLLUP_LOOKBACK_HOURS): a point arriving later than that is not counted. */
  lookbackHours: number;
}

/** Activities of telemetry's upkeep over time: hourly rollups and retention (db/migrations/…TelemetryRollups). */
export function telemetryActivities(db: Database, retention: TelemetryRetention) {
  return {
    /**
     * Recomputes the ended hours of the look-back window, oldest first, one statement per hour
     * (each its own transaction), heartbeating the hour done: a retried attempt goes on from
     * there. Returns the rollup rows written, or null where TimescaleDB keeps them itself.
     */
    async rollUpTelemetry(): Promise<number | null> {
      const context = Context.current();
      const current = Math.floor(Date.now() / 3_600_000) * 3_600_000;
      const done = (context.info.heartbeatDetails as { hour: number; rows: number } | undefined) ?? { hour: current - (retention.lookbackHours + 1) * 3_600_000, rows: 0 };
      let rows = done.rows;
      for (let hour = done.hour + 3_600_000; hour < current; hour += 3_600_000) {
        const [result] = await db.em.fork().execute<Array<{ rows: number | null }>>('SELECT run_telemetry_rollup(?) AS rows', [new Date(hour)]);
        if (result?.rows === null || result?.rows === undefined) return null;
        rows += result.rows;
        context.heartbeat({ hour, rows });
      }
      return rows;
    },

    /**
     * Drops what is older than the configured ages; returns the partitions (chunks) dropped, the
     * rollup rows deleted, and the sent road events deleted (with the raw points they came from).
     */
    async applyTelemetryRetention(): Promise<{ partitionsDropped: number; rollupRowsDeleted: number | null; sentEventsDeleted: number }> {
      const em = db.em.fork();
      const [result] = await em.execute<Array<{ partitionsDropped: number; rollupRowsDeleted: number | null }>>(
        'SELECT partitions_dropped AS "partitionsDropped", rollup_rows_deleted AS "rollupRowsDeleted" FROM apply_telemetry_retention(?, ?)',
        [retention.rawDays, retention.rollupDays],
      );
      const [events] = await em.execute<Array<{ deleted: number }>>('SELECT prune_sent_telemetry_events(?) AS deleted', [retention.rawDays]);
      return { partitionsDropped: result?.partitionsDropped ?? 0, rollupRowsDeleted: result?.rollupRowsDeleted ?? null, sentEventsDeleted: events?.deleted ?? 0 };
    },
  };
}
