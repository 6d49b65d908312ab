import type { EntityManager } from './orm.js';
import type { ErpShipment } from '../integrations/erp/adapter.js';
import type { ErpCallStatus, ErpCredentialType, ErpKind, ErpStage, ShipmentWebhookEvent, WebhookDeliveryStatus } from '../domain/integrations.js';

/**
 * The integrations' SQL (ERP connections, ERP calls, webhook deliveries). Every function runs in
 * the caller's tenant transaction (`inTenant`): row-level security scopes each statement to the
 * company, so none of them names it in a WHERE clause.
 */

/** Timestamps as the API answers them (UTC, milliseconds), and the exact ones the cursors compare. */
const iso = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
const exact = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

// ---------------------------------------------------------------------------------------------
// ERP connections
// ---------------------------------------------------------------------------------------------

export interface ErpConnectionRow {
  id: string;
  kind: ErpKind;
  baseUrl: string;
  credentialsType: ErpCredentialType;
  /** Ciphertext, bound to this row and company (db/encrypted-fields.ts); null when there are no credentials. */
  credentials: string | null;
  settings: Record<string, unknown>;
  enabled: boolean;
  version: number;
  createdAt: string;
  updatedAt: string;
}

const CONNECTION_COLUMNS = `id, kind, base_url AS "baseUrl", credentials_type AS "credentialsType", credentials, settings, enabled, version,
  ${iso('created_at')} AS "createdAt", ${iso('updated_at')} AS "updatedAt"`;

/** The company's ERP connection; `forUpdate` holds it until the transaction ends (a replacement reads and writes it whole). */
export async function findErpConnection(em: EntityManager, options: { forUpdate?: boolean } = {}): Promise<ErpConnectionRow | null> {
  const [row] = await em.execute<ErpConnectionRow[]>(`SELECT ${CONNECTION_COLUMNS} FROM erp_connections ${options.forUpdate ? 'FOR UPDATE' : ''}`);
  return row ?? null;
}

export interface ErpConnectionWrite {
  kind: ErpKind;
  baseUrl: string;
  credentialsType: ErpCredentialType;
  credentials: string | null;
  settings: Record<string, unknown>;
  enabled: boolean;
}

/** Inserts the connection with the id its credentials were sealed for. */
export async function insertErpConnection(em: EntityManager, companyId: string, id: string, write: ErpConnectionWrite): Promise<ErpConnectionRow> {
  const [row] = await em.execute<ErpConnectionRow[]>(
    `INSERT INTO erp_connections (id, company_id, kind, base_url, credentials_type, credentials, settings, enabled)
     VALUES (?, ?, ?, ?, ?, ?, ?::jsonb, ?) RETURNING ${CONNECTION_COLUMNS}`,
    [id, companyId, write.kind, write.baseUrl, write.credentialsType, write.credentials, JSON.stringify(write.settings), write.enabled],
  );
  return row!;
}

export async function updateErpConnection(em: EntityManager, id: string, write: ErpConnectionWrite): Promise<ErpConnectionRow> {
  const [row] = await em.execute<ErpConnectionRow[]>(
    `UPDATE erp_connections SET kind = ?, base_url = ?, credentials_type = ?, credentials = ?, settings = ?::jsonb, enabled = ?, version = version + 1, updated_at = now()
      WHERE id = ? RETURNING ${CONNECTION_COLUMNS}`,
    [write.kind, write.baseUrl, write.credentialsType, write.credentials, JSON.stringify(write.settings), write.enabled, id],
  );
  return row!;
}

export async function deleteErpConnection(em: EntityManager): Promise<ErpConnectionRow | null> {
  const [row] = await em.execute<ErpConnectionRow[]>(`DELETE FROM erp_connections RETURNING ${CONNECTION_COLUMNS}`);
  return row ?? null;
}

// ---------------------------------------------------------------------------------------------
// ERP calls: one row per idempotency key, the record of what was sent
// ---------------------------------------------------------------------------------------------

export interface ErpCallRow {
  id: string;
  shipmentId: string;
  stage: ErpStage;
  idempotencyKey: string;
  kind: ErpKind;
  status: ErpCallStatus;
  attempts: number;
  erpReference: string | null;
  lastError: string | null;
  request: unknown;
  createdAt: string;
  updatedAt: string;
  completedAt: string | null;
}

const CALL_COLUMNS = `id, shipment_id AS "shipmentId", stage, idempotency_key AS "idempotencyKey", kind, status, attempts, erp_reference AS "erpReference",
  last_error AS "lastError", request, ${iso('created_at')} AS "createdAt", ${iso('updated_at')} AS "updatedAt", ${iso('completed_at')} AS "completedAt"`;

