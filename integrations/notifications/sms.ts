import { eachWith, type Delivery, type Notification, type NotificationChannel } from './channel.js';
import { postJson } from './http.js';

/** Longer texts are cut: four concatenated SMS segments. */
const MAX_SMS = 612;

/**
 * An SMS gateway taking `POST <url>` with `{"to", "text", "reference"}` (JSON) and the delivery
 * key as `Idempotency-Key`, the shape most gateways' REST APIs take or an adapter in front of
 * them can map.
 */
export function smsChannel(options: { url: URL; timeoutMs: number }): NotificationChannel {
  return {
    name: 'sms',
    deliveries: eachWith('phone'),
    async send(notification: Notification, delivery: Delivery, key: string) {
      const full = `${notification.subject}\n${notification.text}`;
      const text = full.length > MAX_SMS ? `${full.slice(0, MAX_SMS - 1)}…` : full;
      await postJson(options.url, { to: delivery.to[0]!.phone, text, reference: key }, { 'Idempotency-Key': key }, options.timeoutMs);
    },
  };
}
