import { ActivityFailure, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { WEBHOOK_REJECTED, type WebhookDeliveryInput, type WebhookDeliveryOutcome } from './contracts/integrations.js';

const { closeWebhookDelivery } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});

/**
 * One event to one subscription (webhook-<subscriptionId>-<idempotencyKey>): the signed POST
 * is attempted until the receiver takes it, with back-off (1 s, doubling, at most 15 minutes
 * apart), for as long as the deployment gives a delivery (WEBHOOK_GIVE_UP_AFTER_SECONDS, fixed in
 * the input when it was published). A receiver's refusal for good (4xx other than 408/429) ends it
 * at once as `rejected`; running out of time ends it as `gave-up`; both are recorded on the
 * delivery with the last answer.
 */
export async function webhookDeliveryWorkflow(input: WebhookDeliveryInput): Promise<WebhookDeliveryOutcome> {
  const { deliverWebhook } = proxyActivities<Activities>({
    // WEBHOOK_REQUEST_TIMEOUT_MS is at most a minute; the rest is reading and writing the delivery's row.
    startToCloseTimeout: '2 minutes',
    scheduleToCloseTimeout: input.giveUpAfterMs,
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '15 minutes', nonRetryableErrorTypes: [WEBHOOK_REJECTED] },
  });
  try {
    return await deliverWebhook({ companyId: input.companyId, deliveryId: input.deliveryId });
  } catch (error) {
    if (!(error instanceof ActivityFailure)) throw error;
    // The receiver's last answer is the innermost cause (under a TimeoutFailure when time ran out mid-attempt).
    let innermost: Error = error;
    while (innermost.cause instanceof Error) innermost = innermost.cause;
    const last = innermost.message;
    const rejected = error.retryState === 'NON_RETRYABLE_FAILURE';
    const status = rejected ? 'rejected' : 'gave-up';
    await closeWebhookDelivery({ companyId: input.companyId, deliveryId: input.deliveryId, status, reason: rejected ? last : `gave up after ${Math.round(input.giveUpAfterMs / 1000)} s of attempts; the last: ${last}` });
    const code = (innermost as { details?: Array<{ status?: number }> }).details?.[0]?.status;
    return { status, responseCode: typeof code === 'number' ? code : null };
  }
}
