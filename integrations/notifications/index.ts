import type { Config } from '../../config/env.js';
import type { NotificationChannel } from './channel.js';
import { emailChannel } from './email.js';
import { fileChannel } from './file.js';
import { smsChannel } from './sms.js';
import { webhookChannel } from './webhook.js';

export * from './channel.js';

/** Every channel the configuration names (none: notifications reach nobody, and the worker says so when it starts). */
export function notificationChannels(config: Pick<Config, 'NOTIFY_SMTP_URL' | 'NOTIFY_EMAIL_FROM' | 'NOTIFY_SMS_URL' | 'NOTIFY_WEBHOOK_URL' | 'NOTIFY_FILE_SINK' | 'NOTIFY_HTTP_TIMEOUT_MS'>): NotificationChannel[] {
  const timeoutMs = config.NOTIFY_HTTP_TIMEOUT_MS;
  return [
    ...(config.NOTIFY_SMTP_URL ? [emailChannel({ url: config.NOTIFY_SMTP_URL, from: config.NOTIFY_EMAIL_FROM })] : []),
    ...(config.NOTIFY_SMS_URL ? [smsChannel({ url: new URL(config.NOTIFY_SMS_URL), timeoutMs })] : []),
    ...(config.NOTIFY_WEBHOOK_URL ? [webhookChannel({ url: new URL(config.NOTIFY_WEBHOOK_URL), timeoutMs })] : []),
    ...(config.NOTIFY_FILE_SINK ? [fileChannel({ path: config.NOTIFY_FILE_SINK })] : []),
  ];
}
