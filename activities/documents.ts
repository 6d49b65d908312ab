import { ApplicationFailure, Context } from '@temporalio/activity';
import { getDocumentProxy } from 'unpdf';
import type { Readable } from 'node:stream';
import { appendAudit } from '../db/audit.js';
import type { RulesSource } from '../db/dangerous-goods-rules.js';
import { getDocument, recordFindings, writeExtractedText } from '../db/documents.js';
import { inTenant, type Database } from '../db/orm.js';
import { shipmentLoadLines } from '../db/shipments.js';
import type { DocumentStore } from '../documents/store.js';
import type { DocumentMediaType, FindingKind, ProcessingStatus } from '../domain/documents.js';
import { compareManifest, declaredLines, pageLines, unreadableFinding, type DeclaredLine, type Finding, type TextRun } from '../domain/manifest-extraction.js';
import { DOCUMENT_GONE, UNREADABLE_DOCUMENT } from '../workflows/contracts/document.js';

/** The workflow, as the actor of what processing writes. */
const PROCESSING_ACTOR = { subject: 'workflow:document-processing', username: null };

/** What search keeps of a document's text: enough for any manifest, bounded for a freak one. */
const MAX_EXTRACTED_TEXT = 1_000_000;

export interface ExtractedManifest {
  pageCount: number;
  lines: DeclaredLine[];
  /** Pages with no text layer: scans that need OCR. */
  pagesWithoutText: number[];
}

const unreadable = (reason: string) => ApplicationFailure.create({ type: UNREADABLE_DOCUMENT, message: reason, nonRetryable: true });

async function bytesOf(stream: Readable): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return new Uint8Array(Buffer.concat(chunks));
}

/** PDF.js's refusals of the file itself (as opposed to anything that may pass on a retry). */
function pdfRefusal(error: unknown): string {
  const name = (error as { name?: string } | null)?.name;
  if (name === 'PasswordException') return 'the PDF is encrypted (password-protected): its text cannot be read';
  if (name === 'InvalidPDFException') return 'the PDF is corrupt: its structure cannot be read';
  return `the PDF cannot be read: ${(error as Error).message}`;
}

const counts = (findings: readonly Finding[]) =>
  findings.reduce<Partial<Record<FindingKind, number>>>((tally, finding) => ({ ...tally, [finding.kind]: (tally[finding.kind] ?? 0) + 1 }), {});

