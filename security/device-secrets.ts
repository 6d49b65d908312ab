import { createHmac, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, keylen: number, options: { N: number; r: number; p: number }) => Promise<Buffer>;

/**
 * A device secret is 24 random bytes (192 bits) drawn by the server and shown once; it is never
 * chosen by a human. NIST SP 800-63B §5.1.2.2 (look-up secrets): a secret of at least 112 bits
 * of entropy is stored hashed with an approved one-way function; a salted, slow key derivation
 * function is required only below 112 bits, where guessing the hash offline could succeed. So
 * the stored form is HMAC-SHA-256 keyed with a per-device random salt: a CONNECT costs
 * microseconds, not a scrypt (~7 CONNECTs/s on 2 loaded cores), and a fleet reconnecting after an
 * ingest restart is not queued behind minutes of key derivation.
 */
const SCHEME = 'hmac-sha256';

export function newDeviceSecret(): string {
  return randomBytes(24).toString('base64url');
}

const digest = (secret: string, salt: Buffer) => createHmac('sha256', salt).update(secret, 'utf8').digest();
const encode = (salt: Buffer, secret: string) => `${SCHEME}$${salt.toString('base64')}$${digest(secret, salt).toString('base64')}`;

export async function hashDeviceSecret(secret: string): Promise<string> {
  return encode(randomBytes(16), secret);
}

/**
 * What stays the same for as long as one issued secret is in force: the hash's salt. A rotation
 * draws a new salt; the upgrade of a legacy scrypt hash keeps the scrypt salt, so a live session
 * that proved the old hash is not taken for one whose secret was rotated
 * (ingest/device-auth.ts compares this, not the hash text).
 */
export function secretIdentity(stored: string): string {
  const parts = stored.split('$');
  return (parts[0] === SCHEME ? parts[1] : parts[0] === 'scrypt' ? parts[4] : undefined) ?? stored;
}

/** The secret matched; `upgraded`, when present, is the current form of the same hash, to store in place of the legacy one. */
export type SecretCheck = { ok: false } | { ok: true; upgraded?: string };

// Verified against when the username is unknown (or revoked), so that answer costs the same work
// as a wrong secret for a device in the current form. A device still holding a legacy scrypt hash
// (issued before the change, not connected since) costs a scrypt to refuse, and is told apart by
// time from an unknown name until its next successful CONNECT upgrades it.
const UNKNOWN_DEVICE_HASH = encode(randomBytes(16), newDeviceSecret());

/** Checks a secret against a stored hash; with no hash (no such device) it does the same work and answers false. */
export async function verifyDeviceSecret(secret: string, stored: string | undefined): Promise<SecretCheck> {
  if (stored === undefined) {
    await verifyDeviceSecret(secret, UNKNOWN_DEVICE_HASH);
    return { ok: false };
  }
  const parts = stored.split('$');
  if (parts[0] === SCHEME && parts.length === 3) {
    const expected = Buffer.from(parts[2]!, 'base64');
    const actual = digest(secret, Buffer.from(parts[1]!, 'base64'));
    return { ok: actual.length === expected.length && timingSafeEqual(actual, expected) };
  }
  // Legacy scrypt hashes stay valid: they cannot be rehashed without the secret, which only the
  // device's next CONNECT brings.
  const [scheme, n, r, p, salt, hash] = parts;
  if (scheme !== 'scrypt' || !salt || !hash) return { ok: false };
  const expected = Buffer.from(hash, 'base64');
  const saltBytes = Buffer.from(salt, 'base64');
  const actual = await scryptAsync(secret, saltBytes, expected.length, { N: Number(n), r: Number(r), p: Number(p) });
  return timingSafeEqual(actual, expected) ? { ok: true, upgraded: encode(saltBytes, secret) } : { ok: false };
}
