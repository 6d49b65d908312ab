/**
 * What a search query means, independent of the engine that answers it: the text normalised the
 * way the index normalises documents, UN numbers recognised however they are typed, synonyms
 * expanded, stop words and type words set aside; the typo allowance per word; and the marking of
 * matched words in what is answered. Pure: both engines (search/) build their queries from this.
 */

/** What the index holds: the DG catalogue (global) and each company's own records. */
export const SEARCH_DOCUMENT_TYPES = ['dangerous-good', 'shipment', 'vehicle', 'driver', 'document', 'sds'] as const;
export type SearchDocumentType = (typeof SEARCH_DOCUMENT_TYPES)[number];

/** A class (1–9) or a division (6.1), as the catalogue writes them. */
export const HAZARD_CLASS_FILTER = /^(1(\.[1-6])?|2(\.[1-3])?|3|4(\.[1-3])?|5(\.[12])?|6(\.[12])?|7|8|9)$/;

export const SEARCH_QUERY_MAX_LENGTH = 200;
export const SUGGEST_QUERY_MAX_LENGTH = 100;
export const SEARCH_LIMIT_MAX = 50;
export const SUGGEST_LIMIT = 8;

/**
 * Names staff use for the same goods (trade names, Australian and US spelling, abbreviations);
 * each group is equivalent both ways. The catalogue is the US table: "petrol" must find Gasoline.
 */
export const SEARCH_SYNONYMS: readonly (readonly string[])[] = [
  ['petrol', 'gasoline', 'motor spirit'],
  ['diesel', 'diesel fuel', 'gas oil'],
  ['lpg', 'liquefied petroleum gas', 'propane'],
  ['caustic soda', 'sodium hydroxide'],
  ['bleach', 'sodium hypochlorite', 'hypochlorite solutions'],
  ['muriatic acid', 'hydrochloric acid'],
  ['battery acid', 'sulfuric acid'],
  ['ipa', 'isopropanol', 'isopropyl alcohol'],
  ['mek', 'methyl ethyl ketone', 'ethyl methyl ketone'],
  ['ethanol', 'ethyl alcohol'],
  ['acetone', 'propanone', 'dimethyl ketone'],
  ['kerosene', 'kerosine', 'paraffin'],
  ['sulphuric', 'sulfuric'],
  ['sulphur', 'sulfur'],
  ['sulphide', 'sulfide'],
  ['sulphate', 'sulfate'],
  ['sulphite', 'sulfite'],
  ['aluminium', 'aluminum'],
  ['caesium', 'cesium'],
];

/** Words that carry no meaning in a question ("what is UN 1017", "the SDS for our acetone"). */
const STOP_WORDS = new Set(['a', 'an', 'and', 'any', 'are', 'at', 'by', 'for', 'from', 'in', 'is', 'it', 'me', 'my', 'of', 'on', 'or', 'our', 'show', 'the', 'their', 'to', 'what', 'where', 'which', 'with']);

/** Words that name what the person is after: they rank that type first instead of having to match. */
const TYPE_WORDS: Record<string, SearchDocumentType> = {
  shipment: 'shipment',
  shipments: 'shipment',
  consignment: 'shipment',
  vehicle: 'vehicle',
  vehicles: 'vehicle',
  truck: 'vehicle',
  trucks: 'vehicle',
  driver: 'driver',
  drivers: 'driver',
  sds: 'sds',
  msds: 'sds',
  document: 'document',
  documents: 'document',
};

/** Letters NFKD leaves whole, spelt as PostgreSQL's unaccent spells them (the index side). */
const FOLDS: Record<string, string> = { ß: 'ss', æ: 'ae', œ: 'oe', ø: 'o', ł: 'l', đ: 'd', ð: 'd', þ: 'th', ı: 'i' };

/** Lower case, accents removed, anything but letters and digits a single space: what the index stores (search_normalize in SQL). */
export function normalizeSearchText(text: string): string {
  return foldCase(text)
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

function foldCase(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[ßæœøłđðþı]/g, (c) => FOLDS[c]!);
}

/**
 * A UN (or NA, ID) number however it is typed: "UN 1O17", "un1017", "UN-1017", "1017". A letter O
 * stands for a zero only inside such a token (never in a word), and a bare number must start with
 * a digit. Captures: the prefix, if any, and the four characters.
 */
