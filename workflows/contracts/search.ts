/**
 * The search index sync's contract: while Typesense is the search engine (SEARCH_ENGINE=typesense),
 * one long-running workflow per deployment mirrors PostgreSQL's `search_documents` into it. The
 * worker starts it (services/worker.ts) and tests find it here, never in the workflow file.
 */

export const SEARCH_INDEX_WORKFLOW_TYPE = 'searchIndexSyncWorkflow';

/** One per deployment (the task queue prefix tells deployments sharing a namespace apart). */
export const searchIndexWorkflowId = (taskQueuePrefix: string) => `${taskQueuePrefix}search-index-sync`;

export interface SearchIndexInput {
  /** false on the first run: the outbox is switched on and the collection prepared (a full export when it is new). */
  prepared: boolean;
}

/** Changes applied per run before the workflow continues as new (its history stays short). */
export const SYNC_RUNS_PER_EXECUTION = 500;
