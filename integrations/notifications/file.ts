import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Delivery, Notification, NotificationChannel } from './channel.js';

/**
 * One JSON line per recipient appended to a file: the local stack's default channel, so a
 * developer sees every notification (`tail -f .stack/notifications.jsonl`) without a mail server
 * or an SMS gateway. Lines hold the recipients' addresses: a development tool, not for production.
 */
export function fileChannel(options: { path: string }): NotificationChannel {
  let ready: Promise<unknown> | undefined;
  return {
    name: 'file',
    deliveries: (recipients) => recipients.map((r) => ({ recipient: r.key, to: [r] })),
    async send(notification: Notification, delivery: Delivery, key: string) {
      ready ??= mkdir(dirname(options.path), { recursive: true });
      await ready;
      const to = delivery.to[0]!;
      const line = {
        at: new Date().toISOString(),
        companyId: notification.companyId,
        audience: notification.audience,
        to: { name: to.name, email: to.email, phone: to.phone },
        subject: notification.subject,
        text: notification.text,
        idempotencyKey: notification.idempotencyKey,
        deliveryKey: key,
      };
      // One write of one line with O_APPEND: concurrent writers never interleave within a line.
      await appendFile(options.path, `${JSON.stringify(line)}\n`, 'utf8');
    },
  };
}
