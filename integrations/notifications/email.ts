import nodemailer from 'nodemailer';
import { eachWith, PermanentDeliveryFailure, type Delivery, type Notification, type NotificationChannel } from './channel.js';

/**
 * E-mail over SMTP (nodemailer; `smtp://user:pass@host:587` upgrades with STARTTLS when offered,
 * `smtps://…:465` is TLS from the start). The Message-ID is derived from the delivery key, so a
 * resent message is recognisably the same one.
 */
export function emailChannel(options: { url: string; from: string }): NotificationChannel {
  const transport = nodemailer.createTransport(options.url);
  const domain = /@([^>\s]+)/.exec(options.from)?.[1] ?? 'safeshipper.invalid';
  return {
    name: 'email',
    deliveries: eachWith('email'),
    async send(notification: Notification, delivery: Delivery, key: string) {
      const to = delivery.to[0]!;
      try {
        await transport.sendMail({
          from: options.from,
          to: { name: to.name, address: to.email! },
          subject: notification.subject,
          text: notification.text,
          messageId: `<${key}@${domain}>`,
          headers: { 'X-SafeShipper-Notification': notification.idempotencyKey },
        });
      } catch (error) {
        // SMTP 5xx: the server refuses this message or address for good; 4xx and connection errors pass.
        const code = (error as { responseCode?: number }).responseCode;
        if (code !== undefined && code >= 500) throw new PermanentDeliveryFailure(`SMTP ${code}: ${(error as Error).message}`);
        throw error;
      }
    },
  };
}
