/**
 * The shipment lifecycle's contract: what the API, ingest and tests import to start, move and
 * read a shipment's workflow (never the workflow file itself).
 */
import { defineSearchAttributeKey } from '@temporalio/common';
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
}

/** Who asked for a transition (the caller's token subject and username), kept on the timeline and in the audit log. */
export interface Actor {
  subject: string;
  username: string | null;
}

export interface TimelineEntry {
  at: string;
  /** A transition (`book`, `assign`, …), `compliance`, or an alert (`alert.pickup-missed`, `alert.delivery-late`). */
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
}

export interface ShipmentState {
  status: ShipmentStatus;
  vehicleId: string | null;
  driverId: string | null;
  compliance: ComplianceSummary | null;
  proofOfDelivery: ProofOfDelivery | null;
  alerts: { pickupMissed: boolean; deliveryLate: boolean };
  timeline: TimelineEntry[];
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
export const stateQuery = defineQuery<ShipmentState>('state');
export const timelineQuery = defineQuery<TimelineEntry[]>('timeline');
/** The compliance engine's latest verdict on the load; null before booking. */
export const complianceQuery = defineQuery<ComplianceSummary | null>('compliance');

/** The failure type an update handler refuses with when the data (not the state machine) says no: a 409 at the API. */
export const TRANSITION_REFUSED = 'TransitionRefused';
