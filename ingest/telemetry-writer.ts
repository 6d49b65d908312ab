import type { Database } from '../db/orm.js';
import { commitTelemetry, isRowError, type TelemetryPoint } from '../db/telemetry.js';
import { Batcher } from './batcher.js';

/**
 * Telemetry points of every company, committed together in small batches (500 points or 20 ms).
 * A batch PostgreSQL refuses for a row's sake is bisected, so a point that gets past validation
 * and still fails costs only its own acknowledgement.
 */
export function telemetryWriter(db: Database): Batcher<TelemetryPoint> {
  return new Batcher<TelemetryPoint>(
    async (points) => {
      await commitTelemetry(db, points);
    },
    { maxSize: 500, maxWaitMs: 20, isolate: isRowError },
  );
}
