import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FieldEncryption } from '../../security/field-encryption.js';

describe('field encryption (AES-256-GCM)', () => {
  const key = randomBytes(32).toString('base64');
  const fields = new FieldEncryption(key);

  it('round-trips, and never stores the same ciphertext twice for one value', () => {
    const a = fields.encrypt('+61 400 000 000');
    const b = fields.encrypt('+61 400 000 000');
    expect(a).not.toBe(b);
    expect(a).toMatch(/^v1:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);
    expect(a).not.toContain('400');
    expect(fields.decrypt(a)).toBe('+61 400 000 000');
  });

  it('detects a value altered at rest and refuses a foreign key', () => {
    const stored = fields.encrypt('chlorine response team');
    const [v, iv, tag, body] = stored.split(':') as [string, string, string, string];
    const flipped = Buffer.from(body, 'base64');
    flipped[0] = flipped[0]! ^ 1;
    expect(() => fields.decrypt([v, iv, tag, flipped.toString('base64')].join(':'))).toThrow();
    expect(() => new FieldEncryption(randomBytes(32).toString('base64')).decrypt(stored)).toThrow();
    expect(() => new FieldEncryption(randomBytes(16).toString('base64'))).toThrow('DATA_ENCRYPTION_KEY must be 32 bytes');
  });
});
