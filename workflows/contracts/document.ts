/**
 * Document processing's contract: what the API (which starts it on the upload of a manifest or DG
 * declaration) and tests import, never the workflow file itself.
 */
import { defineSearchAttributeKey } from '@temporalio/common';
import type { FindingKind } from '../../domain/documents.js';

export const DOCUMENT_PROCESSING_WORKFLOW_TYPE = 'documentProcessingWorkflow';

/** One processing per document, found by the document's id. */
export const documentWorkflowId = (documentId: string) => `document-${documentId}`;

/** The task queue's name before the deployment's TEMPORAL_TASK_QUEUE_PREFIX (config/env.ts `taskQueues`). */
export const DOCUMENT_TASK_QUEUE = 'documents';

/** Operations staff find a company's document processing in the Temporal UI (the key the shipment lifecycle registers too). */
export const DocumentSearchAttributes = {
  CompanyId: defineSearchAttributeKey('CompanyId', 'KEYWORD'),
};

export interface DocumentProcessingInput {
  companyId: string;
  documentId: string;
}

/** How processing ended: findings stored (counted by kind), the document unreadable (one UNREADABLE finding), or gone before it could be read. */
export interface DocumentProcessingResult {
  outcome: 'COMPLETED' | 'UNREADABLE' | 'DOCUMENT_GONE';
  findings: Partial<Record<FindingKind, number>>;
}

/** The failure type of a document that cannot be read (corrupt, encrypted, not a PDF): recorded as a finding, never retried. */
export const UNREADABLE_DOCUMENT = 'UnreadableDocument';
/** The failure type of a document whose row is gone (deleted, or its upload never committed). */
export const DOCUMENT_GONE = 'DocumentGone';
