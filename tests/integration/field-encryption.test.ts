import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Connection } from '@temporalio/client';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../api/app.js';
import { openDatabase, type Database } from '../../db/orm.js';
import { seedDemoData } from '../../db/seed.js';
import { keyId } from '../../security/field-encryption.js';
import { isolatedDatabase, passwordToken, silentLog, testConfig } from '../support/stack.js';

const K1 = randomBytes(32).toString('base64');
const K2 = randomBytes(32).toString('base64');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Key rotation end to end, in a database of its own (re-encryption rewrites every company's rows):
 * values written under one key, read after a rotation, re-encrypted by the CLI, read with the old
 * key gone; and a ciphertext moved to another row or company by the database owner is refused.
 */
describe('field encryption: key rotation, re-encryption, values bound to their row', () => {
  let database: Awaited<ReturnType<typeof isolatedDatabase>>;
  let db: Database;
  let owner: pg.Client;
  let temporal: Connection;
  const servers: Server[] = [];
  const ids: Record<string, string> = {};
  let acmeManager: string;
  let borealManager: string;

  async function api(keys: { current: string; previous?: string[] }): Promise<string> {
    const config = testConfig({ DATABASE_URL: database.url, DATA_ENCRYPTION_KEY: keys.current, DATA_ENCRYPTION_PREVIOUS_KEYS: (keys.previous ?? []).join(',') });
    const server = createApp({ config, db, temporal, log: silentLog }).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    servers.push(server);
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/emergency-contacts`;
  }
  const get = (base: string, id: string, token = acmeManager) => fetch(`${base}/${id}`, { headers: { Authorization: `Bearer ${token}` } });
  const reencrypt = (args: string[], env: Record<string, string | undefined>) =>
    new Promise<Run>((resolve) => {
      const child = spawn(process.execPath, ['bin/safeshipper.js', 'data', 'reencrypt', ...args], { env: { PATH: process.env.PATH, DATABASE_OWNER_URL: database.ownerUrl, ...env } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => (stdout += chunk));
      child.stderr.on('data', (chunk) => (stderr += chunk));
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
  const stored = async () => (await owner.query<{ id: string; phone: string; email: string | null; details: string | null }>('SELECT id, phone, email, details FROM emergency_contacts ORDER BY id')).rows;

  beforeAll(async () => {
    database = await isolatedDatabase('fieldkeys');
    db = await openDatabase({ url: database.url, poolSize: 4 });
    await seedDemoData(db, 'unused-device-secret-hash');
    owner = new pg.Client({ connectionString: database.ownerUrl });
    await owner.connect();
    temporal = Connection.lazy({ address: testConfig().TEMPORAL_ADDRESS });
    [acmeManager, borealManager] = await Promise.all([passwordToken('acme-manager'), passwordToken('boreal-manager')]);
    const base = await api({ current: K1 });
    const create = async (name: string, token: string, extra: object = {}) => {
      const response = await fetch(base, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', 'Idempotency-Key': `create-${name.replaceAll(' ', '-')}` }, body: JSON.stringify({ name, available24h: true, phone: '+61 400 000 001', ...extra }) });
      expect(response.status).toBe(201);
      return ((await response.json()) as { id: string }).id;
    };
    ids.chemtrec = await create('Chemtrec', acmeManager, { email: 'desk@chemtrec.example', details: 'chlorine response team' });
    ids.fire = await create('Fire brigade', acmeManager);
    ids.boreal = await create('Boreal desk', borealManager);
  });
  afterAll(async () => {
    for (const server of servers) await new Promise((resolve) => server.close(resolve));
    await temporal?.close();
    await owner?.end();
    await db?.close();
    await database?.drop();
  });

  it('stores each value as v2 under the key id of the key that sealed it', async () => {
    for (const row of await stored()) expect(row.phone.startsWith(`v2:${keyId(K1)}:`)).toBe(true);
  });

  it('reads a value of the first format (v1) as before', async () => {
    const { execFileSync } = await import('node:child_process');
    // The first format, as the previous code wrote it: no key id, no associated data.
    const v1 = execFileSync(process.execPath, ['--input-type=module', '-e', `
      import { createCipheriv, randomBytes } from 'node:crypto';
      const iv = randomBytes(12); const c = createCipheriv('aes-256-gcm', Buffer.from(process.argv[1], 'base64'), iv);
      const body = Buffer.concat([c.update('+61 400 999 999', 'utf8'), c.final()]);
      process.stdout.write(['v1', iv.toString('base64'), c.getAuthTag().toString('base64'), body.toString('base64')].join(':'));`, K1]).toString();
    await owner.query('UPDATE emergency_contacts SET phone = $1 WHERE id = $2', [v1, ids.fire]);
    const response = await get(await api({ current: K1 }), ids.fire!);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ phone: '+61 400 999 999' });
  });

  it('after a rotation (old key kept as previous) every value still reads; without it, a clear problem, not the cipher error', async () => {
    const rotated = await api({ current: K2, previous: [K1] });
    for (const [id, token] of [[ids.chemtrec, acmeManager], [ids.fire, acmeManager], [ids.boreal, borealManager]] as const) expect((await get(rotated, id!, token)).status).toBe(200);
    expect(await (await get(rotated, ids.chemtrec!)).json()).toMatchObject({ phone: '+61 400 000 001', email: 'desk@chemtrec.example', details: 'chlorine response team' });

    const forgotten = await get(await api({ current: K2 }), ids.chemtrec!);
    expect(forgotten.status).toBe(500);
    expect(forgotten.headers.get('content-type')).toContain('application/problem+json');
    expect(await forgotten.json()).toMatchObject({
      status: 500,
      detail: `Emergency contact ${ids.chemtrec}: the stored phone failed its integrity check and is not shown (it is encrypted under a key this server is not configured with). The incident is logged with the request id.`,
    });
  });

  it('bad input to the command: message, exit 2, nothing changed', async () => {
    const before = await stored();
    const cases: Array<[string[], Record<string, string | undefined>, string]> = [
      [['--batch-size', '0'], { DATA_ENCRYPTION_KEY: K2 }, 'safeshipper: --batch-size must be a whole number from 1 to 10000\n'],
      [[], {}, 'safeshipper: DATA_ENCRYPTION_KEY must be set: the key every value is rewritten with\n'],
      [[], { DATA_ENCRYPTION_KEY: K2, DATA_ENCRYPTION_PREVIOUS_KEYS: 'c2hvcnQ=' }, 'safeshipper: DATA_ENCRYPTION_PREVIOUS_KEYS: each key must be 32 bytes, base64-encoded\n'],
      [[], { DATA_ENCRYPTION_KEY: K2, DATABASE_OWNER_URL: undefined }, "safeshipper: DATABASE_OWNER_URL must be set to the schema owner's postgresql:// URL (on a dev machine: set -a; . .stack/stack.env)\n"],
    ];
    for (const [args, env, stderr] of cases) expect(await reencrypt(args, env)).toEqual({ code: 2, stdout: '', stderr });
    expect(await stored()).toEqual(before);
  });

  it('re-encryption moves every value to the current key, in batches, idempotently; then the previous key can go', async () => {
    const first = await reencrypt(['--batch-size', '1'], { DATA_ENCRYPTION_KEY: K2, DATA_ENCRYPTION_PREVIOUS_KEYS: K1 });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    // 3 phones, 1 email, 1 details, and the 3 stored answers of the Idempotency-Key creates.
    expect(JSON.parse(first.stdout)).toMatchObject({ keyId: keyId(K2), rewritten: 8, alreadyCurrent: 0 });
    expect(JSON.parse(first.stdout).columns).toContainEqual({ table: 'idempotency_keys', column: 'body_ciphertext', rewritten: 3, alreadyCurrent: 0 });
    for (const row of await stored()) {
      for (const value of [row.phone, row.email, row.details]) if (value !== null) expect(value.startsWith(`v2:${keyId(K2)}:`)).toBe(true);
    }
    const again = await reencrypt([], { DATA_ENCRYPTION_KEY: K2, DATA_ENCRYPTION_PREVIOUS_KEYS: K1 });
    expect(JSON.parse(again.stdout)).toMatchObject({ rewritten: 0, alreadyCurrent: 8 });

    const withoutPrevious = await api({ current: K2 });
    expect(await (await get(withoutPrevious, ids.chemtrec!)).json()).toMatchObject({ phone: '+61 400 000 001', email: 'desk@chemtrec.example', details: 'chlorine response team' });
    expect(await (await get(withoutPrevious, ids.fire!)).json()).toMatchObject({ phone: '+61 400 999 999' });
    expect((await get(withoutPrevious, ids.boreal!, borealManager)).status).toBe(200);
    const replay = await fetch(withoutPrevious, { method: 'POST', headers: { Authorization: `Bearer ${borealManager}`, 'Content-Type': 'application/json', 'Idempotency-Key': 'create-Boreal-desk' }, body: JSON.stringify({ name: 'Boreal desk', available24h: true, phone: '+61 400 000 001' }) });
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(await replay.json()).toMatchObject({ id: ids.boreal, phone: '+61 400 000 001' });
  });

  it('a ciphertext moved by the database owner to another row, or another company, is refused cleanly', async () => {
    const base = await api({ current: K2 });
    await owner.query('UPDATE emergency_contacts SET phone = (SELECT phone FROM emergency_contacts WHERE id = $1) WHERE id = $2', [ids.chemtrec, ids.fire]);
    const moved = await get(base, ids.fire!);
    expect(moved.status).toBe(500);
    const body = (await moved.json()) as { detail: string };
    expect(body.detail).toBe(`Emergency contact ${ids.fire}: the stored phone failed its integrity check and is not shown (it was altered, or moved here from another row or company, at rest). The incident is logged with the request id.`);
    expect(JSON.stringify(body)).not.toMatch(/unable to authenticate|Unsupported state/);
    expect((await get(base, ids.chemtrec!)).status).toBe(200);

    await owner.query('UPDATE emergency_contacts SET details = (SELECT details FROM emergency_contacts WHERE id = $1) WHERE id = $2', [ids.chemtrec, ids.boreal]);
    expect((await get(base, ids.boreal!, borealManager)).status).toBe(500);

    // A stored answer of Boreal's copied onto an Acme key does not replay Boreal's contact to Acme.
    const { rows: [original] } = await owner.query<{ body_ciphertext: string }>(`SELECT body_ciphertext FROM idempotency_keys WHERE key = 'create-Chemtrec'`);
    await owner.query(`UPDATE idempotency_keys SET body_ciphertext = (SELECT body_ciphertext FROM idempotency_keys WHERE key = 'create-Boreal-desk') WHERE key = 'create-Chemtrec'`);
    const replay = await fetch(base, {
      method: 'POST',
      headers: { Authorization: `Bearer ${acmeManager}`, 'Content-Type': 'application/json', 'Idempotency-Key': 'create-Chemtrec' },
      body: JSON.stringify({ name: 'Chemtrec', available24h: true, phone: '+61 400 000 001', email: 'desk@chemtrec.example', details: 'chlorine response team' }),
    });
    expect(replay.status).toBe(500);
    expect(JSON.stringify(await replay.json())).not.toContain(ids.boreal!);
    await owner.query(`UPDATE idempotency_keys SET body_ciphertext = $1 WHERE key = 'create-Chemtrec'`, [original!.body_ciphertext]);
  });

  it('re-encryption stops at a value no key opens, naming it; batches before it stay done, and a rerun resumes', async () => {
    // Start again from three sound rows under K2; the last in key order gets another row's phone.
    await owner.query('DELETE FROM emergency_contacts WHERE id <> $1', [ids.chemtrec]);
    const base = await api({ current: K2 });
    for (const name of ['Poison line', 'Depot supervisor']) {
      const response = await fetch(base, { method: 'POST', headers: { Authorization: `Bearer ${acmeManager}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ name, available24h: false, phone: '+61 400 000 002' }) });
      expect(response.status).toBe(201);
    }
    const [first, second, last] = (await stored()).map((row) => row.id) as [string, string, string];
    await owner.query('UPDATE emergency_contacts SET phone = (SELECT phone FROM emergency_contacts WHERE id = $1) WHERE id = $2', [first, last]);

    const K3 = randomBytes(32).toString('base64');
    const stopped = await reencrypt(['--batch-size', '1'], { DATA_ENCRYPTION_KEY: K3, DATA_ENCRYPTION_PREVIOUS_KEYS: K2 });
    expect(stopped).toMatchObject({ code: 1, stdout: '' });
    expect(stopped.stderr).toMatch(new RegExp(`^safeshipper: stopped: emergency_contacts\\.phone of row \\(${last}\\): the value was altered, or moved from another row, column or company`));
    expect(stopped.stderr).not.toMatch(/internal error|\n\s+at /);
    const sealedBy = async () => Object.fromEntries((await stored()).map((row) => [row.id, row.phone.split(':')[1]]));
    expect(await sealedBy()).toEqual({ [first]: keyId(K3), [second]: keyId(K3), [last]: keyId(K2) });

    await owner.query('DELETE FROM emergency_contacts WHERE id = $1', [last]);
    const values = (await stored()).flatMap((row) => [row.phone, row.email, row.details]).filter((value) => value !== null).length;
    const resumed = await reencrypt(['--batch-size', '1'], { DATA_ENCRYPTION_KEY: K3, DATA_ENCRYPTION_PREVIOUS_KEYS: K2 });
    expect(resumed.code).toBe(0);
    // The contacts done before the stop are skipped; the stored answers, not reached before, are rewritten now.
    const columns = (JSON.parse(resumed.stdout) as { columns: Array<{ table: string; rewritten: number; alreadyCurrent: number }> }).columns;
    const contacts = columns.filter((column) => column.table === 'emergency_contacts');
    expect(contacts.reduce((sum, column) => sum + column.rewritten, 0)).toBe(0);
    expect(contacts.reduce((sum, column) => sum + column.alreadyCurrent, 0)).toBe(values);
    expect(columns).toContainEqual({ table: 'idempotency_keys', column: 'body_ciphertext', rewritten: 3, alreadyCurrent: 0 });
    // Ids are random, so which contact sorts last (and was removed) varies: read one that stayed.
    expect((await get(await api({ current: K3 }), first)).status).toBe(200);
  });
});
