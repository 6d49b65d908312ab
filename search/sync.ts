import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { taskQueues, type Config } from '../config/env.js';
import { disableSearchOutbox } from '../db/search.js';
import type { Database } from '../db/orm.js';
import { SEARCH_INDEX_WORKFLOW_TYPE, searchIndexWorkflowId, type SearchIndexInput } from '../workflows/contracts/search.js';

/**
 * Run by each worker at start. With Typesense, the one mirroring workflow of the deployment runs
 * (started if it is not). With PostgreSQL alone, nothing is mirrored: a mirroring workflow left
 * from before is ended and the outbox switched off, so changes stop queueing for nobody.
 */
export async function ensureSearchSync(config: Config, db: Database): Promise<void> {
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  try {
    const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
    const workflowId = searchIndexWorkflowId(config.TEMPORAL_TASK_QUEUE_PREFIX);
    if (config.SEARCH_ENGINE === 'typesense') {
      const input: SearchIndexInput = { prepared: false };
      await client.workflow.start(SEARCH_INDEX_WORKFLOW_TYPE, { workflowId, taskQueue: taskQueues(config).platform, args: [input], workflowIdConflictPolicy: 'USE_EXISTING' });
      return;
    }
    await client.workflow
      .getHandle(workflowId)
      .terminate('SEARCH_ENGINE=postgres: PostgreSQL is the search engine, nothing to mirror into')
      .catch((error: unknown) => {
        if (!(error instanceof WorkflowNotFoundError)) throw error;
      });
    await disableSearchOutbox(db);
  } finally {
    await connection.close();
  }
}