export type ErpCallStart =
  | { outcome: 'done'; call: ErpCallRow }
  | { outcome: 'in-flight'; retryInMs: number }
  | { outcome: 'conflict'; call: ErpCallRow }
  | { outcome: 'started'; call: ErpCallRow; earlierAttempts: number; firstAttemptAt: string };

/**
 * Starts an attempt of the call with this key: recorded (attempts + 1) and leased for `leaseMs`
 * before anything is sent, so its count survives a crash and a concurrent attempt of the same
 * key waits instead of sending twice. Answers the call as it stands when it already succeeded,
 * or when the key was used for another shipment or stage.
 */
export async function startErpCall(em: EntityManager, call: { companyId: string; shipmentId: string; stage: ErpStage; idempotencyKey: string; kind: ErpKind; leaseMs: number }): Promise<ErpCallStart> {
  await em.execute(
    `INSERT INTO erp_calls (company_id, shipment_id, stage, idempotency_key, kind, status) VALUES (?, ?, ?, ?, ?, 'pending') ON CONFLICT (idempotency_key) DO NOTHING`,
    [call.companyId, call.shipmentId, call.stage, call.idempotencyKey, call.kind],
  );
  const [row] = await em.execute<Array<ErpCallRow & { leaseLeftMs: number | null; firstAttemptAt: string }>>(
    `SELECT ${CALL_COLUMNS}, ceil(extract(epoch FROM in_flight_until - now()) * 1000)::int AS "leaseLeftMs", ${iso('created_at')} AS "firstAttemptAt"
       FROM erp_calls WHERE idempotency_key = ? FOR UPDATE`,
    [call.idempotencyKey],
  );
  const { leaseLeftMs, firstAttemptAt, ...existing } = row!;
  if (existing.shipmentId !== call.shipmentId || existing.stage !== call.stage) return { outcome: 'conflict', call: existing };
  if (existing.status === 'succeeded') return { outcome: 'done', call: existing };
  if (leaseLeftMs !== null && leaseLeftMs > 0) return { outcome: 'in-flight', retryInMs: leaseLeftMs };
  const [started] = await em.execute<ErpCallRow[]>(
    `UPDATE erp_calls SET attempts = attempts + 1, status = 'pending', kind = ?, in_flight_until = now() + make_interval(secs => ?::double precision / 1000), updated_at = now()
      WHERE id = ? RETURNING ${CALL_COLUMNS}`,
    [call.kind, call.leaseMs, existing.id],
  );
  return { outcome: 'started', call: started!, earlierAttempts: existing.attempts, firstAttemptAt };
}

/** Ends the attempt: what was sent, and what came of it. */
export async function finishErpCall(em: EntityManager, id: string, result: { status: Exclude<ErpCallStatus, 'pending'>; erpReference: string | null; lastError: string | null; request: unknown }): Promise<void> {
  await em.execute(
    `UPDATE erp_calls SET status = ?, erp_reference = coalesce(?, erp_reference), last_error = ?, request = coalesce(?::jsonb, request), in_flight_until = NULL,
            completed_at = CASE WHEN ? = 'succeeded' THEN now() ELSE completed_at END, updated_at = now()
      WHERE id = ?`,
    [result.status, result.erpReference, result.lastError, result.request === undefined ? null : JSON.stringify(result.request), result.status, id],
  );
}

/** The ERP's key of the shipment's order, once the booking call succeeded. */
export async function erpOrderReference(em: EntityManager, shipmentId: string): Promise<string | null> {
  const [row] = await em.execute<Array<{ erp_reference: string | null }>>(`SELECT erp_reference FROM erp_calls WHERE shipment_id = ? AND stage = 'booked' AND status = 'succeeded'`, [shipmentId]);
  return row?.erp_reference ?? null;
}

export interface ErpCallPageQuery {
  limit: number;
  after?: { createdAt: string; id: string } | undefined;
  shipmentId?: string | undefined;
  stage?: ErpStage | undefined;
  status?: ErpCallStatus | undefined;
}

/** Newest first; `next` is the cursor position after the page, or null on the last one. */
export async function listErpCalls(em: EntityManager, query: ErpCallPageQuery): Promise<{ items: ErpCallRow[]; next: { createdAt: string; id: string } | null }> {
  const rows = await em.execute<Array<ErpCallRow & { position: string }>>(
    `SELECT ${CALL_COLUMNS}, ${exact('created_at')} AS position FROM erp_calls
      WHERE (?::timestamptz IS NULL OR (created_at, id) < (?::timestamptz, ?::uuid))
        AND (?::uuid IS NULL OR shipment_id = ?::uuid) AND (?::text IS NULL OR stage = ?) AND (?::text IS NULL OR status = ?)
      ORDER BY created_at DESC, id DESC LIMIT ?`,
    [
      query.after?.createdAt ?? null, query.after?.createdAt ?? null, query.after?.id ?? null,
      query.shipmentId ?? null, query.shipmentId ?? null, query.stage ?? null, query.stage ?? null, query.status ?? null, query.status ?? null,
      query.limit + 1,
    ],
  );
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return { items: page.map(({ position: _, ...row }) => row), next: rows.length > query.limit && last ? { createdAt: last.position, id: last.id } : null };
}

