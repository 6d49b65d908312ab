import { highlighter, type HighlightTerms, type SearchDocumentType } from '../domain/search-query.js';
import type { SearchHit, Suggestion } from './engine.js';

/** A hit as an engine found it, before its matches are marked. */
export type FoundHit = Omit<SearchHit, 'highlights'>;

/** Both engines mark matches the same way (domain/search-query.ts `highlight`): the title, then each field that matched. */
export function hitsWithHighlights(hits: readonly FoundHit[], terms: HighlightTerms): SearchHit[] {
  const highlight = highlighter(terms);
  return hits.map((hit) => {
    const highlights: SearchHit['highlights'] = [];
    const title = highlight(hit.title);
    if (title) highlights.push({ field: 'title', snippet: title });
    for (const [field, value] of Object.entries(hit.fields)) {
      const snippet = value ? highlight(value) : null;
      if (snippet) highlights.push({ field, snippet });
    }
    // A catalogue entry shows its number among its fields; a shipment's numbers are marked on their own.
    if (hit.unNumbers.length > 0 && !('unNumber' in hit.fields)) {
      const numbers = highlight(hit.unNumbers.join(', '));
      if (numbers) highlights.push({ field: 'unNumbers', snippet: numbers });
    }
    return { ...hit, highlights };
  });
}

export interface SuggestionCandidate {
  type: string;
  id: string;
  title: string;
  title_key: string;
  un_number: string | null;
}

/**
 * Suggestions in the order a person wants them while typing: the title typed in full first, then
 * the shortest titles (Chlorine before Chlorine dioxide…), one per title and type (the catalogue
 * lists a name once per packing group). UN number suggestions keep the number's order.
 */
export function rankSuggestions(rows: readonly SuggestionCandidate[], key: string, limit: number, byNumber: boolean): Suggestion[] {
  const ordered = byNumber
    ? [...rows]
    : [...rows].sort((a, b) => Number(b.title_key === key) - Number(a.title_key === key) || Number(b.title_key.startsWith(key)) - Number(a.title_key.startsWith(key)) || a.title_key.length - b.title_key.length || (a.title_key < b.title_key ? -1 : a.title_key > b.title_key ? 1 : 0));
  const seen = new Set<string>();
  const out: Suggestion[] = [];
  for (const row of ordered) {
    const key = `${row.type}|${row.title}|${byNumber ? row.un_number : ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ text: row.title, type: row.type as SearchDocumentType, id: row.id, unNumber: row.un_number });
    if (out.length === limit) break;
  }
  return out;
}
