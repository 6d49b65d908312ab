// Shared by the bench/telemetry-*.ts benchmarks: a database of the run's own (cloned from the stack's
// template, migrated, demo companies seeded), devices and vehicles written straight into it (one
// secret for all: the benchmark measures telemetry, not 20,000 scrypt hashes), ingest as its own
// process (`services/main.ts ingest`, what production runs), and the iot-simulator CLI as another.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { stackContext, stackEnvironment } from '../infra/stack/stack.js';
import { migrate, openDatabase } from '../db/orm.js';
import { seedDemoData, DEMO_COMPANIES } from '../db/seed.js';
import { hashDeviceSecret, newDeviceSecret } from '../security/device-secrets.js';
import { brokerSecretHash } from '../security/broker-secrets.js';
import type { FleetStats } from '../iot-simulator/fleet.js';
import { MeasuredRoute } from '../iot-simulator/geo.js';
import { ROUTES } from '../iot-simulator/routes.js';
import { ensureTestNamespace } from '../tests/support/temporal-namespace.js';

export const ACME = DEMO_COMPANIES[0].id;
export const BENCH_NAMESPACE = 'safeshipper-bench';
export const stackEnv = stackEnvironment(await stackContext());
export const run = Date.now().toString(36);
const processes = new Set<Child>();

const sql = async (url: string, statement: string, values: unknown[] = []) => {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query(statement, values)).rows;
  } finally {
    await client.end();
  }
};

export interface BenchDatabase {
  env: Record<string, string>;
  ownerUrl: string;
  query(statement: string, values?: unknown[]): Promise<Array<Record<string, unknown>>>;
  drop(): Promise<void>;
}

