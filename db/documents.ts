import type { AttachmentType, DocumentKind, DocumentMediaType, ProcessingStatus } from '../domain/documents.js';
import type { Finding } from '../domain/manifest-extraction.js';
import type { EntityManager } from './orm.js';

/**
 * Documents, their manifest findings and attachments, in SQL. Every function runs in a tenant
 * transaction (inTenant / the request's): row-level security confines it to the caller's company,
 * and each statement names the company as well.
 */

export interface NewDocument {
  id: string;
  companyId: string;
  kind: DocumentKind;
  title: string;
  originalName: string;
  mediaType: DocumentMediaType;
  sizeBytes: number;
  sha256: string;
  storageKey: string;
  attachedTo: { type: AttachmentType; id: string } | null;
  uploadedBy: { subject: string; username: string | null };
  processingStatus: ProcessingStatus | null;
}

export interface DocumentRow extends NewDocument {
  processedAt: Date | null;
  createdAt: Date;
}

const COLUMNS = `id, company_id, kind, title, original_name, media_type, size_bytes, sha256, storage_key, shipment_id, vehicle_id, inspection_id, incident_id,
  uploaded_by_subject, uploaded_by_username, processing_status, processed_at, created_at`;

interface Row {
  id: string;
  company_id: string;
  kind: DocumentKind;
  title: string;
  original_name: string;
  media_type: DocumentMediaType;
  size_bytes: string | number;
  sha256: string;
  storage_key: string;
  shipment_id: string | null;
  vehicle_id: string | null;
  inspection_id: string | null;
  incident_id: string | null;
  uploaded_by_subject: string;
  uploaded_by_username: string | null;
  processing_status: ProcessingStatus | null;
  // The driver hands timestamps over as text.
  processed_at: string | null;
  created_at: string;
}

/** The attachment columns, by attachment type. */
const ATTACHMENT_COLUMN = { shipment: 'shipment_id', vehicle: 'vehicle_id', inspection: 'inspection_id', incident: 'incident_id' } as const satisfies Record<AttachmentType, string>;
/** The table an attachment type points at. */
const ATTACHMENT_TABLE = { shipment: 'shipments', vehicle: 'vehicles', inspection: 'inspections', incident: 'incidents' } as const satisfies Record<AttachmentType, string>;

function toRow(row: Row): DocumentRow {
  const attached = (Object.entries(ATTACHMENT_COLUMN) as Array<[AttachmentType, keyof Row]>).find(([, column]) => row[column] !== null);
  return {
    id: row.id,
    companyId: row.company_id,
    kind: row.kind,
    title: row.title,
    originalName: row.original_name,
    mediaType: row.media_type,
    sizeBytes: Number(row.size_bytes),
    sha256: row.sha256,
    storageKey: row.storage_key,
    attachedTo: attached ? { type: attached[0], id: row[attached[1]] as string } : null,
    uploadedBy: { subject: row.uploaded_by_subject, username: row.uploaded_by_username },
    processingStatus: row.processing_status,
    processedAt: row.processed_at === null ? null : new Date(row.processed_at),
    createdAt: new Date(row.created_at),
  };
}

/** Whether the attachment target exists in the company (row-level security hides every other company's). */
export async function attachmentExists(em: EntityManager, companyId: string, attachment: { type: AttachmentType; id: string }): Promise<boolean> {
  const rows = await em.execute<Array<{ found: number }>>(`SELECT 1 AS found FROM ${ATTACHMENT_TABLE[attachment.type]} WHERE company_id = ? AND id = ?`, [companyId, attachment.id]);
  return rows.length > 0;
}


/**
 * Inserts the document; when the company already holds these bytes, inserts nothing and answers
 * the existing document's id as `duplicateOf` (a concurrent twin is caught by the unique key too).
 */
