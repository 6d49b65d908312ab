import { z } from 'zod';
import { headerValue, OutboundFailure, retryAfterMs, USER_AGENT, type OutboundHttp, type OutboundResponse } from '../outbound-http.js';
import { authorizationHeader, carrying, ErpCallFailed, identifier, retryableStatus, type ErpAdapter, type ErpCall, type ErpConnection, type ErpResult } from './adapter.js';

/**
 * A generic REST/webhook ERP endpoint: each stage is a JSON POST to a configured path under
 * `baseUrl`, carrying `Idempotency-Key` (and the key in the body). The receiving side's contract
 * is the usual one for idempotent POSTs: the same key answers what the first request answered
 * and creates nothing new (a 409 while the first is still being processed is retried).
 */
const path = z
  .string()
  .max(500)
  .regex(/^\/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$/, 'must be a path starting with / (letters, digits and URL path characters)');

export const restSettingsSchema = z.strictObject({
  /** Where each stage is POSTed, under the connection's base URL. */
  paths: z
    .strictObject({
      booked: path.default('/orders'),
      dispatched: path.default('/dispatches'),
      delivered: path.default('/deliveries'),
      cancelled: path.default('/cancellations'),
    })
    .prefault({}),
  /** The answer's field holding the ERP's reference for what it created. */
  referenceField: identifier.default('id'),
});
export type RestSettings = z.infer<typeof restSettingsSchema>;

/** What a REST endpoint said went wrong: problem+json's detail or title, a `message` or `error` field, or the text itself. */
export function restErrorText(body: string): string {
  try {
    const json = JSON.parse(body) as Record<string, unknown>;
    const error = json.error as { message?: unknown } | string | undefined;
    for (const candidate of [json.detail, json.message, typeof error === 'string' ? error : error?.message, json.title]) {
      if (typeof candidate === 'string' && candidate.trim() !== '') return candidate.trim().slice(0, 1000);
    }
  } catch {
    // not JSON: the text itself below
  }
  return body.replace(/\s+/g, ' ').trim().slice(0, 300);
}

export function restAdapter(connection: ErpConnection<RestSettings>, http: OutboundHttp): ErpAdapter {
  const { settings } = connection;
  const root = connection.baseUrl.replace(/\/+$/, '');

  const failure = (response: OutboundResponse, what: string): ErpCallFailed => {
    const status = response.status;
    const said = restErrorText(response.text);
    const message = `the ERP answered ${status} to ${what}${said ? `: ${said}` : ''}`;
    if (status === 401 || status === 403) return new ErpCallFailed(`${message} (check the connection's credentials)`, false, { status });
    if (status >= 300 && status < 400) return new ErpCallFailed(`${message} (redirects are not followed: configure the URL the ERP answers at)`, false, { status });
    const wait = retryAfterMs(headerValue(response.headers, 'retry-after'));
    return new ErpCallFailed(message, retryableStatus(status), { status, ...(wait !== undefined ? { retryAfterMs: wait } : {}) });
  };

  const send = async (what: string, target: string, call: ErpCall, sent: unknown): Promise<ErpResult> => {
    let response: OutboundResponse;
    try {
      response = await http.send({
        method: 'POST',
        url: `${root}${target}`,
        headers: { ...authorizationHeader(connection.credentials), 'Content-Type': 'application/json', Accept: 'application/json', 'Idempotency-Key': call.idempotencyKey, 'User-Agent': USER_AGENT },
        body: JSON.stringify(sent),
      });
    } catch (error) {
      if (error instanceof OutboundFailure) throw new ErpCallFailed(`${what}: ${error.message}`, error.retryable);
      throw error;
    }
    if (response.status < 200 || response.status >= 300) throw failure(response, what);
    let body: unknown = null;
    if (response.text.trim() !== '') {
      try {
        body = JSON.parse(response.text);
      } catch {
        throw new ErpCallFailed(`${what}: the ERP answered ${response.status} with a body that is not JSON`, false, { status: response.status });
      }
    }
    const reference = (body as Record<string, unknown> | null)?.[settings.referenceField];
    return { reference: typeof reference === 'string' || typeof reference === 'number' ? String(reference) : null, sent };
  };


  const post = async (call: ErpCall): Promise<ErpResult> => {
    const target = settings.paths[call.stage];
    const what = `POST ${target}`;
    const sent = { idempotencyKey: call.idempotencyKey, stage: call.stage, occurredAt: call.occurredAt, orderReference: call.orderReference, shipment: call.shipment };
    return carrying(sent, () => send(what, target, call, sent));
  };

  return { createOrder: post, notifyDispatch: post, confirmDelivery: post, cancelOrder: post };
}
