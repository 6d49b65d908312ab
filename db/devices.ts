import type { Database } from './orm.js';

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