export async function insertDocument(em: EntityManager, document: NewDocument): Promise<{ inserted: DocumentRow } | { duplicateOf: string }> {
  const column = document.attachedTo ? ATTACHMENT_COLUMN[document.attachedTo.type] : null;
  const [row] = await em.execute<Row[]>(
    `INSERT INTO documents (id, company_id, kind, title, original_name, media_type, size_bytes, sha256, storage_key, uploaded_by_subject, uploaded_by_username, processing_status${column ? `, ${column}` : ''})
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?${column ? ', ?' : ''})
     ON CONFLICT (company_id, sha256) DO NOTHING
     RETURNING ${COLUMNS}`,
    [
      document.id,
      document.companyId,
      document.kind,
      document.title,
      document.originalName,
      document.mediaType,
      document.sizeBytes,
      document.sha256,
      document.storageKey,
      document.uploadedBy.subject,
      document.uploadedBy.username,
      document.processingStatus,
      ...(document.attachedTo ? [document.attachedTo.id] : []),
    ],
  );
  if (row) return { inserted: toRow(row) };
  const [existing] = await em.execute<Array<{ id: string }>>('SELECT id FROM documents WHERE company_id = ? AND sha256 = ?', [document.companyId, document.sha256]);
  return { duplicateOf: existing!.id };
}

export async function getDocument(em: EntityManager, companyId: string, id: string): Promise<DocumentRow | undefined> {
  const [row] = await em.execute<Row[]>(`SELECT ${COLUMNS} FROM documents WHERE company_id = ? AND id = ?`, [companyId, id]);
  return row ? toRow(row) : undefined;
}

export interface DocumentFilters {
  kind?: DocumentKind | undefined;
  attachedTo?: { type: AttachmentType; id: string } | undefined;
  after?: { createdAt: string; id: string } | undefined;
  limit: number;
}

/** Newest first, paged by (created_at, id). */
export async function listDocuments(em: EntityManager, companyId: string, filters: DocumentFilters): Promise<{ items: DocumentRow[]; next: { createdAt: string; id: string } | null }> {
  const where = ['company_id = ?'];
  const params: unknown[] = [companyId];
  if (filters.kind) {
    where.push('kind = ?');
    params.push(filters.kind);
  }
  if (filters.attachedTo) {
    where.push(`${ATTACHMENT_COLUMN[filters.attachedTo.type]} = ?`);
    params.push(filters.attachedTo.id);
  }
  if (filters.after) {
    where.push('(created_at, id) < (?::timestamptz, ?::uuid)');
    params.push(filters.after.createdAt, filters.after.id);
  }
  const rows = await em.execute<Row[]>(`SELECT ${COLUMNS} FROM documents WHERE ${where.join(' AND ')} ORDER BY created_at DESC, id DESC LIMIT ?`, [...params, filters.limit + 1]);
  const page = rows.slice(0, filters.limit).map(toRow);
  const last = page.at(-1);
  return { items: page, next: rows.length > filters.limit && last ? { createdAt: last.createdAt.toISOString(), id: last.id } : null };
}

/** Deletes the document (its findings and SDS entries go with it); answers what was deleted, for the audit log. */
export async function deleteDocument(em: EntityManager, companyId: string, id: string): Promise<{ document: DocumentRow; sdsIds: string[] } | undefined> {
  const sds = await em.execute<Array<{ id: string }>>('SELECT id FROM sds WHERE company_id = ? AND document_id = ? ORDER BY id', [companyId, id]);
  const [row] = await em.execute<Row[]>(`DELETE FROM documents WHERE company_id = ? AND id = ? RETURNING ${COLUMNS}`, [companyId, id]);
  return row ? { document: toRow(row), sdsIds: sds.map((s) => s.id) } : undefined;
}

/** Stores the text of a processed document (what search reads), without NUL characters PostgreSQL cannot hold. */
export async function writeExtractedText(em: EntityManager, companyId: string, id: string, text: string): Promise<boolean> {
  // eslint-disable-next-line no-control-regex -- NUL is exactly what is removed
  const rows = await em.execute<Array<{ id: string }>>('UPDATE documents SET extracted_text = ?, updated_at = now() WHERE company_id = ? AND id = ? RETURNING id', [text.replace(/\u0000/g, ''), companyId, id]);
  return rows.length > 0;
}

