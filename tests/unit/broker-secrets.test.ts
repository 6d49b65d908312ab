import { pbkdf2Sync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { brokerSecretHash, brokerSecretMatches, DEVICES_MARKER, withDevices, withServiceAccounts } from '../../security/broker-secrets.js';

describe('broker secrets (mosquitto $7$ PBKDF2-SHA512)', () => {
  it('hashes as mosquitto_passwd does: $7$, iterations, 12-byte salt, 64-byte PBKDF2-SHA512 of the secret', async () => {
    const hash = await brokerSecretHash('device-secret');
    const [empty, scheme, iterations, salt, digest] = hash.split('$');
    expect([empty, scheme, iterations]).toEqual(['', '7', '101']);
    expect(Buffer.from(salt!, 'base64')).toHaveLength(12);
    expect(Buffer.from(digest!, 'base64').equals(pbkdf2Sync('device-secret', Buffer.from(salt!, 'base64'), 101, 64, 'sha512'))).toBe(true);
    expect(await brokerSecretMatches('device-secret', hash)).toBe(true);
    expect(await brokerSecretMatches('another-secret', hash)).toBe(false);
    expect(await brokerSecretMatches('device-secret', 'scrypt$16384$8$1$c2FsdA==$aGFzaA==')).toBe(false);
  });

  it('replaces the device section and keeps the service accounts, and the other way round', () => {
    const services = 'safeshipper-ingest:$7$101$a$b\n';
    const first = withDevices(services, [{ username: 'truck-1', hash: '$7$101$c$d' }, { username: 'truck-2', hash: '$7$101$e$f' }]);
    expect(first).toBe(`${services}${DEVICES_MARKER}\ntruck-1:$7$101$c$d\ntruck-2:$7$101$e$f\n`);
    expect(withDevices(first, [{ username: 'truck-2', hash: '$7$101$e$f' }])).toBe(`${services}${DEVICES_MARKER}\ntruck-2:$7$101$e$f\n`);
    expect(withDevices(first, [])).toBe(`${services}${DEVICES_MARKER}\n`);
    expect(withServiceAccounts(first, [{ username: 'safeshipper-ingest', hash: '$7$101$x$y' }])).toBe(first.replace('$7$101$a$b', '$7$101$x$y'));
    // A file without the marker (written by hand) is all service accounts; a new one gets the marker.
    expect(withDevices('ops:$7$101$g$h', [])).toBe(`ops:$7$101$g$h\n${DEVICES_MARKER}\n`);
    expect(withServiceAccounts('', [{ username: 'safeshipper-ingest', hash: '$7$101$x$y' }])).toBe(`safeshipper-ingest:$7$101$x$y\n${DEVICES_MARKER}\n`);
  });
});
