import { z } from 'zod';
import { EmergencyContactSchema, type EmergencyContact } from '../../db/entities.js';
import type { FieldEncryption } from '../../security/field-encryption.js';
import type { ResourceDefinition } from '../resource.js';

const fields = {
  name: z.string().trim().min(1).max(200),
  available24h: z.boolean(),
  phone: z.string().trim().regex(/^\+?[0-9 ()-]{6,20}$/, 'must be a phone number'),
  email: z.email().max(254).nullable(),
  details: z.string().trim().max(4000).nullable(),
};
const create = z.strictObject({ ...fields, email: fields.email.default(null), details: fields.details.default(null) });
const update = z.strictObject(fields).partial();

/**
 * Emergency contacts: phone, email and details are encrypted at rest (AES-256-GCM) and never
 * written to the audit log in clear (the seed's SecureModelMixin).
 */
export function emergencyContacts(crypto: FieldEncryption): ResourceDefinition<EmergencyContact, z.infer<typeof create>, z.infer<typeof update>, unknown> {
  const seal = (value: string | null) => (value === null ? null : crypto.encrypt(value));
  const open = (value: string | null) => (value === null ? null : crypto.decrypt(value));
  return {
    type: 'emergency_contact',
    path: '/api/v1/emergency-contacts',
    entity: EmergencyContactSchema,
    createSchema: create,
    updateSchema: update,
    build: async (input) => ({ name: input.name, available24h: input.available24h, phone: crypto.encrypt(input.phone), email: seal(input.email), details: seal(input.details) }),
    apply: async (contact, input) => {
      if (input.name !== undefined) contact.name = input.name;
      if (input.available24h !== undefined) contact.available24h = input.available24h;
      if (input.phone !== undefined) contact.phone = crypto.encrypt(input.phone);
      if (input.email !== undefined) contact.email = seal(input.email);
      if (input.details !== undefined) contact.details = seal(input.details);
    },
    view: (c) => ({ id: c.id, name: c.name, available24h: c.available24h, phone: crypto.decrypt(c.phone), email: open(c.email), details: open(c.details), createdAt: c.createdAt, updatedAt: c.updatedAt }),
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
