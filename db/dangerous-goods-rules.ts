import type { Database } from './orm.js';
import { catalogueInForce, latestCatalogueRevision } from './dangerous-goods.js';
import { buildCatalogue, type Catalogue } from '../domain/dangerous-goods/catalogue.js';
import type { SegregationRules } from '../domain/dangerous-goods/segregation.js';
import { readSegregationRules } from '../data/load.js';

export interface Rules {
  revisionId: string | null;
  catalogue: Catalogue;
  segregation: SegregationRules;
}

export interface RulesSource {
  current(): Promise<Rules>;
}

/**
 * The catalogue the rules run on, built in memory from the rows in force in PostgreSQL, and
 * rebuilt when a sync records a new revision (looked for at most every `recheckMs`), so a
 * check never runs on a half-applied table and never waits on 3,000 rows per request.
 */
export function databaseRules(db: Database, options: { recheckMs?: number } = {}): RulesSource {
  const recheckMs = options.recheckMs ?? 5000;
  const segregation = readSegregationRules();
  let cached: Promise<Rules> | undefined;
  let checkedAt = 0;

  const load = async (): Promise<Rules> => {
    const { revisionId, rows } = await catalogueInForce(db);
    if (rows.length === 0) throw new Error('the dangerous-goods catalogue is empty: run the catalogue sync (npm start does it)');
    return { revisionId, catalogue: buildCatalogue(rows), segregation };
  };

  return {
    async current() {
      if (!cached) {
        checkedAt = Date.now();
        cached = load().catch((error: unknown) => {
          cached = undefined;
          throw error;
        });
        return cached;
      }
      if (Date.now() - checkedAt > recheckMs) {
        checkedAt = Date.now();
        const [rules, latest] = await Promise.all([cached, latestCatalogueRevision(db)]);
        if (latest !== rules.revisionId) cached = load();
      }
      return cached;
    },
  };
}
