import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { openDatabase, type Database } from '../db/orm.js';
import { applyCatalogue, CatalogueSyncRefused, type SyncOutcome } from '../db/dangerous-goods.js';
import { parseHmtJsonl, parseSpecialProvisions, sourceUrlProblem, type SourceProblem } from '../domain/dangerous-goods/catalogue-sync.js';

/** Where the regulator's tables are read from: https: URLs in production, file: URLs for the shipped data. */
export interface CatalogueSources {
  hazardousMaterialsTable: string;
  specialProvisions: string;
}

export const SHIPPED_CATALOGUE: CatalogueSources = {
  hazardousMaterialsTable: new URL('../data/hmt-49cfr-172.101.jsonl', import.meta.url).href,
  specialProvisions: new URL('../data/special-provisions-49cfr-172.102.json', import.meta.url).href,
};

const MAX_BYTES = 32 * 1024 * 1024;

/** The published table could not be used; nothing was written. */
export class CatalogueSourceInvalid extends Error {
  constructor(
    message: string,
    readonly problems: readonly SourceProblem[] = [],
  ) {
    super(message);
  }
}

export async function fetchText(url: string): Promise<string> {
  const refused = sourceUrlProblem(url);
  if (refused) throw new CatalogueSourceInvalid(refused);
  const parsed = new URL(url);
  if (parsed.protocol === 'file:') return readFile(fileURLToPath(parsed), 'utf8');
  const response = await fetch(parsed, { signal: AbortSignal.timeout(60_000) });
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  const length = Number(response.headers.get('content-length') ?? 0);
  if (length > MAX_BYTES) throw new CatalogueSourceInvalid(`${url} is ${length} bytes; more than ${MAX_BYTES} is not a DG table`);
  const text = await response.text();
  if (text.length > MAX_BYTES) throw new CatalogueSourceInvalid(`${url} is larger than ${MAX_BYTES} bytes`);
  return text;
}

/**
 * The government DG sync: read the published tables, validate them whole, apply the differences.
 * `catalogue` must connect as the catalogue role (DATABASE_CATALOGUE_URL): the app role may only read the catalogue.
 */
export async function syncCatalogue(catalogue: Database, sources: CatalogueSources): Promise<SyncOutcome> {
  const [tableText, provisionsText] = await Promise.all([fetchText(sources.hazardousMaterialsTable), fetchText(sources.specialProvisions)]);
  const rows = parseHmtJsonl(tableText);
  if (!rows.ok) throw new CatalogueSourceInvalid(`${sources.hazardousMaterialsTable}: ${rows.problems.length} invalid line(s)`, rows.problems);
  const provisions = parseSpecialProvisions(provisionsText);
  if (!provisions.ok) throw new CatalogueSourceInvalid(`${sources.specialProvisions}: invalid`, provisions.problems);
  const checksum = createHash('sha256').update(tableText).update('\0').update(provisionsText).digest('hex');
  try {
    return await applyCatalogue(catalogue, { source: sources.hazardousMaterialsTable, rows: rows.value, specialProvisions: provisions.value, checksum });
  } catch (error) {
    if (error instanceof CatalogueSyncRefused) throw new CatalogueSourceInvalid(error.message);
    throw error;
  }
}

/**
 * Activities that talk to government data sources. A sync is rare (scheduled or on demand), so
 * it opens its own connection as the catalogue role for its duration rather than holding a pool.
 */
export function governmentActivities(deps: { catalogueDatabaseUrl: string | undefined }) {
  return {
    async syncDangerousGoodsCatalogue(sources: CatalogueSources): Promise<SyncOutcome> {
      if (!deps.catalogueDatabaseUrl) throw new Error('DATABASE_CATALOGUE_URL is not set: the DG catalogue is written only by the catalogue sync role (safeshipper_catalogue)');
      const catalogue = await openDatabase({ url: deps.catalogueDatabaseUrl, poolSize: 1 });
      try {
        return await syncCatalogue(catalogue, sources);
      } finally {
        await catalogue.close();
      }
    },
  };
}
