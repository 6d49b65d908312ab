// Unified search on the PostgreSQL engine: GET /api/v1/search and GET /api/v1/search/suggestions at a
// fixed rate (200 req/s), with a real token and row-level security, over the DG catalogue plus 100,000
// shipments (1–3 goods each, 40 destinations) and 10,000 documents (a few KB of text each) in one
// company. The API runs in its own process(es) (API_WORKERS as configured: one per CPU by default) on a
// database of its own (cloned from the stack's template, migrated, the catalogue loaded, seeded;
// dropped at the end); autocannon drives it from this process. Before measuring it prints the plans
// (EXPLAIN ANALYZE) of representative queries, so the indexes in use are on record.
// Needs the local stack: npm run stack -- up.   Run: npx tsx bench/search.ts
// BENCH_SECONDS (20) per scenario, BENCH_RATE (200), BENCH_SHIPMENTS (100000), BENCH_DOCUMENTS (10000);
// BENCH_KEEP=1 keeps the seeded database (its name is printed), BENCH_DATABASE=<name> measures one kept before.

import { spawn, type ChildProcess } from 'node:child_process';
import autocannon from 'autocannon';
import pg from 'pg';
import { stackContext, stackEnvironment } from '../infra/stack/stack.js';
import { migrate, openDatabase } from '../db/orm.js';
import { seedDemoData } from '../db/seed.js';
import { governmentActivities, SHIPPED_CATALOGUE } from '../activities/government.js';
import { analyzeQuery } from '../domain/search-query.js';
import { tsqueryText, titleVariants } from '../search/postgres.js';

const SHIPMENTS = Number(process.env.BENCH_SHIPMENTS ?? 100_000);
const DOCUMENTS = Number(process.env.BENCH_DOCUMENTS ?? 10_000);
const RATE = Number(process.env.BENCH_RATE ?? 200);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const ACME = '11111111-1111-4111-8111-111111111111';
const env = stackEnvironment(await stackContext());
const database = process.env.BENCH_DATABASE ?? `safeshipper_bench_search_${Date.now().toString(36)}`;
const seeded = process.env.BENCH_DATABASE !== undefined;
const keep = seeded || process.env.BENCH_KEEP === '1';
const withDatabase = (url: string) => url.replace(/\/[^/]+$/, `/${database}`);
const port = 3193;

const PLACES = [
  'Geelong VIC', 'Dandenong VIC', 'Laverton North VIC', 'Altona VIC', 'Ballarat VIC', 'Bendigo VIC', 'Shepparton VIC', 'Wodonga VIC', 'Traralgon VIC', 'Warrnambool VIC',
  'Mildura VIC', 'Port Melbourne VIC', 'Tullamarine VIC', 'Campbellfield VIC', 'Somerton VIC', 'Kilsyth VIC', 'Bayswater VIC', 'Moorabbin VIC', 'Braeside VIC', 'Clayton VIC',
  'Sydney NSW', 'Newcastle NSW', 'Wollongong NSW', 'Albury NSW', 'Wagga Wagga NSW', 'Orange NSW', 'Dubbo NSW', 'Brisbane QLD', 'Gladstone QLD', 'Townsville QLD',
  'Mackay QLD', 'Toowoomba QLD', 'Adelaide SA', 'Port Augusta SA', 'Whyalla SA', 'Perth WA', 'Kwinana WA', 'Kalgoorlie WA', 'Hobart TAS', 'Launceston TAS',
];
const STREETS = ['Station St', 'Industrial Dr', 'Princes Hwy', 'Kororoit Creek Rd', 'Boundary Rd', 'Fitzgerald Rd', 'Cherry Lane', 'Wharf Rd', 'Depot St', 'Refinery Rd'];
/** Goods that travel most (fuels, gases, acids, solvents), one catalogue row each. */
const GOODS = [
  'UN1203', 'UN1202', 'UN1075', 'UN1978', 'UN1017', 'UN1005', 'UN1090', 'UN1170', 'UN1219', 'UN1193', 'UN1789', 'UN1830', 'UN1824', 'UN1791', 'UN2031', 'UN1263', 'UN1268', 'NA1993', 'UN3082', 'UN3077',
  'UN1072', 'UN1066', 'UN1013', 'UN1049', 'UN1001', 'UN2794', 'UN2800', 'UN1230', 'UN1294', 'UN1300', 'UN1307', 'UN1866', 'UN2735', 'UN3264', 'UN3266', 'UN1760', 'UN1719', 'UN2014', 'UN1942', 'UN1223',
];

