import type { SearchDocumentType } from '../domain/search-query.js';
import type { StoredSearchDocument } from '../db/search.js';

/**
 * One searchable thing, as every engine stores it: the DG catalogue's entries are global
 * (`companyId: null`), everything else belongs to one company. `fields` are shown with a hit and
 * searched (origin, destination, goods…); the UN numbers, classes (divisions, e.g. "2.3") and
 * status are searched and faceted.
 */
/** What the index holds per document (db/search.ts keeps it in PostgreSQL), with its type named. */
export interface SearchDocument extends StoredSearchDocument {
  type: SearchDocumentType;
}

export interface SearchRequest {
  q: string;
  /** Only these types (all when absent). */
  types?: SearchDocumentType[];
  /** A class ("3") or a division ("6.1"). */
  hazardClass?: string;
  limit: number;
}

export interface SearchHit {
  type: SearchDocumentType;
  id: string;
  title: string;
  fields: Record<string, string | null>;
  unNumbers: string[];
  classes: string[];
  status: string | null;
  /** The matched words marked with `<mark>` in the title and each field that matched (HTML-escaped). */
  highlights: Array<{ field: string; snippet: string }>;
}

export interface FacetCount {
  value: string;
  count: number;
}

export interface SearchResult {
  /** How many documents match (all pages); with `foundExact` false, at least this many (PostgreSQL ranks and counts a bounded set). */
  found: number;
  foundExact: boolean;
  hits: SearchHit[];
  /** Counts over the matches `found` counts, by type and by class (1–9; a division counts for its class). */
  facets: { type: FacetCount[]; class: FacetCount[] };
}

export interface Suggestion {
  /** What to complete the query with (a title, or a UN number for a UN number being typed). */
  text: string;
  type: SearchDocumentType;
  id: string;
  unNumber: string | null;
}

/** Who asks: the catalogue and this company's documents are visible, nothing else. */
export interface SearchScope {
  companyId: string;
}

/** The write side: both engines index the same documents; `upsert` replaces a document whole. */
export interface SearchIndex {
  upsert(document: SearchDocument): Promise<void>;
  /** `companyId`: the document's company; the PostgreSQL engine deletes as that company (row-level security), Typesense needs no scope. */
  remove(type: SearchDocumentType, id: string, companyId?: string | null): Promise<void>;
}

export interface SearchEngine extends SearchIndex {
  readonly name: 'postgres' | 'typesense';
  search(scope: SearchScope, request: SearchRequest): Promise<SearchResult>;
  suggest(scope: SearchScope, q: string, limit: number): Promise<Suggestion[]>;
}
