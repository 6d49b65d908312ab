import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { migrate, openDatabase } from '../db/orm.js';
import { DEMO_DEVICE, seedDemoData } from '../db/seed.js';
import { hashDeviceSecret, newDeviceSecret } from '../security/device-secrets.js';
import { governmentActivities, SHIPPED_CATALOGUE } from '../activities/government.js';
import type { SyncOutcome } from '../db/dangerous-goods.js';

export interface DemoDevice {
  mqttUsername: string;
  secret: string;
}

/** The demo device's secret is made once per stack and kept beside the other local secrets. */
async function demoDevice(stackRoot: string): Promise<DemoDevice> {
  const file = join(stackRoot, 'demo-device.json');
  try {
    return JSON.parse(await readFile(file, 'utf8')) as DemoDevice;
  } catch {
    const device = { mqttUsername: DEMO_DEVICE.mqttUsername, secret: newDeviceSecret() };
    await writeFile(file, JSON.stringify(device, null, 2), { mode: 0o600 });
    return device;
  }
}

/**
 * Migrates (as the owner), loads the DG catalogue shipped in data/ through the same sync that
 * reads the regulator's published tables, and seeds the demo companies, geofences and device.
 */
export async function prepareDatabase(env: Record<string, string>, stackRoot: string): Promise<{ applied: string[]; device: DemoDevice; catalogue: SyncOutcome }> {
  const applied = await migrate(env.DATABASE_OWNER_URL!);
  const device = await demoDevice(stackRoot);
  const db = await openDatabase({ url: env.DATABASE_URL!, poolSize: 2 });
  try {
    await seedDemoData(db, await hashDeviceSecret(device.secret));
    const catalogue = await governmentActivities({ catalogueDatabaseUrl: env.DATABASE_CATALOGUE_URL }).syncDangerousGoodsCatalogue(SHIPPED_CATALOGUE);
    return { applied, device, catalogue };
  } finally {
    await db.close();
  }
}