// ---------------------------------------------------------------------------------------------
// The shipment as an ERP hears about it
// ---------------------------------------------------------------------------------------------

export async function shipmentForErp(em: EntityManager, shipmentId: string): Promise<ErpShipment | null> {
  const [shipment] = await em.execute<Array<{ shipment_number: string; status: string; origin_address: string; origin: [number, number]; destination_address: string; destination: [number, number]; pickup_at: string; deliver_by: string; registration: string | null; driver_name: string | null }>>(
    `SELECT s.shipment_number, s.status, s.origin_address, ARRAY[ST_X(s.origin_location::geometry), ST_Y(s.origin_location::geometry)] AS origin,
            s.destination_address, ARRAY[ST_X(s.destination_location::geometry), ST_Y(s.destination_location::geometry)] AS destination,
            ${iso('s.pickup_at')} AS pickup_at, ${iso('s.deliver_by')} AS deliver_by, v.registration, d.full_name AS driver_name
       FROM shipments s LEFT JOIN vehicles v ON v.id = s.vehicle_id LEFT JOIN drivers d ON d.id = s.driver_id
      WHERE s.id = ?`,
    [shipmentId],
  );
  if (!shipment) return null;
  const items = await em.execute<Array<{ un_number: string | null; proper_shipping_name: string; technical_name: string | null; hazard_class: string; packing_group: string | null; quantity: string; unit: 'kg' | 'L'; packages: number }>>(
    `SELECT dg.un_number, dg.proper_shipping_name, ci.technical_name, dg.hazard_class, dg.packing_group, ci.quantity, ci.unit, ci.packages
       FROM consignment_items ci JOIN dangerous_goods dg ON dg.id = ci.dangerous_good_id
      WHERE ci.shipment_id = ? ORDER BY ci.created_at, ci.id`,
    [shipmentId],
  );
  return {
    shipmentId,
    shipmentNumber: shipment.shipment_number,
    status: shipment.status,
    origin: { address: shipment.origin_address, location: shipment.origin.map(Number) as [number, number] },
    destination: { address: shipment.destination_address, location: shipment.destination.map(Number) as [number, number] },
    pickupAt: shipment.pickup_at,
    deliverBy: shipment.deliver_by,
    vehicleRegistration: shipment.registration,
    driverName: shipment.driver_name,
    items: items.map((item, index) => ({
      line: index + 1,
      unNumber: item.un_number,
      properShippingName: item.proper_shipping_name,
      technicalName: item.technical_name,
      hazardClass: item.hazard_class,
      packingGroup: item.packing_group,
      quantity: Number(item.quantity),
      unit: item.unit,
      packages: item.packages,
    })),
  };
}

// ---------------------------------------------------------------------------------------------
// Webhook deliveries
// ---------------------------------------------------------------------------------------------

/** The company's enabled subscriptions to `event`. */
export async function subscriptionsTo(em: EntityManager, event: ShipmentWebhookEvent): Promise<string[]> {
  const rows = await em.execute<Array<{ id: string }>>('SELECT id FROM webhook_subscriptions WHERE enabled AND ? = ANY (events) ORDER BY created_at, id', [event]);
  return rows.map((row) => row.id);
}

export async function shipmentNumber(em: EntityManager, shipmentId: string): Promise<string | null> {
  const [row] = await em.execute<Array<{ shipment_number: string }>>('SELECT shipment_number FROM shipments WHERE id = ?', [shipmentId]);
  return row?.shipment_number ?? null;
}

/**
 * The delivery of this event to this subscription, recorded once: a second call with the same
 * key (a retried fan-out) finds the first one and its status, and inserts nothing.
 */
