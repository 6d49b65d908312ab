import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';

const { maintainTelemetryPartitions } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '10 seconds', maximumAttempts: 5 },
});

// The rollup heartbeats each hour it finishes: a lost worker is noticed within the heartbeat timeout, and the retry goes on from there.
const { rollUpTelemetry, applyTelemetryRetention } = proxyActivities<Activities>({
  startToCloseTimeout: '50 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '10 seconds', maximumAttempts: 5 },
});

/** Scheduled daily: keeps a week of telemetry partitions ready ahead of the data. */
export async function telemetryMaintenanceWorkflow(): Promise<{ daysReadyAhead: number | null }> {
  return { daysReadyAhead: await maintainTelemetryPartitions() };
}

export interface TelemetryRollupResult {
  /** Rollup rows written; null where TimescaleDB's continuous aggregate keeps them. */
  rollupRows: number | null;
  partitionsDropped: number;
  rollupRowsDeleted: number | null;
  /** Road events already sent to their workflows, older than the raw points' retention. */
  sentEventsDeleted: number;
}

/** Scheduled hourly: rolls the ended hours up, then drops what is past its retention. */
export async function telemetryRollupWorkflow(): Promise<TelemetryRollupResult> {
  const rollupRows = await rollUpTelemetry();
  return { rollupRows, ...(await applyTelemetryRetention()) };
}
