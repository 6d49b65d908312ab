// GET /api/v1/shipments/{id} and the first page of GET /api/v1/shipments, with auth + RLS, in a
// company holding 100,000 shipments. The API runs in its own process(es) on a database of its own
// (cloned from the stack's template, migrated, seeded once); autocannon drives it from this process.
// Needs the local stack: npm run stack -- up.   Run: npx tsx bench/api-shipments.ts
//
// Comparing two versions on a shared, noisy machine: name each checkout and alternate them, round
// after round, on the same seeded database; the summary gives each figure's median and range.
//   BENCH_APIS="before=/tmp/old-checkout,after=." BENCH_ROUNDS=3 BENCH_ONLY=by-id npx tsx bench/api-shipments.ts
// BENCH_SECONDS (20) per scenario; BENCH_ONLY=by-id runs only the GET /shipments/{id} rate scenarios;
// API_WORKERS passes through to the API (cluster size; a checkout without cluster mode ignores it).
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import { stackContext, stackEnvironment } from '../infra/stack/stack.js';
import { migrate, openDatabase } from '../db/orm.js';
import { seedDemoData } from '../db/seed.js';

const SHIPMENTS = 100_000;
const ACME = '11111111-1111-4111-8111-111111111111';
const apis = (process.env.BENCH_APIS ?? 'current=.').split(',').map((entry) => {
  const [label, dir] = entry.includes('=') ? entry.split('=') : [entry, entry];
  return { label: label!, dir: resolve(dir!) };
});
const rounds = Number(process.env.BENCH_ROUNDS ?? 1);
const onlyById = process.env.BENCH_ONLY === 'by-id';
const env = stackEnvironment(await stackContext());
const database = `safeshipper_bench_${Date.now().toString(36)}`;
const withDatabase = (url: string) => url.replace(/\/[^/]+$/, `/${database}`);

const admin = new pg.Client({ connectionString: env.DATABASE_OWNER_URL });
await admin.connect();
await admin.query(`CREATE DATABASE ${database} TEMPLATE safeshipper_template`);
const port = 3191;
let api: ChildProcess | undefined;

const stopApi = async () => {
  if (!api || api.exitCode !== null) return;
  const exited = new Promise((done) => api!.once('exit', done));
  api.kill('SIGTERM');
  await Promise.race([exited, new Promise((done) => setTimeout(done, 10_000))]);
};

type Figures = { p50: number; p99: number; rate: number; bad: number };
const results = new Map<string, Figures[]>();

