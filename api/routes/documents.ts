import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import type { RouterContext } from '@koa/router';
import { TypedSearchAttributes } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import { appendAudit } from '../../db/audit.js';
import { attachmentExists, deleteDocument, getDocument, insertDocument, listDocuments, type DocumentRow } from '../../db/documents.js';
import { inTenant } from '../../db/orm.js';
import type { DocumentStore } from '../../documents/store.js';
import { documentKey } from '../../documents/store.js';
import { receiveUpload, UploadRefused } from '../../documents/upload.js';
import {
  ATTACHMENT_TYPES,
  DOCUMENT_KINDS,
  DOCUMENT_MEDIA_TYPES,
  downloadFileName,
  parseRange,
  PROCESSED_KINDS,
  PROCESSING_STATUSES,
  UPLOAD_PERMISSION,
  type AttachmentType,
  type DocumentMediaType,
} from '../../domain/documents.js';
import { allows } from '../../domain/rbac.js';
import { DOCUMENT_PROCESSING_WORKFLOW_TYPE, DocumentSearchAttributes, documentWorkflowId, type DocumentProcessingInput } from '../../workflows/contracts/document.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { forbidden, notFound, Problem, validationFailed } from '../problem.js';
import { routeParams } from '../resource.js';
import { securedRouteWithoutTenantData, securedStreamRoute, type ApiState, type Caller, type RouteDeps } from '../routing.js';
import { parse, text } from '../validation.js';

/** What the document routes need beyond the other routes: the store, the size limit, and Temporal to start processing. */
export interface DocumentServices {
  store: DocumentStore | undefined;
  maxBytes: number;
  client: Client;
  /** The documents task queue, with the deployment's prefix (config/env.ts `taskQueues`). */
  taskQueue: string;
}

/** Room for the form's other parts and boundaries on top of the file: a Content-Length beyond the file limit plus this is refused unread. */
const FORM_OVERHEAD = 64 * 1024;

const uuid = z.uuid({ error: 'must be a UUID' });
const attachmentFields = { shipmentId: uuid.optional(), vehicleId: uuid.optional(), inspectionId: uuid.optional(), incidentId: uuid.optional() };
const ATTACHMENT_FIELD: Record<AttachmentType, keyof typeof attachmentFields> = { shipment: 'shipmentId', vehicle: 'vehicleId', inspection: 'inspectionId', incident: 'incidentId' };
const oneAttachment = (value: Partial<Record<keyof typeof attachmentFields, string>>) => Object.values(ATTACHMENT_FIELD).filter((field) => value[field] !== undefined).length <= 1;

/** The upload form's text fields (the file goes in `file`); at most one attachment. */
export const uploadForm = z
  .strictObject({ kind: z.enum(DOCUMENT_KINDS), title: text(200).optional(), ...attachmentFields })
  .refine(oneAttachment, { error: 'attach the document to one of shipmentId, vehicleId, inspectionId, incidentId at most', path: ['shipmentId'] });
export const UPLOAD_FILE_FIELD = 'file';

export const documentListQuery = z
  .strictObject({
    kind: z.enum(DOCUMENT_KINDS).optional(),
    ...attachmentFields,
    limit: z.coerce.number().int().min(1).max(100).default(25),
    cursor: z.string().max(200).optional(),
  })
  .refine(oneAttachment, { error: 'filter by one of shipmentId, vehicleId, inspectionId, incidentId at most', path: ['shipmentId'] });
const cursorSchema = z.strictObject({ c: z.iso.datetime(), id: z.uuid() });

const mediaTypes = Object.keys(DOCUMENT_MEDIA_TYPES) as [DocumentMediaType, ...DocumentMediaType[]];

/** What a document's metadata answers, as JSON: the response schema of the OpenAPI contract. */
export const documentView = z.object({
  id: z.uuid(),
  kind: z.enum(DOCUMENT_KINDS),
  title: z.string(),
  fileName: z.string(),
  mediaType: z.enum(mediaTypes),
  sizeBytes: z.number().int(),
  sha256: z.string(),
  attachedTo: z.object({ type: z.enum(ATTACHMENT_TYPES), id: z.uuid() }).nullable(),
  processing: z.object({ status: z.enum(PROCESSING_STATUSES), processedAt: z.iso.datetime().nullable() }).nullable(),
  uploadedBy: z.object({ subject: z.string(), username: z.string().nullable() }),
  contentUrl: z.string(),
  createdAt: z.iso.datetime(),
});
type DocumentView = z.infer<typeof documentView>;

