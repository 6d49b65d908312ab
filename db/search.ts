import pg from 'pg';
import type { Database } from './orm.js';
import { inTenant } from './orm.js';

/**
 * The PostgreSQL search engine's SQL (search/postgres.ts builds its queries from the analysed
 * query) and the external engine's side of the index: the outbox and the export. See
 * db/migrations/Migration20261201040000Search.ts for the tables, triggers and policies.
 */

interface KnexPool {
  acquireConnection(): Promise<pg.Client>;
  releaseConnection(connection: pg.Client): Promise<void>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Reads as `companyId` on a pooled connection without the ORM (the queries are prepared once per
 * connection, by name): one message opens the read-only
 * transaction, sets the row-level-security company and the trigram threshold, then each query
 * runs with its parameters. Row-level security scopes every row; the queries say so as well.
 */
export async function readSearch<T>(db: Database, companyId: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  if (!UUID.test(companyId)) throw new Error(`not a UUID: ${JSON.stringify(companyId)}`);
  const pool = db.em.getConnection().getKnex().client as unknown as KnexPool;
  const client = await pool.acquireConnection();
  try {
    // Candidates for a typo correction: trigram similarity ≥ 0.25, then the edit distance decides (domain/search-query.ts).
    await client.query(`BEGIN READ ONLY; SELECT set_config('app.current_company_id', '${companyId.toLowerCase()}', true), set_config('pg_trgm.similarity_threshold', '0.25', true)`);
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    await pool.releaseConnection(client);
  }
}

/** Each word with the indexed words it may be a typo of (closest first); a word the index holds comes back as itself. */
export async function similarTerms(client: pg.Client, words: readonly string[]): Promise<Map<string, string[]>> {
  const found = new Map<string, string[]>(words.map((word) => [word, []]));
  if (words.length === 0) return found;
  const { rows } = await client.query<{ word: string; term: string }>({
    name: 'search-similar-terms',
    text: 'SELECT word, term FROM search_similar_terms($1::text[])',
    values: [words],
  });
  for (const row of rows) found.get(row.word)!.push(row.term);
  return found;
}

export interface SearchQuerySql {
  /** A tsquery, built from the analysed query (search/postgres.ts). */
  tsquery: string;
  types: string[] | null;
  hazardClass: string | null;
  unNumbers: string[];
  typeHints: string[];
  /** Normalised titles that count as an exact match, and LIKE patterns that count as a prefix match. */
  exactTitles: string[];
  titlePrefixes: string[];
  /** What was typed (and its best correction), normalised: titles starting so are always candidates. */
  typedTitles: string[];
  /** The normalised query, for trigram similarity with titles. */
  text: string;
  limit: number;
}

export interface SearchRow {
  type: string;
  id: string;
  title: string;
  fields: Record<string, string | null>;
  unNumbers: string[];
  classes: string[];
  status: string | null;
}

export interface SearchRows {
  found: number;
  /** false: the company has more matches than were ranked and counted (SEARCH_CANDIDATES). */
  exact: boolean;
  hits: SearchRow[];
  types: Array<{ value: string; count: number }>;
  classes: Array<{ value: string; count: number }>;
}

/** Longest a field is answered (and highlighted from): an extracted text is not sent whole with every hit. */
const FIELD_CHARACTERS = 1000;
/** A company's newest matches ranked per search (every catalogue match is, too): see `search_candidates`. */
export const SEARCH_CANDIDATES = 100;
/** Hits ordered by trigram similarity as the last tie-break: the best this many by everything before it. */
const SIMILARITY_WINDOW = 100;

/**
 * Ranks the candidates (`search_candidates`, in the migration: why it runs with the owner's rights,
 * and how the set is bounded): an exact UN number first (the catalogue entry before the shipments
 * carrying it), the types the query names, titles equal to the query, titles it starts, full-text
 * rank, trigram similarity of the title, the newest. Counts the candidates by type and class. The page's rows
 * are read by primary key through row-level security.
 */
export async function searchDocuments(client: pg.Client, q: SearchQuerySql): Promise<SearchRows> {
  const { rows } = await client.query<SearchRows>({
    name: 'search-documents',
    text: `WITH matched AS MATERIALIZED (
       SELECT m.doc_type, m.doc_id, m.class_groups, m.rank, m.title_key, m.updated_at, m.capped,
              CASE WHEN m.un_numbers && $4::text[] THEN CASE WHEN m.doc_type = 'dangerous-good' THEN 2 ELSE 1 END ELSE 0 END AS un_tier,
              m.doc_type = ANY($5::text[]) AS hinted,
              m.title_key = ANY($6::text[]) AS exact,
              m.title_key LIKE ANY($7::text[]) AS prefixed
         FROM search_candidates($1::tsquery, $2::text[], $3::text, $8::text[], ${SEARCH_CANDIDATES}) m),
     best AS (
       SELECT * FROM matched ORDER BY un_tier DESC, hinted DESC, exact DESC, prefixed DESC, rank DESC LIMIT greatest($10::int, ${SIMILARITY_WINDOW})),
     page AS (
       SELECT doc_type, doc_id, un_tier, hinted, exact, prefixed, rank, similarity(title_key, $9) AS sim, updated_at, title_key
         FROM best
        ORDER BY un_tier DESC, hinted DESC, exact DESC, prefixed DESC, rank DESC, similarity(title_key, $9) DESC, updated_at DESC, title_key, doc_id
        LIMIT $10)
     SELECT (SELECT count(*) FROM matched)::int AS found,
            NOT coalesce((SELECT bool_or(capped) FROM matched), false) AS exact,
            (SELECT coalesce(json_agg(json_build_object(
                      'type', d.doc_type, 'id', d.doc_id, 'title', d.title,
                      'fields', (SELECT coalesce(jsonb_object_agg(key, left(value, ${FIELD_CHARACTERS})), '{}'::jsonb) FROM jsonb_each_text(d.fields)),
                      'unNumbers', d.un_numbers, 'classes', d.classes, 'status', d.status)
                    ORDER BY p.un_tier DESC, p.hinted DESC, p.exact DESC, p.prefixed DESC, p.rank DESC, p.sim DESC, p.updated_at DESC, p.title_key, p.doc_id), '[]'::json)
               FROM page p JOIN search_documents d ON d.doc_type = p.doc_type AND d.doc_id = p.doc_id) AS hits,
            (SELECT coalesce(json_agg(json_build_object('value', doc_type, 'count', n) ORDER BY n DESC, doc_type), '[]'::json)
               FROM (SELECT doc_type, count(*)::int AS n FROM matched GROUP BY doc_type) t) AS types,
            (SELECT coalesce(json_agg(json_build_object('value', g, 'count', n) ORDER BY g), '[]'::json)
               FROM (SELECT g, count(*)::int AS n FROM matched, unnest(class_groups) g GROUP BY g) c) AS classes`,
    values: [q.tsquery, q.types, q.hazardClass, q.unNumbers, q.typeHints, q.exactTitles, q.titlePrefixes, q.typedTitles, q.text, q.limit],
  });
  return rows[0]!;
}

export interface SuggestionRow {
  type: string;
  id: string;
  title: string;
  title_key: string;
  un_number: string | null;
}

/**
 * The upper bound of the keys starting with `prefix` in byte order (the columns are COLLATE "C"):
 * a range the B-tree serves under row-level security, where LIKE (not leakproof) would not be.
 */
const upTo = (prefix: string) => `${prefix}\u{10FFFF}`;

/** Titles starting with `prefix` (normalised), catalogue and own company, each scope by its index in title order. */
export async function titlesStartingWith(client: pg.Client, prefix: string, limit: number): Promise<SuggestionRow[]> {
  const { rows } = await client.query<SuggestionRow>({
    name: 'search-titles-starting',
    text: `(SELECT doc_type AS type, doc_id AS id, title, title_key, un_numbers[1] AS un_number FROM search_documents
       WHERE company_id IS NULL AND title_key >= $1 AND title_key < $2 ORDER BY title_key LIMIT $3)
     UNION ALL
     (SELECT doc_type, doc_id, title, title_key, un_numbers[1] FROM search_documents
       WHERE company_id = current_company_id() AND title_key >= $1 AND title_key < $2 ORDER BY title_key LIMIT $3)`,
    values: [prefix, upTo(prefix), limit],
  });
  return rows;
}

/** Titles with a word (not the first) starting as typed, when the words before it match too. */
export async function titlesWithWordsStarting(client: pg.Client, tsquery: string, limit: number): Promise<SuggestionRow[]> {
  const { rows } = await client.query<SuggestionRow>({
    name: 'search-title-words-starting',
    text: `SELECT d.doc_type AS type, d.doc_id AS id, d.title, d.title_key, d.un_numbers[1] AS un_number
       FROM (SELECT doc_type, doc_id FROM search_candidates($1::tsquery, NULL, NULL, '{}', $2) ORDER BY length(title_key), title_key LIMIT $2) m
       JOIN search_documents d ON d.doc_type = m.doc_type AND d.doc_id = m.doc_id
      ORDER BY length(d.title_key), d.title_key`,
    values: [tsquery, limit],
  });
  return rows;
}

/** Catalogue entries whose UN number starts as typed ("UN10"), in number order. */
export async function unNumbersStartingWith(client: pg.Client, prefix: string, limit: number): Promise<SuggestionRow[]> {
  const { rows } = await client.query<SuggestionRow>({
    name: 'search-un-numbers-starting',
    text: `SELECT doc_type AS type, doc_id AS id, title, title_key, un_numbers[1] AS un_number FROM search_documents
      WHERE doc_type = 'dangerous-good' AND (un_numbers[1] COLLATE "C") >= $1 AND (un_numbers[1] COLLATE "C") < $2
      ORDER BY (un_numbers[1] COLLATE "C"), title_key LIMIT $3`,
    values: [prefix, upTo(prefix), limit],
  });
  return rows;
}

export const escapeLike = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

export interface StoredSearchDocument {
  type: string;
  id: string;
  companyId: string | null;
  title: string;
  fields: Record<string, string | null>;
  unNumbers: string[];
  classes: string[];
  status: string | null;
}

/** A company's own document, written as that company (row-level security refuses another's, and the catalogue's). */
export async function putSearchDocument(db: Database, doc: StoredSearchDocument & { companyId: string }): Promise<void> {
  await inTenant(db, doc.companyId, (em) =>
    // Arrays travel as JSON: the query builder would spread an array parameter into a list.
    em.execute(
      `SELECT search_index_put(?, ?::uuid, ?::uuid, ?, ?::jsonb, ARRAY(SELECT jsonb_array_elements_text(?::jsonb)), ARRAY(SELECT jsonb_array_elements_text(?::jsonb)), ?)`,
      [doc.type, doc.id, doc.companyId, doc.title, JSON.stringify(doc.fields), JSON.stringify(doc.unNumbers), JSON.stringify(doc.classes), doc.status],
    ),
  );
}

export async function removeSearchDocument(db: Database, companyId: string, type: string, id: string): Promise<void> {
  await inTenant(db, companyId, (em) => em.execute('SELECT search_index_remove(?, ?::uuid)', [type, id]));
}

// ---------------------------------------------------------------------------------------------
// The external engine's side: every company's documents, through owner-rights functions
// ---------------------------------------------------------------------------------------------

interface ExportRow {
  doc_type: string;
  doc_id: string;
  company_id: string | null;
  title: string;
  fields: Record<string, string | null>;
  un_numbers: string[];
  classes: string[];
  status: string | null;
}

const stored = (row: ExportRow): StoredSearchDocument => ({
  type: row.doc_type,
  id: row.doc_id,
  companyId: row.company_id,
  title: row.title,
  fields: row.fields,
  unNumbers: row.un_numbers,
  classes: row.classes,
  status: row.status,
});

/** Starts queueing every change for the external engine; true when it was not queueing for this engine (a full export is due). */
export async function enableSearchOutbox(db: Database, engine: string): Promise<boolean> {
  const [row] = await db.em.fork().execute<Array<{ changed: boolean }>>('SELECT search_sync_enable(?) AS changed', [engine]);
  return row!.changed;
}

/** No external engine: stop queueing and drop what is queued. */
export async function disableSearchOutbox(db: Database): Promise<void> {
  await db.em.fork().execute('SELECT search_sync_disable()');
}

export interface OutboxChange {
  outboxId: string;
  type: string;
  id: string;
  /** The document as it is now, or null when it is gone. */
  document: StoredSearchDocument | null;
}

/** The oldest queued changes, each with the document as it now is (so a late change is never overtaken by an early one). */
export async function takeSearchOutbox(db: Database, limit: number): Promise<OutboxChange[]> {
  const rows = await db.em.fork().execute<Array<ExportRow & { outbox_id: string; present: boolean }>>('SELECT * FROM search_outbox_take(?)', [limit]);
  return rows.map((row) => ({ outboxId: String(row.outbox_id), type: row.doc_type, id: row.doc_id, document: row.present ? stored(row) : null }));
}

export async function ackSearchOutbox(db: Database, outboxIds: readonly string[]): Promise<void> {
  if (outboxIds.length > 0) await db.em.fork().execute('SELECT search_outbox_ack(ARRAY(SELECT jsonb_array_elements_text(?::jsonb)::bigint))', [JSON.stringify(outboxIds)]);
}

/** Every document in (type, id) order after `after`: a full export, one page at a time. */
export async function exportSearchDocuments(db: Database, after: { type: string; id: string } | null, limit: number): Promise<StoredSearchDocument[]> {
  const rows = await db.em.fork().execute<ExportRow[]>('SELECT * FROM search_documents_export(?, ?::uuid, ?)', [after?.type ?? null, after?.id ?? null, limit]);
  return rows.map(stored);
}

/**
 * Resolves when a change is queued (NOTIFY search_outbox) or after `ms`, on a connection of its
 * own (LISTEN holds its session); the caller drains the outbox either way.
 */
export async function waitForSearchOutbox(databaseUrl: string, ms: number, signal?: AbortSignal): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, ms);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      client.on('notification', done);
      client.on('error', reject);
      signal?.addEventListener('abort', done, { once: true });
      client.query('LISTEN search_outbox').then(async () => {
        // Queued before the LISTEN took effect: no notification will come for it.
        const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM (SELECT 1 FROM search_outbox_take(1)) t');
        if (rows[0]!.n > 0) done();
      }, reject);
    });
  } finally {
    await client.end().catch(() => undefined);
  }
}
