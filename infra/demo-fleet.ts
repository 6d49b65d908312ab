import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startFleet, type Fleet } from '../iot-simulator/fleet.js';
import { accessToken, provisionDevices, type ProvisionedDevice } from '../iot-simulator/provision.js';
import type { RouteName } from '../iot-simulator/routes.js';

/** One tanker per route, so the map, the live stream and the geofences have something to show. */
const DEMO_TRUCKS: ReadonlyArray<{ registration: string; route: RouteName }> = [
  { registration: 'DEMO-HUME', route: 'hume' },
  { registration: 'DEMO-MONASH', route: 'west-gate-monash' },
  { registration: 'DEMO-PRINCES', route: 'princes' },
];

interface Saved {
  vehicles: string[];
  devices: ProvisionedDevice[];
}

export interface DemoFleetSettings {
  apiUrl: string;
  mqttUrl: string;
  issuer: string;
  stackRoot: string;
}

/**
 * `npm start`'s demo fleet: three simulated tankers (created and provisioned through the API as
 * acme-manager the first time, remembered in .stack/demo-fleet.json) driving at 20× real time,
 * one point a second each; the West Gate–Monash one passes the Burnley Tunnel every few minutes.
 * A stack whose database was reset refuses the remembered devices: the fleet is made again.
 */
export async function startDemoFleet(settings: DemoFleetSettings): Promise<Fleet> {
  const file = join(settings.stackRoot, 'demo-fleet.json');
  const start = (saved: Saved) =>
    startFleet({
      mqttUrl: settings.mqttUrl,
      devices: saved.devices,
      routes: DEMO_TRUCKS.map((truck) => truck.route),
      pointsPerSecond: 1,
      timeScale: 20,
      connectConcurrency: 3,
    });
  const remembered = await readFile(file, 'utf8').then((text) => JSON.parse(text) as Saved, () => undefined);
  if (remembered) {
    try {
      return await start(remembered);
    } catch {
      // Refused: not this database's devices any more.
    }
  }
  const auth = { token: await accessToken({ issuer: settings.issuer, clientId: 'safeshipper-dev', username: 'acme-manager', password: 'demo-password' }) };
  const suffix = Date.now().toString(36).slice(-4).toUpperCase();
  const vehicles: string[] = [];
  for (const truck of DEMO_TRUCKS) {
    const response = await fetch(`${settings.apiUrl}/api/v1/vehicles`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${auth.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ registration: `${truck.registration}-${suffix}`.slice(0, 16), vehicleType: 'TANKER', capacityKg: 24_000, placardHolders: 4 }),
    });
    if (response.status !== 201) throw new Error(`demo fleet: creating vehicle ${truck.registration}: ${response.status} ${await response.text()}`);
    vehicles.push(((await response.json()) as { id: string }).id);
  }
  const devices = await provisionDevices({ apiUrl: settings.apiUrl, auth, count: DEMO_TRUCKS.length, prefix: `demo-${suffix.toLowerCase()}-`, vehicleIds: vehicles });
  const saved: Saved = { vehicles, devices };
  await writeFile(file, JSON.stringify(saved, null, 2), { mode: 0o600 });
  return start(saved);
}
