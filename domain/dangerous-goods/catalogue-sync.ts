// Parsing and diffing a published Hazardous Materials Table against the one in use: the pure
// half of the government DG sync (fetching and writing live in activities/ and db/).
import { hmtRowSchema, type HmtRow } from './catalogue.js';
import { canonicalJson } from '../canonical-json.js';

export interface SourceProblem {
  readonly line: number;
  readonly message: string;
}

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problems: readonly SourceProblem[] };

/** One JSON object a line (the shipped format); every bad line is reported, none is skipped. */
export function parseHmtJsonl(text: string): Parsed<HmtRow[]> {
  const rows: HmtRow[] = [];
  const problems: SourceProblem[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      problems.push({ line: index + 1, message: 'not JSON' });
      return;
    }
    const parsed = hmtRowSchema.strict().safeParse(json);
    if (parsed.success) rows.push(parsed.data);
    else problems.push({ line: index + 1, message: parsed.error.issues.map((issue) => `${issue.path.join('.') || '(row)'}: ${issue.message}`).join('; ') });
  });
  if (rows.length === 0 && problems.length === 0) problems.push({ line: 0, message: 'the table is empty' });
  return problems.length ? { ok: false, problems } : { ok: true, value: rows };
}

/** Special provisions as published: code → text (49 CFR 172.102). */
export function parseSpecialProvisions(text: string): Parsed<Record<string, string>> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, problems: [{ line: 0, message: 'special provisions are not JSON' }] };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return { ok: false, problems: [{ line: 0, message: 'special provisions must be an object of code → text' }] };
  const problems = Object.entries(json)
    .filter(([code, value]) => !/^[A-Z]{0,3}\d{1,3}$/.test(code) || typeof value !== 'string' || value.trim() === '')
    .map(([code]) => ({ line: 0, message: `special provision ${JSON.stringify(code)}: code must look like 1, B9 or TP33 and its text must be non-empty` }));
  return problems.length ? { ok: false, problems } : { ok: true, value: json as Record<string, string> };
}

/**
 * A source the sync may read: the regulator's tables over https: only (an http: download can be
 * altered in transit, and the catalogue decides what is legal to load), or file: for local copies
 * such as the data shipped in data/. Answers why a URL is refused, or undefined.
 */
export function sourceUrlProblem(url: string): string | undefined {
  if (!URL.canParse(url)) return `${url}: not a URL; give an https: URL (file: for local copies)`;
  const { protocol } = new URL(url);
  if (protocol === 'https:' || protocol === 'file:') return undefined;
  return `${url}: only https: URLs are accepted (file: for local copies)${protocol === 'http:' ? '; http: can be altered in transit' : ''}`;
}

export interface KeyedRow {
  /** Identity across revisions: UN/NA number, name, class, packing group, and which of equal ones. */
  readonly key: string;
  readonly rowIndex: number;
  readonly row: HmtRow;
}

/**
 * The table has rows that agree on number, name, class and packing group and differ only in
 * special provisions or packaging (e.g. UN1744 bromine solutions, hazard zone A and B): their
 * order among themselves tells them apart.
 */
export function keyRows(rows: readonly HmtRow[]): KeyedRow[] {
  const seen = new Map<string, number>();
  return rows.map((row, rowIndex) => {
    const base = [row.idNumber ?? '', row.properShippingName, row.hazardClass, row.packingGroup ?? ''].join('|');
    const occurrence = (seen.get(base) ?? 0) + 1;
    seen.set(base, occurrence);
    return { key: occurrence === 1 ? base : `${base}#${occurrence}`, rowIndex, row };
  });
}

export interface CurrentRow {
  readonly key: string;
  readonly sourceRow: unknown;
  readonly withdrawn: boolean;
}

export interface CatalogueDiff {
  readonly added: readonly string[];
  readonly changed: readonly string[];
  readonly withdrawn: readonly string[];
  readonly reinstated: readonly string[];
  readonly unchanged: number;
}

export function diffCatalogue(current: readonly CurrentRow[], incoming: readonly KeyedRow[]): CatalogueDiff {
  const byKey = new Map(current.map((row) => [row.key, row]));
  const incomingKeys = new Set(incoming.map((row) => row.key));
  const added: string[] = [];
  const changed: string[] = [];
  const reinstated: string[] = [];
  let unchanged = 0;
  for (const { key, row } of incoming) {
    const existing = byKey.get(key);
    if (!existing) added.push(key);
    else if (existing.withdrawn) reinstated.push(key);
    else if (canonicalJson(existing.sourceRow) !== canonicalJson(row)) changed.push(key);
    else unchanged += 1;
  }
  const withdrawn = current.filter((row) => !row.withdrawn && !incomingKeys.has(row.key)).map((row) => row.key);
  return { added, changed, withdrawn, reinstated, unchanged };
}

/** A published table much smaller than the one in use is far likelier a truncated download than a rule change. */
export const MAX_SHRINK_FRACTION = 0.1;

export function shrinkProblem(currentActive: number, incoming: number): string | undefined {
  if (currentActive === 0 || incoming >= currentActive * (1 - MAX_SHRINK_FRACTION)) return undefined;
  return `the new table has ${incoming} rows against ${currentActive} in use (more than ${MAX_SHRINK_FRACTION * 100}% fewer); refusing it as a likely truncated download`;
}
