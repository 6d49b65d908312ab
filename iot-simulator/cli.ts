// `npm run simulator -- [options]`: a fleet of simulated trackers in a process of its own.
// Stats go to stdout as one JSON line each (a benchmark reads them); messages to stderr.
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { startFleet, type FleetOptions, type FleetStats } from './fleet.js';
import { parseFault } from './faults.js';
import { provisionDevices, readDevicesFile, writeDevicesFile, type ProvisionOptions } from './provision.js';
import { ROUTES, type RouteName } from './routes.js';

const USAGE = `usage: npm run simulator -- [options]

Devices (one of):
  --devices-file PATH        JSON array of { "username", "secret" }
  --provision N              provision N devices through the API (POST /api/v1/devices)
      --prefix P             their usernames: P1 … PN (default sim-<time>-)
      --api-url URL          default http://localhost:$API_PORT (3100)
      --token JWT            an access token (or SIM_TOKEN), else Keycloak's password grant:
      --issuer URL           default $OIDC_ISSUER
      --client-id ID         default safeshipper-dev
      --user NAME            default acme-operator (needs manage_fleet)
      --password PW          default demo-password
      --vehicle-ids A,B,…    attach device n to vehicle n mod count
      --save-devices PATH    write the provisioned credentials (mode 600) for --devices-file

Driving and publishing:
  --mqtt-url URL             default mqtt://localhost:$MQTT_PORT (1883); ws:// and mqtts:// work too
  --protocol-version 4|5     MQTT 3.1.1 (default) or 5 (external broker)
  --routes R,…               ${Object.keys(ROUTES).join(', ')} (default all, in turn)
  --start-at KM|WAYPOINT     where every vehicle starts (default spread along the routes)
  --mode rate|flood          rate: --rate points/s per device (default); flood: as fast as acks allow
  --rate N                   points per second per device (default 1)
  --batch N                  points per message (default 1)
  --max-inflight N           unacknowledged messages per device (default 10)
  --qos 0|1                  default 1
  --speed KMH                default 90
  --time-scale N             simulated seconds per second of motion (default 1; 60 = an hour a minute)
  --no-commands              do not subscribe to the commands topics
  --connect-concurrency N    CONNECTs at once (default 100)
  --connect-timeout S        wait for a CONNACK this long (default 10)
  --fault TARGET:FAULT       at start; TARGET a username or all; repeatable
  --duration S               stop after S seconds (default: until Ctrl-C or "quit")
  --warmup S                 latencies of the first S seconds are not counted (default 0)
  --stats-every S            a stats line every S seconds (default 5)

Faults: temperature-excursion[=C] leak crash-tilt[=DEG] door-open gps-jump[=KM] restricted-zone
        network-drop[=S] clock-skew=S clear
Control on stdin, one per line: "<username|all> <fault>", "stats", "quit".
A device also takes a fault on its commands topic: {"simulate":{"kind":"leak"}}.`;

const { values } = parseArgs({
  options: {
    'devices-file': { type: 'string' },
    provision: { type: 'string' },
    prefix: { type: 'string' },
    'api-url': { type: 'string' },
    token: { type: 'string' },
    issuer: { type: 'string' },
    'client-id': { type: 'string' },
    user: { type: 'string' },
    password: { type: 'string' },
    'vehicle-ids': { type: 'string' },
    'save-devices': { type: 'string' },
    'mqtt-url': { type: 'string' },
    'protocol-version': { type: 'string' },
    routes: { type: 'string' },
    'start-at': { type: 'string' },
    mode: { type: 'string' },
    rate: { type: 'string' },
    batch: { type: 'string' },
    'max-inflight': { type: 'string' },
    qos: { type: 'string' },
    speed: { type: 'string' },
    'time-scale': { type: 'string' },
    'no-commands': { type: 'boolean' },
    'connect-concurrency': { type: 'string' },
    'connect-timeout': { type: 'string' },
    fault: { type: 'string', multiple: true },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    'stats-every': { type: 'string' },
    help: { type: 'boolean' },
  },
});

const fail = (message: string): never => {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(2);
};
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const number = (name: keyof typeof values, fallback: number): number => {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (typeof raw !== 'string' || !Number.isFinite(value)) return fail(`--${name}: ${String(raw)} is not a number`);
  return value;
};
const env = process.env;

