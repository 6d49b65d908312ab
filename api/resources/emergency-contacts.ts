import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { EmergencyContactSchema, type EmergencyContact } from '../../db/entities.js';
import { fieldBinding } from '../../db/encrypted-fields.js';
import { FieldIntegrityError, type FieldEncryption } from '../../security/field-encryption.js';
import { Problem } from '../problem.js';
import type { ResourceDefinition } from '../resource.js';
import { text } from '../validation.js';

const fields = {
  name: text(200),
  available24h: z.boolean(),
  phone: z.string().trim().regex(/^\+?[0-9 ()-]{6,20}$/, 'must be a phone number'),
  email: z.email().max(254).nullable(),
  details: text(4000, 0).nullable(),
};
const create = z.strictObject({ ...fields, email: fields.email.default(null), details: fields.details.default(null) });
const update = z.strictObject(fields).partial();

type Sealed = 'phone' | 'email' | 'details';

const UNREADABLE: Record<FieldIntegrityError['reason'], string> = {
  'not-authentic': 'it was altered, or moved here from another row or company, at rest',
  'unknown-key': 'it is encrypted under a key this server is not configured with',
  malformed: 'it is not an encrypted value',
};

/**
 * Emergency contacts: phone, email and details are encrypted at rest (AES-256-GCM), each bound
 * to its row and company, and never written to the audit log in clear (the seed's
 * SecureModelMixin). The row id is chosen before the insert, so the first seal can bind to it.
 */
export function emergencyContacts(crypto: FieldEncryption): ResourceDefinition<EmergencyContact, z.infer<typeof create>, z.infer<typeof update>, unknown> {
  const bind = (column: Sealed, row: { id: string; companyId: string }) => fieldBinding('emergency_contacts', column, row);
  const seal = (column: Sealed, row: { id: string; companyId: string }, value: string | null) => (value === null ? null : crypto.encrypt(value, bind(column, row)));
  // A value that does not open is the server's integrity failure, answered as such (logged with the request id), never as the cipher's own error.
  const open = (column: Sealed, contact: EmergencyContact) => {
    const value = contact[column];
    if (value === null) return null;
    try {
      return crypto.decrypt(value, bind(column, contact));
    } catch (error) {
      if (!(error instanceof FieldIntegrityError)) throw error;
      throw new Problem(500, 'Internal Server Error', `Emergency contact ${contact.id}: the stored ${column} failed its integrity check and is not shown (${UNREADABLE[error.reason]}). The incident is logged with the request id.`);
    }
  };
  return {
    type: 'emergency_contact',
    path: '/api/v1/emergency-contacts',
    entity: EmergencyContactSchema,
    createSchema: create,
    updateSchema: update,
    build: async (input, rc) => {
      const row = { id: randomUUID(), companyId: rc.caller.companyId };
      return { id: row.id, name: input.name, available24h: input.available24h, phone: seal('phone', row, input.phone)!, email: seal('email', row, input.email), details: seal('details', row, input.details) };
    },
    apply: async (contact, input) => {
      if (input.name !== undefined) contact.name = input.name;
      if (input.available24h !== undefined) contact.available24h = input.available24h;
      if (input.phone !== undefined) contact.phone = seal('phone', contact, input.phone)!;
      if (input.email !== undefined) contact.email = seal('email', contact, input.email);
      if (input.details !== undefined) contact.details = seal('details', contact, input.details);
    },
    view: (c) => ({ id: c.id, name: c.name, available24h: c.available24h, phone: open('phone', c), email: open('email', c), details: open('details', c), createdAt: c.createdAt, updatedAt: c.updatedAt }),
    auditView: (c) => ({ id: c.id, name: c.name, available24h: c.available24h, phone: '[encrypted]', email: c.email === null ? null : '[encrypted]', details: c.details === null ? null : '[encrypted]' }),
    filters: z.object({ available24h: z.enum(['true', 'false']).optional() }),
    where: (f) => (f.available24h ? { available24h: f.available24h === 'true' } : {}),
    orders: { name: 'name' },
  };
}

/** What `view` answers, as JSON (decrypted; dates as ISO strings): the response schema of the OpenAPI contract (api/openapi.ts). */
export const emergencyContactView = z.object({
  id: z.uuid(),
  name: z.string(),
  available24h: z.boolean(),
  phone: z.string(),
  email: z.string().nullable(),
  details: z.string().nullable(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