export async function recordDelivery(
  em: EntityManager,
  delivery: { id: string; companyId: string; subscriptionId: string; idempotencyKey: string; event: ShipmentWebhookEvent; shipmentId: string; payload: unknown },
): Promise<{ id: string; status: WebhookDeliveryStatus }> {
  await em.execute(
    `INSERT INTO webhook_deliveries (id, company_id, subscription_id, idempotency_key, event, shipment_id, payload) VALUES (?, ?, ?, ?, ?, ?, ?::jsonb)
     ON CONFLICT (subscription_id, idempotency_key) DO NOTHING`,
    [delivery.id, delivery.companyId, delivery.subscriptionId, delivery.idempotencyKey, delivery.event, delivery.shipmentId, JSON.stringify(delivery.payload)],
  );
  const [row] = await em.execute<Array<{ id: string; status: WebhookDeliveryStatus }>>('SELECT id, status FROM webhook_deliveries WHERE subscription_id = ? AND idempotency_key = ?', [delivery.subscriptionId, delivery.idempotencyKey]);
  return row!;
}

export interface DeliveryToSend {
  id: string;
  subscriptionId: string;
  url: string;
  /** Ciphertext, bound to the subscription's row and company. */
  secret: string;
  enabled: boolean;
  idempotencyKey: string;
  event: ShipmentWebhookEvent;
  payload: unknown;
  status: WebhookDeliveryStatus;
}

/** A delivery with where it goes, and counts the attempt about to be made (before anything is sent). */
export async function startDeliveryAttempt(em: EntityManager, deliveryId: string): Promise<DeliveryToSend | null> {
  const [row] = await em.execute<DeliveryToSend[]>(
    `SELECT d.id, d.subscription_id AS "subscriptionId", s.url, s.secret, s.enabled, d.idempotency_key AS "idempotencyKey", d.event, d.payload, d.status
       FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id WHERE d.id = ? FOR UPDATE OF d`,
    [deliveryId],
  );
  if (row?.status === 'pending' && row.enabled) await em.execute('UPDATE webhook_deliveries SET attempts = attempts + 1, last_attempt_at = now() WHERE id = ?', [deliveryId]);
  return row ?? null;
}

/** What the attempt's receiver answered; `delivered` closes the delivery. */
export async function finishDeliveryAttempt(em: EntityManager, deliveryId: string, result: { responseCode: number | null; error: string | null; delivered: boolean }): Promise<void> {
  await em.execute(
    `UPDATE webhook_deliveries SET response_code = ?, last_error = ?, status = CASE WHEN ? THEN 'delivered' ELSE status END, completed_at = CASE WHEN ? THEN now() ELSE completed_at END
      WHERE id = ? AND status = 'pending'`,
    [result.responseCode, result.error, result.delivered, result.delivered, deliveryId],
  );
}

/** Closes a delivery that is still pending (rejected, given up, cancelled); answers whether it was. */
export async function closeDelivery(em: EntityManager, deliveryId: string, status: Exclude<WebhookDeliveryStatus, 'pending' | 'delivered'>, error: string | null): Promise<boolean> {
  const rows = await em.execute<Array<{ id: string }>>(
    `UPDATE webhook_deliveries SET status = ?, last_error = coalesce(?, last_error), completed_at = now() WHERE id = ? AND status = 'pending' RETURNING id`,
    [status, error, deliveryId],
  );
  return rows.length > 0;
}

export interface DeliveryRow {
  id: string;
  event: ShipmentWebhookEvent;
  idempotencyKey: string;
  shipmentId: string | null;
  status: WebhookDeliveryStatus;
  attempts: number;
  responseCode: number | null;
  lastError: string | null;
  payload: unknown;
  createdAt: string;
  lastAttemptAt: string | null;
  completedAt: string | null;
}

/** A subscription's deliveries, newest first. */
export async function listDeliveries(em: EntityManager, subscriptionId: string, query: { limit: number; after?: { createdAt: string; id: string } | undefined; status?: WebhookDeliveryStatus | undefined }): Promise<{ items: DeliveryRow[]; next: { createdAt: string; id: string } | null }> {
  const rows = await em.execute<Array<DeliveryRow & { position: string }>>(
    `SELECT id, event, idempotency_key AS "idempotencyKey", shipment_id AS "shipmentId", status, attempts, response_code AS "responseCode", last_error AS "lastError", payload,
            ${iso('created_at')} AS "createdAt", ${iso('last_attempt_at')} AS "lastAttemptAt", ${iso('completed_at')} AS "completedAt", ${exact('created_at')} AS position
       FROM webhook_deliveries
      WHERE subscription_id = ? AND (?::timestamptz IS NULL OR (created_at, id) < (?::timestamptz, ?::uuid)) AND (?::text IS NULL OR status = ?)
      ORDER BY created_at DESC, id DESC LIMIT ?`,
    [subscriptionId, query.after?.createdAt ?? null, query.after?.createdAt ?? null, query.after?.id ?? null, query.status ?? null, query.status ?? null, query.limit + 1],
  );
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return { items: page.map(({ position: _, ...row }) => row), next: rows.length > query.limit && last ? { createdAt: last.position, id: last.id } : null };
}
