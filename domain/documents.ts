import type { Permission } from './rbac.js';

/** What a stored document is: the seed's document kinds. */
export const DOCUMENT_KINDS = ['SDS', 'DG_DECLARATION', 'MANIFEST', 'PROOF_OF_DELIVERY', 'INSPECTION_PHOTO'] as const;
export type DocumentKind = (typeof DOCUMENT_KINDS)[number];

/** Kinds whose upload starts manifest processing (text extraction, DG lines against the catalogue and the consignment). */
export const PROCESSED_KINDS: readonly DocumentKind[] = ['MANIFEST', 'DG_DECLARATION'];

/**
 * Who may upload what. A driver hands in proof of delivery and inspection photos from the road
 * (`upload_pod`, DRIVER and up); the papers that describe a load — manifests, DG declarations and
 * safety data sheets — are office documents (`upload_documents`, OPERATOR and up). The route asks
 * for the lower permission; the handler checks the kind's.
 */
export const UPLOAD_PERMISSION: Readonly<Record<DocumentKind, Permission>> = {
  SDS: 'upload_documents',
  DG_DECLARATION: 'upload_documents',
  MANIFEST: 'upload_documents',
  PROOF_OF_DELIVERY: 'upload_pod',
  INSPECTION_PHOTO: 'upload_pod',
};

/** What a document may be attached to (at most one). */
export const ATTACHMENT_TYPES = ['shipment', 'vehicle', 'inspection', 'incident'] as const;
export type AttachmentType = (typeof ATTACHMENT_TYPES)[number];

/**
 * The types accepted, as sniffed from the bytes (never the client's header or file name), with
 * the extension a download is named with: PDF for papers, the usual photo formats for photos and scans.
 */
export const DOCUMENT_MEDIA_TYPES = {
  'application/pdf': 'pdf',
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/tiff': 'tif',
  'image/webp': 'webp',
} as const satisfies Record<string, string>;
export type DocumentMediaType = keyof typeof DOCUMENT_MEDIA_TYPES;

export const isDocumentMediaType = (mime: string | undefined): mime is DocumentMediaType => mime !== undefined && Object.hasOwn(DOCUMENT_MEDIA_TYPES, mime);

/** Where a processed document stands: being processed, done (findings stored), or unreadable (corrupt, encrypted: one finding says why). */
export const PROCESSING_STATUSES = ['PENDING', 'COMPLETED', 'UNREADABLE'] as const;
export type ProcessingStatus = (typeof PROCESSING_STATUSES)[number];

/**
 * What manifest processing found. Per DG line of the document: MATCHED (in the catalogue and, when
 * the document is attached to a shipment, as the consignment says), MISMATCHED (the class or packing
 * group disagrees with the catalogue, or the line disagrees with the consignment or is not in it),
 * UNKNOWN (the number is not in the catalogue). Per consignment item absent from the document:
 * MISSING. Per page without a text layer (a scan): NEEDS_OCR. A document that cannot be read at all
 * (corrupt, encrypted, not a PDF): UNREADABLE.
 */
export const FINDING_KINDS = ['MATCHED', 'MISMATCHED', 'MISSING', 'UNKNOWN', 'NEEDS_OCR', 'UNREADABLE'] as const;
export type FindingKind = (typeof FINDING_KINDS)[number];

const MAX_NAME = 200;

/**
 * The client's file name as metadata only (storage keys are the server's own): the last path
 * segment of either separator, without control or bidirectional-override characters, trimmed
 * and bounded. Nothing of it ever reaches a file system path.
 */
export function sanitizeFileName(raw: string | undefined): string {
  const base = (raw ?? '').split(/[/\\]/).pop() ?? '';
  const cleaned = base
    // eslint-disable-next-line no-control-regex -- control characters are exactly what is removed
    .replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^\.+/, '');
  return [...cleaned].slice(0, MAX_NAME).join('') || 'document';
}

/** The name a download is offered under: the stored name with the extension of the type the bytes really are. */
export function downloadFileName(name: string, mediaType: DocumentMediaType): string {
  const extension = DOCUMENT_MEDIA_TYPES[mediaType];
  const dot = name.lastIndexOf('.');
  const stem = dot > 0 ? name.slice(0, dot) : name;
  const current = dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
  const same = current === extension || (extension === 'jpg' && current === 'jpeg') || (extension === 'tif' && current === 'tiff');
  return same ? name : `${stem}.${extension}`;
}

/** One byte range of a representation of `size` bytes (RFC 9110 §14), or why the request gets the whole of it or a 416. */
export type RangeAnswer = { kind: 'whole' } | { kind: 'partial'; start: number; end: number } | { kind: 'unsatisfiable' };

/**
 * Reads a `Range` header for a single byte range: `bytes=a-b`, `bytes=a-`, `bytes=-n`. Anything
 * this server does not serve as a part (several ranges, another unit, a malformed header) is
 * answered with the whole representation, as RFC 9110 §14.2 allows; a well-formed range that lies
 * wholly beyond the end is unsatisfiable (416).
 */
export function parseRange(header: string | undefined, size: number): RangeAnswer {
  if (header === undefined) return { kind: 'whole' };
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m || (m[1] === '' && m[2] === '')) return { kind: 'whole' };
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  if (m[2] !== '' && Number(m[2]) < start) return { kind: 'whole' };
  const end = m[2] === '' ? size - 1 : Number(m[2]);
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end: Math.min(end, size - 1) };
}
