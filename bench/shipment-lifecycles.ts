// N shipment lifecycles from BOOKED to CLOSED at once, through the API, on the stack's Temporal dev
// server: lifecycles per second, and p50/p99 of each transition's round trip (API → update →
// activities → answer). The API and the worker run in processes of their own, on a database of their
// own (cloned from the stack's template, migrated and seeded), in a Temporal namespace of their own.
// Needs the local stack: npm run stack -- up.   Run: npx tsx bench/shipment-lifecycles.ts
// BENCH_LIFECYCLES (200) lifecycles; BENCH_CONCURRENCY (all of them) run at once.
// Then alarm → incident: BENCH_ALARMS (100) incident workflows started the way ingest starts one for an
// alarm (a client start, by the contract), 10 per second: p50/p99 until the workflow has started, and
// until its first activity has written the incident's row.
import { spawn, type ChildProcess } from 'node:child_process';
import pg from 'pg';
import { Client, Connection } from '@temporalio/client';
import { stackContext, stackEnvironment } from '../infra/stack/stack.js';
import { migrate, openDatabase } from '../db/orm.js';
import { seedDemoData } from '../db/seed.js';
import { governmentActivities, SHIPPED_CATALOGUE } from '../activities/government.js';
import { ensureTestNamespace } from '../tests/support/temporal-namespace.js';
import { INCIDENT_WORKFLOW_TYPE, incidentWorkflowId, type IncidentInput } from '../workflows/contracts/incident.js';
import { randomUUID } from 'node:crypto';

const LIFECYCLES = Number(process.env.BENCH_LIFECYCLES ?? 200);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? LIFECYCLES);
const ACME = '11111111-1111-4111-8111-111111111111';
const NAMESPACE = 'safeshipper-bench';
const env = stackEnvironment(await stackContext());
const run = Date.now().toString(36);
const database = `safeshipper_bench_${run}`;
const prefix = `bench-${run}-`;
const withDatabase = (url: string) => url.replace(/\/[^/]+$/, `/${database}`);
const port = 3192;
const base = `http://127.0.0.1:${port}`;

/** One statement on the stack's database as its owner, on a connection of its own (the stack may end idle sessions there). */
const asOwner = async (sql: string) => {
  const client = new pg.Client({ connectionString: env.DATABASE_OWNER_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
};
await asOwner(`CREATE DATABASE ${database} TEMPLATE safeshipper_template`);
const processes: ChildProcess[] = [];

const serviceEnv = {
  ...process.env,
  ...env,
  DATABASE_URL: withDatabase(env.DATABASE_URL!),
  DATABASE_CATALOGUE_URL: withDatabase(env.DATABASE_CATALOGUE_URL!),
  TEMPORAL_NAMESPACE: NAMESPACE,
  TEMPORAL_TASK_QUEUE_PREFIX: prefix,
  API_PORT: String(port),
  API_HOST: '127.0.0.1',
  LOG_LEVEL: 'warn',
  API_RATE_LIMITS: 'off',
};
const start = (service: string) => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/main.ts', service], { env: serviceEnv, stdio: 'inherit' });
  processes.push(child);
  return child;
};
const stop = async (child: ChildProcess) => {
  if (child.exitCode !== null) return;
  const exited = new Promise((done) => child.once('exit', done));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((done) => setTimeout(done, 15_000))]);
};

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
};

