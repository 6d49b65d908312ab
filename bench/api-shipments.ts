// GET /api/v1/shipments/{id} and the first page of GET /api/v1/shipments, with auth + RLS, in a
// company holding 100,000 shipments. The API runs in its own process on a database of its own
// (cloned from the stack's template, migrated, seeded); autocannon drives it from this process.
// Needs the local stack: npm run stack -- up.   Run: npx tsx bench/api-shipments.ts
import { spawn } from 'node:child_process';
import autocannon from 'autocannon';
import { stackContext, stackEnvironment } from '../infra/stack/stack.js';
import pg from 'pg';
import { migrate, openDatabase } from '../db/orm.js';
import { seedDemoData } from '../db/seed.js';

const SHIPMENTS = 100_000;
const ACME = '11111111-1111-4111-8111-111111111111';
const env = stackEnvironment(await stackContext());
const database = `safeshipper_bench_${Date.now().toString(36)}`;
const withDatabase = (url: string) => url.replace(/\/[^/]+$/, `/${database}`);

const admin = new pg.Client({ connectionString: env.DATABASE_OWNER_URL });
await admin.connect();
await admin.query(`CREATE DATABASE ${database} TEMPLATE safeshipper_template`);
const port = 3191;
let api: ReturnType<typeof spawn> | undefined;
try {
  await migrate(withDatabase(env.DATABASE_OWNER_URL!));
  const db = await openDatabase({ url: withDatabase(env.DATABASE_URL!) });
  await seedDemoData(db, 'scrypt$unused');
  await db.close();
  const owner = new pg.Client({ connectionString: withDatabase(env.DATABASE_OWNER_URL!) });
  await owner.connect();
  let started = Date.now();
  await owner.query(
    `INSERT INTO shipments (company_id, shipment_number, origin_address, origin_location, destination_address, destination_location, pickup_at, deliver_by, created_at)
     SELECT $1, 'BENCH-' || g, 'Laverton North VIC', ST_SetSRID(ST_MakePoint(144.77, -37.86), 4326)::geography, 'Dandenong VIC',
            ST_SetSRID(ST_MakePoint(145.21, -37.99), 4326)::geography, now() + g * interval '1 minute', now() + g * interval '1 minute' + interval '4 hours',
            now() - (${SHIPMENTS} - g) * interval '1 second'
       FROM generate_series(1, ${SHIPMENTS}) g`,
    [ACME],
  );
  await owner.query('ANALYZE shipments');
  console.log(`seeded ${SHIPMENTS} shipments for one company in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const { rows } = await owner.query(`SELECT id FROM shipments WHERE company_id = $1 ORDER BY random() LIMIT 1000`, [ACME]);
  const ids = rows.map((row: { id: string }) => row.id);
  await owner.end();

  api = spawn(process.execPath, [...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir=.stack/profiles'] : []), '--import', 'tsx', 'services/main.ts', 'api'], {
    env: { ...process.env, ...env, DATABASE_URL: withDatabase(env.DATABASE_URL!), API_PORT: String(port), API_HOST: '127.0.0.1', LOG_LEVEL: 'warn', RATE_LIMIT_READ_PER_MINUTE: '1000000', RATE_LIMIT_COMPUTE_PER_MINUTE: '1000000', RATE_LIMIT_KEY_PREFIX: `bench:${Date.now()}` },
    stdio: 'inherit',
  });
  for (let i = 0; i < 100; i += 1) {
    if (await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false)) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const { access_token: token } = (await (
    await fetch(`${env.OIDC_ISSUER}/protocol/openid-connect/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'password', client_id: 'safeshipper-dev', username: 'acme-viewer', password: 'demo-password' }) })
  ).json()) as { access_token: string };
  const headers = { Authorization: `Bearer ${token}` };
  const warm = await fetch(`http://127.0.0.1:${port}/api/v1/shipments/${ids[0]}`, { headers });
  if (warm.status !== 200) throw new Error(`warm-up: ${warm.status} ${await warm.text()}`);

  const measure = async (title: string, options: autocannon.Options) => {
    started = Date.now();
    const result = await autocannon({ ...options, headers, duration: Number(process.env.BENCH_SECONDS ?? 20) });
    console.log(
      `${title}: ${result.requests.average.toFixed(0)} req/s sustained, latency p50 ${result.latency.p50} ms  p90 ${result.latency.p90} ms  p99 ${result.latency.p99} ms  max ${result.latency.max} ms  ` +
        `(${result.requests.total} requests, ${result.non2xx + result.errors} not 2xx)`,
    );
  };
  let next = 0;
  await measure('GET /api/v1/shipments/{id}, one connection (service time)', {
    url: `http://127.0.0.1:${port}`,
    connections: 1,
    requests: [{ method: 'GET', setupRequest: (request) => ({ ...request, path: `/api/v1/shipments/${ids[next++ % ids.length]}` }) }],
  });
  for (const connections of [10, 50]) await measure(`GET /api/v1/shipments/{id} at 500 req/s over ${connections} connections`, {
    url: `http://127.0.0.1:${port}`,
    connections,
    overallRate: 500,
    requests: [{ method: 'GET', setupRequest: (request) => ({ ...request, path: `/api/v1/shipments/${ids[next++ % ids.length]}` }) }],
  });
  await measure('GET /api/v1/shipments (first page of 25, 100k rows) at 200 req/s', { url: `http://127.0.0.1:${port}/api/v1/shipments?limit=25`, connections: 10, overallRate: 200 });
  await measure('GET /api/v1/shipments (first page, status filter) at 200 req/s', { url: `http://127.0.0.1:${port}/api/v1/shipments?limit=25&status=DRAFT`, connections: 10, overallRate: 200 });
  await measure('GET /api/v1/shipments/{id} flat out', {
    url: `http://127.0.0.1:${port}`,
    connections: 20,
    requests: [{ method: 'GET', setupRequest: (request) => ({ ...request, path: `/api/v1/shipments/${ids[next++ % ids.length]}` }) }],
  });
} finally {
  api?.kill('SIGTERM');
  await new Promise((resolve) => setTimeout(resolve, 1500));
  await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await admin.end();
}
