import { readFile, writeFile } from 'node:fs/promises';
import type { DeviceCredentials } from './device.js';

/** How the simulator gets an access token: one given, or Keycloak's password grant (the dev client). */
export type TokenSource = { token: string } | { issuer: string; clientId: string; username: string; password: string };

export interface ProvisionOptions {
  apiUrl: string;
  auth: TokenSource;
  count: number;
  /** Device usernames are `${prefix}${n}` (n from 1): re-running with the same prefix finds them taken (422). */
  prefix: string;
  /** Attach device n to vehicleIds[n mod length]: the platform learns which vehicle a point belongs to. */
  vehicleIds?: readonly string[];
  /** Requests at once. */
  concurrency?: number;
}

export interface ProvisionedDevice extends DeviceCredentials {
  id: string;
  vehicleId: string | null;
}

export async function accessToken(source: TokenSource): Promise<string> {
  if ('token' in source) return source.token;
  const response = await fetch(`${source.issuer}/protocol/openid-connect/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'password', client_id: source.clientId, username: source.username, password: source.password }),
  });
  const body = (await response.json().catch(() => ({}))) as { access_token?: string; error_description?: string };
  if (!response.ok || !body.access_token) throw new Error(`no token for ${source.username} from ${source.issuer}: ${response.status} ${body.error_description ?? ''}`);
  return body.access_token;
}

/** Provisions devices through the API (POST /api/v1/devices): the secret is in that answer only. */
export async function provisionDevices(options: ProvisionOptions): Promise<ProvisionedDevice[]> {
  const token = await accessToken(options.auth);
  const devices: ProvisionedDevice[] = new Array(options.count);
  let next = 0;
  const worker = async () => {
    while (next < options.count) {
      const index = next++;
      const username = `${options.prefix}${index + 1}`;
      const vehicleId = options.vehicleIds?.length ? options.vehicleIds[index % options.vehicleIds.length]! : null;
      const response = await fetch(`${options.apiUrl}/api/v1/devices`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: `Simulated tracker ${username}`, mqttUsername: username, vehicleId }),
      });
      const body = (await response.json().catch(() => ({}))) as { id?: string; mqtt?: { username: string; secret: string }; detail?: string };
      if (response.status !== 201 || !body.mqtt || !body.id) throw new Error(`provisioning ${username}: ${response.status} ${body.detail ?? JSON.stringify(body)}`);
      devices[index] = { id: body.id, vehicleId, username: body.mqtt.username, secret: body.mqtt.secret };
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 8, options.count) }, worker));
  return devices;
}

/** A devices file: a JSON array of `{ "username", "secret" }` (what `--provision` writes with `--save-devices`). */
export async function readDevicesFile(path: string): Promise<DeviceCredentials[]> {
  const parsed = JSON.parse(await readFile(path, 'utf8')) as unknown;
  if (!Array.isArray(parsed)) throw new Error(`${path}: expected a JSON array of { "username", "secret" }`);
  return parsed.map((entry: unknown, index) => {
    const { username, secret } = (entry ?? {}) as { username?: unknown; secret?: unknown };
    if (typeof username !== 'string' || typeof secret !== 'string') throw new Error(`${path}[${index}]: needs string username and secret`);
    return { username, secret };
  });
}

export async function writeDevicesFile(path: string, devices: readonly DeviceCredentials[]): Promise<void> {
  await writeFile(path, JSON.stringify(devices, null, 2), { mode: 0o600 });
}
