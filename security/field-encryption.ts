import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

/**
 * Sensitive fields encrypted at rest (the seed's SecureModelMixin): AES-256-GCM, a fresh 96-bit
 * IV per value, the auth tag kept with it.
 *
 * Stored form: `v2:<key id>:<iv>:<tag>:<ciphertext>` (base64 parts). The key id names the key
 * that sealed the value, so keys can rotate: DATA_ENCRYPTION_KEY seals, and it or any of
 * DATA_ENCRYPTION_PREVIOUS_KEYS opens (`safeshipper data reencrypt` moves every value to the
 * current key, after which the previous ones can go). The associated data binds a value to
 * where it belongs — table, column, row id and company — so a ciphertext copied into another
 * row, column or tenant no longer opens. A value with no row to bind to (a stored replay) is
 * sealed unbound and opens only unbound.
 *
 * The first format, `v1:<iv>:<tag>:<ciphertext>` (no key id, no associated data), is still read,
 * under whichever configured key opens it; nothing writes it any more.
 *
 * Public API, kept stable for every caller: `new FieldEncryption(current, previous?)` (or
 * `fieldEncryptionFromConfig`), `encrypt(plaintext, binding?)`, `decrypt(stored, binding?)`,
 * `isCurrent(stored)`; failures to open are `FieldIntegrityError`.
 */
export interface FieldBinding {
  table: string;
  column: string;
  rowId: string;
  companyId: string;
}

export type FieldIntegrityReason = 'unknown-key' | 'not-authentic' | 'malformed';

/** A stored value that cannot be opened: under a key not configured, altered or moved at rest, or not ours at all. */
export class FieldIntegrityError extends Error {
  override readonly name = 'FieldIntegrityError';
  constructor(
    readonly reason: FieldIntegrityReason,
    message: string,
    readonly keyId?: string,
  ) {
    super(message);
  }
}

const CURRENT = 'v2';
const LEGACY = 'v1';
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** A short, stable name for a key: derived from it (HMAC, so the id says nothing usable about the key). */
export function keyId(keyBase64: string): string {
  return createHmac('sha256', Buffer.from(keyBase64, 'base64')).update('safeshipper field encryption key id').digest('hex').slice(0, 8);
}

const associatedData = (kid: string, binding: FieldBinding | undefined) =>
  Buffer.from(JSON.stringify([CURRENT, kid, binding ? [binding.table, binding.column, binding.rowId, binding.companyId] : null]), 'utf8');

function open(key: Buffer, iv: string, tag: string, ciphertext: string, aad: Buffer | undefined): string | undefined {
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64'));
    if (aad) decipher.setAAD(aad);
    decipher.setAuthTag(Buffer.from(tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64')), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}

export class FieldEncryption {
  readonly currentKeyId: string;
  private readonly keys = new Map<string, Buffer>();

  constructor(currentKeyBase64: string, previousKeysBase64: readonly string[] = []) {
    const current = Buffer.from(currentKeyBase64, 'base64');
    if (current.length !== 32) throw new Error('DATA_ENCRYPTION_KEY must be 32 bytes, base64-encoded');
    this.currentKeyId = keyId(currentKeyBase64);
    this.keys.set(this.currentKeyId, current);
    for (const previous of previousKeysBase64) {
      const key = Buffer.from(previous, 'base64');
      if (key.length !== 32) throw new Error('DATA_ENCRYPTION_PREVIOUS_KEYS: each key must be 32 bytes, base64-encoded');
      const id = keyId(previous);
      if (this.keys.has(id)) throw new Error(`DATA_ENCRYPTION_PREVIOUS_KEYS repeats key ${id}`);
      this.keys.set(id, key);
    }
  }

  encrypt(plaintext: string, binding?: FieldBinding): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(this.currentKeyId)!, iv);
    cipher.setAAD(associatedData(this.currentKeyId, binding));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [CURRENT, this.currentKeyId, iv.toString('base64'), cipher.getAuthTag().toString('base64'), ciphertext.toString('base64')].join(':');
  }

  /** Opens a stored value bound as given; throws FieldIntegrityError when it cannot. */
  decrypt(stored: string, binding?: FieldBinding): string {
    const parts = stored.split(':');
    if (!parts.slice(1).every((part) => BASE64.test(part))) throw new FieldIntegrityError('malformed', 'not an encrypted field value');
    if (parts[0] === CURRENT && parts.length === 5) {
      const [, kid, iv, tag, ciphertext] = parts as [string, string, string, string, string];
      const key = this.keys.get(kid);
      if (!key) throw new FieldIntegrityError('unknown-key', `encrypted under key ${kid}, which is neither DATA_ENCRYPTION_KEY nor in DATA_ENCRYPTION_PREVIOUS_KEYS`, kid);
      const plaintext = open(key, iv, tag, ciphertext, associatedData(kid, binding));
      if (plaintext === undefined) throw new FieldIntegrityError('not-authentic', 'the value was altered, or moved from another row, column or company', kid);
      return plaintext;
    }
    if (parts[0] === LEGACY && parts.length === 4) {
      const [, iv, tag, ciphertext] = parts as [string, string, string, string];
      // The first format named no key: the one whose tag verifies is the one that sealed it.
      for (const key of this.keys.values()) {
        const plaintext = open(key, iv, tag, ciphertext, undefined);
        if (plaintext !== undefined) return plaintext;
      }
      throw new FieldIntegrityError('unknown-key', 'a value of the first format (v1) that no configured key opens: altered, or sealed under a key no longer configured');
    }
    throw new FieldIntegrityError('malformed', 'not an encrypted field value');
  }

  /** True when the value is already in the current format under the current key (re-encryption skips it). */
  isCurrent(stored: string): boolean {
    return stored.startsWith(`${CURRENT}:${this.currentKeyId}:`);
  }
}

/** The key ring the configuration names: DATA_ENCRYPTION_KEY seals; it and DATA_ENCRYPTION_PREVIOUS_KEYS open. */
export function fieldEncryptionFromConfig(config: { DATA_ENCRYPTION_KEY: string; DATA_ENCRYPTION_PREVIOUS_KEYS: readonly string[] }): FieldEncryption {
  return new FieldEncryption(config.DATA_ENCRYPTION_KEY, config.DATA_ENCRYPTION_PREVIOUS_KEYS);
}
