import { Client, Errors, type CollectionFieldSchema, type SearchParams } from 'typesense';
import { analyzeQuery, classGroups, highlightTerms, normalizeSearchText, SEARCH_SYNONYMS, unNumberPrefix, type SearchDocumentType } from '../domain/search-query.js';
import type { SearchDocument, SearchEngine, SearchResult, Suggestion } from './engine.js';
import { hitsWithHighlights, rankSuggestions } from './results.js';

/**
 * Typesense, the production engine: it searches a mirror of `search_documents`, kept by the
 * worker (activities/search.ts: every change queued in PostgreSQL's transaction, applied by a
 * retried activity). The collection, its schema and synonyms are managed here: the API and the
 * worker use an alias, and a schema change (SCHEMA_VERSION) or a full rebuild fills a new
 * collection before the alias moves to it.
 *
 * Texts are indexed normalised as PostgreSQL normalises them (domain/search-query.ts), so both
 * engines see the same words; what is shown (title, fields) is stored as given. Typesense has no
 * row-level security: every query carries the caller's company in `filter_by`, set here from the
 * authenticated caller, never from the request.
 */

/** Bump when FIELDS change: the worker then builds a new collection and moves the alias. */
const SCHEMA_VERSION = 1;

const GLOBAL = 'global';

const FIELDS: CollectionFieldSchema[] = [
  { name: 'type', type: 'string', facet: true },
  { name: 'company', type: 'string' },
  { name: 'title', type: 'string' },
  { name: 'body', type: 'string' },
  { name: 'status', type: 'string', facet: true, optional: true },
  { name: 'un_tokens', type: 'string[]' },
  { name: 'un_numbers', type: 'string[]', facet: true },
  { name: 'classes', type: 'string[]', facet: true },
  { name: 'class_groups', type: 'string[]', facet: true },
  { name: 'title_key', type: 'string', sort: true },
  { name: 'title_length', type: 'int32' },
  { name: 'un_first', type: 'string', sort: true, optional: true },
  { name: 'type_rank', type: 'int32' },
  { name: 'display', type: 'string', index: false, optional: true },
];

interface TypesenseDocument {
  id: string;
  type: string;
  company: string;
  title: string;
  body: string;
  status?: string;
  un_tokens: string[];
  un_numbers: string[];
  classes: string[];
  class_groups: string[];
  title_key: string;
  title_length: number;
  un_first?: string;
  type_rank: number;
  /** The document as given (title, fields…), JSON: what a hit shows. */
  display: string;
}

const documentId = (type: string, id: string) => `${type}:${id}`;

export function toTypesenseDocument(doc: SearchDocument): TypesenseDocument {
  const unNumbers = [...new Set(doc.unNumbers.map((un) => un.toUpperCase()))].sort();
  const classes = [...new Set(doc.classes)].sort();
  const titleKey = normalizeSearchText(doc.title);
  return {
    id: documentId(doc.type, doc.id),
    type: doc.type,
    company: doc.companyId ?? GLOBAL,
    title: titleKey,
    body: normalizeSearchText(Object.values(doc.fields).filter((value): value is string => !!value).join(' ').slice(0, 200_000)),
    ...(doc.status ? { status: normalizeSearchText(doc.status) } : {}),
    // "UN1017" typed whole, or "1017" alone, both find it.
    un_tokens: unNumbers.flatMap((un) => [un.toLowerCase(), un.slice(2)]),
    un_numbers: unNumbers,
    classes,
    class_groups: classGroups(classes),
    title_key: titleKey,
    title_length: titleKey.length,
    ...(unNumbers[0] ? { un_first: unNumbers[0] } : {}),
    // The catalogue entry before the shipments that carry its number, when the match is otherwise equal.
    type_rank: doc.type === 'dangerous-good' ? 1 : 0,
    display: JSON.stringify({ id: doc.id, title: doc.title, fields: doc.fields, unNumbers, classes, status: doc.status }),
  };
}

interface Display {
  id: string;
  title: string;
  fields: Record<string, string | null>;
  unNumbers: string[];
  classes: string[];
  status: string | null;
}

/** A value in a filter, quoted (backticks) so nothing in it is read as filter syntax. */
const value = (text: string) => `\`${text.replace(/`/g, '')}\``;
const oneOf = (field: string, values: readonly string[]) => `${field}:=[${values.map(value).join(',')}]`;

