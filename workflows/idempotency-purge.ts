import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';

const { purgeExpiredIdempotencyKeys } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '10 seconds', maximumAttempts: 5 },
});

/** Scheduled hourly: stored answers of creates are kept 24 hours, and not a day longer. */
export async function idempotencyPurgeWorkflow(): Promise<{ keysPurged: number }> {
  return { keysPurged: await purgeExpiredIdempotencyKeys() };
}