const UN_TOKEN = /(?<![\p{L}\p{N}])(?:(un|na|id)[\s\-.:#]*)?([0-9o]{4})(?![\p{L}\p{N}])/gu;

/** "UN1017" for a recognised token, null otherwise. */
export function normalizeUnToken(prefix: string | undefined, digits: string): string | null {
  if (!/[0-9]/.test(digits)) return null;
  if (prefix === undefined && !/^[0-9]/.test(digits)) return null;
  return `${(prefix ?? 'un').toUpperCase()}${digits.replace(/o/g, '0')}`;
}

export interface QuerySlot {
  /** What was typed for this slot, normalised ("motor spirit", "un1017"). */
  text: string;
  /** Each way the slot may match, as words in order; the first is what was typed (a UN number as "un1017"). */
  phrases: string[][];
  /** The UN number the slot names (UN1017), if it names one. */
  unNumber: string | null;
  /** The last word, still being typed: what was typed (`text`) also matches as a prefix. */
  prefix: boolean;
  /** A single word of letters long enough to allow a typo (see `allowedTypos`). */
  correctable: boolean;
}

export interface AnalyzedQuery {
  /** The words asked for, normalised, stop and type words left out, UN numbers written whole ("un1017 geelong"): compared with titles. */
  text: string;
  /** Every word of the query must match one of each slot's phrases (engines relax this when nothing matches). */
  slots: QuerySlot[];
  unNumbers: string[];
  /** Types the query names ("shipment", "SDS"): ranked first, not required. */
  typeHints: SearchDocumentType[];
}

/** Shortest phrase of each synonym group first is irrelevant: the longest match in the query wins. */
const SYNONYM_PHRASES = SEARCH_SYNONYMS.flatMap((group) => group.map((phrase) => ({ words: phrase.split(' '), group })));

export function analyzeQuery(raw: string): AnalyzedQuery {
  const folded = foldCase(raw);
  const tokens: Array<{ word: string; unNumber: string | null; typedPrefix: boolean }> = [];
  let last = 0;
  const pushWords = (segment: string) => {
    for (const word of segment.split(/[^\p{L}\p{N}]+/u).filter(Boolean)) tokens.push({ word, unNumber: null, typedPrefix: false });
  };
  for (const match of folded.matchAll(UN_TOKEN)) {
    const unNumber = normalizeUnToken(match[1], match[2]!);
    if (!unNumber) continue;
    pushWords(folded.slice(last, match.index));
    // Typed with its prefix it is the number alone; bare ("1017"), it may also be part of a shipment number or registration.
    tokens.push({ word: match[1] !== undefined ? unNumber.toLowerCase() : unNumber.slice(2), unNumber, typedPrefix: match[1] !== undefined });
    last = match.index + match[0].length;
  }
  const rest = folded.slice(last);
  // "UN 10" at the end is a UN number being typed: one word, so it matches as a prefix of the numbers.
  const partial = /(?<![\p{L}\p{N}])(un|na|id)[\s\-.:#]*([0-9][0-9o]{0,2})$/u.exec(rest);
  if (partial) {
    pushWords(rest.slice(0, partial.index));
    tokens.push({ word: `${partial[1]}${partial[2]!.replace(/o/g, '0')}`, unNumber: null, typedPrefix: false });
  } else pushWords(rest);

  const meaningful = tokens.filter((token) => token.unNumber || !STOP_WORDS.has(token.word));
  const typeHints = new Set<SearchDocumentType>();
  // Type words are hints only when something else is asked ("shipment" alone is a word to find).
  const asked = meaningful.filter((token) => {
    const type = token.unNumber ? undefined : TYPE_WORDS[token.word];
    if (type && meaningful.some((other) => other.unNumber || !TYPE_WORDS[other.word])) {
      typeHints.add(type);
      return false;
    }
    return true;
  });

  const slots: QuerySlot[] = [];
  for (let i = 0; i < asked.length; ) {
    const token = asked[i]!;
    if (token.unNumber) {
      const phrases = token.typedPrefix ? [[token.word]] : [[token.unNumber.toLowerCase()], [token.word]];
      slots.push({ text: token.word, phrases, unNumber: token.unNumber, prefix: false, correctable: false });
      i += 1;
      continue;
    }
    const synonym = longestSynonymAt(asked, i);
    if (synonym) {
      const text = synonym.words.join(' ');
      const phrases = [synonym.words, ...synonym.group.filter((phrase) => phrase !== text).map((phrase) => phrase.split(' '))];
      slots.push({ text, phrases, unNumber: null, prefix: false, correctable: false });
      i += synonym.words.length;
      continue;
    }
    slots.push({ text: token.word, phrases: [[token.word]], unNumber: null, prefix: false, correctable: /^\p{L}+$/u.test(token.word) && allowedTypos(token.word) > 0 });
    i += 1;
  }
  const tail = slots.at(-1);
  // While typing, the last word is unfinished: "chlorin" already finds Chlorine, "UN 10" the numbers from UN1000,
  // "SS-0042" shipment SS-004242. Too short a stem would match everything; a synonym is a name already complete.
  if (tail && tail.text.length >= 3 && /\S$/.test(raw) && (tail.unNumber !== null || tail.phrases.length === 1)) tail.prefix = true;

  const unNumbers = [...new Set(slots.flatMap((slot) => (slot.unNumber ? [slot.unNumber] : [])))];
  return { text: slots.map((slot) => slot.text).join(' '), slots, unNumbers, typeHints: [...typeHints] };
}

function longestSynonymAt(tokens: ReadonlyArray<{ word: string; unNumber: string | null }>, start: number) {
  let best: (typeof SYNONYM_PHRASES)[number] | undefined;
  for (const candidate of SYNONYM_PHRASES) {
    const fits = candidate.words.every((word, offset) => tokens[start + offset]?.word === word && !tokens[start + offset]?.unNumber);
    if (fits && (!best || candidate.words.length > best.words.length)) best = candidate;
  }
  return best;
}

/** Typos a word may carry and still match: none under 4 letters, one from 4, two from 7 (Typesense's defaults, so both engines agree). */
export function allowedTypos(word: string): number {
  const length = [...word].length;
  return length >= 7 ? 2 : length >= 4 ? 1 : 0;
}

/**
 * Whether one word is at most `max` edits (insert, delete, substitute, swap two neighbours) from
 * another: three rows, and given up as soon as every path costs more (highlighting asks this of
 * every word shown, so it must not build a table per word).
 */
export function withinEdits(a: string, b: string, max: number): boolean {
  if (Math.abs(a.length - b.length) > max) return false;
  if (a === b) return true;
  let before = new Array<number>(b.length + 1).fill(0);
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  let current = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i += 1) {
    current[0] = i;
    let best = current[0];
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, before[j - 2]! + 1);
      current[j] = value;
      if (value < best) best = value;
    }
    if (best > max) return false;
    [before, previous, current] = [previous, current, before];
  }
  return previous[b.length]! <= max;
}