export interface TypesenseOptions {
  url: string;
  apiKey: string;
  /** The alias searched and written. */
  collection: string;
}

export interface OutboxDocumentChange {
  type: string;
  id: string;
  document: SearchDocument | null;
}

export interface TypesenseEngine extends SearchEngine {
  /**
   * The collection to fill and publish: the one the alias names, when it has this schema and no
   * rebuild is asked; otherwise a new, empty one (`fresh`), with the synonyms. Synonyms are
   * (re)applied to whichever is returned.
   */
  target(rebuild: boolean): Promise<{ collection: string; fresh: boolean }>;
  /** Writes documents into a collection (upsert, in bulk); throws naming the first refused. */
  importInto(collection: string, documents: readonly SearchDocument[]): Promise<void>;
  /** Points the alias at `collection` and drops the collections it no longer needs. */
  publish(collection: string): Promise<void>;
  /** Applies queued changes through the alias: each document as it now is, or its removal. */
  apply(changes: readonly OutboxDocumentChange[]): Promise<void>;
}

export function typesenseSearchEngine(options: TypesenseOptions): TypesenseEngine {
  const client = new Client({ nodes: [{ url: options.url }], apiKey: options.apiKey, connectionTimeoutSeconds: 5, numRetries: 2, retryIntervalSeconds: 0.2, logLevel: 'error' });
  const alias = options.collection;
  const versionPrefix = `${alias}_v${SCHEMA_VERSION}_`;
  const documents = () => client.collections<TypesenseDocument>(alias).documents();

  const aliasTarget = async (): Promise<string | null> => {
    try {
      return (await client.aliases(alias).retrieve()).collection_name;
    } catch (error) {
      if (error instanceof Errors.ObjectNotFound) return null;
      throw error;
    }
  };

  const ourCollections = async () => (await client.collections().retrieve()).map((collection) => collection.name).filter((name) => name.startsWith(`${alias}_v`));

  const applySynonyms = async (collection: string) => {
    const synonyms = client.collections(collection).synonyms();
    const wanted = new Map(SEARCH_SYNONYMS.map((group) => [`group-${normalizeSearchText(group[0]!).replace(/ /g, '-')}`, [...group]]));
    for (const [id, group] of wanted) await synonyms.upsert(id, { synonyms: group });
    for (const existing of (await synonyms.retrieve()).synonyms) if (!wanted.has(existing.id)) await client.collections(collection).synonyms(existing.id).delete();
  };

  const filterFor = (companyId: string, extra: string[] = []) => [oneOf('company', [GLOBAL, companyId]), ...extra].join(' && ');

  const hitOf = (doc: TypesenseDocument) => {
    const shown = JSON.parse(doc.display) as Display;
    return { type: doc.type as SearchDocumentType, id: shown.id, title: shown.title, fields: shown.fields, unNumbers: shown.unNumbers, classes: shown.classes, status: shown.status };
  };

  return {
    name: 'typesense',

    async search(scope, request): Promise<SearchResult> {
      const query = analyzeQuery(request.q);
      if (query.slots.length === 0) return { found: 0, foundExact: true, hits: [], facets: { type: [], class: [] } };
      const filters: string[] = [];
      if (request.types) filters.push(oneOf('type', request.types));
      if (request.hazardClass) filters.push(request.hazardClass.includes('.') ? oneOf('classes', [request.hazardClass]) : oneOf('class_groups', [request.hazardClass]));
      const typing = query.slots.at(-1)!.prefix;
      // An exact UN number first, the catalogue's entry before the documents that carry it; else the types the query names.
      // Among equal matches the shorter title is the more specific ("chlorin": Chlorine before Barium hypochlorite… chlorine).
      const sort = query.unNumbers.length
        ? [`_eval(${oneOf('un_numbers', query.unNumbers)}):desc`, 'type_rank:desc', '_text_match:desc']
        : query.typeHints.length
          ? [`_eval(${oneOf('type', query.typeHints)}):desc`, '_text_match:desc', 'title_length:asc']
          : ['_text_match:desc', 'type_rank:desc', 'title_length:asc'];
      const params: SearchParams<TypesenseDocument> = {
        // As typed (a bare number stays one: un_tokens holds "1017" beside "un1017"); Typesense applies the synonyms itself.
        q: query.slots.map((slot) => slot.text).join(' '),
        query_by: 'un_tokens,title,body,status',
        query_by_weights: '4,3,1,1',
        prefix: [typing, typing, typing, false],
        num_typos: '0,2,2,0',
        filter_by: filterFor(scope.companyId, filters),
        facet_by: 'type,class_groups',
        max_facet_values: 50,
        sort_by: sort.join(','),
        per_page: request.limit,
        max_candidates: 200,
        highlight_fields: 'none',
      };
      const response = await client.collections<TypesenseDocument>(alias).documents().search(params);
      const facet = (field: string) =>
        (response.facet_counts?.find((counts) => counts.field_name === field)?.counts ?? [])
          .map((count) => ({ value: count.value, count: count.count }))
          .sort((a, b) => (field === 'type' ? b.count - a.count || a.value.localeCompare(b.value) : a.value.localeCompare(b.value)));
      return {
        found: response.found,
        foundExact: true,
        hits: hitsWithHighlights((response.hits ?? []).map((hit) => hitOf(hit.document)), highlightTerms(query)),
        facets: { type: facet('type'), class: facet('class_groups') },
      };
    },

    async suggest(scope, q, limit): Promise<Suggestion[]> {
      const un = unNumberPrefix(q);
      const key = normalizeSearchText(q);
      if (!un && key.length === 0) return [];
      const response = await documents().search(
        un
          ? { q: un.toLowerCase(), query_by: 'un_tokens', prefix: true, num_typos: 0, filter_by: filterFor(scope.companyId, [oneOf('type', ['dangerous-good'])]), sort_by: 'un_first:asc,title_key:asc', per_page: limit * 3, highlight_fields: 'none' }
          : // The shortest titles with a word as typed; rankSuggestions puts those that start so first.
            // Typesense expands a prefix into 4 words by default: "chlor" must reach chlorine among chloroacetyl, chlorobenzene…
            { q: key, query_by: 'title', prefix: true, num_typos: 0, max_candidates: 200, filter_by: filterFor(scope.companyId), sort_by: 'title_length:asc,title_key:asc', per_page: 40, highlight_fields: 'none' },
      );
      const rows = (response.hits ?? []).map(({ document }) => {
        const shown = JSON.parse(document.display) as Display;
        return { type: document.type, id: shown.id, title: shown.title, title_key: document.title_key, un_number: document.un_first ?? null };
      });
      return rankSuggestions(rows, key, limit, un !== null);
    },

    async upsert(document) {
      // As on PostgreSQL: the catalogue arrives only as the mirror of its own rows (apply), never as a company's write.
      if (document.companyId === null) throw new Error('catalogue documents are indexed by the catalogue itself, not through upsert');
      await documents().upsert(toTypesenseDocument(document));
    },

    async remove(type, id) {
      try {
        await client.collections<TypesenseDocument>(alias).documents(documentId(type, id)).delete();
      } catch (error) {
        if (!(error instanceof Errors.ObjectNotFound)) throw error;
      }
    },

    async target(rebuild) {
      const current = await aliasTarget();
      let collection = current;
      let fresh = false;
      if (rebuild || !current?.startsWith(versionPrefix)) {
        collection = `${versionPrefix}${Date.now()}`;
        await client.collections().create({ name: collection, fields: FIELDS, default_sorting_field: 'type_rank' });
        fresh = true;
      }
      await applySynonyms(collection!);
      return { collection: collection!, fresh };
    },

    async importInto(collection, batch) {
      if (batch.length === 0) return;
      const results = await client.collections<TypesenseDocument>(collection).documents().import(batch.map(toTypesenseDocument), { action: 'upsert' });
      const failed = results.find((result) => !result.success);
      if (failed) throw new Error(`Typesense refused ${failed.id ?? 'a document'}: ${failed.error}`);
    },

    async publish(collection) {
      await client.aliases().upsert(alias, { collection_name: collection });
      for (const name of await ourCollections()) if (name !== collection) await client.collections(name).delete();
    },

    async apply(changes) {
      // Each document once, as it now is: a document changed twice in the batch is written once.
      const latest = new Map(changes.map((change) => [documentId(change.type, change.id), change]));
      const upserts = [...latest.values()].flatMap((change) => (change.document ? [change.document] : []));
      if (upserts.length) await this.importInto(alias, upserts);
      for (const change of latest.values()) if (!change.document) await this.remove(change.type as SearchDocumentType, change.id);
    },
  };
}
