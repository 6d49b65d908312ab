/**
 * The integrations' contract: the ERP and webhook activities the shipment workflow calls (their
 * requests, and how it derives their idempotency keys), the webhook-delivery workflow the
 * fan-out starts, and the scheduled DG catalogue sync. The API, the activities and tests import
 * this module, never the workflow files.
 */
import type { ErpStage, ShipmentWebhookEvent, WebhookDeliveryStatus } from '../../domain/integrations.js';

/** The task queue's name before the deployment's TEMPORAL_TASK_QUEUE_PREFIX (config/env.ts `taskQueues`). */
export const INTEGRATIONS_TASK_QUEUE = 'integrations';

/**
 * `syncShipmentToErp`: tell the company's ERP (if it has one) about a stage of the shipment.
 * Callers: `startToCloseTimeout` of at least 2 minutes (an attempt makes up to five requests of
 * ERP_REQUEST_TIMEOUT_MS each) and a retry policy with back-off; a refusal by the ERP is thrown
 * non-retryable (`ERP_REJECTED`), an outage retryable (`ERP_UNAVAILABLE`, with the ERP's Retry-After).
 * `publishShipmentEvent` only records and starts workflows: 30 seconds is plenty.
 */
export interface ErpSyncRequest {
  companyId: string;
  shipmentId: string;
  stage: ErpStage;
  /** The same on every attempt of the same stage of the same shipment (see `erpIdempotencyKey`). */
  idempotencyKey: string;
}

/** `publishShipmentEvent`: one signed delivery per enabled subscription of the company to `event`. */
export interface ShipmentEventRequest {
  companyId: string;
  shipmentId: string;
  event: ShipmentWebhookEvent;
  /** The same on every attempt of the same event of the same shipment (see `shipmentEventIdempotencyKey`). */
  idempotencyKey: string;
  /** What the event says beyond the shipment's id and number (status, vehicle, proof of delivery…): JSON, at most 32 KB. */
  data: Record<string, unknown>;
}

/** The key of a shipment's ERP call at a stage: one order, one dispatch notice, one delivery, one cancellation per shipment. */
export const erpIdempotencyKey = (shipmentId: string, stage: ErpStage) => `erp-${shipmentId}-${stage}`;

/** The key of a shipment's event: one delivery per event per subscription. */
export const shipmentEventIdempotencyKey = (shipmentId: string, event: ShipmentWebhookEvent) => `${event}-${shipmentId}`;

/**
 * The failure type of an ERP call the ERP refused (its validation, our credentials): retrying
 * would be refused the same way, so it is non-retryable and recorded as `rejected`.
 */
export const ERP_REJECTED = 'ErpRejected';
/** The failure type of an ERP call that may succeed later (outage, timeout, 5xx): retried. */
export const ERP_UNAVAILABLE = 'ErpUnavailable';

export const WEBHOOK_DELIVERY_WORKFLOW_TYPE = 'webhookDeliveryWorkflow';

/** One workflow per subscription and event key: a fan-out retried after it started some starts none twice. */
export const webhookDeliveryWorkflowId = (subscriptionId: string, idempotencyKey: string) => `webhook-${subscriptionId}-${idempotencyKey}`;

export interface WebhookDeliveryInput {
  companyId: string;
  deliveryId: string;
  /** How long attempts go on before the delivery is given up (WEBHOOK_GIVE_UP_AFTER_SECONDS when it was published). */
  giveUpAfterMs: number;
}

export interface WebhookDeliveryOutcome {
  status: Exclude<WebhookDeliveryStatus, 'pending'>;
  /** The receiver's last HTTP status, when it answered one. */
  responseCode: number | null;
}

/** The failure type of a delivery the receiver refused for good (a 4xx other than 408 and 429): not retried. */
export const WEBHOOK_REJECTED = 'WebhookRejected';

export const CATALOGUE_SYNC_WORKFLOW_TYPE = 'catalogueSyncWorkflow';

/** The failure type of a published table the sync refuses (bad line, wrong format, truncated): not retried, nothing applied. */
export const CATALOGUE_SOURCE_REJECTED = 'CatalogueSourceRejected';