try {
  await migrate(withDatabase(env.DATABASE_OWNER_URL!));
  const db = await openDatabase({ url: withDatabase(env.DATABASE_URL!) });
  await seedDemoData(db, 'scrypt$unused');
  await db.close();
  await governmentActivities({ catalogueDatabaseUrl: withDatabase(env.DATABASE_CATALOGUE_URL!) }).syncDangerousGoodsCatalogue(SHIPPED_CATALOGUE);
  await ensureTestNamespace(env.TEMPORAL_ADDRESS!, NAMESPACE);
  console.log(`database ${database} migrated and seeded; namespace ${NAMESPACE}, task queues ${prefix}*`);

  // One compliant load per shipment (UN1203 petrol, 200 L) and a crew per 10 shipments, all current.
  const owner = new pg.Client({ connectionString: withDatabase(env.DATABASE_OWNER_URL!) });
  await owner.connect();
  owner.on('error', () => undefined); // a failed statement rejects its query; the teardown's DROP … WITH (FORCE) ends this session
  const { rows: shipments } = await owner.query<{ id: string }>(
    `INSERT INTO shipments (company_id, shipment_number, origin_address, origin_location, destination_address, destination_location, pickup_at, deliver_by)
     SELECT $1, 'BENCH-' || g, 'Laverton North VIC', ST_SetSRID(ST_MakePoint(144.77, -37.86), 4326)::geography, 'Dandenong VIC',
            ST_SetSRID(ST_MakePoint(145.21, -37.99), 4326)::geography, now() + interval '1 day', now() + interval '2 days'
       FROM generate_series(1, $2::int) g RETURNING id`,
    [ACME, LIFECYCLES],
  );
  await owner.query(
    `INSERT INTO consignment_items (company_id, shipment_id, dangerous_good_id, quantity, unit, packages)
     SELECT $1, s.id, (SELECT id FROM dangerous_goods WHERE un_number = 'UN1203' AND withdrawn_at IS NULL ORDER BY row_index LIMIT 1), 200, 'L', 1
       FROM unnest($2::uuid[]) AS s(id)`,
    [ACME, shipments.map((s) => s.id)],
  );
  const crews = Math.max(1, Math.ceil(LIFECYCLES / 10));
  const { rows: drivers } = await owner.query<{ id: string }>(
    `INSERT INTO drivers (company_id, full_name, dg_licence_number, dg_licence_class, dg_licence_expires_on)
     SELECT $1, 'Bench driver ' || g, 'BENCH-' || g, 'DG', DATE '2031-12-31' FROM generate_series(1, $2::int) g RETURNING id`,
    [ACME, crews],
  );
  await owner.query(
    `INSERT INTO driver_training_records (company_id, driver_id, course, completed_on, expires_on)
     SELECT $1, d.id, 'DG awareness', DATE '2026-01-10', DATE '2031-01-10' FROM unnest($2::uuid[]) AS d(id)`,
    [ACME, drivers.map((d) => d.id)],
  );
  const { rows: vehicles } = await owner.query<{ id: string }>(
    `INSERT INTO vehicles (company_id, registration, vehicle_type, capacity_kg, placard_holders, inspection_expires_on)
     SELECT $1, 'BENCH ' || g, 'TANKER', 20000, 4, DATE '2031-06-30' FROM generate_series(1, $2::int) g RETURNING id`,
    [ACME, crews],
  );
  await owner.end();

  const api = start('api');
  start('worker');
  for (let i = 0; i < 300; i += 1) {
    if (await fetch(`${base}/health/ready`).then((r) => r.ok, () => false)) break;
    if (api.exitCode !== null) throw new Error('the API exited');
    await new Promise((done) => setTimeout(done, 200));
  }
  const token = async (username: string) =>
    (
      (await (
        await fetch(`${env.OIDC_ISSUER}/protocol/openid-connect/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'password', client_id: 'safeshipper-dev', username, password: 'demo-password' }) })
      ).json()) as { access_token: string }
    ).access_token;
  const tokens = { operator: await token('acme-operator'), driver: await token('acme-driver') };

  const rounds = new Map<string, number[]>();
  const failures: string[] = [];
  const post = async (who: keyof typeof tokens, id: string, verb: string, body: unknown = {}) => {
    const started = performance.now();
    const response = await fetch(`${base}/api/v1/shipments/${id}/${verb}`, { method: 'POST', headers: { Authorization: `Bearer ${tokens[who]}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    const text = await response.text();
    const ms = performance.now() - started;
    if (response.status !== 200) throw new Error(`${verb} ${id}: ${response.status} ${text}`);
    rounds.set(verb, [...(rounds.get(verb) ?? []), ms]);
  };
  const lifecycle = async (id: string, index: number) => {
    await post('operator', id, 'book');
    await post('operator', id, 'assign', { vehicleId: vehicles[index % crews]!.id, driverId: drivers[index % crews]!.id });
    await post('driver', id, 'depart');
    await post('driver', id, 'arrive');
    await post('driver', id, 'deliver', { signedBy: 'Bench receiver', signedAt: new Date().toISOString(), documentId: `POD-${index}` });
    await post('operator', id, 'close');
  };

  // A few lifecycles first: the worker's and the API's first requests (bundles, pools, JWKS) are not what we measure.
  await Promise.all(shipments.slice(0, 2).map((s, i) => lifecycle(s.id, i)));
  rounds.clear();
  const measured = shipments.slice(2);
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, measured.length) }, async () => {
      while (next < measured.length) {
        const index = next++;
        await lifecycle(measured[index]!.id, index).catch((error: Error) => failures.push(error.message));
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const completed = measured.length - failures.length;
  console.log(`\n${completed} lifecycles BOOKED → CLOSED (6 transitions each), ${Math.min(CONCURRENCY, measured.length)} at once: ${seconds.toFixed(1)} s, ${(completed / seconds).toFixed(1)} lifecycles/s, ${((completed * 6) / seconds).toFixed(0)} transitions/s`);
  const all: number[] = [];
  for (const [verb, times] of rounds) {
    all.push(...times);
    console.log(`  ${verb.padEnd(8)} round trip p50 ${percentile(times, 50).toFixed(0)} ms  p99 ${percentile(times, 99).toFixed(0)} ms  max ${Math.max(...times).toFixed(0)} ms  (${times.length})`);
  }
  console.log(`  every update   p50 ${percentile(all, 50).toFixed(0)} ms  p99 ${percentile(all, 99).toFixed(0)} ms`);
  if (failures.length) console.log(`${failures.length} lifecycles failed; first: ${failures[0]}`);

  const connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS! });
  const client = new Client({ connection, namespace: NAMESPACE });

  const alarms = Number(process.env.BENCH_ALARMS ?? 100);
  const probe = new pg.Client({ connectionString: withDatabase(env.DATABASE_OWNER_URL!) });
  await probe.connect();
  const alarmStarted: number[] = [];
  const written: number[] = [];
  await Promise.all(
    Array.from({ length: alarms }, async (_, index) => {
      await new Promise((done) => setTimeout(done, index * 100));
      const incidentId = randomUUID();
      const input: IncidentInput = {
        companyId: ACME,
        incidentId,
        kind: 'SENSOR_ALARM',
        severity: 'HIGH',
        shipmentId: null,
        vehicleId: vehicles[index % crews]!.id,
        description: `bench alarm ${index}: leak sensor wet`,
        reportedBy: null,
        occurredAt: new Date().toISOString(),
        location: { lat: -37.86, lon: 144.77 },
        source: 'alarm',
      };
      const alarmAt = performance.now();
      await client.workflow.start(INCIDENT_WORKFLOW_TYPE, { workflowId: incidentWorkflowId(incidentId), taskQueue: `${prefix}incidents`, args: [input] });
      alarmStarted.push(performance.now() - alarmAt);
      while ((await probe.query('SELECT 1 FROM incidents WHERE id = $1', [incidentId])).rowCount === 0) await new Promise((done) => setTimeout(done, 5));
      written.push(performance.now() - alarmAt);
    }),
  );
  await probe.end();
  console.log(`\nalarm → incident (${alarms} alarms, 10/s): workflow started p50 ${percentile(alarmStarted, 50).toFixed(0)} ms  p99 ${percentile(alarmStarted, 99).toFixed(0)} ms; its row written p50 ${percentile(written, 50).toFixed(0)} ms  p99 ${percentile(written, 99).toFixed(0)} ms  max ${Math.max(...written).toFixed(0)} ms`);

  // Nothing of the benchmark stays open in its namespace.
  for await (const execution of client.workflow.list({ query: 'ExecutionStatus="Running"' })) {
    if (execution.taskQueue.startsWith(prefix)) await client.workflow.getHandle(execution.workflowId, execution.runId).terminate('benchmark ended');
  }
  for await (const schedule of client.schedule.list()) if (schedule.scheduleId.startsWith(prefix)) await client.schedule.getHandle(schedule.scheduleId).delete();
  await connection.close();
} finally {
  for (const child of processes) await stop(child);
  await asOwner(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
}
