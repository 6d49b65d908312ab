// Document uploads: the throughput of 10 MB files through POST /api/v1/documents (multipart,
// streamed to local disk while hashed and sniffed), one at a time and 20 at once, and the API
// process's resident memory while the 20 stream. The API runs in a process of its own (one, no
// cluster) on a database of its own (cloned from the stack's template, migrated, seeded) with a
// storage folder of its own, both removed at the end. Uploads are proof-of-delivery PDFs: no
// processing workflow is started, so only the upload path is measured.
// Needs the local stack: npm run stack -- up.   Run: npx tsx bench/documents.ts
// BENCH_FILE_MB (10), BENCH_SEQUENTIAL (10 uploads), BENCH_CONCURRENT (20 uploads at once).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { stackContext, stackEnvironment } from '../infra/stack/stack.js';
import { migrate, openDatabase } from '../db/orm.js';
import { seedDemoData } from '../db/seed.js';

const FILE_BYTES = Number(process.env.BENCH_FILE_MB ?? 10) * 1024 * 1024;
const SEQUENTIAL = Number(process.env.BENCH_SEQUENTIAL ?? 10);
const CONCURRENT = Number(process.env.BENCH_CONCURRENT ?? 20);
const CHUNK = 64 * 1024;
const env = stackEnvironment(await stackContext());
const database = `safeshipper_bench_${Date.now().toString(36)}`;
const withDatabase = (url: string) => url.replace(/\/[^/]+$/, `/${database}`);
const port = 3192;
const storage = await mkdtemp(join(tmpdir(), 'safeshipper-bench-documents-'));

const admin = new pg.Client({ connectionString: env.DATABASE_OWNER_URL });
await admin.connect();
await admin.query(`CREATE DATABASE ${database} TEMPLATE safeshipper_template`);
let api: ChildProcess | undefined;

/** The API process's resident set, from /proc (Linux), in MiB. */
async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

/**
 * One upload of a `FILE_BYTES` PDF-looking file, written in 64 KiB chunks as the socket drains (the
 * client holds one chunk, never the file); distinct bytes per upload (the API refuses duplicates).
 */
function upload(token: string, n: number): Promise<number> {
  const boundary = `----bench${randomBytes(8).toString('hex')}`;
  const parts = `--${boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nPROOF_OF_DELIVERY\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="pod-${n}.pdf"\r\nContent-Type: application/pdf\r\n\r\n`;
  const fileStart = `%PDF-1.7\n%upload ${n} ${randomBytes(8).toString('hex')}\n`;
  const head = Buffer.from(parts + fileStart);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const filler = Buffer.alloc(CHUNK, 0x20);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/api/v1/documents', method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': Buffer.byteLength(parts) + FILE_BYTES + tail.length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => (res.statusCode === 201 ? resolve(performance.now() - started) : reject(new Error(`upload ${n}: ${res.statusCode} ${Buffer.concat(chunks).toString()}`))));
    });
    req.on('error', reject);
    req.write(head);
    let left = FILE_BYTES - fileStart.length;
    const pump = () => {
      while (left > 0) {
        const size = Math.min(CHUNK, left);
        left -= size;
        if (!req.write(size === CHUNK ? filler : filler.subarray(0, size))) return void req.once('drain', pump);
      }
      req.end(tail);
    };
    pump();
  });
}

const mb = FILE_BYTES / 1024 / 1024;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

try {
  await migrate(withDatabase(env.DATABASE_OWNER_URL!));
  const db = await openDatabase({ url: withDatabase(env.DATABASE_URL!) });
  await seedDemoData(db, 'scrypt$unused');
  await db.close();

  const { access_token: token } = (await (
    await fetch(`${env.OIDC_ISSUER}/protocol/openid-connect/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'password', client_id: 'safeshipper-dev', username: 'acme-operator', password: 'demo-password' }) })
  ).json()) as { access_token: string };

  api = spawn(process.execPath, ['--import', 'tsx', 'services/main.ts', 'api'], {
    env: {
      ...process.env,
      ...env,
      DATABASE_URL: withDatabase(env.DATABASE_URL!),
      API_PORT: String(port),
      API_HOST: '127.0.0.1',
      API_WORKERS: '1',
      LOG_LEVEL: 'warn',
      API_RATE_LIMITS: 'off',
      DOCUMENT_STORE_DIR: storage,
    },
    stdio: 'inherit',
  });
  let up = false;
  for (let i = 0; i < 150 && !up; i += 1) {
    up = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false);
    if (!up) await new Promise((done) => setTimeout(done, 200));
  }
  if (!up) throw new Error('the API did not answer /health within 30 s');
  const pid = api.pid!;
  // Warm: the token verified, the caller recorded, the code paths compiled.
  await upload(token, 0);
  const idle = await rssMiB(pid);

  const sequential: number[] = [];
  const started = performance.now();
  for (let n = 1; n <= SEQUENTIAL; n += 1) sequential.push(await upload(token, n));
  const seconds = (performance.now() - started) / 1000;
  console.log(`one at a time: ${SEQUENTIAL} uploads of ${mb} MB in ${seconds.toFixed(2)} s — ${((SEQUENTIAL * mb) / seconds).toFixed(0)} MB/s, median ${median(sequential).toFixed(0)} ms per upload`);

  let peak = idle;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peak = Math.max(peak, await rssMiB(pid));
      await new Promise((done) => setTimeout(done, 20));
    }
  })();
  const before = await rssMiB(pid);
  const concurrentStart = performance.now();
  const times = await Promise.all(Array.from({ length: CONCURRENT }, (_, i) => upload(token, 1000 + i)));
  const wall = (performance.now() - concurrentStart) / 1000;
  sampling = false;
  await sampler;
  console.log(
    `${CONCURRENT} at once: ${CONCURRENT * mb} MB in ${wall.toFixed(2)} s — ${((CONCURRENT * mb) / wall).toFixed(0)} MB/s, median ${median(times).toFixed(0)} ms per upload, slowest ${Math.max(...times).toFixed(0)} ms`,
  );
  console.log(`API resident memory: ${idle.toFixed(0)} MiB idle after warm-up, ${before.toFixed(0)} MiB before the ${CONCURRENT}, peak ${peak.toFixed(0)} MiB while they streamed (+${(peak - before).toFixed(0)} MiB for ${CONCURRENT * mb} MB in flight)`);
} finally {
  if (api && api.exitCode === null) {
    const exited = new Promise((done) => api!.once('exit', done));
    api.kill('SIGTERM');
    await Promise.race([exited, new Promise((done) => setTimeout(done, 10_000))]);
  }
  await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await admin.end();
  await rm(storage, { recursive: true, force: true });
}
