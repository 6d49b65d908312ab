import type { Database } from '../db/orm.js';
import {
  escapeLike,
  putSearchDocument,
  readSearch,
  removeSearchDocument,
  searchDocuments,
  similarTerms,
  titlesStartingWith,
  titlesWithWordsStarting,
  unNumbersStartingWith,
  type SearchRows,
  type SuggestionRow,
} from '../db/search.js';
import { analyzeQuery, highlightTerms, normalizeSearchText, pickCorrections, unNumberPrefix, type AnalyzedQuery, type SearchDocumentType } from '../domain/search-query.js';
import type { SearchEngine, SearchResult, Suggestion } from './engine.js';
import { hitsWithHighlights, rankSuggestions } from './results.js';

/** A tsquery lexeme: the analysed words are letters and digits only, quoted all the same. */
const lexeme = (word: string) => `'${word.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;

/** Each slot is one of its phrases (or a correction, or, being typed, a prefix); slots all match (`and`) or any does (`or`). */
export function tsqueryText(query: AnalyzedQuery, corrections: Readonly<Record<string, readonly string[]>>, mode: 'and' | 'or'): string {
  return query.slots
    .map((slot) => {
      const alternatives = slot.phrases.map((phrase) => (slot.prefix && phrase.length === 1 && phrase[0] === slot.text ? `${lexeme(slot.text)}:*` : phrase.map(lexeme).join(' <-> ')));
      for (const correction of corrections[slot.text] ?? []) alternatives.push(lexeme(correction));
      return `(${alternatives.join(' | ')})`;
    })
    .join(mode === 'and' ? ' & ' : ' | ');
}

/**
 * The titles the query may name, for the exact and prefix tiers: what was typed, then its
 * synonyms and corrections in every combination ("sulphuric acid" → "sulfuric acid"), at most `max`.
 */
export function titleVariants(query: AnalyzedQuery, corrections: Readonly<Record<string, readonly string[]>>, max = 16): string[] {
  let variants = [''];
  for (const slot of query.slots) {
    const options = [...slot.phrases.map((phrase) => phrase.join(' ')), ...(corrections[slot.text] ?? [])];
    variants = variants.flatMap((variant) => options.map((option) => (variant ? `${variant} ${option}` : option))).slice(0, max);
  }
  return [...new Set(variants)];
}

const EMPTY: SearchResult = { found: 0, foundExact: true, hits: [], facets: { type: [], class: [] } };

/**
 * The embedded engine: PostgreSQL full text (GIN over a weighted tsvector) with typo tolerance by
 * trigram similarity against the words the index holds (`search_terms`), then the edit distance;
 * documents are kept by triggers in the source tables' own transactions (db/migrations/…Search.ts).
 */
export function postgresSearchEngine(db: Database): SearchEngine {
  return {
    name: 'postgres',

    async search(scope, request) {
      const query = analyzeQuery(request.q);
      if (query.slots.length === 0) return EMPTY;
      return readSearch(db, scope.companyId, async (client) => {
        const corrections: Record<string, string[]> = {};
        const similar = await similarTerms(client, query.slots.filter((slot) => slot.correctable).map((slot) => slot.text));
        // A word the index holds is taken as meant; only an unknown word is corrected.
        for (const slot of query.slots) {
          const terms = similar.get(slot.text);
          if (terms && !terms.includes(slot.text)) corrections[slot.text] = pickCorrections(slot.text, terms, { completing: slot.prefix });
          // A last word the index holds whole is taken as finished: a prefix search costs the index more, and finds less that is meant.
          else if (terms) slot.prefix = false;
        }
        const titles = titleVariants(query, corrections);
        const corrected = query.slots.map((slot) => corrections[slot.text]?.[0] ?? slot.text).join(' ');
        const base = {
          types: request.types ?? null,
          hazardClass: request.hazardClass ?? null,
          unNumbers: query.unNumbers,
          typeHints: query.typeHints,
          exactTitles: titles,
          // A title that starts with the query's words ("Gasoline includes…" for petrol), or, while the last is typed, with its letters.
          titlePrefixes: titles.map((text) => `${escapeLike(text)}${query.slots.at(-1)?.prefix ? '%' : ' %'}`),
          typedTitles: [...new Set([query.text, corrected])],
          text: corrected,
          limit: request.limit,
        };
        let rows: SearchRows = await searchDocuments(client, { ...base, tsquery: tsqueryText(query, corrections, 'and') });
        // Nothing has every word: rank what has some (a question's extra words must not empty the answer).
        if (rows.found === 0 && query.slots.length > 1) rows = await searchDocuments(client, { ...base, tsquery: tsqueryText(query, corrections, 'or') });
        return {
          found: rows.found,
          foundExact: rows.exact,
          hits: hitsWithHighlights(rows.hits.map((hit) => ({ ...hit, type: hit.type as SearchDocumentType })), highlightTerms(query, corrections)),
          facets: { type: rows.types, class: rows.classes },
        };
      });
    },

    async suggest(scope, q, limit) {
      const un = unNumberPrefix(q);
      const key = normalizeSearchText(q);
      if (!un && key.length === 0) return [];
      return readSearch(db, scope.companyId, async (client): Promise<Suggestion[]> => {
        if (un) return rankSuggestions(await unNumbersStartingWith(client, un, limit * 3), key, limit, true);
        // In title order the shortest come first among equals; 40 leaves room to put them first.
        const rows: SuggestionRow[] = await titlesStartingWith(client, key, 40);
        const words = key.split(' ');
        const last = words.at(-1)!;
        if (rows.length < limit && last.length >= 2) {
          // A later word of the title as typed ("chlor" → Sodium chlorate), every earlier word present.
          const tsquery = [...words.slice(0, -1).map((word) => `${lexeme(word)}:A`), `${lexeme(last)}:*A`].join(' & ');
          rows.push(...(await titlesWithWordsStarting(client, tsquery, limit * 3)));
        }
        return rankSuggestions(rows, key, limit, false);
      });
    },

    async upsert(document) {
      if (document.companyId === null) throw new Error('catalogue documents are indexed by the catalogue itself (its triggers), not through upsert');
      await putSearchDocument(db, { ...document, companyId: document.companyId });
    },

    async remove(type, id, companyId) {
      // Row-level security decides what may go, so the company is needed here (the external engine ignores it).
      if (!companyId) throw new Error('the PostgreSQL engine removes a document as its company: pass the companyId (catalogue documents leave with their rows)');
      await removeSearchDocument(db, companyId, type, id);
    },
  };
}
