import { createHash } from 'node:crypto';
import type { NotificationAudience } from '../../domain/incident-lifecycle.js';

/**
 * Notifications leave through channels behind one interface: SMTP e-mail, an SMS gateway, a
 * webhook, and a JSON-lines file (the local stack's stand-in for all three). Each is configured
 * by a URL (config/env.ts); the product knows nothing else of the system behind it.
 */
export type ChannelName = 'email' | 'sms' | 'webhook' | 'file';

/** Someone a notification can reach: an emergency contact (phone, maybe e-mail) or a user of the company (e-mail). */
export interface Recipient {
  /** Stable and free of personal data (`contact:<uuid>`, `user:<uuid>`): what a delivery is recorded under. */
  key: string;
  name: string;
  email: string | null;
  phone: string | null;
}

export interface Notification {
  companyId: string;
  audience: NotificationAudience;
  subject: string;
  text: string;
  idempotencyKey: string;
}

/** One message a channel sends: to one recipient (e-mail, SMS, file), or one for the whole list (webhook). */
export interface Delivery {
  /** The recipient's key, or `company` for a delivery to the whole list. */
  recipient: string;
  to: Recipient[];
}

export interface NotificationChannel {
  readonly name: ChannelName;
  /** The deliveries this channel makes to `recipients` (those it can reach). */
  deliveries(recipients: readonly Recipient[]): Delivery[];
  /**
   * Sends one delivery; resolves once the other side has accepted it. `deliveryKey` is the same on
   * every attempt of the same (notification, channel, recipient): receivers deduplicate on it.
   * Throws a `PermanentDeliveryFailure` when retrying cannot help (the address is refused).
   */
  send(notification: Notification, delivery: Delivery, deliveryKey: string): Promise<void>;
}

/** The other side refused this delivery for good (a 4xx, an SMTP 5xx): retrying sends nothing. */
export class PermanentDeliveryFailure extends Error {}

/** The key receivers deduplicate on: a digest of the notification's key, the channel and the recipient. */
export function deliveryKey(idempotencyKey: string, channel: ChannelName, recipient: string): string {
  return createHash('sha256').update(`${idempotencyKey}\n${channel}\n${recipient}`).digest('hex').slice(0, 40);
}

/** One delivery per recipient that has `field`. */
export const eachWith = (field: 'email' | 'phone') => (recipients: readonly Recipient[]): Delivery[] => recipients.filter((r) => r[field]).map((r) => ({ recipient: r.key, to: [r] }));
