import { ActivityFailure, ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { DOCUMENT_GONE, UNREADABLE_DOCUMENT, type DocumentProcessingInput, type DocumentProcessingResult } from './contracts/document.js';

// The upload starts this just before its row commits: a missing row gets a few tries (about 30 s) before it counts as gone.
const { documentToProcess } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 6 },
});
// Reading the file and its pages: retried with back-off while the store or the database is away; a file that cannot be read is final.
const { extractDocumentText } = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', nonRetryableErrorTypes: [UNREADABLE_DOCUMENT, DOCUMENT_GONE] },
});
const { recordManifestFindings, recordUnreadableDocument } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/** The failure type an activity ended with, if it was one of ours. */
const failureType = (error: unknown) => (error instanceof ActivityFailure && error.cause instanceof ApplicationFailure ? error.cause.type : undefined);

/**
 * Processing of an uploaded manifest or DG declaration (`document-<id>`): its text is read page by
 * page, its DG lines are compared with the catalogue and the shipment's consignment, and the
 * findings are stored with their pages. A corrupt or encrypted file ends with one UNREADABLE
 * finding saying so; a document deleted meanwhile ends the workflow with nothing to record.
 */
export async function documentProcessingWorkflow(input: DocumentProcessingInput): Promise<DocumentProcessingResult> {
  const gone: DocumentProcessingResult = { outcome: 'DOCUMENT_GONE', findings: {} };
  try {
    const source = await documentToProcess(input);
    const extracted = await extractDocumentText({ ...input, ...source });
    const findings = await recordManifestFindings({ ...input, lines: extracted.lines, pagesWithoutText: extracted.pagesWithoutText });
    return findings ? { outcome: 'COMPLETED', findings } : gone;
  } catch (error) {
    const type = failureType(error);
    if (type === DOCUMENT_GONE) return gone;
    if (type !== UNREADABLE_DOCUMENT) throw error;
    const findings = await recordUnreadableDocument({ ...input, reason: ((error as ActivityFailure).cause as ApplicationFailure).message });
    return findings ? { outcome: 'UNREADABLE', findings } : gone;
  }
}
