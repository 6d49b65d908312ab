import { continueAsNew, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { SYNC_RUNS_PER_EXECUTION, type SearchIndexInput } from './contracts/search.js';

// Retried without end, backing off to a minute: Typesense down means changes wait in the outbox, never that they are lost.
const retry = { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' };
const { enableSearchOutbox, prepareSearchIndex } = proxyActivities<Activities>({ startToCloseTimeout: '2 hours', heartbeatTimeout: '1 minute', retry });
const { syncSearchIndex } = proxyActivities<Activities>({ startToCloseTimeout: '5 minutes', heartbeatTimeout: '30 seconds', retry });

/**
 * Mirrors the PostgreSQL index into Typesense: on first start the outbox is switched on and the
 * collection prepared (filled whole when new, then published under the alias); then each run
 * waits for queued changes (NOTIFY, at most ~20 s) and applies them. The activity's input is
 * durable, so a retried preparation still knows it must rebuild.
 */
export async function searchIndexSyncWorkflow(input: SearchIndexInput): Promise<never> {
  if (!input.prepared) {
    const switchedOn = await enableSearchOutbox();
    await prepareSearchIndex({ rebuild: switchedOn });
  }
  for (let run = 0; run < SYNC_RUNS_PER_EXECUTION; run += 1) await syncSearchIndex();
  return continueAsNew<typeof searchIndexSyncWorkflow>({ prepared: true });
}