/** What staff type: UN numbers every way, misspelt names, synonyms, places, shipment numbers, questions. */
const SEARCHES = [
  'UN1017', 'UN 1O17', '1203', 'un-1075', 'acetne', 'chlorin', 'petrol', 'diesel', 'LPG', 'sulphuric acid', 'caustic soda', 'Geelong', 'Dandenong', 'Wagga Wagga',
  'Kororoit Creek', 'SS-004242', 'SS-0815', 'the chlorine shipment to Geelong', 'acetone Ballarat', 'hydrochloric', 'ammonia', 'what is UN 1005', 'methanol', 'paint', 'ADR-0042 manifest',
  'propane Perth', 'isopropanol', 'nitrogen', 'argon', 'in transit Geelong',
];
const SUGGESTIONS = ['ch', 'chl', 'chlor', 'ace', 'acet', 'pet', 'petro', 'UN 10', 'UN12', 'UN 1O1', 'SS-0', 'SS-01', 'SS-012', 'gee', 'sod', 'sodium h', 'hydro', 'met', 'am', 'nitro'];

const admin = new pg.Client({ connectionString: env.DATABASE_OWNER_URL });
await admin.connect();
if (!seeded) await admin.query(`CREATE DATABASE ${database} TEMPLATE safeshipper_template`);
let api: ChildProcess | undefined;

try {
  if (!seeded) await seed();
  else console.log(`measuring the database seeded before: ${database}`);
  await explain();
  await measureApi();
} finally {
  if (api && api.exitCode === null) {
    const exited = new Promise((done) => api!.once('exit', done));
    api.kill('SIGTERM');
    await Promise.race([exited, new Promise((done) => setTimeout(done, 10_000))]);
  }
  if (keep) console.log(`kept the database ${database} (BENCH_DATABASE=${database} measures it again; drop it when done)`);
  else await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await admin.end();
}

