import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Sensitive fields encrypted at rest (the seed's SecureModelMixin): AES-256-GCM, a fresh 96-bit
 * IV per value, the auth tag kept with it. Stored form: `v1:<iv>:<tag>:<ciphertext>` (base64),
 * so a later key or algorithm can be told apart. The key comes from DATA_ENCRYPTION_KEY only.
 */
const VERSION = 'v1';

export class FieldEncryption {
  private readonly key: Buffer;

  constructor(keyBase64: string) {
    this.key = Buffer.from(keyBase64, 'base64');
    if (this.key.length !== 32) throw new Error('DATA_ENCRYPTION_KEY must be 32 bytes, base64-encoded');
  }

  encrypt(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, iv.toString('base64'), cipher.getAuthTag().toString('base64'), ciphertext.toString('base64')].join(':');
  }

  /** Throws on a value altered at rest (the GCM tag no longer matches) or under another key. */
  decrypt(stored: string): string {
    const [version, iv, tag, ciphertext] = stored.split(':');
    if (version !== VERSION || !iv || !tag || ciphertext === undefined) throw new Error('not an encrypted field value');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64'));
    decipher.setAuthTag(Buffer.from(tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64')), decipher.final()]).toString('utf8');
  }
}
