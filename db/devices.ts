import { listenForNotifications, type NotificationListener } from './listen.js';
import { inTenant, type Database } from './orm.js';

export interface DeviceCredentials {
  deviceId: string;
  companyId: string;
  vehicleId: string | null;
  secretHash: string;
}

/** Looks a device up by MQTT username before its company is known (SECURITY DEFINER function). */
export async function deviceCredentials(db: Database, username: string): Promise<DeviceCredentials | undefined> {
  const rows = await db.em.fork().execute<Array<{ device_id: string; company_id: string; vehicle_id: string | null; secret_hash: string }>>(
    'SELECT device_id, company_id, vehicle_id, secret_hash FROM device_credentials(?)',
    [username],
  );
  const row = rows[0];
  return row && { deviceId: row.device_id, companyId: row.company_id, vehicleId: row.vehicle_id, secretHash: row.secret_hash };
}

/**
 * Stores the current form of a device's secret hash in place of a legacy one, only if the legacy
 * hash is still the stored one (a rotation meanwhile wins). The device's company is known here,
 * so this is an ordinary tenant write under row-level security. The change is announced on
 * `device_credentials_changed` like any other; the hash keeps its salt, which is what live
 * sessions compare (security/device-secrets.ts secretIdentity), so none of them is closed.
 */
export async function upgradeDeviceSecretHash(db: Database, device: DeviceCredentials, upgraded: string): Promise<boolean> {
  const rows = await inTenant(db, device.companyId, (em) =>
    em.execute<Array<{ id: string }>>('UPDATE devices SET secret_hash = ? WHERE id = ? AND secret_hash = ? AND revoked_at IS NULL RETURNING id', [upgraded, device.deviceId, device.secretHash]),
  );
  return rows.length === 1;
}

/** The channel a trigger on `devices` notifies, with the MQTT username, when a device's credentials change (Migration20261130100000DeviceRevocation). */
const CREDENTIALS_CHANNEL = 'device_credentials_changed';

export interface CredentialChangeHandlers {
  /** A committed change (rotation, revocation, deletion, new vehicle) of this username's device. */
  changed(username: string): void;
  /** LISTEN is in place; after a reconnect, changes made meanwhile were missed. */
  listening(reconnected: boolean): void;
  /** The connection is gone: no change is heard until `listening` is called again. */
  lost(error: unknown): void;
}

export type CredentialChangeListener = NotificationListener;

/**
 * Hears credential changes on a connection of its own (a pooled one would be handed to other
 * queries between notifications), reconnecting every `retryMs` while it is down. Resolves once
 * LISTEN is in place the first time, so a process does not serve devices it cannot revoke.
 */
export function listenForCredentialChanges(url: string, handlers: CredentialChangeHandlers, options: { retryMs?: number } = {}): Promise<CredentialChangeListener> {
  return listenForNotifications(
    url,
    'ingest-credentials-listener',
    [CREDENTIALS_CHANNEL],
    {
      notified: (_channel, username) => {
        if (username) handlers.changed(username);
      },
      listening: (reconnected) => handlers.listening(reconnected),
      lost: (error) => handlers.lost(error),
    },
    options,
  );
}
