import { randomBytes, scryptSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hashDeviceSecret, newDeviceSecret, secretIdentity, verifyDeviceSecret } from '../../security/device-secrets.js';

/** A hash as stored before HMAC-SHA-256: scrypt N=16384, r=8, p=1 (databases hold these today). */
const legacyHash = (secret: string) => {
  const salt = randomBytes(16);
  return `scrypt$16384$8$1$${salt.toString('base64')}$${scryptSync(secret, salt, 32, { N: 16384, r: 8, p: 1 }).toString('base64')}`;
};

describe('device secrets', () => {
  it('are stored as a salted HMAC-SHA-256 that verifies only its own secret', async () => {
    const secret = newDeviceSecret();
    const hash = await hashDeviceSecret(secret);
    expect(hash).toMatch(/^hmac-sha256\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=$/);
    expect(hash).not.toContain(secret);
    expect(await hashDeviceSecret(secret)).not.toBe(hash);
    expect(await verifyDeviceSecret(secret, hash)).toEqual({ ok: true });
    expect(await verifyDeviceSecret(newDeviceSecret(), hash)).toEqual({ ok: false });
    expect(await verifyDeviceSecret(secret, hash.slice(0, -4))).toEqual({ ok: false });
    expect(await verifyDeviceSecret(secret, undefined)).toEqual({ ok: false });
  });

  it('a legacy scrypt hash still verifies and hands back its upgrade: the same secret, the same identity; a wrong secret gets none', async () => {
    const secret = newDeviceSecret();
    const legacy = legacyHash(secret);
    expect(await verifyDeviceSecret(newDeviceSecret(), legacy)).toEqual({ ok: false });
    const check = await verifyDeviceSecret(secret, legacy);
    if (!check.ok || !check.upgraded) throw new Error('legacy hash not verified with an upgrade');
    expect(check.upgraded).toMatch(/^hmac-sha256\$/);
    expect(await verifyDeviceSecret(secret, check.upgraded)).toEqual({ ok: true });
    expect(await verifyDeviceSecret(newDeviceSecret(), check.upgraded)).toEqual({ ok: false });
    expect(secretIdentity(check.upgraded)).toBe(secretIdentity(legacy));
    // A rotation is another secret: another identity, whichever form the old hash had.
    const rotated = await hashDeviceSecret(newDeviceSecret());
    expect(secretIdentity(rotated)).not.toBe(secretIdentity(legacy));
    expect(secretIdentity(rotated)).not.toBe(secretIdentity(await hashDeviceSecret(secret)));
  });
});
