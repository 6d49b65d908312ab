import type { EntityManager } from './orm.js';

/** An emergency contact as stored: phone and email still sealed (security/field-encryption.ts). */
export interface SealedContact {
  id: string;
  companyId: string;
  name: string;
  phone: string;
  email: string | null;
}

/** The company's emergency contacts, 24-hour ones first. */
export async function emergencyContactsToNotify(em: EntityManager): Promise<SealedContact[]> {
  const rows = await em.execute<Array<{ id: string; company_id: string; name: string; phone: string; email: string | null }>>(
    'SELECT id, company_id, name, phone, email FROM emergency_contacts ORDER BY available_24h DESC, name, id',
  );
  return rows.map((r) => ({ id: r.id, companyId: r.company_id, name: r.name, phone: r.phone, email: r.email }));
}

/** Which of `recipients` have already been delivered `key` through `channel`. */
export async function deliveredRecipients(em: EntityManager, key: string): Promise<Set<string>> {
  const rows = await em.execute<Array<{ channel: string; recipient: string }>>('SELECT channel, recipient FROM notification_deliveries WHERE idempotency_key = ?', [key]);
  return new Set(rows.map((r) => `${r.channel} ${r.recipient}`));
}

/** Records that a channel accepted `key` for a recipient: a retry of the notification skips it. */
export async function recordDelivery(em: EntityManager, delivery: { companyId: string; key: string; channel: string; recipient: string }): Promise<void> {
  await em.execute('INSERT INTO notification_deliveries (company_id, idempotency_key, channel, recipient) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING', [
    delivery.companyId,
    delivery.key,
    delivery.channel,
    delivery.recipient,
  ]);
}

export async function deliveryCount(em: EntityManager, key: string): Promise<number> {
  const [row] = await em.execute<Array<{ n: number }>>('SELECT count(*)::int AS n FROM notification_deliveries WHERE idempotency_key = ?', [key]);
  return row?.n ?? 0;
}
