import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Logger } from '../config/logger.js';
import { fieldBinding } from '../db/encrypted-fields.js';
import { deliveredRecipients, deliveryCount, emergencyContactsToNotify, recordDelivery } from '../db/notifications.js';
import { inTenant, type Database } from '../db/orm.js';
import { NOTIFICATION_AUDIENCES, type NotificationAudience } from '../domain/incident-lifecycle.js';
import type { Role } from '../domain/rbac.js';
import type { KeycloakAdmin } from '../identity/keycloak-admin.js';
import { deliveryKey, PermanentDeliveryFailure, type Notification, type NotificationChannel, type Recipient } from '../integrations/notifications/index.js';
import { FieldIntegrityError, type FieldEncryption } from '../security/field-encryption.js';

/** The people of a company, wherever they are kept (Keycloak): who the `managers` and `everyone` audiences reach. */
export interface CompanyDirectory {
  people(companyId: string): Promise<Array<{ id: string; name: string; email: string; role: Role | undefined }>>;
}

/** The company's enabled users with an e-mail address, read page by page from Keycloak's admin API. */
export function keycloakDirectory(admin: KeycloakAdmin): CompanyDirectory {
  return {
    async people(companyId) {
      const people = [];
      for (let first = 0; ; first += 100) {
        const page = await admin.listUsers(companyId, { first, max: 100 });
        for (const user of page.users) {
          if (user.enabled && user.email) people.push({ id: user.id, name: [user.firstName, user.lastName].filter(Boolean).join(' ') || user.username, email: user.email, role: user.role });
        }
        if (first + 100 >= page.total || page.users.length === 0) return people;
      }
    },
  };
}

export interface NotifyRequest {
  companyId: string;
  audience: NotificationAudience;
  subject: string;
  text: string;
  idempotencyKey: string;
}

const MANAGERS: ReadonlySet<Role | undefined> = new Set(['MANAGER', 'ADMIN']);
/** Deliveries in flight at once per notification. */
const CONCURRENCY = 8;

/**
 * Activities that notify people, through every configured channel (integrations/notifications).
 * `notifyCompany` is idempotent per (idempotencyKey, channel, recipient): a delivery a channel has
 * accepted is recorded (notification_deliveries) and a retry skips it, so a retried activity
 * never sends twice what was accepted. Between a channel's acceptance and its record a crash can
 * still repeat one message: receivers get the same delivery key (Idempotency-Key header, Message-ID)
 * to recognise it.
 */
export function notificationActivities(deps: { db: Database; fields: FieldEncryption; channels: readonly NotificationChannel[]; directory: CompanyDirectory | undefined; log: Logger }) {
  const { db, fields, channels, log } = deps;

  /** The contacts whose phone and e-mail open; one that does not is left out and logged, never a reason to notify nobody. */
  const contacts = async (companyId: string): Promise<Recipient[]> => {
    const sealed = await inTenant(db, companyId, emergencyContactsToNotify);
    return sealed.flatMap((contact) => {
      try {
        const open = (column: 'phone' | 'email', value: string) => fields.decrypt(value, fieldBinding('emergency_contacts', column, contact));
        return [{ key: `contact:${contact.id}`, name: contact.name, phone: open('phone', contact.phone), email: contact.email === null ? null : open('email', contact.email) }];
      } catch (error) {
        if (!(error instanceof FieldIntegrityError)) throw error;
        log.error({ companyId, contactId: contact.id, reason: error.reason }, 'emergency contact left out of a notification: its phone or e-mail failed its integrity check');
        return [];
      }
    });
  };
  const people = async (companyId: string, only?: ReadonlySet<Role | undefined>): Promise<Recipient[]> => {
    if (!deps.directory) {
      log.warn({ companyId }, 'no user directory (KEYCLOAK_ADMIN_CLIENT_SECRET unset): managers and users cannot be notified');
      return [];
    }
    const all = await deps.directory.people(companyId);
    return all.filter((p) => !only || only.has(p.role)).map((p) => ({ key: `user:${p.id}`, name: p.name, email: p.email, phone: null }));
  };
  const recipientsOf = async (companyId: string, audience: NotificationAudience): Promise<Recipient[]> => {
    if (audience === 'emergency-contacts') return contacts(companyId);
    if (audience === 'managers') return people(companyId, MANAGERS);
    return [...(await contacts(companyId)), ...(await people(companyId))];
  };

  return {
    /** Notifies `audience` of the company through every channel; answers how many deliveries of this key the channels have accepted. */
    async notifyCompany(request: NotifyRequest): Promise<{ sent: number }> {
      if (!NOTIFICATION_AUDIENCES.includes(request.audience)) throw ApplicationFailure.nonRetryable(`unknown audience ${JSON.stringify(request.audience)}`, 'InvalidNotification');
      if (!/^[\x21-\x7e]{1,255}$/.test(request.idempotencyKey)) throw ApplicationFailure.nonRetryable('idempotencyKey must be 1–255 visible ASCII characters', 'InvalidNotification');
      if (channels.length === 0) log.warn({ companyId: request.companyId, idempotencyKey: request.idempotencyKey }, 'no notification channel configured (NOTIFY_*): nobody is notified');
      const notification: Notification = { ...request };
      const recipients = await recipientsOf(request.companyId, request.audience);
      const done = await inTenant(db, request.companyId, (em) => deliveredRecipients(em, request.idempotencyKey));
      const pending = channels.flatMap((channel) => channel.deliveries(recipients).filter((d) => !done.has(`${channel.name} ${d.recipient}`)).map((delivery) => ({ channel, delivery })));
      const failures: string[] = [];
      const deliver = async ({ channel, delivery }: (typeof pending)[number]) => {
        try {
          await channel.send(notification, delivery, deliveryKey(request.idempotencyKey, channel.name, delivery.recipient));
          await inTenant(db, request.companyId, (em) => recordDelivery(em, { companyId: request.companyId, key: request.idempotencyKey, channel: channel.name, recipient: delivery.recipient }));
        } catch (error) {
          // A refusal for good (a bad address) is logged and not retried; anything else fails the attempt after the rest are sent.
          if (error instanceof PermanentDeliveryFailure) log.warn({ companyId: request.companyId, channel: channel.name, recipient: delivery.recipient, err: error.message }, 'notification refused for good');
          else failures.push(`${channel.name} to ${delivery.recipient}: ${(error as Error).message}`);
        }
        Context.current().heartbeat();
      };
      const queue = [...pending];
      await Promise.all(Array.from({ length: Math.min(CONCURRENCY, queue.length) }, async () => {
        for (let next = queue.shift(); next; next = queue.shift()) await deliver(next);
      }));
      if (failures.length) throw new Error(`${failures.length} of ${pending.length} deliveries failed (the others are recorded and will not be sent again): ${failures.slice(0, 5).join('; ')}`);
      return { sent: await inTenant(db, request.companyId, (em) => deliveryCount(em, request.idempotencyKey)) };
    },
  };
}