/** Activities of document processing: the document store, PDF text, and the findings in PostgreSQL. */
export function documentActivities(db: Database, rules: RulesSource, store: DocumentStore) {
  const record = async (input: { companyId: string; documentId: string }, findingsOf: (consignment: Awaited<ReturnType<typeof shipmentLoadLines>> | null) => Finding[], status: ProcessingStatus) =>
    inTenant(db, input.companyId, async (em) => {
      const document = await getDocument(em, input.companyId, input.documentId);
      if (!document) return null;
      const shipmentId = document.attachedTo?.type === 'shipment' ? document.attachedTo.id : null;
      const findings = findingsOf(shipmentId ? await shipmentLoadLines(em, shipmentId) : null);
      await recordFindings(em, { companyId: input.companyId, documentId: input.documentId, shipmentId, findings, status });
      const tally = counts(findings);
      await appendAudit(em, { companyId: input.companyId, actorSubject: PROCESSING_ACTOR.subject, actorUsername: null, action: 'document.processed', entityType: 'document', entityId: input.documentId, after: { status, findings: tally } });
      return tally;
    });

  return {
    /**
     * Where the document's bytes are and what they are. Its row may not be visible yet on the first
     * try (the upload starts processing just before it commits), so a missing row is retried a few
     * times (the workflow's retry policy) before the document counts as gone.
     */
    async documentToProcess(input: { companyId: string; documentId: string }): Promise<{ storageKey: string; mediaType: DocumentMediaType }> {
      const document = await inTenant(db, input.companyId, (em) => getDocument(em, input.companyId, input.documentId));
      if (!document) throw ApplicationFailure.create({ type: DOCUMENT_GONE, message: `document ${input.documentId} does not exist (deleted, or its upload did not commit)` });
      return { storageKey: document.storageKey, mediaType: document.mediaType };
    },

    /**
     * The text of every page (heartbeating page by page), kept for search, and the DG lines found
     * in it. A picture, or a PDF page without a text layer, needs OCR; a file PDF.js refuses
     * (corrupt, encrypted) or that is missing from the store fails for good (UNREADABLE_DOCUMENT).
     */
    async extractDocumentText(input: { companyId: string; documentId: string; storageKey: string; mediaType: DocumentMediaType }): Promise<ExtractedManifest> {
      if (input.mediaType !== 'application/pdf') return { pageCount: 1, lines: [], pagesWithoutText: [1] };
      let bytes: Uint8Array;
      try {
        bytes = await bytesOf(await store.read(input.storageKey));
      } catch (error) {
        const code = (error as { code?: string; name?: string }).code ?? (error as { name?: string }).name;
        if (code === 'ENOENT' || code === 'NoSuchKey') throw unreadable('the stored file is missing');
        throw error;
      }
      let pdf: Awaited<ReturnType<typeof getDocumentProxy>>;
      try {
        // No eval of font programs (a PDF is untrusted input); warnings about a damaged file are not our log's business.
        pdf = await getDocumentProxy(bytes, { isEvalSupported: false, disableFontFace: true, verbosity: 0 });
      } catch (error) {
        throw unreadable(pdfRefusal(error));
      }
      try {
        const pages: string[][] = [];
        const pagesWithoutText: number[] = [];
        for (let number = 1; number <= pdf.numPages; number += 1) {
          Context.current().heartbeat({ page: number, of: pdf.numPages });
          let runs: TextRun[];
          try {
            const content = await (await pdf.getPage(number)).getTextContent();
            runs = content.items.flatMap((item) => ('str' in item ? [{ str: item.str, x: Number(item.transform[4]), y: Number(item.transform[5]), width: item.width, height: item.height }] : []));
          } catch (error) {
            throw unreadable(`page ${number}: ${pdfRefusal(error)}`);
          }
          const lines = pageLines(runs);
          if (lines.length === 0) pagesWithoutText.push(number);
          pages.push(lines);
        }
        const text = pages.map((lines) => lines.join('\n')).join('\n\f\n').slice(0, MAX_EXTRACTED_TEXT);
        const stored = await inTenant(db, input.companyId, (em) => writeExtractedText(em, input.companyId, input.documentId, text));
        if (!stored) throw ApplicationFailure.create({ type: DOCUMENT_GONE, message: `document ${input.documentId} was deleted while it was read`, nonRetryable: true });
        return { pageCount: pdf.numPages, lines: declaredLines(pages), pagesWithoutText };
      } finally {
        await pdf.destroy();
      }
    },

    /** Compares the DG lines with the catalogue and the shipment's consignment, and stores the findings (replacing any earlier ones). Null: the document is gone. */
    async recordManifestFindings(input: { companyId: string; documentId: string; lines: DeclaredLine[]; pagesWithoutText: number[] }): Promise<Partial<Record<FindingKind, number>> | null> {
      const { catalogue } = await rules.current();
      return record(input, (consignment) => compareManifest({ lines: input.lines, catalogue, consignment, pagesWithoutText: input.pagesWithoutText }), 'COMPLETED');
    },

    /** A document that cannot be read: one UNREADABLE finding saying why. Null: the document is gone. */
    async recordUnreadableDocument(input: { companyId: string; documentId: string; reason: string }): Promise<Partial<Record<FindingKind, number>> | null> {
      return record(input, () => [unreadableFinding(input.reason)], 'UNREADABLE');
    },
  };
}