try {
  await migrate(withDatabase(env.DATABASE_OWNER_URL!));
  const db = await openDatabase({ url: withDatabase(env.DATABASE_URL!) });
  await seedDemoData(db, 'scrypt$unused');
  await db.close();
  const owner = new pg.Client({ connectionString: withDatabase(env.DATABASE_OWNER_URL!) });
  await owner.connect();
  const seeding = Date.now();
  await owner.query(
    `INSERT INTO shipments (company_id, shipment_number, origin_address, origin_location, destination_address, destination_location, pickup_at, deliver_by, created_at)
     SELECT $1, 'BENCH-' || g, 'Laverton North VIC', ST_SetSRID(ST_MakePoint(144.77, -37.86), 4326)::geography, 'Dandenong VIC',
            ST_SetSRID(ST_MakePoint(145.21, -37.99), 4326)::geography, now() + g * interval '1 minute', now() + g * interval '1 minute' + interval '4 hours',
            now() - (${SHIPMENTS} - g) * interval '1 second'
       FROM generate_series(1, ${SHIPMENTS}) g`,
    [ACME],
  );
  await owner.query('ANALYZE shipments');
  console.log(`seeded ${SHIPMENTS} shipments for one company in ${((Date.now() - seeding) / 1000).toFixed(1)} s`);
  const { rows } = await owner.query(`SELECT id FROM shipments WHERE company_id = $1 ORDER BY random() LIMIT 1000`, [ACME]);
  const ids = rows.map((row: { id: string }) => row.id);
  await owner.end();

  // Tokens live 5 minutes: a fresh one for each API start, so no run measures 401s.
  const headers: Record<string, string> = {};
  const freshToken = async () => {
    const { access_token: token } = (await (
      await fetch(`${env.OIDC_ISSUER}/protocol/openid-connect/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'password', client_id: 'safeshipper-dev', username: 'acme-viewer', password: 'demo-password' }) })
    ).json()) as { access_token: string };
    headers.Authorization = `Bearer ${token}`;
  };
  let next = 0;
  const byId: autocannon.Request[] = [{ method: 'GET', setupRequest: (request) => ({ ...request, path: `/api/v1/shipments/${ids[next++ % ids.length]}` }) }];

  const measure = async (label: string, title: string, options: autocannon.Options) => {
    const result = await autocannon({ ...options, headers, duration: Number(process.env.BENCH_SECONDS ?? 20) });
    const bad = result.non2xx + result.errors;
    console.log(
      `[${label}] ${title}: ${result.requests.average.toFixed(0)} req/s sustained, latency p50 ${result.latency.p50} ms  p90 ${result.latency.p90} ms  p99 ${result.latency.p99} ms  max ${result.latency.max} ms  ` +
        `(${result.requests.total} requests, ${bad} not 2xx)`,
    );
    const key = `${label}\t${title}`;
    results.set(key, [...(results.get(key) ?? []), { p50: result.latency.p50, p99: result.latency.p99, rate: result.requests.average, bad }]);
  };

  for (let round = 1; round <= rounds; round += 1) {
    for (const { label, dir } of apis) {
      console.log(`— round ${round}/${rounds}: ${label} (${dir})`);
      await freshToken();
      api = spawn(process.execPath, [...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir=.stack/profiles'] : []), '--import', 'tsx', 'services/main.ts', 'api'], {
        cwd: dir,
        env: {
          ...process.env,
          ...env,
          DATABASE_URL: withDatabase(env.DATABASE_URL!),
          API_PORT: String(port),
          API_HOST: '127.0.0.1',
          LOG_LEVEL: 'warn',
          // Limits off for the benchmark; the older checkouts know only the per-minute budgets.
          API_RATE_LIMITS: 'off',
          RATE_LIMIT_READ_PER_MINUTE: '1000000',
          RATE_LIMIT_COMPUTE_PER_MINUTE: '1000000',
          RATE_LIMIT_KEY_PREFIX: `bench:${Date.now()}`,
        },
        stdio: 'inherit',
      });
      let up = false;
      for (let i = 0; i < 150 && !up; i += 1) {
        up = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false);
        if (!up) await new Promise((done) => setTimeout(done, 200));
      }
      if (!up) throw new Error(`${label}: the API did not answer /health within 30 s`);
      // Every worker of a cluster verifies the token once and warms its pool: spread a few hundred requests.
      for (let i = 0; i < 200; i += 1) {
        const warm = await fetch(`http://127.0.0.1:${port}/api/v1/shipments/${ids[i % ids.length]}`, { headers });
        if (warm.status !== 200) throw new Error(`warm-up: ${warm.status} ${await warm.text()}`);
      }
      const url = `http://127.0.0.1:${port}`;
      if (!onlyById) await measure(label, 'GET /api/v1/shipments/{id}, one connection (service time)', { url, connections: 1, requests: byId });
      for (const [rate, connections] of [[500, 10], [500, 50], [1000, 50]] as const) {
        await measure(label, `GET /api/v1/shipments/{id} at ${rate} req/s over ${connections} connections`, { url, connections, overallRate: rate, requests: byId });
      }
      if (!onlyById) {
        await measure(label, 'GET /api/v1/shipments (first page of 25, 100k rows) at 200 req/s', { url: `${url}/api/v1/shipments?limit=25`, connections: 10, overallRate: 200 });
        await measure(label, 'GET /api/v1/shipments (first page, status filter) at 200 req/s', { url: `${url}/api/v1/shipments?limit=25&status=DRAFT`, connections: 10, overallRate: 200 });
        await measure(label, 'GET /api/v1/shipments/{id} flat out', { url, connections: 20, requests: byId });
      }
      await stopApi();
    }
  }

  if (rounds > 1 || apis.length > 1) {
    const median = (values: number[]) => {
      const sorted = [...values].sort((a, b) => a - b);
      const middle = Math.floor(sorted.length / 2);
      return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
    };
    const span = (values: number[]) => `${median(values)} (${Math.min(...values)}–${Math.max(...values)})`;
    console.log(`\nsummary over ${rounds} round(s): median (min–max), ms`);
    for (const [key, figures] of results) {
      const [label, title] = key.split('\t');
      console.log(
        `[${label}] ${title}: p50 ${span(figures.map((f) => f.p50))}  p99 ${span(figures.map((f) => f.p99))}  ` +
          `req/s ${span(figures.map((f) => Math.round(f.rate)))}  not 2xx ${figures.reduce((sum, f) => sum + f.bad, 0)}`,
      );
    }
  }
} finally {
  await stopApi();
  await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await admin.end();
}