/** A database of this run's own; `drop` removes it (BENCH_KEEP_DATABASE=1 keeps it to look at). */
export async function benchDatabase(): Promise<BenchDatabase> {
  await ensureTestNamespace(stackEnv.TEMPORAL_ADDRESS!, BENCH_NAMESPACE);
  const database = `safeshipper_bench_telemetry_${run}`;
  const withDatabase = (url: string) => url.replace(/\/[^/?]+(\?|$)/, `/${database}$1`);
  await sql(stackEnv.DATABASE_OWNER_URL!, `CREATE DATABASE ${database} TEMPLATE safeshipper_template`);
  const ownerUrl = withDatabase(stackEnv.DATABASE_OWNER_URL!);
  await migrate(ownerUrl);
  const db = await openDatabase({ url: withDatabase(stackEnv.DATABASE_URL!) });
  await seedDemoData(db, 'scrypt$unused');
  await db.close();
  return {
    env: { DATABASE_URL: withDatabase(stackEnv.DATABASE_URL!), DATABASE_CATALOGUE_URL: withDatabase(stackEnv.DATABASE_CATALOGUE_URL!) },
    ownerUrl,
    query: (statement, values = []) => sql(ownerUrl, statement, values),
    async drop() {
      if (process.env.BENCH_KEEP_DATABASE === '1') return void console.log(`database kept: ${database}`);
      const drop = () => sql(stackEnv.DATABASE_OWNER_URL!, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      // A process of ours killed a moment ago may still hold a session that FORCE cannot end yet.
      await drop().catch(async () => {
        await new Promise((resolve) => setTimeout(resolve, 2000));
        await drop();
      });
    },
  };
}

/** N devices of Acme, each on a vehicle of its own; their credentials in a file for the simulator's --devices-file. */
export async function benchDevices(database: BenchDatabase, count: number): Promise<{ file: string; cleanup(): Promise<void> }> {
  const secret = newDeviceSecret();
  const [hash, brokerHash] = await Promise.all([hashDeviceSecret(secret), brokerSecretHash(secret)]);
  await database.query(
    `WITH v AS (
       INSERT INTO vehicles (company_id, registration, vehicle_type, capacity_kg, placard_holders)
       SELECT $1, 'B' || lpad(n::text, 6, '0'), 'TANKER', 24000, 4 FROM generate_series(1, $2) n RETURNING id, registration)
     INSERT INTO devices (company_id, vehicle_id, name, mqtt_username, secret_hash, broker_secret_hash)
     SELECT $1, v.id, 'bench ' || v.registration, 'bench-' || lower(v.registration), $3, $4 FROM v`,
    [ACME, count, hash, brokerHash],
  );
  const rows = await database.query(`SELECT mqtt_username FROM devices WHERE mqtt_username LIKE 'bench-%' ORDER BY mqtt_username`);
  const dir = await mkdtemp(join(tmpdir(), 'safeshipper-bench-'));
  const file = join(dir, 'devices.json');
  await writeFile(file, JSON.stringify(rows.map((row) => ({ username: row.mqtt_username, secret }))), { mode: 0o600 });
  return { file, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export interface Child {
  child: ChildProcess;
  /** Resident set size now, MB (from /proc). */
  rssMb(): number;
  stop(): Promise<void>;
}

export function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((entry) => entry.startsWith('VmRSS:'));
  return line ? Number(line.replace(/\D+/g, '')) / 1024 : NaN;
}

function track(child: ChildProcess): Child {
  const tracked: Child = {
    child,
    rssMb: () => rssMb(child.pid!),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((done) => setTimeout(done, 20_000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
  processes.add(tracked);
  child.once('exit', () => processes.delete(tracked));
  return tracked;
}

/**
 * `services/main.ts ingest` in a process of its own, resolved once it listens (embedded) or has
 * subscribed (external). BENCH_PROFILE=1 writes V8 CPU profiles per process into
 * .stack/bench-profiles/<name>-<run>/ (open them in Chrome DevTools or speedscope) to see where the
 * time goes: the one whose name ends `.0.001.cpuprofile` is the main thread's. tsx runs its module
 * loader in a thread of its own, which writes a profile too; under one fixed file name the loader's
 * (idle all run) overwrote the main thread's.
 */
export async function startIngestProcess(env: Record<string, string>, name = 'ingest'): Promise<Child> {
  const profile = process.env.BENCH_PROFILE === '1' ? ['--cpu-prof', `--cpu-prof-dir=.stack/bench-profiles/${name}-${run}`] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', 'services/main.ts', 'ingest'], {
    // Its own task queues on the benchmark's namespace: detection's relay may start incident workflows.
    env: { ...process.env, ...stackEnv, LOG_LEVEL: 'info',
      // Every simulated device connects from 127.0.0.1: the per-address CONNECT budget is sized for a NAT, not a fleet on one host.
      MQTT_AUTH_FAILURES_PER_ADDRESS_PER_MINUTE: '1000000',
      TEMPORAL_NAMESPACE: BENCH_NAMESPACE, TEMPORAL_TASK_QUEUE_PREFIX: `bench-${run}-`, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const tracked = track(child);
  await new Promise<void>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const failed = (code: number | null) => reject(new Error(`${name} exited (${code}) before it was ready`));
    child.once('exit', failed);
    lines.on('line', (line) => {
      if (/"msg":"(mqtt broker listening|subscribed to the shared subscriptions)"/.test(line)) {
        child.removeListener('exit', failed);
        resolve();
      } else if (/"level":(50|60)/.test(line)) console.error(`${name}: ${line}`);
    });
  });
  return tracked;
}

/** A bare aedes broker (no authentication, no database: PUBACK at once) in its own process. */
export async function startRawAedes(port: number): Promise<Child> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/telemetry-raw-aedes.ts', String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const tracked = track(child);
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`raw aedes exited (${code})`)));
    createInterface({ input: child.stdout! }).once('line', () => resolve());
  });
  return tracked;
}

export type SimulatorLine = FleetStats & { t: number; ackedPerSecond: number; final?: boolean; seconds?: number; sustainedPointsPerSecond?: number };

/**
 * The iot-simulator CLI in its own process; resolves with its stats lines (the last one final).
 * `during(line)` sees each line as it comes (to sample the ingest process's RSS beside it).
 */