const view = (document: DocumentRow): DocumentView => ({
  id: document.id,
  kind: document.kind,
  title: document.title,
  fileName: document.originalName,
  mediaType: document.mediaType,
  sizeBytes: document.sizeBytes,
  sha256: document.sha256,
  attachedTo: document.attachedTo,
  processing: document.processingStatus ? { status: document.processingStatus, processedAt: document.processedAt?.toISOString() ?? null } : null,
  uploadedBy: document.uploadedBy,
  contentUrl: `/api/v1/documents/${document.id}/content`,
  createdAt: document.createdAt.toISOString(),
});

const attachmentOf = (input: Partial<Record<keyof typeof attachmentFields, string | undefined>>) => {
  const type = ATTACHMENT_TYPES.find((t) => input[ATTACHMENT_FIELD[t]] !== undefined);
  return type ? { type, id: input[ATTACHMENT_FIELD[type]]! } : undefined;
};

/** An UploadRefused as the API answers it; a body left unread closes the connection rather than being read to its end. */
function refusal(error: UploadRefused, bodyRead: boolean): Problem {
  const headers: Record<string, string> = bodyRead ? {} : { Connection: 'close' };
  const titles = { 400: 'Bad Request', 413: 'Content Too Large', 415: 'Unsupported Media Type', 422: 'Unprocessable Content' } as const;
  return new Problem(error.status, titles[error.status], error.message, { headers, ...(error.field && error.status !== 413 && error.status !== 415 ? { errors: [{ path: error.field, message: error.message }] } : {}) });
}

const auditOf = (ctx: RouterContext<ApiState>, caller: Caller) => ({ companyId: caller.companyId, actorSubject: caller.subject, actorUsername: caller.username, requestId: ctx.state.requestId });

/**
 * Documents: a streamed multipart upload (type from the bytes, SHA-256, duplicates per company,
 * stored before its row commits, processing started for manifests and DG declarations), metadata
 * reads, a download with HEAD and single ranges, and deletion. Every write is audited.
 */
