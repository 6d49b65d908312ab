import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, keylen: number, options: { N: number; r: number; p: number }) => Promise<Buffer>;
const PARAMS = { N: 16384, r: 8, p: 1 };
const KEY_LENGTH = 32;

/** A device secret is shown once at provisioning; only this scrypt hash is stored. */
export function newDeviceSecret(): string {
  return randomBytes(24).toString('base64url');
}

export async function hashDeviceSecret(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scryptAsync(secret, salt, KEY_LENGTH, PARAMS);
  return `scrypt$${PARAMS.N}$${PARAMS.r}$${PARAMS.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

// Verified against when the username is unknown (or revoked), so that answer costs the same
// scrypt as a wrong secret: the time of a refusal does not tell which usernames exist.
let unknownDeviceHash: Promise<string> | undefined;

/** Checks a secret against a stored hash; with no hash (no such device) it does the same work and answers false. */
export async function verifyDeviceSecret(secret: string, stored: string | undefined): Promise<boolean> {
  if (stored === undefined) {
    unknownDeviceHash ??= hashDeviceSecret(newDeviceSecret());
    await verifyDeviceSecret(secret, await unknownDeviceHash);
    return false;
  }
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = await scryptAsync(secret, Buffer.from(salt, 'base64'), expected.length, { N: Number(n), r: Number(r), p: Number(p) });
  return timingSafeEqual(actual, expected);
}
