import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Database } from '../db/orm.js';
import { ackSearchOutbox, enableSearchOutbox, exportSearchDocuments, takeSearchOutbox, waitForSearchOutbox, type StoredSearchDocument } from '../db/search.js';
import type { SearchDocument } from '../search/engine.js';
import type { TypesenseEngine } from '../search/typesense.js';

export interface SearchActivityDependencies {
  db: Database;
  /** The app role's URL: the outbox is waited on with LISTEN, on a connection of its own. */
  databaseUrl: string;
  /** The external engine to mirror into; null when the search engine is PostgreSQL itself. */
  external: TypesenseEngine | null;
}

const PAGE = 500;
const BATCH = 200;
/** Most changes one run applies; the next run takes the rest (the heartbeat and the history stay small). */
const MOST_PER_RUN = 5000;
/** How long a run waits for a change before it returns (the heartbeat timeout is 30 s). */
const WAIT_MS = 20_000;

const asDocument = (stored: StoredSearchDocument) => stored as SearchDocument;

/**
 * The external search engine's mirror of `search_documents` (workflows/search-index.ts). Every
 * change is queued in the transaction that made it (db/migrations/…Search.ts); these activities
 * apply the queue and acknowledge only what the engine took, so a failure is retried, never lost.
 */
export function searchActivities(deps: SearchActivityDependencies) {
  const external = () => {
    if (!deps.external) throw ApplicationFailure.nonRetryable('no external search engine is configured (SEARCH_ENGINE=postgres): nothing to mirror into', 'SearchEngineNotConfigured');
    return deps.external;
  };

  return {
    /** Switches the outbox on; true when it was off (what the engine holds may be stale: rebuild it). */
    async enableSearchOutbox(): Promise<boolean> {
      external();
      return enableSearchOutbox(deps.db, 'typesense');
    },

    /**
     * The collection under the alias, with this schema and the synonyms; when new (or `rebuild`),
     * filled with every document first, then published. Changes made meanwhile are in the outbox.
     */
    async prepareSearchIndex(input: { rebuild: boolean }): Promise<{ collection: string; exported: number }> {
      const engine = external();
      const { collection, fresh } = await engine.target(input.rebuild);
      let exported = 0;
      if (fresh) {
        let after: { type: string; id: string } | null = null;
        for (;;) {
          const page = await exportSearchDocuments(deps.db, after, PAGE);
          if (page.length === 0) break;
          await engine.importInto(collection, page.map(asDocument));
          exported += page.length;
          after = { type: page.at(-1)!.type, id: page.at(-1)!.id };
          Context.current().heartbeat({ exported });
        }
      }
      await engine.publish(collection);
      return { collection, exported };
    },

    /** Waits for queued changes (or ~20 s), then applies them in batches, oldest first; acknowledged only once applied. */
    async syncSearchIndex(): Promise<{ applied: number }> {
      const engine = external();
      const context = Context.current();
      const beat = setInterval(() => context.heartbeat(), 5_000);
      try {
        await waitForSearchOutbox(deps.databaseUrl, WAIT_MS, context.cancellationSignal);
      } finally {
        clearInterval(beat);
      }
      let applied = 0;
      while (applied < MOST_PER_RUN) {
        const batch = await takeSearchOutbox(deps.db, BATCH);
        if (batch.length === 0) break;
        await engine.apply(batch.map((change) => ({ type: change.type, id: change.id, document: change.document && asDocument(change.document) })));
        await ackSearchOutbox(deps.db, batch.map((change) => change.outboxId));
        applied += batch.length;
        context.heartbeat({ applied });
      }
      return { applied };
    },
  };
}