export async function runSimulator(args: string[], during?: (line: SimulatorLine) => void): Promise<SimulatorLine[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'iot-simulator/cli.ts', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  track(child);
  const lines: SimulatorLine[] = [];
  createInterface({ input: child.stdout! }).on('line', (text) => {
    try {
      const line = JSON.parse(text) as SimulatorLine;
      lines.push(line);
      during?.(line);
    } catch {
      console.error(`simulator: ${text}`);
    }
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0 || !lines.at(-1)?.final) throw new Error(`simulator exited ${code} without its final line`);
  return lines;
}

/** Every process this benchmark started, stopped (on any exit path). */
export async function stopAll(): Promise<void> {
  await Promise.all([...processes].map((child) => child.stop()));
}

/**
 * Runs a benchmark: a database of its own with `deviceCount` devices, then the body; whatever
 * happened, every process it started is stopped and the devices file and database removed. Exits
 * 0, or 1 with the error printed.
 */
export function runBenchmark(deviceCount: number, body: (database: BenchDatabase, devices: { file: string; cleanup(): Promise<void> }) => Promise<void>): void {
  const run = async () => {
    const database = await benchDatabase();
    const devices = await benchDevices(database, deviceCount);
    try {
      await body(database, devices);
    } finally {
      await stopAll();
      await devices.cleanup();
      await database.drop();
    }
  };
  run().then(
    () => process.exit(0),
    async (error: unknown) => {
      console.error(error);
      await stopAll();
      process.exit(1);
    },
  );
}

export const freePortish = () => 20_000 + Math.floor(Math.random() * 20_000);
export const fmt = (value: number) => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-AU') : 'n/a');

export interface Result {
  target: string;
  final: SimulatorLine;
  rssMaxMb: number;
  rows?: number;
}

/** N small squares (≈ 1.1 km) centred on points along the simulator's routes, so vehicles cross them. */
export async function seedGeofences(database: BenchDatabase, count: number): Promise<void> {
  const routes = Object.values(ROUTES).map((route) => new MeasuredRoute(route));
  const centres: Array<[number, number]> = [];
  for (let i = 0; i < count; i++) {
    const route = routes[i % routes.length]!;
    const at = route.at(((i * 0.618033988749895) % 1) * route.lengthKm);
    centres.push([at.lon, at.lat]);
  }
  await database.query(
    `INSERT INTO geofences (company_id, name, kind, area)
     SELECT $1, 'bench fence ' || n, 'DEPOT',
            ST_MakeEnvelope(lon - 0.005, lat - 0.005, lon + 0.005, lat + 0.005, 4326)::geography
       FROM unnest($2::float8[], $3::float8[]) WITH ORDINALITY AS c(lon, lat, n)`,
    [ACME, centres.map((c) => c[0]), centres.map((c) => c[1])],
  );
}

export interface FloodSettings {
  seconds: number;
  batch: number;
  inflight: number;
  warmup: number;
}

/** The simulator in flood mode against a broker for a while; the watched process's RSS sampled at each stats line. */
export async function floodRun(target: string, mqttUrl: string, devicesFile: string, watched: Child | undefined, f: FloodSettings, extraArgs: string[] = []): Promise<Result> {
  let rssMaxMb = watched?.rssMb() ?? NaN;
  const lines = await runSimulator(
    ['--devices-file', devicesFile, '--mqtt-url', mqttUrl, '--mode', 'flood', '--batch', String(f.batch), '--max-inflight', String(f.inflight), '--duration', String(f.seconds), '--warmup', String(f.warmup), '--stats-every', '5', '--time-scale', '30', '--connect-concurrency', '50', ...extraArgs],
    (line) => {
      rssMaxMb = Math.max(rssMaxMb, watched?.rssMb() ?? NaN);
      if (!line.final) console.log(`  ${target} t=${line.t}s ${fmt(line.ackedPerSecond)} points/s acked, ${line.connected}/${line.devices} connected, p99 ${fmt(line.latencyMs.p99)} ms`);
    },
  );
  return { target, final: lines.at(-1)!, rssMaxMb };
}

export function printResults(title: string, results: Result[]): void {
  console.log(`\n${title}`);
  console.log('| run | devices | points/s sustained | messages acked | p50 / p99 publish→PUBACK (ms) | broker/ingest RSS max (MB) | rows stored |');
  console.log('|---|---|---|---|---|---|---|');
  for (const { target, final, rssMaxMb, rows } of results) {
    console.log(`| ${target} | ${final.devices} | ${fmt(final.sustainedPointsPerSecond ?? NaN)} | ${fmt(final.ackedMessages)} | ${fmt(final.latencyMs.p50)} / ${fmt(final.latencyMs.p99)} | ${fmt(rssMaxMb)} | ${rows === undefined ? '–' : `${fmt(rows)} (acked ${fmt(final.acked)})`} |`);
  }
}

