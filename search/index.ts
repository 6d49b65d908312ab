import type { Config } from '../config/env.js';
import type { Database } from '../db/orm.js';
import type { SearchEngine } from './engine.js';
import { postgresSearchEngine } from './postgres.js';
import { typesenseSearchEngine, type TypesenseEngine } from './typesense.js';

export type { SearchDocument, SearchEngine, SearchHit, SearchIndex, SearchRequest, SearchResult, SearchScope, Suggestion } from './engine.js';

/** The external engine the worker mirrors into, when SEARCH_ENGINE=typesense (config/env.ts requires its URL and key then). */
export function externalSearchEngine(config: Config): TypesenseEngine | null {
  if (config.SEARCH_ENGINE !== 'typesense') return null;
  return typesenseSearchEngine({ url: config.TYPESENSE_URL!, apiKey: config.TYPESENSE_API_KEY!, collection: config.TYPESENSE_COLLECTION });
}

/** The engine the API searches with: SEARCH_ENGINE=postgres (the default, nothing else needed) or typesense. */
export function createSearchEngine(config: Config, db: Database): SearchEngine {
  return externalSearchEngine(config) ?? postgresSearchEngine(db);
}
