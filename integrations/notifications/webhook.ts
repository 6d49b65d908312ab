import type { Delivery, Notification, NotificationChannel } from './channel.js';
import { postJson } from './http.js';

/**
 * One `POST <url>` per notification (an operations channel, a paging service) naming who else
 * it went to, with the delivery key as `Idempotency-Key`. Names only: no phone or e-mail leaves
 * through it.
 */
export function webhookChannel(options: { url: URL; timeoutMs: number }): NotificationChannel {
  return {
    name: 'webhook',
    deliveries: (recipients) => [{ recipient: 'company', to: [...recipients] }],
    async send(notification: Notification, delivery: Delivery, key: string) {
      await postJson(
        options.url,
        {
          type: 'safeshipper.notification',
          companyId: notification.companyId,
          audience: notification.audience,
          subject: notification.subject,
          text: notification.text,
          recipients: delivery.to.map((r) => r.name),
          idempotencyKey: notification.idempotencyKey,
        },
        { 'Idempotency-Key': key },
        options.timeoutMs,
      );
    },
  };
}