async function seed(): Promise<void> {
  await migrate(withDatabase(env.DATABASE_OWNER_URL!));
  const db = await openDatabase({ url: withDatabase(env.DATABASE_URL!) });
  await seedDemoData(db, 'scrypt$unused');
  await db.close();
  await governmentActivities({ catalogueDatabaseUrl: withDatabase(env.DATABASE_CATALOGUE_URL!) }).syncDangerousGoodsCatalogue(SHIPPED_CATALOGUE);

  const owner = new pg.Client({ connectionString: withDatabase(env.DATABASE_OWNER_URL!) });
  await owner.connect();
  let started = Date.now();
  // Rows in bulk with the index triggers off, then indexed by the triggers' own function: what a search
  // sees is exactly what the triggers write, and the indexing rate is a figure of its own.
  await owner.query('ALTER TABLE shipments DISABLE TRIGGER search_index; ALTER TABLE consignment_items DISABLE TRIGGER search_index');
  await owner.query(
    `INSERT INTO shipments (company_id, shipment_number, status, origin_address, origin_location, destination_address, destination_location, pickup_at, deliver_by)
     SELECT $1, 'SS-' || lpad(g::text, 6, '0'), ($4::text[])[1 + g % 9],
            (g % 97) || ' ' || ($3::text[])[1 + g % 10] || ', ' || ($2::text[])[1 + (g * 7) % 40], ST_SetSRID(ST_MakePoint(144.77, -37.86), 4326)::geography,
            (g % 89) || ' ' || ($3::text[])[1 + (g / 10) % 10] || ', ' || ($2::text[])[1 + g % 40], ST_SetSRID(ST_MakePoint(145.21, -37.99), 4326)::geography,
            now() + g * interval '1 minute', now() + g * interval '1 minute' + interval '4 hours'
       FROM generate_series(1, ${SHIPMENTS}) g`,
    [ACME, PLACES, STREETS, ['DRAFT', 'BOOKED', 'DG_VALIDATED', 'READY', 'IN_TRANSIT', 'ARRIVED', 'DELIVERED', 'CLOSED', 'CANCELLED']],
  );
  await owner.query(
    `WITH goods AS (SELECT row_number() OVER (ORDER BY un_number) - 1 AS i, id FROM (SELECT DISTINCT ON (un_number) un_number, id FROM dangerous_goods WHERE un_number = ANY($1) AND withdrawn_at IS NULL ORDER BY un_number, row_index) t)
     INSERT INTO consignment_items (company_id, shipment_id, dangerous_good_id, quantity, unit)
     SELECT s.company_id, s.id, g.id, 100, 'L'
       FROM (SELECT id, company_id, row_number() OVER (ORDER BY shipment_number) AS r FROM shipments) s
       CROSS JOIN generate_series(0, 2) k
       JOIN goods g ON g.i = (s.r * 13 + k * 7) % (SELECT count(*) FROM goods)
      WHERE k <= s.r % 3`,
    [GOODS],
  );
  await owner.query('ALTER TABLE shipments ENABLE TRIGGER search_index; ALTER TABLE consignment_items ENABLE TRIGGER search_index');
  console.log(`seeded ${SHIPMENTS} shipments and their goods in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  started = Date.now();
  // The first thousand alone (the index learns the words), then two sessions, half the rest each (the machine has two cores).
  await owner.query(`SELECT search_index_shipment(id) FROM shipments WHERE shipment_number <= 'SS-001000'`);
  const halves = await Promise.all(
    [0, 1].map(async (half) => {
      const session = new pg.Client({ connectionString: withDatabase(env.DATABASE_OWNER_URL!) });
      await session.connect();
      const { rowCount } = await session.query(`SELECT search_index_shipment(id) FROM shipments WHERE shipment_number > 'SS-001000' AND (('x' || substr(id::text, 1, 8))::bit(32)::int & 1) = $1`, [half]);
      await session.end();
      return rowCount ?? 0;
    }),
  );
  const indexed = 1000 + halves.reduce((sum, n) => sum + n, 0);
  const indexSeconds = (Date.now() - started) / 1000;
  console.log(`indexed ${indexed} shipments through search_index_shipment in ${indexSeconds.toFixed(1)} s (${Math.round(indexed / indexSeconds)} per second, two sessions)`);

  started = Date.now();
  // Documents: manifests, DG declarations and SDS with a few KB of extracted text, indexed by their table's trigger.
  await owner.query(
    `INSERT INTO documents (id, company_id, kind, title, original_name, media_type, size_bytes, sha256, storage_key, uploaded_by_subject, processing_status, extracted_text)
     SELECT gen_random_uuid(), $1, (ARRAY['MANIFEST', 'DG_DECLARATION', 'SDS'])[1 + g % 3], 'Manifest ADR-' || lpad(g::text, 5, '0'), 'manifest-' || g || '.pdf', 'application/pdf', 100000,
            encode(sha256(g::text::bytea), 'hex'), 'bench/' || g, 'bench', 'COMPLETED',
            (SELECT string_agg(line, E'\\n') FROM (
               SELECT 'Line ' || k || ': ' || dg.un_number || ' ' || dg.proper_shipping_name || ', class ' || coalesce(dg.hazard_class_raw, '') || ', ' || (10 * k + g % 50) || ' L to ' || ($2::text[])[1 + (g + k) % 40] AS line
                 FROM generate_series(1, 25) k JOIN LATERAL (SELECT un_number, proper_shipping_name, hazard_class_raw FROM dangerous_goods WHERE un_number = ($3::text[])[1 + (g * 3 + k) % 40] AND withdrawn_at IS NULL LIMIT 1) dg ON true) lines)
       FROM generate_series(1, ${DOCUMENTS}) g`,
    [ACME, PLACES, GOODS],
  );
  console.log(`seeded and indexed ${DOCUMENTS} documents in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  await owner.query('ANALYZE');
  const { rows: counts } = await owner.query('SELECT doc_type, count(*)::int AS n FROM search_documents GROUP BY 1 ORDER BY 1');
  console.log(`search_documents: ${counts.map((row: { doc_type: string; n: number }) => `${row.doc_type} ${row.n}`).join(', ')}; ${(await owner.query('SELECT pg_size_pretty(pg_total_relation_size(\'search_documents\')) AS s')).rows[0].s} with its indexes`);
  await owner.end();
}

async function explain(): Promise<void> {

  // The plans. Inside search_candidates (owner's rights, each helper's settings): the company's matches of a word
  // through the GIN index alone (search_matches_by_index), the newest matches of a common word through the recency
  // index (search_matches_newest), the catalogue's (its partial GIN index). Then what the API sends as the app role:
  // a search, and a suggestion (a B-tree range under row-level security).
  const owner = new pg.Client({ connectionString: withDatabase(env.DATABASE_OWNER_URL!) });
  await owner.connect();
  const plan = async (client: pg.Client, title: string, sql: string, values: unknown[] = []) => {
    const { rows } = await client.query(`EXPLAIN (ANALYZE, COSTS OFF, BUFFERS) ${sql}`, values);
    console.log(`\nEXPLAIN ANALYZE, ${title}:\n${rows.map((row: Record<string, string>) => `  ${row['QUERY PLAN']}`).join('\n')}`);
  };
  const matching = `FROM search_documents d WHERE d.company_id = $1 AND d.tsv @@ $2::tsquery`;
  await owner.query('BEGIN READ ONLY; SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = off');
  await plan(owner, 'a word through the GIN index ("kororoit", at most 500)', `SELECT d.doc_type, d.doc_id, d.updated_at ${matching} LIMIT 500`, [ACME, `'kororoit'`]);
  await owner.query('COMMIT; BEGIN READ ONLY; SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off');
  await plan(owner, 'the newest matches of a common word ("vic") through the recency index', `SELECT d.doc_type, d.doc_id, d.updated_at ${matching} ORDER BY d.updated_at DESC LIMIT 100`, [ACME, `'vic'`]);
  await owner.query('COMMIT');
  await plan(owner, 'the catalogue\'s matches of "chlorin"', `SELECT d.doc_id FROM search_documents d WHERE d.company_id IS NULL AND d.tsv @@ $1::tsquery`, [`'chlorin':* | 'chlorine'`]);
  await owner.end();

  const app = new pg.Client({ connectionString: withDatabase(env.DATABASE_URL!) });
  await app.connect();
  await app.query(`BEGIN READ ONLY; SELECT set_config('app.current_company_id', '${ACME}', true)`);
  const query = analyzeQuery('Geelong');
  const titles = titleVariants(query, {});
  await plan(
    app,
    'search "Geelong" as the API runs it (app role, row-level security)',
    `SELECT m.doc_type, m.doc_id FROM search_candidates($1::tsquery, NULL, NULL, $2::text[], 100) m JOIN search_documents d ON d.doc_type = m.doc_type AND d.doc_id = m.doc_id
      ORDER BY m.title_key = ANY($2::text[]) DESC, m.rank DESC LIMIT 20`,
    [tsqueryText(query, {}, 'and'), titles],
  );
  await plan(
    app,
    'suggestions "SS-01" (app role)',
    `(SELECT doc_id FROM search_documents WHERE company_id IS NULL AND title_key >= $1 AND title_key < $2 ORDER BY title_key LIMIT 40)
     UNION ALL (SELECT doc_id FROM search_documents WHERE company_id = current_company_id() AND title_key >= $1 AND title_key < $2 ORDER BY title_key LIMIT 40)`,
    ['ss 01', 'ss 01\u{10FFFF}'],
  );
  await app.query('COMMIT');
  await app.end();
}

async function measureApi(): Promise<void> {
  const { access_token: token } = (await (
    await fetch(`${env.OIDC_ISSUER}/protocol/openid-connect/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'password', client_id: 'safeshipper-dev', username: 'acme-viewer', password: 'demo-password' }) })
  ).json()) as { access_token: string };
  const headers = { Authorization: `Bearer ${token}` };
  api = spawn(process.execPath, ['--import', 'tsx', 'services/main.ts', 'api'], {
    env: { ...process.env, ...env, DATABASE_URL: withDatabase(env.DATABASE_URL!), API_PORT: String(port), API_HOST: '127.0.0.1', LOG_LEVEL: 'warn', API_RATE_LIMITS: 'off', SEARCH_ENGINE: 'postgres' },
    stdio: 'inherit',
  });
  let up = false;
  for (let i = 0; i < 150 && !up; i += 1) {
    up = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false);
    if (!up) await new Promise((done) => setTimeout(done, 200));
  }
  if (!up) throw new Error('the API did not answer /health within 30 s');
  const url = `http://127.0.0.1:${port}`;
  // Each worker of the cluster verifies the token once and warms its pool and plans.
  for (let i = 0; i < 100; i += 1) {
    for (const path of [`/api/v1/search?q=${encodeURIComponent(SEARCHES[i % SEARCHES.length]!)}`, `/api/v1/search/suggestions?q=${encodeURIComponent(SUGGESTIONS[i % SUGGESTIONS.length]!)}`]) {
      const warm = await fetch(`${url}${path}`, { headers });
      if (warm.status !== 200) throw new Error(`warm-up ${path}: ${warm.status} ${await warm.text()}`);
      await warm.arrayBuffer();
    }
  }
  const rotating = (paths: string[]): autocannon.Request[] => {
    let next = 0;
    return [{ method: 'GET', setupRequest: (request) => ({ ...request, path: paths[next++ % paths.length]! }) }];
  };
  const measure = async (title: string, paths: string[], load: { connections: number; overallRate?: number } = { connections: 10, overallRate: RATE }) => {
    const result = await autocannon({ url, ...load, duration: SECONDS, headers, requests: rotating(paths) });
    console.log(
      `${title}: ${result.requests.average.toFixed(0)} req/s sustained, latency p50 ${result.latency.p50} ms  p90 ${result.latency.p90} ms  p99 ${result.latency.p99} ms  max ${result.latency.max} ms  ` +
        `(${result.requests.total} requests, ${result.non2xx + result.errors} not 2xx)`,
    );
  };
  console.log('');
  await measure(`GET /api/v1/search, ${SEARCHES.length} queries in turn, one connection (service time)`, SEARCHES.map((q) => `/api/v1/search?q=${encodeURIComponent(q)}`), { connections: 1 });
  await measure(`GET /api/v1/search/suggestions, ${SUGGESTIONS.length} prefixes in turn, one connection (service time)`, SUGGESTIONS.map((q) => `/api/v1/search/suggestions?q=${encodeURIComponent(q)}`), { connections: 1 });
  await measure(`GET /api/v1/search, ${SEARCHES.length} queries in turn, at ${RATE} req/s`, SEARCHES.map((q) => `/api/v1/search?q=${encodeURIComponent(q)}`));
  await measure(`GET /api/v1/search/suggestions, ${SUGGESTIONS.length} prefixes in turn, at ${RATE} req/s`, SUGGESTIONS.map((q) => `/api/v1/search/suggestions?q=${encodeURIComponent(q)}`));
  // The broadest words match most of the company's rows: the price of counting facets over all of them.
  await measure(`GET /api/v1/search for words on every shipment ("VIC", "draft"), at ${RATE} req/s`, ['/api/v1/search?q=VIC', '/api/v1/search?q=draft']);
}
