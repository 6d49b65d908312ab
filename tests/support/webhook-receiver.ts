import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SIGNATURE_HEADER, verifyWebhookSignature, type VerificationResult } from '../../integrations/webhooks/signature.js';

/**
 * A customer's webhook receiver, played by a local HTTP server on port 0: it verifies each
 * delivery's signature the way the README tells customers to (integrations/webhooks/signature.ts
 * `verifyWebhookSignature` over the raw body), answers 401 to a bad one, and otherwise answers
 * what it was programmed to (`program`: the next answers in order, then 204; an answer naming an
 * idempotency key is given only to a delivery of that key, so events other tests publish meanwhile
 * do not take it).
 */
export interface Answer {
  status: number;
  body?: string;
  idempotencyKey?: string;
}

export interface ReceivedDelivery {
  /** SafeShipper-Delivery: the delivery's id, the same on every attempt. */
  deliveryId: string | null;
  event: string | null;
  idempotencyKey: string | null;
  signature: string | null;
  verification: VerificationResult;
  body: string;
  json: unknown;
  /** What the receiver answered. */
  status: number;
}

export interface WebhookReceiver {
  url: string;
  /** The subscription's secret (shown once when it was created): the receiver verifies with it. */
  secret: string | undefined;
  /** Every request, in arrival order. */
  received: ReceivedDelivery[];
  /** Requests with a valid signature the receiver answered 2xx: what the customer's system took in. */
  accepted(filter?: { idempotencyKey?: string }): ReceivedDelivery[];
  /** Requests with this idempotency key, whatever was answered (attempts). */
  attempts(filter?: { idempotencyKey?: string }): ReceivedDelivery[];
  program(...answers: Answer[]): void;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const answers: Answer[] = [];
  const receiver: WebhookReceiver = {
    url: '',
    secret: undefined,
    received: [],
    accepted: (filter = {}) => receiver.received.filter((d) => d.verification.valid && d.status >= 200 && d.status < 300 && (filter.idempotencyKey === undefined || d.idempotencyKey === filter.idempotencyKey)),
    attempts: (filter = {}) => receiver.received.filter((d) => filter.idempotencyKey === undefined || d.idempotencyKey === filter.idempotencyKey),
    program: (...next) => void answers.push(...next),
    async close() {
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    },
  };
  const http = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const header = (name: string) => request.headers[name.toLowerCase()]?.toString() ?? null;
      const verification = receiver.secret ? verifyWebhookSignature({ secret: receiver.secret, body, header: header(SIGNATURE_HEADER) }) : ({ valid: false, reason: 'mismatch' } as const);
      const key = header('Idempotency-Key');
      const next = answers.findIndex((a) => a.idempotencyKey === undefined || a.idempotencyKey === key);
      const answer = !verification.valid ? { status: 401, body: `signature ${verification.reason}` } : next >= 0 ? answers.splice(next, 1)[0]! : { status: 204 };
      let json: unknown = null;
      try {
        json = JSON.parse(body);
      } catch {
        // kept as text
      }
      receiver.received.push({ deliveryId: header('SafeShipper-Delivery'), event: header('SafeShipper-Event'), idempotencyKey: key, signature: header(SIGNATURE_HEADER), verification, body, json, status: answer.status });
      response.writeHead(answer.status, { 'Content-Type': 'text/plain' }).end(answer.body ?? '');
    });
  });
  http.listen(0, '127.0.0.1');
  await new Promise((resolve) => http.once('listening', resolve));
  receiver.url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/hooks/safeshipper`;
  return receiver;
}