/**
 * Replaces the document's findings with these and records how processing ended, in one
 * transaction (a retried activity writes the same rows again, never twice). Answers false when the
 * document is gone.
 */
export async function recordFindings(em: EntityManager, input: { companyId: string; documentId: string; shipmentId: string | null; findings: readonly Finding[]; status: ProcessingStatus }): Promise<boolean> {
  const [document] = await em.execute<Array<{ id: string }>>('SELECT id FROM documents WHERE company_id = ? AND id = ? FOR UPDATE', [input.companyId, input.documentId]);
  if (!document) return false;
  await em.execute('DELETE FROM manifest_findings WHERE company_id = ? AND document_id = ?', [input.companyId, input.documentId]);
  if (input.findings.length > 0) {
    const records = input.findings.map((finding, position) => ({
      position,
      kind: finding.kind,
      un_number: finding.unNumber,
      proper_shipping_name: finding.properShippingName?.slice(0, 500) ?? null,
      hazard_class: finding.hazardClass,
      packing_group: finding.packingGroup,
      quantity: finding.quantity,
      unit: finding.unit,
      page: finding.page,
      detail: finding.detail.slice(0, 2000),
    }));
    await em.execute(
      `INSERT INTO manifest_findings (company_id, document_id, shipment_id, position, kind, un_number, proper_shipping_name, hazard_class, packing_group, quantity, unit, page, detail)
       SELECT ?, ?, ?, r.position, r.kind, r.un_number, r.proper_shipping_name, r.hazard_class, r.packing_group, r.quantity, r.unit, r.page, r.detail
         FROM jsonb_to_recordset(?::jsonb) AS r(position int, kind text, un_number text, proper_shipping_name text, hazard_class text, packing_group text, quantity numeric, unit text, page int, detail text)`,
      [input.companyId, input.documentId, input.shipmentId, JSON.stringify(records)],
    );
  }
  // Last, so the search entry is rebuilt once with the UN numbers just written.
  await em.execute('UPDATE documents SET processing_status = ?, processed_at = now(), updated_at = now() WHERE company_id = ? AND id = ?', [input.status, input.companyId, input.documentId]);
  return true;
}

export interface StoredFinding extends Finding {
  documentId: string;
  documentTitle: string;
  documentKind: DocumentKind;
}

/** The findings of every processed document attached to the shipment, document by document (newest first), each in the order found. */
export async function shipmentFindings(em: EntityManager, companyId: string, shipmentId: string): Promise<StoredFinding[]> {
  const rows = await em.execute<
    Array<{ document_id: string; title: string; document_kind: DocumentKind; kind: Finding['kind']; un_number: string | null; proper_shipping_name: string | null; hazard_class: string | null; packing_group: Finding['packingGroup']; quantity: string | null; unit: Finding['unit']; page: number | null; detail: string }>
  >(
    `SELECT f.document_id, d.title, d.kind AS document_kind, f.kind, f.un_number, f.proper_shipping_name, f.hazard_class, f.packing_group, f.quantity, f.unit, f.page, f.detail
       FROM manifest_findings f JOIN documents d ON d.id = f.document_id
      WHERE f.company_id = ? AND f.shipment_id = ?
      ORDER BY d.created_at DESC, d.id, f.position`,
    [companyId, shipmentId],
  );
  return rows.map((r) => ({
    documentId: r.document_id,
    documentTitle: r.title,
    documentKind: r.document_kind,
    kind: r.kind,
    unNumber: r.un_number,
    properShippingName: r.proper_shipping_name,
    hazardClass: r.hazard_class,
    packingGroup: r.packing_group,
    quantity: r.quantity === null ? null : Number(r.quantity),
    unit: r.unit,
    page: r.page,
    detail: r.detail,
  }));
}
