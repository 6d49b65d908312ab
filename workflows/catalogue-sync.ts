import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { CatalogueSources } from '../activities/government.js';
import { CATALOGUE_SOURCE_REJECTED } from './contracts/integrations.js';

const { syncDangerousGoodsCatalogue } = proxyActivities<Activities>({
  // Reading, validating and applying 3,000-odd rows takes seconds; a slow regulator's server may take minutes.
  startToCloseTimeout: '15 minutes',
  // The activity heartbeats every few seconds: a worker that died mid-sync is noticed in a minute.
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '1 minute', backoffCoefficient: 2, maximumAttempts: 5, nonRetryableErrorTypes: [CATALOGUE_SOURCE_REJECTED] },
});

/**
 * Scheduled daily (services/worker.ts SCHEDULES): the government DG catalogue sync, from the
 * configured sources (DG_SYNC_*_URL; the tables shipped in data/ by default) or the ones given.
 * A published table the sync refuses fails the run at once, nothing applied; an unreachable
 * source is retried a few times, and the next day's run tries again.
 */
export async function catalogueSyncWorkflow(sources?: CatalogueSources): Promise<{ status: 'applied' | 'up-to-date'; revisionId: string | null; rows: number; added: number; changed: number; withdrawn: number; reinstated: number }> {
  const outcome = await syncDangerousGoodsCatalogue(sources);
  return {
    status: outcome.status,
    revisionId: outcome.revisionId,
    rows: outcome.rowCount,
    added: outcome.added.length,
    changed: outcome.changed.length,
    withdrawn: outcome.withdrawn.length,
    reinstated: outcome.reinstated.length,
  };
}
