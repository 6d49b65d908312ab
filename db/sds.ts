import { productKey, type SdsRevision } from '../domain/sds.js';
import type { EntityManager } from './orm.js';

/** The SDS library in SQL; run in a tenant transaction (row-level security confines it to the caller's company). */

export interface SdsRow {
  id: string;
  documentId: string;
  product: string;
  supplier: string;
  /** YYYY-MM-DD */
  revisionDate: string;
  unNumbers: string[];
  createdBy: { subject: string; username: string | null };
  createdAt: Date;
}

interface Row {
  id: string;
  document_id: string;
  product: string;
  supplier: string;
  revision_date: string;
  un_numbers: string[];
  created_by_subject: string;
  created_by_username: string | null;
  // The driver hands timestamps over as text.
  created_at: string;
}

const COLUMNS = `id, document_id, product, supplier, to_char(revision_date, 'YYYY-MM-DD') AS revision_date, un_numbers, created_by_subject, created_by_username, created_at`;

const toRow = (r: Row): SdsRow => ({
  id: r.id,
  documentId: r.document_id,
  product: r.product,
  supplier: r.supplier,
  revisionDate: r.revision_date,
  unNumbers: r.un_numbers,
  createdBy: { subject: r.created_by_subject, username: r.created_by_username },
  createdAt: new Date(r.created_at),
});

/** The kind of the company's document, or undefined when it has none of that id. */
export async function documentKindOf(em: EntityManager, companyId: string, documentId: string): Promise<string | undefined> {
  const [row] = await em.execute<Array<{ kind: string }>>('SELECT kind FROM documents WHERE company_id = ? AND id = ?', [companyId, documentId]);
  return row?.kind;
}

/** Records an SDS; answers undefined when its document already is one (one SDS entry per document). */
export async function insertSds(
  em: EntityManager,
  sds: { companyId: string; documentId: string; product: string; supplier: string; revisionDate: string; unNumbers: string[]; createdBy: { subject: string; username: string | null } },
): Promise<SdsRow | undefined> {
  const [row] = await em.execute<Row[]>(
    `INSERT INTO sds (company_id, document_id, product, product_key, supplier, revision_date, un_numbers, created_by_subject, created_by_username)
     VALUES (?, ?, ?, ?, ?, ?::date, ARRAY(SELECT jsonb_array_elements_text(?::jsonb)), ?, ?) ON CONFLICT (document_id) DO NOTHING RETURNING ${COLUMNS}`,
    [sds.companyId, sds.documentId, sds.product, productKey(sds.product), sds.supplier, sds.revisionDate, JSON.stringify(sds.unNumbers), sds.createdBy.subject, sds.createdBy.username],
  );
  return row ? toRow(row) : undefined;
}

export async function getSds(em: EntityManager, companyId: string, id: string): Promise<SdsRow | undefined> {
  const [row] = await em.execute<Row[]>(`SELECT ${COLUMNS} FROM sds WHERE company_id = ? AND id = ?`, [companyId, id]);
  return row ? toRow(row) : undefined;
}

export interface SdsFilters {
  /** Part of the product's name, case-insensitive. */
  product?: string | undefined;
  unNumber?: string | undefined;
  after?: { productKey: string; revisionDate: string; id: string } | undefined;
  limit: number;
}

/** By product, each product's revisions newest first; paged by (product, revision date, id). */
export async function listSds(em: EntityManager, companyId: string, filters: SdsFilters): Promise<{ items: SdsRow[]; next: { productKey: string; revisionDate: string; id: string } | null }> {
  const where = ['company_id = ?'];
  const params: unknown[] = [companyId];
  if (filters.product) {
    where.push(`product_key LIKE ? ESCAPE '\\'`);
    params.push(`%${productKey(filters.product).replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  }
  if (filters.unNumber) {
    where.push('un_numbers @> ARRAY[?]::text[]');
    params.push(filters.unNumber);
  }
  if (filters.after) {
    where.push('(product_key > ? OR (product_key = ? AND (revision_date < ?::date OR (revision_date = ?::date AND id > ?::uuid))))');
    params.push(filters.after.productKey, filters.after.productKey, filters.after.revisionDate, filters.after.revisionDate, filters.after.id);
  }
  const rows = await em.execute<Array<Row & { product_key: string }>>(
    `SELECT ${COLUMNS}, product_key FROM sds WHERE ${where.join(' AND ')} ORDER BY product_key, revision_date DESC, id LIMIT ?`,
    [...params, filters.limit + 1],
  );
  const page = rows.slice(0, filters.limit);
  const last = page.at(-1);
  return { items: page.map(toRow), next: rows.length > filters.limit && last ? { productKey: last.product_key, revisionDate: last.revision_date, id: last.id } : null };
}

/** Every revision of the products named (for deciding which is current). */
export async function revisionsOf(em: EntityManager, companyId: string, products: readonly string[]): Promise<SdsRevision[]> {
  if (products.length === 0) return [];
  const rows = await em.execute<Array<{ id: string; product: string; revision_date: string; created_at: string }>>(
    `SELECT id, product, to_char(revision_date, 'YYYY-MM-DD') AS revision_date, created_at FROM sds WHERE company_id = ? AND product_key IN (SELECT jsonb_array_elements_text(?::jsonb))`,
    [companyId, JSON.stringify([...new Set(products.map(productKey))])],
  );
  return rows.map((r) => ({ id: r.id, product: r.product, revisionDate: r.revision_date, createdAt: new Date(r.created_at).toISOString() }));
}

/** Every SDS that lists one of these UN numbers. */
export async function sdsListing(em: EntityManager, companyId: string, unNumbers: readonly string[]): Promise<SdsRow[]> {
  if (unNumbers.length === 0) return [];
  const rows = await em.execute<Row[]>(`SELECT ${COLUMNS} FROM sds WHERE company_id = ? AND un_numbers && ARRAY(SELECT jsonb_array_elements_text(?::jsonb)) ORDER BY product_key, revision_date DESC, id`, [companyId, JSON.stringify(unNumbers)]);
  return rows.map(toRow);
}
