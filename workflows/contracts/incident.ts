/**
 * The incident response contract: what the API, ingest, the shipment workflow and tests import to
 * raise, move and read an incident's workflow (never the workflow file itself).
 *
 * Raising an incident, from anywhere: pick a new uuid (`uuid4()` from @temporalio/workflow inside
 * a workflow, `randomUUID()` elsewhere) and start `INCIDENT_WORKFLOW_TYPE` with id
 * `incidentWorkflowId(incidentId)` on the incidents task queue and one `IncidentInput`. The
 * workflow's first activity makes sure the incident's row exists (idempotent on `incidentId`), so
 * a caller need not write it first; the API does (its 201 promises the row), ingest and the
 * shipment workflow need not. From a workflow: `startChild` with `parentClosePolicy: ABANDON`
 * (the response outlives the shipment) and `taskQueue: siblingTaskQueue(workflowInfo().taskQueue,
 * <own base queue>)`; from a client: config/env.ts `taskQueues(config).incidents`.
 */
import { defineSearchAttributeKey } from '@temporalio/common';
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { IncidentConsequences, IncidentKind, IncidentSeverity, IncidentSource, IncidentStatus, NotificationAudience, ReportingCriterion } from '../../domain/incident-lifecycle.js';
import type { Actor } from './shipment.js';

export type { Actor };

/** The workflow's type, as clients start it. */
export const INCIDENT_WORKFLOW_TYPE = 'incidentWorkflow';

/** One workflow per incident, found by the incident's id. */
export const incidentWorkflowId = (incidentId: string) => `incident-${incidentId}`;

/** The task queue's name before the deployment's TEMPORAL_TASK_QUEUE_PREFIX (config/env.ts `taskQueues`). */
export const INCIDENT_TASK_QUEUE = 'incidents';

/**
 * The incidents task queue of the deployment a workflow runs in: its own queue with its own base
 * name (e.g. `shipments`) swapped for `incidents`, so the deployment's prefix carries over.
 */
export function siblingTaskQueue(ownTaskQueue: string, ownBaseName: string, base: string = INCIDENT_TASK_QUEUE): string {
  if (!ownTaskQueue.endsWith(ownBaseName)) throw new Error(`task queue ${ownTaskQueue} does not end with ${ownBaseName}`);
  return `${ownTaskQueue.slice(0, ownTaskQueue.length - ownBaseName.length)}${base}`;
}

/**
 * What operations staff filter on: `IncidentNumber='INC-00042'`, a company's open CRITICAL
 * incidents. ShipmentNumber and VehicleId are the shipment contract's keys (same name, same type),
 * so one query finds a shipment's workflow and its incidents.
 */
export const IncidentSearchAttributes = {
  CompanyId: defineSearchAttributeKey('CompanyId', 'KEYWORD'),
  IncidentNumber: defineSearchAttributeKey('IncidentNumber', 'KEYWORD'),
  IncidentStatus: defineSearchAttributeKey('IncidentStatus', 'KEYWORD'),
  IncidentSeverity: defineSearchAttributeKey('IncidentSeverity', 'KEYWORD'),
  ShipmentNumber: defineSearchAttributeKey('ShipmentNumber', 'KEYWORD'),
  VehicleId: defineSearchAttributeKey('VehicleId', 'KEYWORD'),
};

export interface IncidentInput {
  companyId: string;
  incidentId: string;
  kind: IncidentKind;
  severity: IncidentSeverity;
  shipmentId: string | null;
  vehicleId: string | null;
  description: string;
  /** The person who reported it; null for an alarm or the shipment workflow. */
  reportedBy: Actor | null;
  /** ISO instant. */
  occurredAt: string;
  location: { lat: number; lon: number } | null;
  source: IncidentSource;
  /** What the reporter knows of deaths, injuries, evacuations, closures and releases (decides whether it is reportable at once). */
  consequences?: IncidentConsequences;
  /** Continue as new past this many history events (default 2,000; tests set it low). */
  continueAsNewAfterEvents?: number;
}

/** A dangerous good on board when the incident happened, with what a responder needs to know of it. */
export interface DangerousGoodOnBoard {
  shipmentNumber: string;
  unNumber: string | null;
  properShippingName: string;
  hazardClass: string | null;
  packingGroup: 'I' | 'II' | 'III' | null;
  subsidiaryRisks: string[];
  quantity: number;
  unit: 'kg' | 'L';
  guidance: string;
  /** Emergency Response Guidebook guide number; null: the catalogue data has none (the guidance says where to look). */
  ergGuide: string | null;
  citation: string;
}

export interface Enrichment {
  regime: 'adg' | '49cfr';
  /** The shipment's vehicle when the report named only the shipment, or the report's vehicle. */
  vehicleId: string | null;
  shipmentNumbers: string[];
  dangerousGoods: DangerousGoodOnBoard[];
  lastPosition: { lat: number; lon: number; recordedAt: string } | null;
}

export interface GovernmentReport {
  serious: boolean;
  criteria: ReportingCriterion[];
  /** The authority's reference once filed; null when not (yet) filed, or not serious. */
  reference: string | null;
  filedAt: string | null;
  /** Why it could not be filed (no authority endpoint configured, the authority refused it). */
  problem: string | null;
}

export interface IncidentTimelineEntry {
  at: string;
  /** A transition (`report`, `acknowledge`, `start-response`, `resolve`, `close`), `enrich`, `notify`, `escalate`, `government-report`. */
  event: string;
  status: IncidentStatus;
  severity: IncidentSeverity;
  by: string | null;
  detail: string | null;
}

export interface IncidentState {
  incidentNumber: string | null;
  status: IncidentStatus;
  severity: IncidentSeverity;
  /** ISO instant the workflow first ran: the escalation timers count from here. */
  reportedAt: string | null;
  enrichment: Enrichment | null;
  /** Escalation steps of domain ESCALATION_POLICY already taken. */
  escalations: number;
  /** Audiences notified, each once (`emergency-contacts`, then escalations' audiences), with how many deliveries each reached. */
  notified: Array<{ audience: NotificationAudience; sent: number; at: string }>;
  governmentReport: GovernmentReport | null;
  timeline: IncidentTimelineEntry[];
}

export const acknowledgeUpdate = defineUpdate<IncidentState, [Actor]>('acknowledge');
export const startResponseUpdate = defineUpdate<IncidentState, [Actor]>('start-response');
export const resolveUpdate = defineUpdate<IncidentState, [{ resolution: string; by: Actor }]>('resolve');
export const closeIncidentUpdate = defineUpdate<IncidentState, [Actor]>('close');
export const incidentStateQuery = defineQuery<IncidentState>('state');
export const incidentTimelineQuery = defineQuery<IncidentTimelineEntry[]>('timeline');

/** The failure type an update handler refuses with: a 409 at the API. */
export const INCIDENT_TRANSITION_REFUSED = 'IncidentTransitionRefused';
