/**
 * The inspection lifecycle's contract: what the API and tests import to start, feed and read a
 * vehicle's inspection programme (never the workflow file itself).
 *
 * One long-running workflow per vehicle and inspection type, not a Temporal Schedule: the next due
 * date is not a calendar rule but follows each result (a PASS on any day starts the interval from
 * that day; a FAIL keeps the old date and grounds the vehicle until a PASS), and the programme holds
 * state every result is checked against (which checklist, the last inspection's time, whether this
 * type grounds the vehicle). A Schedule would have to be rewritten after every result and could not
 * validate an update; a workflow keeps the state, takes results as validated updates, and sleeps on
 * durable timers to the next reminder or due date. It continues as new after every cycle (a PASS), so
 * its history holds one cycle, however many years the vehicle runs.
 */
import { defineSearchAttributeKey } from '@temporalio/common';
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { InspectionResult, InspectionType, ItemResult, ProgramStatus, VehicleStatus } from '../../domain/inspection-lifecycle.js';

/** The workflow's type, as clients start it. */
export const INSPECTION_WORKFLOW_TYPE = 'inspectionWorkflow';

/** One workflow per vehicle and inspection type: a type's programme is found (and can run only once at a time) by these two. */
export const inspectionWorkflowId = (vehicleId: string, inspectionType: InspectionType) => `inspection-${vehicleId}-${inspectionType}`;

/** The task queue's name before the deployment's TEMPORAL_TASK_QUEUE_PREFIX (config/env.ts `taskQueues`). */
export const INSPECTION_TASK_QUEUE = 'inspections';

/**
 * What operations staff filter on: a company's programmes, a vehicle's, one type across the fleet,
 * and what falls due before a day (`InspectionDueOn < '2027-01-01T00:00:00Z'`: the next due day's
 * first instant, UTC). CompanyId and VehicleId are the shipment contract's attributes (same name, same type).
 */
export const InspectionSearchAttributes = {
  CompanyId: defineSearchAttributeKey('CompanyId', 'KEYWORD'),
  VehicleId: defineSearchAttributeKey('VehicleId', 'KEYWORD'),
  InspectionType: defineSearchAttributeKey('InspectionType', 'KEYWORD'),
  InspectionDueOn: defineSearchAttributeKey('InspectionDueOn', 'DATETIME'),
};

export interface InspectionInput {
  companyId: string;
  vehicleId: string;
  inspectionType: InspectionType;
}

/** Who asked (the caller's token subject and username), kept on the record and in the audit log. */
export interface Actor {
  subject: string;
  username: string | null;
}

export interface OpenProgram {
  /** YYYY-MM-DD: when the first inspection is due (in the past: the programme starts overdue and grounds the vehicle at once). */
  firstDueOn: string;
  by: Actor;
}

export interface InspectionSubmission {
  items: ItemResult[];
  inspector: string;
  /** ISO instant. */
  performedAt: string;
  /** Documents (photos) of the inspection; kept as ids, the documents themselves live in the document store. */
  photoDocumentIds: string[];
  by: Actor;
}

export interface InspectionRecord {
  inspectionId: string;
  inspectionType: InspectionType;
  result: InspectionResult;
  items: ItemResult[];
  inspector: string;
  performedAt: string;
  photoDocumentIds: string[];
  recordedBy: string | null;
  /** The programme's due date after this result. */
  nextDueOn: string;
}

/** A notification still to send (carried across continue-as-new, so none is lost between runs). */
export interface PendingNotice {
  subject: string;
  text: string;
  idempotencyKey: string;
}

export interface InspectionProgramState {
  /** Null until the programme is opened (the first update of a run started by the API). */
  programId: string | null;
  status: ProgramStatus | null;
  nextDueOn: string | null;
  /** Why this type grounds the vehicle, or null. */
  groundedReason: string | null;
  /** Lead days of the reminders already sent for the current due date. */
  remindersSent: number[];
  lastPerformedAt: string | null;
  /** The latest results of this run and the one before, newest first (the full history is in the database). */
  recent: InspectionRecord[];
  notices: PendingNotice[];
}

/** What the vehicle's row says after a change of one of its programmes. */
export interface VehicleStanding {
  registration: string;
  status: VehicleStatus;
  groundedReason: string | null;
  inspectionExpiresOn: string | null;
}

export interface RecordOutcome {
  inspection: InspectionRecord;
  program: InspectionProgramState;
  vehicle: VehicleStanding;
}

/** Opens the programme (refused when it already runs). The API sends it with the workflow's start, as one update-with-start. */
export const openProgramUpdate = defineUpdate<InspectionProgramState, [OpenProgram]>('openProgram');
/** Records an inspection's result: PASS starts the next cycle and lifts this type's grounding; FAIL grounds the vehicle with the failed items. */
export const recordResultUpdate = defineUpdate<RecordOutcome, [InspectionSubmission]>('recordResult');
/** Ends the programme (vehicle sold, type no longer applies): lifts this type's grounding, and the workflow completes. */
export const retireUpdate = defineUpdate<InspectionProgramState, [{ reason: string; by: Actor }]>('retire');
export const stateQuery = defineQuery<InspectionProgramState>('state');
export const historyQuery = defineQuery<InspectionRecord[]>('history');

/** The failure type an update refuses with (state or data says no): a 409 at the API. */
export const INSPECTION_REFUSED = 'InspectionRefused';

/** How many results the workflow keeps in its state. */
export const RECENT_RESULTS = 10;