export function documentRoutes(deps: RouteDeps, services: DocumentServices): Router<ApiState> {
  const router = new Router<ApiState>({ prefix: '/api/v1' });
  const { db } = deps;
  const storage = (): DocumentStore => {
    if (!services.store) throw new Problem(503, 'Service Unavailable', 'Document storage is not configured on this server');
    return services.store;
  };

  securedStreamRoute(router, deps, 'POST /api/v1/documents', async (ctx, caller) => {
    const declared = Number(ctx.get('Content-Length') || 0);
    if (declared > services.maxBytes + FORM_OVERHEAD) throw new Problem(413, 'Content Too Large', `The file exceeds ${services.maxBytes} bytes`, { headers: { Connection: 'close' } });
    const id = randomUUID();
    const upload = await receiveUpload(ctx.req, { store: storage(), key: documentKey(caller.companyId, id), maxBytes: services.maxBytes, fields: Object.keys(uploadForm.shape), fileField: UPLOAD_FILE_FIELD }).catch((error: unknown) => {
      throw error instanceof UploadRefused ? refusal(error, ctx.req.complete) : error;
    });
    const { file } = upload;
    try {
      const input = parse(uploadForm, upload.fields);
      const permission = UPLOAD_PERMISSION[input.kind];
      if (!allows(caller.role, permission)) throw forbidden(`Uploading a ${input.kind} needs the "${permission}" permission, which your role does not have`);
      const attachedTo = attachmentOf(input) ?? null;
      const processed = PROCESSED_KINDS.includes(input.kind);
      const created = await inTenant(db, caller.companyId, async (em) => {
        if (attachedTo && !(await attachmentExists(em, caller.companyId, attachedTo))) throw validationFailed([{ path: ATTACHMENT_FIELD[attachedTo.type], message: `no such ${attachedTo.type} in your company` }]);
        const result = await insertDocument(em, {
          id,
          companyId: caller.companyId,
          kind: input.kind,
          title: input.title ?? file.originalName,
          originalName: file.originalName,
          mediaType: file.mediaType,
          sizeBytes: file.sizeBytes,
          sha256: file.sha256,
          storageKey: documentKey(caller.companyId, id),
          attachedTo,
          uploadedBy: { subject: caller.subject, username: caller.username ?? null },
          processingStatus: processed ? 'PENDING' : null,
        });
        if ('duplicateOf' in result) {
          throw new Problem(409, 'Conflict', `This file is already stored in your company as document ${result.duplicateOf}`, { headers: { Location: `/api/v1/documents/${result.duplicateOf}` } });
        }
        const document = view(result.inserted);
        await appendAudit(em, { ...auditOf(ctx, caller), action: 'create', entityType: 'document', entityId: id, after: document });
        await file.staged.commit();
        // Started before the row commits, so no committed manifest is left unprocessed; the workflow waits for the row (a failed commit leaves it nothing to do).
        if (processed) {
          const processing: DocumentProcessingInput = { companyId: caller.companyId, documentId: id };
          await services.client.workflow.start(DOCUMENT_PROCESSING_WORKFLOW_TYPE, {
            workflowId: documentWorkflowId(id),
            taskQueue: services.taskQueue,
            args: [processing],
            typedSearchAttributes: new TypedSearchAttributes([{ key: DocumentSearchAttributes.CompanyId, value: caller.companyId }]),
          });
        }
        return document;
      });
      ctx.status = 201;
      ctx.set('Location', `/api/v1/documents/${id}`);
      ctx.body = created;
    } catch (error) {
      await file.staged.discard();
      throw error;
    }
  });

  securedRouteWithoutTenantData(router, deps, 'GET /api/v1/documents', async (ctx, caller) => {
    const query = parse(documentListQuery, ctx.query, 400);
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, cursorSchema);
    const page = await inTenant(db, caller.companyId, (em) =>
      listDocuments(em, caller.companyId, { kind: query.kind, attachedTo: attachmentOf(query), after: after ? { createdAt: after.c, id: after.id } : undefined, limit: query.limit }),
    );
    ctx.body = { items: page.items.map(view), nextCursor: page.next ? encodeCursor({ c: page.next.createdAt, id: page.next.id }) : null };
  });

  const own = async (ctx: RouterContext<ApiState>, caller: Caller) => {
    const document = await inTenant(db, caller.companyId, (em) => getDocument(em, caller.companyId, routeParams(ctx).id!));
    if (!document) throw notFound('No such document in your company');
    return document;
  };

  securedRouteWithoutTenantData(router, deps, 'GET /api/v1/documents/:id', async (ctx, caller) => {
    ctx.body = view(await own(ctx, caller));
  });

  // GET and HEAD (the router answers HEAD on every GET route): the same headers, HEAD without the bytes.
  securedRouteWithoutTenantData(router, deps, 'GET /api/v1/documents/:id/content', async (ctx, caller) => {
    const document = await own(ctx, caller);
    const etag = `"${document.sha256}"`;
    // A download, never rendered in the API's origin; the type is the sniffed one, so a browser need not guess.
    ctx.attachment(downloadFileName(document.originalName, document.mediaType), { type: 'attachment' });
    ctx.set({ ETag: etag, 'Accept-Ranges': 'bytes', 'Cache-Control': 'private, no-cache', 'X-Content-Type-Options': 'nosniff', 'Content-Security-Policy': "default-src 'none'; sandbox" });
    // If-Range: the range only if the bytes are still the ones the client has part of; otherwise the whole.
    const ifRange = ctx.get('If-Range');
    const range = ifRange && ifRange !== etag ? ({ kind: 'whole' } as const) : parseRange(ctx.get('Range') || undefined, document.sizeBytes);
    if (range.kind === 'unsatisfiable') throw new Problem(416, 'Range Not Satisfiable', `The document has ${document.sizeBytes} bytes`, { headers: { 'Content-Range': `bytes */${document.sizeBytes}` } });
    const part = range.kind === 'partial' ? { start: range.start, end: range.end } : undefined;
    if (part) ctx.set('Content-Range', `bytes ${part.start}-${part.end}/${document.sizeBytes}`);
    ctx.status = part ? 206 : 200;
    if (ctx.method !== 'HEAD') ctx.body = await storage().read(document.storageKey, part);
    ctx.type = document.mediaType;
    ctx.length = part ? part.end - part.start + 1 : document.sizeBytes;
  });

  securedRouteWithoutTenantData(router, deps, 'DELETE /api/v1/documents/:id', async (ctx, caller) => {
    const id = routeParams(ctx).id!;
    const deleted = await inTenant(db, caller.companyId, async (em) => {
      const removed = await deleteDocument(em, caller.companyId, id);
      if (!removed) throw notFound('No such document in your company');
      await appendAudit(em, { ...auditOf(ctx, caller), action: 'delete', entityType: 'document', entityId: id, before: view(removed.document) });
      for (const sdsId of removed.sdsIds) await appendAudit(em, { ...auditOf(ctx, caller), action: 'delete', entityType: 'sds', entityId: sdsId, before: { documentId: id } });
      return removed.document;
    });
    // The row is gone and committed: bytes left behind by a failed removal are unreachable, and the next delete of the key is harmless.
    await storage().remove(deleted.storageKey).catch(() => undefined);
    ctx.status = 204;
  });

  return router;
}
