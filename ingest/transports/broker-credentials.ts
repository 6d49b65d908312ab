import { readFile, rename, writeFile } from 'node:fs/promises';
import type { Logger } from '../../config/logger.js';
import { listenForCredentialChanges } from '../../db/devices.js';
import type { Database } from '../../db/orm.js';
import { brokerPasswordLines } from '../../db/broker-credentials.js';
import { DEVICES_MARKER, withDevices } from '../../security/broker-secrets.js';

export interface BrokerPasswordSyncOptions {
  databaseUrl: string;
  /** mosquitto's password_file: service accounts above DEVICES_MARKER, devices below (rewritten here). */
  passwordFile: string;
  /** mosquitto's pid, signalled to re-read the file; it also disconnects sessions whose credentials went away. */
  pidFile: string;
  retryMs?: number;
}

export interface BrokerPasswordSync {
  close(): Promise<void>;
}

/**
 * Keeps a mosquitto password file equal to the live devices in PostgreSQL: at start, on every
 * credential change (provisioning, rotation, revocation, deletion: the `device_credentials_changed`
 * NOTIFY), and after the listener reconnects (changes may have been missed). Each pass rewrites
 * the whole device section from the database, so passes need no order among themselves; changes
 * arriving during a pass make one more pass. Several ingest processes may run this on one broker:
 * a database lock makes their passes take turns, so an older read never lands after a newer one.
 */
export async function syncBrokerPasswords(db: Database, log: Logger, options: BrokerPasswordSyncOptions): Promise<BrokerPasswordSync> {
  const retryMs = options.retryMs ?? 1000;
  let running: Promise<void> | undefined;
  let again = false;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;

  const pass = async () => {
    await brokerPasswordLines(db, async (devices) => {
      const current = await readFile(options.passwordFile, 'utf8');
      const marker = current.indexOf(DEVICES_MARKER);
      const services = new Set((marker === -1 ? current : current.slice(0, marker)).split('\n').map((line) => line.split(':')[0]));
      // A device may not be named like a service account: it would get that account's rights.
      const allowed = devices.filter((device) => !services.has(device.username));
      if (allowed.length !== devices.length) log.warn({ usernames: devices.filter((d) => services.has(d.username)).map((d) => d.username) }, 'devices named like broker service accounts are left out of the broker');
      const next = withDevices(current, allowed);
      if (next !== current) {
        const draft = `${options.passwordFile}.${process.pid}.tmp`;
        await writeFile(draft, next, { mode: 0o600 });
        await rename(draft, options.passwordFile);
      }
      // Signalled even when unchanged: another process may have written the file without reaching the broker.
      const pid = Number((await readFile(options.pidFile, 'utf8')).trim());
      process.kill(pid, 'SIGHUP');
    });
  };

  const schedule = () => {
    if (closed) return;
    if (running) {
      again = true;
      return;
    }
    running = pass()
      .catch((error: unknown) => {
        log.error({ err: error }, 'broker password file not brought up to date; retrying');
        clearTimeout(retry);
        retry = setTimeout(schedule, retryMs);
      })
      .finally(() => {
        running = undefined;
        if (again) {
          again = false;
          schedule();
        }
      });
  };

  await pass();
  const listener = await listenForCredentialChanges(options.databaseUrl, {
    changed: schedule,
    listening: (reconnected) => {
      if (reconnected) schedule();
    },
    lost: (error) => log.error({ err: error }, 'device credential changes not heard; the broker password file is stale until back'),
  });
  // A change made between the first pass and LISTEN would otherwise wait for the next one.
  schedule();
  return {
    async close() {
      closed = true;
      clearTimeout(retry);
      await listener.close();
      await running;
    },
  };
}
