import { z } from 'zod';
import type { ErpKind, ErpStage } from '../../domain/integrations.js';

/**
 * The ERP adapter interface (the seed's `BaseERPAdapter`): what the platform tells a customer's
 * ERP at each moment of a shipment's life. One adapter per kind of ERP (registry.ts); the
 * activity (activities/erp.ts) picks it from the company's connection, keeps the record of each
 * call, and turns a failure into a retry or a refusal.
 *
 * Every call carries an idempotency key derived from the shipment and the stage: the same key
 * on every attempt, so an ERP (or the adapter's own look-up, for OData) recognises a retry of
 * an order it already created instead of creating a second one.
 */
export interface ErpAdapter {
  /** At booking: create the ERP's order (delivery) for the shipment; answers the order's key. */
  createOrder(call: ErpCall): Promise<ErpResult>;
  /** At departure: the goods left (goods issue / dispatch notice). */
  notifyDispatch(call: ErpCall): Promise<ErpResult>;
  /** At delivery: proof of delivery received. */
  confirmDelivery(call: ErpCall): Promise<ErpResult>;
  /** At cancellation (the shipment workflow's compensation): call the order off. */
  cancelOrder(call: ErpCall): Promise<ErpResult>;
}

/** The shipment as the ERP hears about it (read from PostgreSQL at each call). */
export interface ErpShipment {
  shipmentId: string;
  shipmentNumber: string;
  status: string;
  origin: { address: string; location: [number, number] };
  destination: { address: string; location: [number, number] };
  /** ISO instants (UTC). */
  pickupAt: string;
  deliverBy: string;
  vehicleRegistration: string | null;
  driverName: string | null;
  items: ErpItem[];
}

export interface ErpItem {
  /** 1-based, in the order the items were added. */
  line: number;
  unNumber: string | null;
  properShippingName: string;
  technicalName: string | null;
  hazardClass: string;
  packingGroup: string | null;
  quantity: number;
  unit: 'kg' | 'L';
  packages: number;
}

export interface ErpCall {
  stage: ErpStage;
  shipment: ErpShipment;
  idempotencyKey: string;
  /** The ERP's key of the order created at booking (null before it exists, or when the ERP was connected after booking). */
  orderReference: string | null;
  /** When the stage happened: the first attempt's time, the same on every retry. */
  occurredAt: string;
  /**
   * An earlier attempt with this key may have reached the ERP (its answer lost to a timeout or a
   * crash): an adapter whose ERP does not deduplicate on Idempotency-Key looks for it first.
   */
  mayExist: boolean;
}

export interface ErpResult {
  /** The ERP's key of what it created (order, notice, confirmation), or null when it answers none. */
  reference: string | null;
  /** The body sent, kept in erp_calls as the record of what was sent (never credentials). */
  sent: unknown;
}

/**
 * The ERP did not take the call. `retryable`: it may later (an outage, a timeout, 408/409/425/429,
 * 5xx); otherwise it refused the content or our credentials and a retry would be refused the same
 * way. The message is meant for a person reading the call's record.
 */
export class ErpCallFailed extends Error {
  /** What the failed request carried, when one was made (the call's record keeps it). */
  sent: unknown;

  constructor(
    message: string,
    readonly retryable: boolean,
    readonly options: { status?: number; retryAfterMs?: number } = {},
  ) {
    super(message);
  }
}

/** Runs one request of an adapter, marking a failure with what it carried. */
export async function carrying<T>(sent: unknown, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ErpCallFailed) error.sent ??= sent;
    throw error;
  }
}

/** HTTP answers worth trying again: the server is busy, down, or still working on the same key. */
export const retryableStatus = (status: number): boolean => status === 408 || status === 409 || status === 425 || status === 429 || status >= 500;

export type ErpCredentials = { type: 'none' } | { type: 'basic'; username: string; password: string } | { type: 'bearer'; token: string };

/** The credentials as written through the API (then sealed at rest): visible ASCII, no line breaks to smuggle headers. */
const secretText = (max: number) => z.string().min(1).max(max).regex(/^[\x20-\x7e]+$/, 'must be printable ASCII');
export const erpCredentialsSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('none') }),
  z.strictObject({ type: z.literal('basic'), username: secretText(200).regex(/^[^:]+$/, 'must not contain a colon'), password: secretText(500) }),
  z.strictObject({ type: z.literal('bearer'), token: secretText(4000) }),
]);

export function authorizationHeader(credentials: ErpCredentials): Record<string, string> {
  if (credentials.type === 'basic') return { Authorization: `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}` };
  if (credentials.type === 'bearer') return { Authorization: `Bearer ${credentials.token}` };
  return {};
}

export interface ErpConnection<Settings = unknown> {
  kind: ErpKind;
  baseUrl: string;
  credentials: ErpCredentials;
  settings: Settings;
}

/** A name OData or JSON allows as a property or entity set, and nothing a URL or a header could be bent with. */
export const identifier = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'must be a name of letters, digits and underscores');
