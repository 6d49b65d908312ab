import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/activity';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import { fieldBinding } from '../db/encrypted-fields.js';
import { closeDelivery, finishDeliveryAttempt, recordDelivery, shipmentNumber, startDeliveryAttempt, subscriptionsTo } from '../db/integrations.js';
import { inTenant, type Database } from '../db/orm.js';
import { IDEMPOTENCY_KEY_PATTERN, SHIPMENT_WEBHOOK_EVENTS, type WebhookDeliveryStatus } from '../domain/integrations.js';
import { headerValue, OutboundFailure, OutboundHttp, retryAfterMs, USER_AGENT } from '../integrations/outbound-http.js';
import type { IntegrationSettings } from '../integrations/settings.js';
import { SIGNATURE_HEADER, signWebhook } from '../integrations/webhooks/signature.js';
import type { FieldEncryption } from '../security/field-encryption.js';
import {
  WEBHOOK_DELIVERY_WORKFLOW_TYPE,
  WEBHOOK_REJECTED,
  webhookDeliveryWorkflowId,
  type ShipmentEventRequest,
  type WebhookDeliveryInput,
  type WebhookDeliveryOutcome,
} from '../workflows/contracts/integrations.js';
import { ShipmentSearchAttributes } from '../workflows/contracts/shipment.js';

/** The type of an event the activity cannot publish (a caller's bug). */
const WEBHOOK_EVENT_INVALID = 'WebhookEventInvalid';
/** The type of an attempt the receiver did not take but may later (5xx, 408, 429, no answer): retried. */
const WEBHOOK_FAILED = 'WebhookFailed';
const MAX_DATA_BYTES = 32 * 1024;

/** 4xx means the receiver refused this delivery for good, except 408 (it timed out) and 429 (it asks us to slow down). */
const refusedForGood = (status: number) => status >= 300 && status < 500 && status !== 408 && status !== 429;

/**
 * Outbound webhooks: an event fans out to one delivery per subscription of the company (a row
 * keyed by subscription and idempotency key, and a webhook-delivery workflow with an id made of
 * both), and each delivery is POSTed, signed, until the receiver takes it, refuses it, or the
 * delivery is given up.
 */