async function devices(): Promise<FleetOptions['devices']> {
  if (values['devices-file'] && values.provision) return fail('--devices-file or --provision, not both');
  if (values['devices-file']) return readDevicesFile(values['devices-file']);
  if (!values.provision) return fail('say which devices: --devices-file PATH or --provision N');
  const token = values.token ?? env.SIM_TOKEN;
  const issuer = values.issuer ?? env.OIDC_ISSUER;
  if (!token && !issuer) return fail('--provision needs --token or --issuer (or OIDC_ISSUER)');
  const provision: ProvisionOptions = {
    apiUrl: values['api-url'] ?? `http://localhost:${env.API_PORT ?? 3100}`,
    auth: token ? { token } : { issuer: issuer!, clientId: values['client-id'] ?? 'safeshipper-dev', username: values.user ?? 'acme-operator', password: values.password ?? 'demo-password' },
    count: number('provision', 0),
    prefix: values.prefix ?? `sim-${Date.now().toString(36)}-`,
    ...(values['vehicle-ids'] ? { vehicleIds: values['vehicle-ids'].split(',') } : {}),
  };
  const provisioned = await provisionDevices(provision);
  if (values['save-devices']) await writeDevicesFile(values['save-devices'], provisioned);
  console.error(`provisioned ${provisioned.length} devices${values['save-devices'] ? `; credentials in ${values['save-devices']}` : ''}`);
  return provisioned;
}

const routes = values.routes?.split(',').map((name) => (name in ROUTES ? (name as RouteName) : fail(`--routes: no route ${name}`)));
const mode = values.mode ?? 'rate';
if (mode !== 'rate' && mode !== 'flood') fail('--mode is rate or flood');
const qos = number('qos', 1);
if (qos !== 0 && qos !== 1) fail('--qos is 0 or 1');
const protocolVersion = number('protocol-version', 4);
if (protocolVersion !== 4 && protocolVersion !== 5) fail('--protocol-version is 4 or 5');
const startAt = values['start-at'] === undefined ? undefined : Number.isFinite(Number(values['start-at'])) ? Number(values['start-at']) : values['start-at'];
const faults = (values.fault ?? []).map((text) => {
  const at = text.indexOf(':');
  if (at < 1) return fail(`--fault ${text}: TARGET:FAULT, e.g. all:leak`);
  return { target: text.slice(0, at), fault: parseFault(text.slice(at + 1)) };
});

const fleet = await startFleet({
  mqttUrl: values['mqtt-url'] ?? `mqtt://localhost:${env.MQTT_PORT ?? 1883}`,
  devices: await devices(),
  ...(routes ? { routes } : {}),
  mode: mode as 'rate' | 'flood',
  pointsPerSecond: number('rate', 1),
  pointsPerMessage: number('batch', 1),
  maxInflight: number('max-inflight', 10),
  qos: qos as 0 | 1,
  speedKmh: number('speed', 90),
  timeScale: number('time-scale', 1),
  ...(startAt === undefined ? {} : { startAt }),
  commands: !values['no-commands'],
  connectConcurrency: number('connect-concurrency', 100),
  mqtt: { protocolVersion: protocolVersion as 4 | 5, connectTimeout: number('connect-timeout', 10) * 1000 },
  onEvent: (event) => {
    if (event.type === 'fault') console.error(`${event.username}: ${JSON.stringify(event.fault)}`);
  },
});
const started = performance.now();
console.error(`${fleet.devices.length} devices connected to the broker`);
for (const { target, fault } of faults) fleet.inject(target, fault);

let previous = { at: started, acked: 0 };
const line = (extra: Record<string, unknown> = {}) => {
  const now = performance.now();
  const stats: FleetStats = fleet.stats();
  const ackedPerSecond = ((stats.acked - previous.acked) * 1000) / (now - previous.at);
  previous = { at: now, acked: stats.acked };
  console.log(JSON.stringify({ t: Math.round((now - started) / 100) / 10, ackedPerSecond: Math.round(ackedPerSecond), ...stats, ...extra }));
};
const warmup = number('warmup', 0);
if (warmup > 0) setTimeout(() => fleet.resetLatencies(), warmup * 1000).unref();
const statsTimer = setInterval(line, number('stats-every', 5) * 1000);

let stopping = false;
const stop = async (why: string) => {
  if (stopping) return;
  stopping = true;
  clearInterval(statsTimer);
  console.error(`${why}: sending what is buffered, then disconnecting`);
  const end = performance.now();
  const acked = fleet.stats().acked;
  await fleet.stop();
  // The rate over the run, before the drain: what the fleet sustained while it was producing.
  line({ final: true, seconds: Math.round((end - started) / 100) / 10, sustainedPointsPerSecond: Math.round((acked * 1000) / (end - started)) });
  process.exit(0);
};
process.once('SIGINT', () => void stop('SIGINT'));
process.once('SIGTERM', () => void stop('SIGTERM'));
const duration = number('duration', 0);
if (duration > 0) setTimeout(() => void stop(`${duration}s done`), duration * 1000);

createInterface({ input: process.stdin }).on('line', (input) => {
  const [target, command] = input.trim().split(/\s+/, 2);
  if (!target) return;
  if (target === 'quit') return void stop('quit');
  if (target === 'stats') return line();
  try {
    if (!command) throw new Error('"<username|all> <fault>", "stats" or "quit"');
    fleet.inject(target, parseFault(command));
  } catch (error) {
    console.error((error as Error).message);
  }
});
