import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FieldEncryption, FieldIntegrityError, keyId } from '../../security/field-encryption.js';

const newKey = () => randomBytes(32).toString('base64');
const contact = { table: 'emergency_contacts', column: 'phone', rowId: '5b0c2c1e-1111-4111-8111-000000000001', companyId: '11111111-1111-4111-8111-111111111111' };

/** A value as the first format stored it (`v1:<iv>:<tag>:<ciphertext>`, no key id, no associated data). */
function legacyCiphertext(keyBase64: string, plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', Buffer.from(keyBase64, 'base64'), iv);
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ['v1', iv.toString('base64'), cipher.getAuthTag().toString('base64'), body.toString('base64')].join(':');
}

const refusal = (work: () => unknown) => {
  try {
    work();
  } catch (error) {
    return error;
  }
  throw new Error('expected a refusal');
};

describe('field encryption (AES-256-GCM, key id, associated data)', () => {
  const key = newKey();
  const fields = new FieldEncryption(key);

  it('stores v2:<key id>:<iv>:<tag>:<ciphertext>, never the same ciphertext twice, and round-trips', () => {
    const a = fields.encrypt('+61 400 000 000', contact);
    const b = fields.encrypt('+61 400 000 000', contact);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^v2:[0-9a-f]{8}:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);
    expect(a.split(':')[1]).toBe(fields.currentKeyId);
    // The number is nowhere in what is stored: not as text, not as bytes inside the base64 parts. (Not "no '400'": a random key id or IV may hold those characters.)
    expect(a).not.toContain('+61 400 000 000');
    for (const part of a.split(':').slice(2)) expect(Buffer.from(part, 'base64').includes(Buffer.from('400 000'))).toBe(false);
    expect(fields.decrypt(a, contact)).toBe('+61 400 000 000');
  });

  it('derives the key id from the key: stable, short, and different per key', () => {
    expect(keyId(key)).toBe(fields.currentKeyId);
    expect(keyId(key)).toMatch(/^[0-9a-f]{8}$/);
    expect(keyId(newKey())).not.toBe(keyId(key));
  });

  it('binds a value to its table, column, row and company: moved anywhere else it is refused', () => {
    const stored = fields.encrypt('+61 400 000 000', contact);
    for (const elsewhere of [
      { ...contact, rowId: '5b0c2c1e-1111-4111-8111-000000000002' },
      { ...contact, companyId: '22222222-2222-4222-8222-222222222222' },
      { ...contact, column: 'email' },
      { ...contact, table: 'drivers' },
    ]) {
      expect(refusal(() => fields.decrypt(stored, elsewhere))).toMatchObject({ name: 'FieldIntegrityError', reason: 'not-authentic' });
    }
    expect(refusal(() => fields.decrypt(stored))).toBeInstanceOf(FieldIntegrityError);
    // An unbound value (the caller has no row to bind to) opens only unbound.
    const unbound = fields.encrypt('{"replay":true}');
    expect(fields.decrypt(unbound)).toBe('{"replay":true}');
    expect(refusal(() => fields.decrypt(unbound, contact))).toMatchObject({ reason: 'not-authentic' });
  });

  it('detects a value altered at rest', () => {
    const [v, kid, iv, tag, body] = fields.encrypt('chlorine response team', contact).split(':') as [string, string, string, string, string];
    const flipped = Buffer.from(body, 'base64');
    flipped[0] = flipped[0]! ^ 1;
    expect(refusal(() => fields.decrypt([v, kid, iv, tag, flipped.toString('base64')].join(':'), contact))).toMatchObject({ reason: 'not-authentic' });
    expect(refusal(() => fields.decrypt('plain text', contact))).toMatchObject({ reason: 'malformed' });
    expect(refusal(() => fields.decrypt('v9:a:b:c', contact))).toMatchObject({ reason: 'malformed' });
  });

  it('rotation: the previous keys still decrypt, new values use the current key; an unknown key id is named', () => {
    const old = new FieldEncryption(key);
    const stored = old.encrypt('+61 400 000 000', contact);
    const next = newKey();
    const rotated = new FieldEncryption(next, [key]);
    expect(rotated.decrypt(stored, contact)).toBe('+61 400 000 000');
    expect(rotated.encrypt('x', contact).split(':')[1]).toBe(keyId(next));
    expect(rotated.isCurrent(stored)).toBe(false);
    expect(rotated.isCurrent(rotated.encrypt('x', contact))).toBe(true);
    const error = refusal(() => new FieldEncryption(next).decrypt(stored, contact));
    expect(error).toMatchObject({ reason: 'unknown-key', keyId: keyId(key) });
    expect((error as Error).message).toBe(`encrypted under key ${keyId(key)}, which is neither DATA_ENCRYPTION_KEY nor in DATA_ENCRYPTION_PREVIOUS_KEYS`);
  });

  it('reads the first format (v1: no key id, no associated data) under the current or a previous key', () => {
    const v1 = legacyCiphertext(key, '+61 400 000 000');
    expect(fields.decrypt(v1, contact)).toBe('+61 400 000 000');
    expect(new FieldEncryption(newKey(), [key]).decrypt(v1, contact)).toBe('+61 400 000 000');
    expect(fields.isCurrent(v1)).toBe(false);
    expect(refusal(() => new FieldEncryption(newKey()).decrypt(v1, contact))).toMatchObject({ reason: 'unknown-key' });
  });

  it('refuses keys that are not 32 bytes, and a previous key equal to the current one', () => {
    expect(() => new FieldEncryption(randomBytes(16).toString('base64'))).toThrow('DATA_ENCRYPTION_KEY must be 32 bytes, base64-encoded');
    expect(() => new FieldEncryption(key, [randomBytes(16).toString('base64')])).toThrow('DATA_ENCRYPTION_PREVIOUS_KEYS: each key must be 32 bytes, base64-encoded');
    expect(() => new FieldEncryption(key, [key])).toThrow(`DATA_ENCRYPTION_PREVIOUS_KEYS repeats key ${keyId(key)}`);
  });
});