export function webhookActivities(deps: { db: Database; fields: FieldEncryption; temporal: Client; settings: IntegrationSettings }) {
  const { db, fields, temporal, settings } = deps;

  return {
    /**
     * Records one delivery per enabled subscription to the event and starts its workflow. Run
     * again with the same key (a retried activity), it finds the deliveries recorded and the
     * workflows started, and starts nothing twice. Answers how many subscriptions get the event.
     */
    async publishShipmentEvent(request: ShipmentEventRequest): Promise<{ deliveries: number }> {
      if (!SHIPMENT_WEBHOOK_EVENTS.includes(request.event)) throw ApplicationFailure.nonRetryable(`unknown event ${JSON.stringify(request.event)}`, WEBHOOK_EVENT_INVALID);
      if (!IDEMPOTENCY_KEY_PATTERN.test(request.idempotencyKey)) throw ApplicationFailure.nonRetryable('the idempotency key must be 1–120 visible ASCII characters', WEBHOOK_EVENT_INVALID);
      if (request.data === null || typeof request.data !== 'object' || Array.isArray(request.data)) throw ApplicationFailure.nonRetryable('data must be a JSON object', WEBHOOK_EVENT_INVALID);
      if (Buffer.byteLength(JSON.stringify(request.data)) > MAX_DATA_BYTES) throw ApplicationFailure.nonRetryable(`data must be at most ${MAX_DATA_BYTES} bytes of JSON`, WEBHOOK_EVENT_INVALID);

      const deliveries = await inTenant(db, request.companyId, async (em) => {
        const subscriptions = await subscriptionsTo(em, request.event);
        if (subscriptions.length === 0) return [];
        const number = await shipmentNumber(em, request.shipmentId);
        const createdAt = new Date().toISOString();
        const recorded = [];
        for (const subscriptionId of subscriptions) {
          const id = randomUUID();
          const payload = { id, type: request.event, createdAt, data: { ...request.data, shipmentId: request.shipmentId, shipmentNumber: number } };
          recorded.push({ subscriptionId, ...(await recordDelivery(em, { id, companyId: request.companyId, subscriptionId, idempotencyKey: request.idempotencyKey, event: request.event, shipmentId: request.shipmentId, payload })) });
        }
        return recorded;
      });

      for (const delivery of deliveries.filter((d) => d.status === 'pending')) {
        const input: WebhookDeliveryInput = { companyId: request.companyId, deliveryId: delivery.id, giveUpAfterMs: settings.webhooks.giveUpAfterMs };
        await temporal.workflow
          .start(WEBHOOK_DELIVERY_WORKFLOW_TYPE, {
            workflowId: webhookDeliveryWorkflowId(delivery.subscriptionId, request.idempotencyKey),
            taskQueue: settings.webhooks.taskQueue,
            args: [input],
            // Running: the same one; completed: none again (the delivery row says how it ended).
            workflowIdConflictPolicy: 'USE_EXISTING',
            workflowIdReusePolicy: 'REJECT_DUPLICATE',
            typedSearchAttributes: new TypedSearchAttributes([{ key: ShipmentSearchAttributes.CompanyId, value: request.companyId }]),
          })
          .catch((error: unknown) => {
            if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
          });
      }
      return { deliveries: deliveries.length };
    },

    /**
     * One attempt of one delivery: POSTs the event signed with the subscription's secret. A 2xx
     * closes it as delivered; a refusal for good (4xx other than 408/429, a redirect, a
     * destination we do not call) is non-retryable; anything else is retried by the workflow.
     */
    async deliverWebhook(request: { companyId: string; deliveryId: string }): Promise<WebhookDeliveryOutcome> {
      const delivery = await inTenant(db, request.companyId, (em) => startDeliveryAttempt(em, request.deliveryId));
      // Deleted with its subscription, or already closed by an earlier attempt or a give-up.
      if (!delivery) return { status: 'cancelled', responseCode: null };
      if (delivery.status !== 'pending') return { status: delivery.status, responseCode: null };
      if (!delivery.enabled) {
        await inTenant(db, request.companyId, (em) => closeDelivery(em, delivery.id, 'cancelled', 'the subscription was disabled before the delivery went out'));
        return { status: 'cancelled', responseCode: null };
      }
      const record = (result: { responseCode: number | null; error: string | null; delivered: boolean }) => inTenant(db, request.companyId, (em) => finishDeliveryAttempt(em, delivery.id, result));

      let secret: string;
      try {
        secret = fields.decrypt(delivery.secret, fieldBinding('webhook_subscriptions', 'secret', { id: delivery.subscriptionId, companyId: request.companyId }));
      } catch (error) {
        const message = `the subscription's signing secret cannot be opened (${(error as Error).message})`;
        await record({ responseCode: null, error: message, delivered: false });
        throw ApplicationFailure.nonRetryable(message, WEBHOOK_REJECTED);
      }
      const body = JSON.stringify(delivery.payload);
      const http = new OutboundHttp(settings.webhooks);
      let status: number;
      let answer: string;
      let retryAfter: string | undefined;
      try {
        const response = await http.send({
          method: 'POST',
          url: delivery.url,
          headers: {
            'Content-Type': 'application/json',
            'User-Agent': USER_AGENT,
            [SIGNATURE_HEADER]: signWebhook(secret, body, Math.floor(Date.now() / 1000)),
            'SafeShipper-Event': delivery.event,
            'SafeShipper-Delivery': delivery.id,
            'Idempotency-Key': delivery.idempotencyKey,
          },
          body,
        });
        status = response.status;
        answer = response.text.replace(/\s+/g, ' ').trim().slice(0, 300);
        retryAfter = headerValue(response.headers, 'retry-after');
      } catch (error) {
        if (!(error instanceof OutboundFailure)) throw error;
        await record({ responseCode: null, error: error.message, delivered: false });
        if (!error.retryable) throw ApplicationFailure.nonRetryable(error.message, WEBHOOK_REJECTED);
        throw ApplicationFailure.create({ message: error.message, type: WEBHOOK_FAILED });
      } finally {
        await http.close();
      }

      if (status >= 200 && status < 300) {
        await record({ responseCode: status, error: null, delivered: true });
        return { status: 'delivered', responseCode: status };
      }
      const message = `the receiver answered ${status}${status >= 300 && status < 400 ? ' (redirects are not followed)' : ''}${answer ? `: ${answer}` : ''}`;
      await record({ responseCode: status, error: message, delivered: false });
      if (refusedForGood(status)) throw ApplicationFailure.nonRetryable(message, WEBHOOK_REJECTED, { status });
      const wait = retryAfterMs(retryAfter);
      throw ApplicationFailure.create({ message, type: WEBHOOK_FAILED, details: [{ status }], ...(wait !== undefined ? { nextRetryDelay: wait } : {}) });
    },

    /** Closes a delivery the workflow stopped trying: refused for good, or given up after the configured time. */
    async closeWebhookDelivery(request: { companyId: string; deliveryId: string; status: Extract<WebhookDeliveryStatus, 'rejected' | 'gave-up'>; reason: string }): Promise<void> {
      await inTenant(db, request.companyId, (em) => closeDelivery(em, request.deliveryId, request.status, request.reason));
    },
  };
}
