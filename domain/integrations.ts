/**
 * The value lists of the integrations with customers' systems (ERP connections, outbound
 * webhooks), once: the API validates with them, the activities and workflows type with them, and
 * the database CHECKs hold the same lists (written out in their migration).
 */

/** How a company's ERP is spoken to: an SAP-style OData service, or a generic REST/webhook endpoint. */
export const ERP_KINDS = ['sap-odata', 'rest'] as const;
export type ErpKind = (typeof ERP_KINDS)[number];

/** The moments of a shipment's life the ERP hears about: the order at booking, dispatch at departure, delivery, cancellation. */
export const ERP_STAGES = ['booked', 'dispatched', 'delivered', 'cancelled'] as const;
export type ErpStage = (typeof ERP_STAGES)[number];

/** How the platform authenticates to the ERP; the secret parts are encrypted at rest and never answered. */
export const ERP_CREDENTIAL_TYPES = ['none', 'basic', 'bearer'] as const;
export type ErpCredentialType = (typeof ERP_CREDENTIAL_TYPES)[number];

/**
 * What happened to one ERP call (one idempotency key): `pending` while attempts go on,
 * `succeeded` with the ERP's reference, `failed` after an attempt that may be retried
 * (outage, timeout), `rejected` when the ERP refused the content (a retry would be refused too).
 */
export const ERP_CALL_STATUSES = ['pending', 'succeeded', 'failed', 'rejected'] as const;
export type ErpCallStatus = (typeof ERP_CALL_STATUSES)[number];

/** The shipment events a customer can subscribe a webhook to. */
export const SHIPMENT_WEBHOOK_EVENTS = [
  'shipment.booked',
  'shipment.ready',
  'shipment.departed',
  'shipment.arrived',
  'shipment.delivered',
  'shipment.closed',
  'shipment.cancelled',
] as const;
export type ShipmentWebhookEvent = (typeof SHIPMENT_WEBHOOK_EVENTS)[number];

/**
 * One delivery of one event to one subscription: `pending` while attempts go on, `delivered` on a
 * 2xx, `rejected` when the receiver refused it for good (a 4xx other than 408 and 429),
 * `gave-up` when it kept failing for longer than the platform retries, `cancelled` when the
 * subscription was disabled before it went out.
 */
export const WEBHOOK_DELIVERY_STATUSES = ['pending', 'delivered', 'rejected', 'gave-up', 'cancelled'] as const;
export type WebhookDeliveryStatus = (typeof WEBHOOK_DELIVERY_STATUSES)[number];

/**
 * An idempotency key as callers derive them (shipment + stage or event): visible ASCII, short
 * enough to be an ERP's reference field and part of a workflow id.
 */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,120}$/;

/**
 * How long one attempt of an ERP call may take, from the deployment's ERP_REQUEST_TIMEOUT_MS: an adapter call makes at most
 * five requests (CSRF token, look-up, POST, a fresh token and the POST once more), each within it, then records the answer.
 * The same span is the attempt's lease, so a second attempt of one key never runs beside a first still talking to the ERP.
 */
export const erpAttemptMs = (requestTimeoutMs: number) => requestTimeoutMs * 5 + 5_000;