/** Edits (insert, delete, substitute, swap two neighbours) from one word to another. */
export function editDistance(a: string, b: string): number {
  const s = [...a];
  const t = [...b];
  const rows: number[][] = Array.from({ length: s.length + 1 }, (_, i) => Array.from({ length: t.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= s.length; i += 1) {
    for (let j = 1; j <= t.length; j += 1) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let best = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) best = Math.min(best, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = best;
    }
  }
  return rows[s.length]![t.length]!;
}

/**
 * The corrections of a word the index knows, best first: within the word's typo allowance, at
 * most `max`. While the word is being typed (`completing`), one that continues it comes first
 * ("chlorin" → chlorine before chloric).
 */
export function pickCorrections(word: string, candidates: readonly string[], options: { completing?: boolean; max?: number } = {}): string[] {
  const allowed = allowedTypos(word);
  const continues = (candidate: string) => (options.completing && candidate.startsWith(word) ? 0 : 1);
  return candidates
    .map((candidate) => ({ candidate, distance: editDistance(word, candidate) }))
    .filter(({ candidate, distance }) => candidate !== word && distance <= allowed)
    .sort((x, y) => continues(x.candidate) - continues(y.candidate) || x.distance - y.distance || x.candidate.localeCompare(y.candidate))
    .slice(0, options.max ?? 3)
    .map(({ candidate }) => candidate);
}

/**
 * A partly typed UN number ("UN 10", "un1o1"), for suggestions: the number's start, or null.
 * Without the prefix only digits count ("10" could be anything, so it is not taken as one).
 */
export function unNumberPrefix(raw: string): string | null {
  const match = /^\s*(un|na|id)[\s\-.:#]*([0-9o]{1,4})\s*$/i.exec(foldCase(raw));
  if (!match || !/^[0-9]/.test(match[2]!)) return null;
  return `${match[1]!.toUpperCase()}${match[2]!.replace(/o/g, '0')}`;
}

/** What the words of a text are matched against: query words, their synonyms and corrections; `prefix` words also match a word's start. */
export interface HighlightTerms {
  exact: readonly string[];
  prefix: readonly string[];
}

/** The terms to mark for a query and the corrections an engine applied. */
export function highlightTerms(query: AnalyzedQuery, corrections: Readonly<Record<string, readonly string[]>> = {}): HighlightTerms {
  const exact = new Set<string>();
  const prefix = new Set<string>();
  for (const slot of query.slots) {
    for (const phrase of slot.phrases) for (const word of phrase) exact.add(word);
    for (const correction of corrections[slot.text] ?? []) exact.add(correction);
    if (slot.prefix) prefix.add(slot.text);
  }
  return { exact: [...exact], prefix: [...prefix] };
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/**
 * Marks matched words in texts: each text comes back with every matched word wrapped in `<mark>`
 * (the rest HTML-escaped, so a client may show it as markup), cut to about `window` characters
 * around the first match; null when no word matches. A word matches a term exactly, by its start
 * for prefix terms, and within the term's typo allowance — the tolerance the engines search with,
 * so what was found is what is marked. One highlighter serves a whole answer: each distinct word
 * is judged once.
 */
export function highlighter(terms: HighlightTerms, window = 160): (text: string) => string | null {
  const judged = new Map<string, boolean>();
  const matches = (word: string) => {
    let hit = judged.get(word);
    if (hit === undefined) {
      const normal = /^[a-z0-9]+$/i.test(word) ? word.toLowerCase() : normalizeSearchText(word).replace(/ /g, '');
      const letters = /^\p{L}+$/u.test(normal);
      hit = terms.exact.some((term) => term === normal || (letters && allowedTypos(term) > 0 && withinEdits(term, normal, allowedTypos(term)))) || terms.prefix.some((term) => normal.startsWith(term));
      judged.set(word, hit);
    }
    return hit;
  };
  const unNumbers = terms.exact.flatMap((term) => {
    const un = /^(un|na|id)(\d{4})$/.exec(term);
    return un ? [new RegExp(`(?<![\\p{L}\\p{N}])${un[1]}[\\s-]?${un[2]}(?![\\p{L}\\p{N}])`, 'giu')] : [];
  });
  return (text) => {
    const marks: Array<[number, number]> = [];
    for (const word of text.matchAll(/[\p{L}\p{N}]+/gu)) {
      // Past the window around the first match nothing more is shown.
      if (marks.length > 0 && word.index > marks[0]![0] + window) break;
      if (matches(word[0])) marks.push([word.index, word.index + word[0].length]);
    }
    // "UN 1017" in a text is one number: a query for un1017 marks both parts.
    for (const pattern of unNumbers) {
      for (const match of text.matchAll(pattern)) {
        if (!marks.some(([start, end]) => start <= match.index && match.index < end)) marks.push([match.index, match.index + match[0].length]);
      }
    }
    if (marks.length === 0) return null;
    marks.sort((x, y) => x[0] - y[0]);
    const first = marks[0]![0];
    const start = text.length <= window || first < window / 2 ? 0 : Math.max(0, text.lastIndexOf(' ', first - Math.floor(window / 4)) + 1);
    const end = Math.min(text.length, start + window);
    let out = start > 0 ? '…' : '';
    let at = start;
    for (const [from, to] of marks) {
      if (from < at || to > end) continue;
      out += `${escapeHtml(text.slice(at, from))}<mark>${escapeHtml(text.slice(from, to))}</mark>`;
      at = to;
    }
    return out + escapeHtml(text.slice(at, end)) + (end < text.length ? '…' : '');
  };
}

/** One text's highlight (see `highlighter`). */
export function highlight(text: string, terms: HighlightTerms, window = 160): string | null {
  return highlighter(terms, window)(text);
}

/** The class and its division for the class facet and filter: "6.1" → ["6"], "3" → ["3"]. */
export function classGroups(classes: readonly string[]): string[] {
  return [...new Set(classes.map((value) => value.split('.')[0]!).filter((value) => /^[1-9]$/.test(value)))].sort();
}
