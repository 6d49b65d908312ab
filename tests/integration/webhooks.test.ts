import { ApplicationFailure } from '@temporalio/common';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { webhookActivities } from '../../activities/webhooks.js';
import { inTenant } from '../../db/orm.js';
import type { ShipmentWebhookEvent } from '../../domain/integrations.js';
import { integrationSettingsFromConfig } from '../../integrations/settings.js';
import { fieldEncryptionFromConfig } from '../../security/field-encryption.js';
import { shipmentEventIdempotencyKey, webhookDeliveryWorkflowId } from '../../workflows/contracts/integrations.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { BOREAL, testConfig, testEnv } from '../support/stack.js';
import { startWebhookReceiver, type Answer, type WebhookReceiver } from '../support/webhook-receiver.js';

/**
 * Outbound webhooks end to end: subscriptions made through the API as Boreal's ADMIN, events
 * fanned out by the activity into delivery workflows run by a real worker on the dev server
 * (the integrations task queue under a prefix of this file's own, so its short give-up time
 * applies to its deliveries only; the worker serves that one queue with the webhook activities),
 * and local receivers that verify every signature and count what they take in.
 */
describe('webhooks: signed deliveries, one per event per subscription, retried, refused or given up', () => {
  // Long enough for a 429's retry to land inside it on a busy machine (3 s was not, once), short enough to watch a give-up.
  const GIVE_UP_SECONDS = 6;
  const overrides = { TEMPORAL_TASK_QUEUE_PREFIX: `${testEnv().TEMPORAL_TASK_QUEUE_PREFIX}webhooks-`, WEBHOOK_GIVE_UP_AFTER_SECONDS: String(GIVE_UP_SECONDS) };
  const config = testConfig(overrides);
  const run = Date.now().toString(36).toUpperCase();
  let api: TestApi;
  let worker: { connection: NativeConnection; worker: Worker; running: Promise<void> };
  let connection: Connection;
  let client: Client;
  let webhooks: ReturnType<typeof webhookActivities>;
  let shipmentId: string;
  const receivers: WebhookReceiver[] = [];
  const subscriptions: string[] = [];

  const admin = (method: string, path: string, body?: unknown, headers?: Record<string, string>) => api.call('boreal-admin', method, path, { ...(body !== undefined ? { body } : {}), ...(headers ? { headers } : {}) });
  /** A receiver, and a subscription of Boreal's pointing at it (the receiver verifies with the secret the API showed once). */
  async function subscribe(events: ShipmentWebhookEvent[], options: { enabled?: boolean; answers?: Answer[]; wrongSecret?: boolean } = {}) {
    const receiver = await startWebhookReceiver();
    receivers.push(receiver);
    const response = await admin('POST', '/api/v1/webhooks', { url: receiver.url, events, description: `test ${run}`, enabled: options.enabled ?? true });
    expect(response.status).toBe(201);
    const created = (await response.json()) as { id: string; secret: string };
    subscriptions.push(created.id);
    receiver.secret = options.wrongSecret ? 'whsec_not-the-one-shown' : created.secret;
    receiver.program(...(options.answers ?? []));
    return { id: created.id, receiver };
  }
  const publish = (event: ShipmentWebhookEvent, data: Record<string, unknown> = {}) =>
    webhooks.publishShipmentEvent({ companyId: BOREAL, shipmentId, event, idempotencyKey: shipmentEventIdempotencyKey(shipmentId, event), data });
  const outcome = (subscriptionId: string, event: ShipmentWebhookEvent) => client.workflow.getHandle(webhookDeliveryWorkflowId(subscriptionId, shipmentEventIdempotencyKey(shipmentId, event))).result();
  const deliveryRows = (subscriptionId: string) =>
    inTenant(api.db, BOREAL, (em) => em.execute<Array<{ status: string; attempts: number; response_code: number | null; last_error: string | null }>>('SELECT status, attempts, response_code, last_error FROM webhook_deliveries WHERE subscription_id = ?', [subscriptionId]));

  beforeAll(async () => {
    api = await startTestApi(overrides);
    connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
    client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
    const settings = integrationSettingsFromConfig(config);
    webhooks = webhookActivities({ db: api.db, fields: fieldEncryptionFromConfig(config), temporal: client, settings });
    // The receivers' refusals are this file's point: the SDK need not log each as a warning.
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    const native = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
    const integrationsWorker = await Worker.create({ connection: native, namespace: config.TEMPORAL_NAMESPACE, taskQueue: settings.webhooks.taskQueue, workflowBundle: inject('workflowBundle'), activities: webhooks });
    worker = { connection: native, worker: integrationsWorker, running: integrationsWorker.run() };
    const shipment = await api.call('boreal-operator', 'POST', '/api/v1/shipments', {
      body: { shipmentNumber: `WH-${run}`, origin: { address: 'Port Melbourne VIC', location: [144.93, -37.84] }, destination: { address: 'Geelong VIC', location: [144.36, -38.15] }, pickupAt: '2030-02-01T08:00:00Z', deliverBy: '2030-02-01T12:00:00Z' },
    });
    shipmentId = ((await shipment.json()) as { id: string }).id;
  });
  afterAll(async () => {
    // Boreal is demo data other files use: its subscriptions (and their deliveries) go with this file.
    for (const id of subscriptions) await admin('DELETE', `/api/v1/webhooks/${id}`).catch(() => undefined);
    await Promise.all(receivers.map((receiver) => receiver.close()));
    if (worker) {
      worker.worker.shutdown();
      await worker.running;
      await worker.connection.close();
    }
    await connection?.close();
    await api?.close();
  });

  it('the API: the secret is shown once (and sealed at rest), a URL the platform must not call is 422, changes need If-Match, every write is audited', async () => {
    const receiver = await startWebhookReceiver();
    receivers.push(receiver);
    const response = await admin('POST', '/api/v1/webhooks', { url: receiver.url, events: ['shipment.booked', 'shipment.delivered'] });
    expect(response.status).toBe(201);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('etag')).toBe('"v1"');
    const created = (await response.json()) as Record<string, unknown> & { id: string; secret: string };
    subscriptions.push(created.id);
    expect(response.headers.get('location')).toBe(`/api/v1/webhooks/${created.id}`);
    expect(created).toEqual({ id: expect.any(String), url: receiver.url, description: null, events: ['shipment.booked', 'shipment.delivered'], enabled: true, createdAt: expect.any(String), updatedAt: expect.any(String), secret: expect.stringMatching(/^whsec_[\w-]{43}$/) });
    const [stored] = await inTenant(api.db, BOREAL, (em) => em.execute<Array<{ secret: string }>>('SELECT secret FROM webhook_subscriptions WHERE id = ?', [created.id]));
    expect(stored!.secret).toMatch(/^v2:/);
    expect(stored!.secret).not.toContain(created.secret.slice(6));

    const { secret: _shownOnce, ...view } = created;
    expect(await (await admin('GET', `/api/v1/webhooks/${created.id}`)).json()).toEqual(view);
    expect(((await (await admin('GET', '/api/v1/webhooks?limit=100')).json()) as { items: unknown[] }).items).toContainEqual(view);

    const refused = async (method: string, path: string, body: unknown, headers?: Record<string, string>) => {
      const answer = await admin(method, path, body, headers);
      expect(answer.status).toBe(422);
      return ((await answer.json()) as { errors: unknown[] }).errors;
    };
    expect(await refused('POST', '/api/v1/webhooks', { url: 'http://hooks.example.com/in', events: ['shipment.booked'] })).toEqual([{ path: 'url', message: 'must be an https: URL (http: only to a loopback host, for local testing)' }]);
    expect(await refused('POST', '/api/v1/webhooks', { url: 'https://192.168.1.20/in', events: ['shipment.booked'] })).toEqual([{ path: 'url', message: 'must point at a public address: 192.168.1.20 is not a public address (private)' }]);
    expect(await refused('POST', '/api/v1/webhooks', { url: 'https://hooks.example.com/in', events: ['shipment.booked', 'shipment.booked'] })).toEqual([{ path: 'events', message: 'must not repeat an event' }]);
    expect(await refused('POST', '/api/v1/webhooks', { url: 'https://hooks.example.com/in', events: ['shipment.lost'] })).toEqual([{ path: 'events.0', message: expect.stringContaining('shipment.booked') }]);
    expect(await refused('PATCH', `/api/v1/webhooks/${created.id}`, { url: 'https://[::ffff:169.254.169.254]/' }, { 'If-Match': '"v1"' })).toEqual([{ path: 'url', message: 'must point at a public address: ::ffff:a9fe:a9fe is not a public address (linkLocal)' }]);
    expect((await admin('PATCH', `/api/v1/webhooks/${created.id}`, { enabled: false })).status).toBe(428);
    const patched = await admin('PATCH', `/api/v1/webhooks/${created.id}`, { events: ['shipment.closed'], enabled: false }, { 'If-Match': '"v1"' });
    expect(await patched.json()).toMatchObject({ events: ['shipment.closed'], enabled: false });
    expect(patched.headers.get('etag')).toBe('"v2"');
    expect((await api.call('boreal-manager', 'GET', '/api/v1/webhooks')).status).toBe(403);
    expect((await api.call('acme-admin', 'GET', `/api/v1/webhooks/${created.id}`)).status).toBe(404);
    expect((await api.call('acme-admin', 'GET', `/api/v1/webhooks/${created.id}/deliveries`)).status).toBe(404);

    const audit = (await (await admin('GET', `/api/v1/audit-log?entityType=webhook_subscription&entityId=${created.id}`)).json()) as { items: Array<{ action: string }> };
    expect(audit.items.map((e) => e.action)).toEqual(['update', 'security.webhook_secret_issued', 'create']);
    expect(JSON.stringify(audit.items)).not.toContain(created.secret);
  });

  it('one signed delivery per event per subscription: a 500 is retried with the same delivery, a fan-out run again starts nothing twice', async () => {
    const key = shipmentEventIdempotencyKey(shipmentId, 'shipment.booked');
    const a = await subscribe(['shipment.booked', 'shipment.delivered'], { answers: [{ status: 500, body: 'database is restarting', idempotencyKey: key }] });
    const b = await subscribe(['shipment.booked']);
    const onlyDelivered = await subscribe(['shipment.delivered']);
    const disabled = await subscribe(['shipment.booked'], { enabled: false });

    expect(await publish('shipment.booked', { status: 'BOOKED' })).toEqual({ deliveries: 2 });
    expect(await outcome(a.id, 'shipment.booked')).toEqual({ status: 'delivered', responseCode: 204 });
    expect(await outcome(b.id, 'shipment.booked')).toEqual({ status: 'delivered', responseCode: 204 });

    // A: two attempts of one delivery (same id, same body, each signed), one taken in.
    expect(a.receiver.attempts({ idempotencyKey: key }).map((d) => [d.status, d.verification.valid])).toEqual([
      [500, true],
      [204, true],
    ]);
    const [first, second] = a.receiver.attempts({ idempotencyKey: key });
    expect(second!.deliveryId).toBe(first!.deliveryId);
    expect(second!.body).toBe(first!.body);
    expect(a.receiver.accepted({ idempotencyKey: key })).toHaveLength(1);
    expect(first!.event).toBe('shipment.booked');
    expect(first!.json).toEqual({ id: first!.deliveryId, type: 'shipment.booked', createdAt: expect.any(String), data: { status: 'BOOKED', shipmentId, shipmentNumber: `WH-${run}` } });
    expect(b.receiver.accepted({ idempotencyKey: key })).toHaveLength(1);
    // Scoped to this event's key: Boreal's shipments in other files may publish their own events meanwhile.
    expect(onlyDelivered.receiver.attempts({ idempotencyKey: key })).toHaveLength(0);
    expect(disabled.receiver.attempts({ idempotencyKey: key })).toHaveLength(0);

    // The fan-out retried (its activity ran again): the same deliveries, no second workflow, no second row.
    expect(await publish('shipment.booked', { status: 'BOOKED' })).toEqual({ deliveries: 2 });
    for (const subscription of [a, b]) {
      const executions = [];
      for await (const execution of client.workflow.list({ query: `WorkflowId = '${webhookDeliveryWorkflowId(subscription.id, key)}'` })) executions.push(execution);
      expect(executions).toHaveLength(1);
    }
    expect(await deliveryRows(a.id)).toEqual([{ status: 'delivered', attempts: 2, response_code: 204, last_error: null }]);
    expect(await deliveryRows(b.id)).toEqual([{ status: 'delivered', attempts: 1, response_code: 204, last_error: null }]);
    expect(a.receiver.accepted({ idempotencyKey: key })).toHaveLength(1);

    // What the customer sees of it.
    const page = (await (await admin('GET', `/api/v1/webhooks/${a.id}/deliveries`)).json()) as { items: Array<Record<string, unknown>>; nextCursor: string | null };
    expect(page).toEqual({
      items: [
        {
          id: first!.deliveryId,
          event: 'shipment.booked',
          idempotencyKey: key,
          shipmentId,
          status: 'delivered',
          attempts: 2,
          responseCode: 204,
          lastError: null,
          payload: first!.json,
          createdAt: expect.any(String),
          lastAttemptAt: expect.any(String),
          completedAt: expect.any(String),
        },
      ],
      nextCursor: null,
    });
  });

  it('refused for good (410, or 401 from a receiver whose secret does not match) → rejected at once; 429 → retried; failing past the give-up time → gave-up; each recorded', async () => {
    const key = shipmentEventIdempotencyKey(shipmentId, 'shipment.cancelled');
    const gone = await subscribe(['shipment.cancelled'], { answers: [{ status: 410, body: 'gone', idempotencyKey: key }] });
    const forged = await subscribe(['shipment.cancelled'], { wrongSecret: true });
    const throttled = await subscribe(['shipment.cancelled'], { answers: [{ status: 429, idempotencyKey: key }] });
    const down = await subscribe(['shipment.cancelled'], { answers: Array.from({ length: 20 }, () => ({ status: 503, body: 'upstream unavailable', idempotencyKey: key })) });

    expect(await publish('shipment.cancelled', { reason: 'customer called' })).toEqual({ deliveries: 4 });
    const [goneOutcome, forgedOutcome, throttledOutcome, downOutcome] = await Promise.all([gone, forged, throttled, down].map((s) => outcome(s.id, 'shipment.cancelled')));

    expect(goneOutcome).toEqual({ status: 'rejected', responseCode: 410 });
    expect(gone.receiver.attempts({ idempotencyKey: key })).toHaveLength(1);
    expect(await deliveryRows(gone.id)).toEqual([{ status: 'rejected', attempts: 1, response_code: 410, last_error: 'the receiver answered 410: gone' }]);

    expect(forgedOutcome).toEqual({ status: 'rejected', responseCode: 401 });
    expect(forged.receiver.attempts({ idempotencyKey: key }).map((d) => [d.status, d.verification])).toEqual([[401, { valid: false, reason: 'mismatch' }]]);

    expect(throttledOutcome).toEqual({ status: 'delivered', responseCode: 204 });
    expect(throttled.receiver.attempts({ idempotencyKey: key }).map((d) => d.status)).toEqual([429, 204]);

    expect(downOutcome).toEqual({ status: 'gave-up', responseCode: 503 });
    const [downRow] = await deliveryRows(down.id);
    expect(downRow).toMatchObject({ status: 'gave-up', response_code: 503, last_error: `gave up after ${GIVE_UP_SECONDS} s of attempts; the last: the receiver answered 503: upstream unavailable` });
    expect(downRow!.attempts).toBe(down.receiver.attempts({ idempotencyKey: key }).length);
    expect(downRow!.attempts).toBeGreaterThanOrEqual(2);
    expect(down.receiver.accepted({ idempotencyKey: key })).toHaveLength(0);
  });

  it('an event the activity cannot publish is refused, not retried', async () => {
    const refused = await webhooks.publishShipmentEvent({ companyId: BOREAL, shipmentId, event: 'shipment.lost' as ShipmentWebhookEvent, idempotencyKey: 'k-1', data: {} }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ApplicationFailure);
    expect(refused).toMatchObject({ type: 'WebhookEventInvalid', nonRetryable: true, message: 'unknown event "shipment.lost"' });
  });
});
