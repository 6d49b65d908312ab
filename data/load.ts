// Reads the regulatory data shipped in this folder (49 CFR tables): the CLI runs on it with no
// database, and the API takes the segregation table from here (it is not synced).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildCatalogue } from '../domain/dangerous-goods/catalogue.js';
import { parseHmtJsonl } from '../domain/dangerous-goods/catalogue-sync.js';
import type { Catalogue, HmtRow } from '../domain/dangerous-goods/catalogue.js';
import { compileSegregationRules, segregationTableSchema } from '../domain/dangerous-goods/segregation.js';
import type { SegregationRules } from '../domain/dangerous-goods/segregation.js';

export const DATA_DIR = fileURLToPath(new URL('./', import.meta.url));

export function readHmtRows(path = `${DATA_DIR}hmt-49cfr-172.101.jsonl`): HmtRow[] {
  const parsed = parseHmtJsonl(readFileSync(path, 'utf8'));
  if (!parsed.ok) throw new Error(`${path}: not a 172.101 table: ${parsed.problems.map((p) => `line ${p.line}: ${p.message}`).join('; ')}`);
  return parsed.value;
}

export function readSpecialProvisions(path = `${DATA_DIR}special-provisions-49cfr-172.102.json`): Record<string, string> {
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, string>;
}

export function readSegregationRules(path = `${DATA_DIR}segregation-49cfr-177.848.json`): SegregationRules {
  return compileSegregationRules(segregationTableSchema.parse(JSON.parse(readFileSync(path, 'utf8'))));
}

let cached: { catalogue: Catalogue; rules: SegregationRules } | undefined;

/** The catalogue and compiled segregation rules from data/, read once per process. */
export function loadDgData(): { catalogue: Catalogue; rules: SegregationRules } {
  cached ??= { catalogue: buildCatalogue(readHmtRows()), rules: readSegregationRules() };
  return cached;
}
