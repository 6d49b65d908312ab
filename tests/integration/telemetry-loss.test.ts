import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import mqtt, { type MqttClient } from 'mqtt';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, openDatabase, type Database } from '../../db/orm.js';
import { telemetryTopic } from '../../domain/telemetry-topics.js';
import { startIngest, type RunningIngest } from '../../ingest/index.js';
import { hashDeviceSecret } from '../../security/device-secrets.js';
import { silentLog, testConfig } from '../support/stack.js';

const run = promisify(execFile);
const PG_BIN = '/usr/lib/postgresql/15/bin';
const EXTENSIONS_SQL = fileURLToPath(new URL('../../infra/postgres/extensions.sql', import.meta.url));
const asRoot = process.getuid?.() === 0;
// PostgreSQL refuses to run as root: as root, its files belong to `postgres`.
const asPostgres = (command: string, args: string[]) => (asRoot ? run('runuser', ['-u', 'postgres', '--', command, ...args]) : run(command, args));

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

/**
 * A PostgreSQL of this file's own (a temporary cluster of the Debian binaries), so it can be
 * stopped and started under a running ingest while other test files use the stack's.
 */
async function privatePostgres() {
  const root = await mkdtemp(join(tmpdir(), 'safeshipper-loss-pg-'));
  const data = join(root, 'data');
  if (asRoot) await run('chown', ['postgres:postgres', root]);
  await asPostgres(join(PG_BIN, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale', 'C.UTF-8', '--no-sync']);
  const port = await freePort();
  const options = `-p ${port} -k ${root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`;
  const start = () => asPostgres(join(PG_BIN, 'pg_ctl'), ['start', '-D', data, '-l', join(root, 'log'), '-w', '-t', '60', '-o', options]);
  const stop = () => asPostgres(join(PG_BIN, 'pg_ctl'), ['stop', '-D', data, '-m', 'fast', '-w']);
  await start();
  const password = randomBytes(12).toString('hex');
  const superuser = `postgresql://postgres@127.0.0.1:${port}`;
  const admin = new pg.Client({ connectionString: `${superuser}/postgres` });
  await admin.connect();
  await admin.query(`CREATE ROLE safeshipper_owner LOGIN CREATEDB PASSWORD '${password}'`);
  await admin.query(`CREATE ROLE safeshipper_app LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD '${password}'`);
  await admin.query(`CREATE ROLE safeshipper_catalogue LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD '${password}'`);
  await admin.query('CREATE DATABASE safeshipper OWNER safeshipper_owner');
  await admin.end();
  await run(join(PG_BIN, 'psql'), ['-q', '-v', 'ON_ERROR_STOP=1', '-d', `${superuser}/safeshipper`, '-f', EXTENSIONS_SQL]);
  const ownerUrl = `postgresql://safeshipper_owner:${password}@127.0.0.1:${port}/safeshipper`;
  await migrate(ownerUrl);
  return {
    url: `postgresql://safeshipper_app:${password}@127.0.0.1:${port}/safeshipper`,
    ownerUrl,
    start,
    stop,
    async remove() {
      await stop().catch(() => undefined);
      await rm(root, { recursive: true, force: true });
    },
  };
}

const COMPANY = '33333333-3333-4333-8333-333333333333';

describe('no acknowledged point is lost, none stored twice', () => {
  let postgres: Awaited<ReturnType<typeof privatePostgres>>;
  let db: Database;
  let ingest: RunningIngest;
  let owner: pg.Client;
  const clients: MqttClient[] = [];
  const secret = randomBytes(18).toString('base64url');

  const rowsOf = async (deviceId: string) => (await owner.query('SELECT count(*)::int AS n, count(DISTINCT (recorded_at, sequence))::int AS distinct_n FROM telemetry_points WHERE device_id = $1', [deviceId])).rows[0] as { n: number; distinct_n: number };
  const device = async (username: string) => {
    const { rows } = await owner.query(`INSERT INTO devices (company_id, name, mqtt_username, secret_hash) VALUES ($1, $2, $2, $3) RETURNING id`, [COMPANY, username, await hashDeviceSecret(secret)]);
    const client = mqtt.connect(`mqtt://127.0.0.1:${ingest.port}`, { username, password: secret, clientId: username, reconnectPeriod: 200, connectTimeout: 5000 });
    clients.push(client);
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    return { id: rows[0].id as string, username, client };
  };
  /** Publishes K QoS 1 points, one message each; resolves with each point's acknowledgement as it comes. */
  const burst = (client: MqttClient, username: string, k: number, base: number) => {
    let acked = 0;
    const done = Promise.all(
      Array.from({ length: k }, (_, i) =>
        client.publishAsync(telemetryTopic(username), JSON.stringify({ v: 1, ts: base + Math.floor(i / 2), seq: i % 2, lat: -37.8, lon: 144.9 }), { qos: 1 }).then(() => {
          acked += 1;
        }),
      ),
    );
    return { done, acked: () => acked };
  };
  const until = async (condition: () => boolean) => {
    while (!condition()) await new Promise((resolve) => setTimeout(resolve, 20));
  };

  beforeAll(async () => {
    postgres = await privatePostgres();
    owner = new pg.Client({ connectionString: postgres.ownerUrl });
    await owner.connect();
    await owner.query(`INSERT INTO companies (id, name) VALUES ($1, 'Loss test carrier')`, [COMPANY]);
    db = await openDatabase({ url: postgres.url, poolSize: 4 });
    // A small in-flight budget, so the outage also runs into backpressure.
    ingest = await startIngest(testConfig({ DATABASE_URL: postgres.url, MQTT_PORT: '0', MQTT_HOST: '127.0.0.1', INGEST_MAX_IN_FLIGHT_POINTS: '100', INGEST_BATCH_MAX_POINTS: '50' }), db, silentLog);
  });
  afterAll(async () => {
    for (const client of clients) client.end(true);
    await ingest?.close();
    await db?.close();
    await owner?.end().catch(() => undefined);
    await postgres?.remove();
  });

  it('K QoS 1 points while PostgreSQL is stopped and restarted: nothing acknowledged while it is down, exactly K rows after', async () => {
    const devices = [];
    for (let i = 0; i < 4; i += 1) devices.push(await device(`loss-pg-${i}`));
    const K = 150;
    const base = Date.now() - 60_000;
    const bursts = devices.map((d) => burst(d.client, d.username, K, base));
    const acked = () => bursts.reduce((sum, b) => sum + b.acked(), 0);
    await until(() => acked() >= 60);
    await owner.end();
    await postgres.stop();
    // Whatever was committed before the stop may still be on its way; after that, nothing.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const whileDown = acked();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(acked()).toBe(whileDown);
    expect(whileDown).toBeLessThan(devices.length * K);
    await postgres.start();
    await Promise.all(bursts.map((b) => b.done));
    owner = new pg.Client({ connectionString: postgres.ownerUrl });
    await owner.connect();
    for (const d of devices) expect(await rowsOf(d.id)).toEqual({ n: K, distinct_n: K });
  });

  it('K QoS 1 points while the device reconnects mid-burst: exactly K rows', async () => {
    const d = await device('loss-reconnect');
    const K = 200;
    const b = burst(d.client, d.username, K, Date.now() - 120_000);
    await until(() => b.acked() >= 50);
    // The link drops (no DISCONNECT); mqtt.js reconnects and resends what was not acknowledged.
    d.client.stream.destroy();
    await b.done;
    expect(await rowsOf(d.id)).toEqual({ n: K, distinct_n: K });
  });
});
