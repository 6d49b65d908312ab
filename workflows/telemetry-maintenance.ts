import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';

const { maintainTelemetryPartitions } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '10 seconds', maximumAttempts: 5 },
});

/** Scheduled daily: keeps a week of telemetry partitions ready ahead of the data. */
export async function telemetryMaintenanceWorkflow(): Promise<{ daysReadyAhead: number | null }> {
  return { daysReadyAhead: await maintainTelemetryPartitions() };
}
