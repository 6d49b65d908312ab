import { execFileSync, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:https';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { isolatedDatabase } from '../support/stack.js';

const ORIGINAL_TABLE = readFileSync(new URL('../../data/hmt-49cfr-172.101.jsonl', import.meta.url), 'utf8');
const PROVISIONS = readFileSync(new URL('../../data/special-provisions-49cfr-172.102.json', import.meta.url), 'utf8');
const lines = ORIGINAL_TABLE.trim().split('\n');

/** A newer table as a regulator might publish it: one entry dropped, one amended, one added. */
const NEWER_TABLE = [
  ...lines
    .filter((line) => !line.includes('"properShippingName":"Acetone","hazardClass":"3"'))
    .map((line) => (line.startsWith('{"idNumber":"UN1203"') ? line.replace('"specialProvisions":["144","177"', '"specialProvisions":["144","177","383"') : line)),
  JSON.stringify({ idNumber: 'UN3550', properShippingName: 'Cobalt dihydroxide powder', hazardClass: '6.1', forbidden: false, symbols: [], packingGroup: 'I', subsidiaryRisks: [], labels: ['6.1'], specialProvisions: ['IB6', 'IP2', 'T6', 'TP33'], packaging: { exceptions: 'None', nonBulk: '211', bulk: '242' }, quantityLimitations: { passengerAircraftRail: '5 kg', cargoAircraftOnly: '50 kg' }, vesselStowage: { location: 'A' } }),
].join('\n');

describe('government DG sync: a local server plays the regulator, the CLI triggers it', () => {
  let database: Awaited<ReturnType<typeof isolatedDatabase>>;
  let server: Server;
  let base: string;
  let owner: pg.Client;
  const published = { table: ORIGINAL_TABLE, provisions: PROVISIONS };
  // The regulator is served over https: with a certificate made for this run, trusted by the CLI through NODE_EXTRA_CA_CERTS.
  const tls = mkdtempSync(join(tmpdir(), 'dg-sync-tls-'));
  const certificate = join(tls, 'cert.pem');

  const sync = (env: Record<string, string | undefined> = {}, hmtUrl = `${base}/hmt.jsonl`) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['bin/safeshipper.js', 'dg', 'sync', '--hmt-url', hmtUrl, '--special-provisions-url', `${base}/sp.json`], {
        env: { PATH: process.env.PATH, NODE_EXTRA_CA_CERTS: certificate, DATABASE_CATALOGUE_URL: database.catalogueUrl, ...env },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => (stdout += chunk));
      child.stderr.on('data', (chunk) => (stderr += chunk));
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
  const revisions = async () => (await owner.query('SELECT count(*)::int AS n FROM dg_catalogue_revisions')).rows[0].n as number;
  const row = async (un: string, name: string) =>
    (await owner.query('SELECT id, special_provisions, withdrawn_at IS NOT NULL AS withdrawn, revision_id FROM dangerous_goods WHERE un_number = $1 AND proper_shipping_name = $2', [un, name])).rows[0];

  beforeAll(async () => {
    database = await isolatedDatabase('dgsync');
    owner = new pg.Client({ connectionString: database.ownerUrl });
    await owner.connect();
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(tls, 'key.pem'), '-out', certificate], { stdio: 'ignore' });
    server = createServer({ key: readFileSync(join(tls, 'key.pem')), cert: readFileSync(certificate) }, (request, response) => {
      const body = request.url === '/hmt.jsonl' ? published.table : request.url === '/sp.json' ? published.provisions : undefined;
      response.writeHead(body === undefined ? 404 : 200, { 'Content-Type': 'text/plain' }).end(body ?? 'not found');
    }).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server?.close();
    await owner?.end();
    await database?.drop();
    rmSync(tls, { recursive: true, force: true });
  });

  it('loads the whole published table into an empty catalogue', async () => {
    const result = await sync();
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const outcome = JSON.parse(result.stdout);
    expect(outcome).toMatchObject({ status: 'applied', rows: 3259, added: { count: 3259 }, changed: { count: 0 }, withdrawn: { count: 0 }, specialProvisionsChanged: 424 });
    expect((await owner.query('SELECT count(*)::int AS n FROM dangerous_goods')).rows[0].n).toBe(3259);
    expect(await revisions()).toBe(1);
  });

  it('applies a newer table as differences: dropped rows withdrawn (kept), amended rows updated in place, new rows added', async () => {
    const gasolineBefore = await row('UN1203', 'Gasoline includes gasoline mixed with ethyl alcohol, with not more than 10% alcohol');
    published.table = NEWER_TABLE;
    const result = await sync();
    expect(result.code).toBe(0);
    const outcome = JSON.parse(result.stdout);
    expect(outcome).toMatchObject({
      status: 'applied',
      rows: 3259,
      added: { count: 1, keys: ['UN3550|Cobalt dihydroxide powder|6.1|I'] },
      changed: { count: 1, keys: ['UN1203|Gasoline includes gasoline mixed with ethyl alcohol, with not more than 10% alcohol|3|II'] },
      withdrawn: { count: 1, keys: ['UN1090|Acetone|3|II'] },
      unchanged: 3257,
    });
    expect((await row('UN1090', 'Acetone')).withdrawn).toBe(true);
    const gasolineAfter = await row('UN1203', 'Gasoline includes gasoline mixed with ethyl alcohol, with not more than 10% alcohol');
    expect(gasolineAfter.id).toBe(gasolineBefore.id);
    expect(gasolineAfter.special_provisions.slice(0, 3)).toEqual(['144', '177', '383']);
    expect(gasolineAfter.revision_id).not.toBe(gasolineBefore.revision_id);
    expect(await revisions()).toBe(2);
  });

  it('records nothing when the published table has not changed', async () => {
    const result = await sync();
    expect(JSON.parse(result.stdout)).toMatchObject({ status: 'up-to-date', added: { count: 0 }, changed: { count: 0 }, withdrawn: { count: 0 } });
    expect(await revisions()).toBe(2);
  });

  it('refuses a table with a bad line, naming it, and changes nothing', async () => {
    published.table = `${NEWER_TABLE}\n{"idNumber":"UN12","properShippingName":"Broken"}`;
    const result = await sync();
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('safeshipper: nothing applied:');
    expect(result.stderr).toContain(`line ${lines.length + 1}:`);
    expect(await revisions()).toBe(2);
  });

  it('refuses a truncated table instead of withdrawing most of the catalogue', async () => {
    published.table = lines.slice(0, 300).join('\n');
    const result = await sync();
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('the new table has 300 rows against 3259 in use');
    expect((await owner.query('SELECT count(*)::int AS n FROM dangerous_goods WHERE withdrawn_at IS NULL')).rows[0].n).toBe(3259);
  });

  it('reinstates a row the regulator publishes again', async () => {
    published.table = ORIGINAL_TABLE;
    const outcome = JSON.parse((await sync()).stdout);
    expect(outcome).toMatchObject({ reinstated: { count: 1, keys: ['UN1090|Acetone|3|II'] }, withdrawn: { count: 1, keys: ['UN3550|Cobalt dihydroxide powder|6.1|I'] }, changed: { count: 1 } });
    expect((await row('UN1090', 'Acetone')).withdrawn).toBe(false);
  });

  it('the app role may read the shared catalogue but not write it (the sync has a role of its own)', async () => {
    const app = new pg.Client({ connectionString: database.url });
    await app.connect();
    try {
      expect((await app.query("SELECT count(*)::int AS n FROM dangerous_goods WHERE un_number = 'UN1203'")).rows[0].n).toBeGreaterThan(0);
      const writes = [
        ["UPDATE dangerous_goods SET proper_shipping_name = 'Water' WHERE un_number = 'UN1203'", 'dangerous_goods'],
        ['DELETE FROM dangerous_goods', 'dangerous_goods'],
        ["INSERT INTO special_provisions (code, text) VALUES ('Z9', 'anything goes')", 'special_provisions'],
        ["UPDATE special_provisions SET text = 'anything goes'", 'special_provisions'],
        ["INSERT INTO dg_catalogue_revisions (source, checksum, row_count, added, changed, withdrawn, reinstated, special_provisions_changed) VALUES ('x', 'x', 0, 0, 0, 0, 0, 0)", 'dg_catalogue_revisions'],
      ] as const;
      for (const [sql, table] of writes) await expect(app.query(sql), sql).rejects.toThrow(`permission denied for table ${table}`);
    } finally {
      await app.end();
    }
  });

  it('refuses an http: source (the README promises https only): exit 2, nothing read, nothing changed', async () => {
    let requests = 0;
    const plain = (await import('node:http')).createServer((_, response) => {
      requests += 1;
      response.end(ORIGINAL_TABLE);
    }).listen(0, '127.0.0.1');
    await new Promise((resolve) => plain.once('listening', resolve));
    try {
      const url = `http://127.0.0.1:${(plain.address() as AddressInfo).port}/hmt.jsonl`;
      const result = await sync({}, url);
      expect(result).toEqual({ code: 2, stdout: '', stderr: `safeshipper: ${url}: only https: URLs are accepted (file: for local copies); http: can be altered in transit\n` });
      expect(requests).toBe(0);
      expect(await revisions()).toBe(3);
    } finally {
      plain.close();
    }
  });

  it('without DATABASE_CATALOGUE_URL: exit 2 and the fix', async () => {
    const result = await sync({ DATABASE_CATALOGUE_URL: undefined });
    expect(result).toEqual({ code: 2, stdout: '', stderr: "safeshipper: DATABASE_CATALOGUE_URL must be set to the catalogue sync role's postgresql:// URL (on a dev machine: set -a; . .stack/stack.env)\n" });
  });

  it('as the app role the sync is refused by PostgreSQL and changes nothing', async () => {
    const result = await sync({ DATABASE_CATALOGUE_URL: database.url });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('permission denied for table');
    expect(await revisions()).toBe(3);
  });
});
