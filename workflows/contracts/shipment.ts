/**
 * The shipment lifecycle's contract: what the API, ingest and tests import to start, move and
 * read a shipment's workflow (never the workflow file itself).
 */
import { defineSearchAttributeKey, type Duration } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ShipmentStatus } from '../../domain/shipment-lifecycle.js';

/** The workflow's type, as clients start it (they import this contract, never the workflow file). */
export const SHIPMENT_WORKFLOW_TYPE = 'shipmentWorkflow';

/** One workflow per shipment, found by the shipment's id. */
export const shipmentWorkflowId = (shipmentId: string) => `shipment-${shipmentId}`;

/** The task queue's name before the deployment's TEMPORAL_TASK_QUEUE_PREFIX (config/env.ts `taskQueues`). */
export const SHIPMENT_TASK_QUEUE = 'shipments';

/** What operations staff filter on in the Temporal UI: `ShipmentNumber='SS-1042'`, a company's shipments `IN_TRANSIT`. */
export const ShipmentSearchAttributes = {
  CompanyId: defineSearchAttributeKey('CompanyId', 'KEYWORD'),
  ShipmentNumber: defineSearchAttributeKey('ShipmentNumber', 'KEYWORD'),
  ShipmentStatus: defineSearchAttributeKey('ShipmentStatus', 'KEYWORD'),
  VehicleId: defineSearchAttributeKey('VehicleId', 'KEYWORD'),
  DriverId: defineSearchAttributeKey('DriverId', 'KEYWORD'),
  UnNumbers: defineSearchAttributeKey('UnNumbers', 'KEYWORD_LIST'),
};

export interface ShipmentInput {
  shipmentId: string;
  companyId: string;
  shipmentNumber: string;
  /** ISO instants: not departed by `pickupAt`, not delivered by `deliverBy` → an alert. */
  pickupAt: string;
  deliverBy: string;
  /** How long a shipment IN_TRANSIT may go without a position report before `alert.no-position` (default 15 minutes). */
  noPositionAlertAfter?: Duration;
  /** The history length at which a run hands its state to a new run (continue-as-new); default 2,000 events. */
  historyLengthLimit?: number;
  /** How long one attempt of an ERP call may run before Temporal starts the next (the API derives it from ERP_REQUEST_TIMEOUT_MS); default 2 minutes. */
  erpCallTimeout?: Duration;
}

/** Who moves a shipment when the road does: ingest, on a geofence crossing. */
export const INGEST_ACTOR: Actor = { subject: 'system:ingest', username: null };

/** Who asked for a transition (the caller's token subject and username), kept on the timeline and in the audit log. */
export interface Actor {
  subject: string;
  username: string | null;
}

export interface TimelineEntry {
  at: string;
  /**
   * A transition (`book`, `assign`, …), an alert (`alert.pickup-missed`, `alert.delivery-late`, `alert.no-position`), a restricted
   * zone entered (`incident.restricted-zone`, or `restricted-zone.entered` without a placard load), a road signal that did not fit
   * the state (`leftOrigin.ignored`, …), an ERP answer (`erp.booked`, `erp.failed`, …) or a publication that failed (`webhooks.failed`).
   */
  event: string;
  status: ShipmentStatus;
  by: string | null;
  detail: string | null;
}

export interface ProofOfDelivery {
  signedBy: string;
  signedAt: string;
  documentId: string;
}

export interface ComplianceSummary {
  status: 'COMPLIANT' | 'NON_COMPLIANT';
  regime: string;
  asOf: string;
  /** Each failed check, with its citation; empty when compliant. */
  failures: string[];
  /** Whether the load is a placard load under the regime; null when the data cannot decide. */
  placardLoad: boolean | null;
}

/** An incident the shipment raised (its own workflow, `incident-<incidentId>`, started as an abandoned child). */
export interface RaisedIncident {
  incidentId: string;
  kind: string;
  at: string;
  detail: string;
}

/** What the ERP answered a stage with: its reference (null when the company has no ERP), or why it failed for good. */
export interface ErpSync {
  stage: string;
  erpReference: string | null;
  at: string;
  failure: string | null;
}

export interface ShipmentState {
  status: ShipmentStatus;
  vehicleId: string | null;
  driverId: string | null;
  compliance: ComplianceSummary | null;
  proofOfDelivery: ProofOfDelivery | null;
  /** `noPositionSince`: the last position (or departure) of a silence already alerted; null while positions arrive. */
  alerts: { pickupMissed: boolean; deliveryLate: boolean; noPositionSince: string | null };
  /** The time of the last position report (as the device gave it). */
  lastPositionAt: string | null;
  incidents: RaisedIncident[];
  erp: ErpSync[];
  timeline: TimelineEntry[];
}

/** What ingest tells a shipment about the road. `eventId` is ingest's own id for the event: a redelivered signal is applied once. */
export interface RoadEvent {
  eventId: string;
  /** When it happened (ISO instant). */
  at: string;
}
export interface RestrictedZoneEntry extends RoadEvent {
  geofenceId: string;
  name: string;
}

export const bookUpdate = defineUpdate<ShipmentState, [Actor]>('book');
export const assignUpdate = defineUpdate<ShipmentState, [{ vehicleId: string; driverId: string; by: Actor }]>('assign');
export const departUpdate = defineUpdate<ShipmentState, [Actor]>('depart');
export const arriveUpdate = defineUpdate<ShipmentState, [Actor]>('arrive');
export const deliverUpdate = defineUpdate<ShipmentState, [ProofOfDelivery & { by: Actor }]>('deliver');
export const closeUpdate = defineUpdate<ShipmentState, [Actor]>('close');
export const cancelUpdate = defineUpdate<ShipmentState, [{ reason: string; by: Actor }]>('cancel');
/** The consignment items of a NON_COMPLIANT shipment changed: check the load again. */
export const amendedSignal = defineSignal<[Actor]>('amended');
/** The vehicle left the origin geofence: READY → IN_TRANSIT. */
export const leftOriginSignal = defineSignal<[RoadEvent]>('leftOrigin');
/** The vehicle entered the destination geofence: IN_TRANSIT → ARRIVED. */
export const arrivedAtDestinationSignal = defineSignal<[RoadEvent]>('arrivedAtDestination');
/** The vehicle entered a RESTRICTED_DG geofence: with a placard load on board, an incident. */
export const enteredRestrictedZoneSignal = defineSignal<[RestrictedZoneEntry]>('enteredRestrictedZone');
/** The vehicle reported a position: the no-position alert's clock starts again. */
export const positionReportedSignal = defineSignal<[RoadEvent]>('positionReported');
export const stateQuery = defineQuery<ShipmentState>('state');
export const timelineQuery = defineQuery<TimelineEntry[]>('timeline');
/** The compliance engine's latest verdict on the load; null before booking. */
export const complianceQuery = defineQuery<ComplianceSummary | null>('compliance');

/** The failure type an update handler refuses with when the data (not the state machine) says no: a 409 at the API. */
export const TRANSITION_REFUSED = 'TransitionRefused';
