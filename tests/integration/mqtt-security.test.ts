import { execFileSync } from 'node:child_process';
import { randomBytes, scryptSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import pg from 'pg';
import type { Database } from '../../db/orm.js';
import { startIngest, type RunningIngest } from '../../ingest/index.js';
import { telemetryTopic } from '../../domain/telemetry-topics.js';
import { hashDeviceSecret, newDeviceSecret } from '../../security/device-secrets.js';
import { BOREAL, silentLog, testConfig, testDatabase, testEnv } from '../support/stack.js';

type Outcome = { ok: true; client: MqttClient } | { ok: false; code: number | undefined };

/** The broker's front door: client ids, CONNECT throttling, refusal timing, TLS. */
describe('MQTT connection security', () => {
  let db: Database;
  let owner: pg.Client;
  const ingests: RunningIngest[] = [];
  const clients: MqttClient[] = [];
  const run = Date.now().toString(36);
  let deviceCount = 0;

  const start = async (overrides: Record<string, string> = {}) => {
    const ingest = await startIngest(testConfig({ MQTT_PORT: '0', MQTT_HOST: '127.0.0.1', ...overrides }), db, silentLog);
    ingests.push(ingest);
    return ingest;
  };
  const provision = async () => {
    const username = `sec-${run}-${(deviceCount += 1)}`;
    const secret = newDeviceSecret();
    const { rows } = await owner.query(`INSERT INTO devices (company_id, name, mqtt_username, secret_hash) VALUES ($1, $2, $2, $3) RETURNING id`, [BOREAL, username, await hashDeviceSecret(secret)]);
    return { id: rows[0].id as string, username, secret };
  };
  const connect = (url: string, options: IClientOptions) =>
    new Promise<Outcome>((resolve) => {
      const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
      clients.push(client);
      client.once('connect', () => resolve({ ok: true, client }));
      client.once('error', (error: Error & { code?: number }) => {
        client.end(true);
        resolve({ ok: false, code: error.code });
      });
    });
  const publish = (client: MqttClient, username: string, ts = new Date(Date.now() - 1000)) =>
    client.publishAsync(telemetryTopic(username), JSON.stringify({ ts: ts.toISOString(), lat: -33.87, lon: 151.21 }), { qos: 1 });

  beforeAll(async () => {
    db = await testDatabase();
    owner = new pg.Client({ connectionString: testEnv().DATABASE_OWNER_URL });
    await owner.connect();
  });
  afterAll(async () => {
    for (const client of clients) client.end(true);
    for (const ingest of ingests) await ingest.close();
    await owner?.end();
    await db?.close();
  });

  it('a device cannot take over another device’s session by using its client id', async () => {
    const ingest = await start();
    const url = `mqtt://127.0.0.1:${ingest.port}`;
    const victim = await provision();
    const attacker = await provision();
    const session = await connect(url, { username: victim.username, password: victim.secret, clientId: victim.username });
    if (!session.ok) throw new Error(`victim refused (${session.code})`);
    let victimClosed = false;
    session.client.on('close', () => (victimClosed = true));

    for (const clientId of [victim.username, `${victim.username}:spare`, `${victim.username}x`, `mqttjs_${run}`]) {
      expect(await connect(url, { username: attacker.username, password: attacker.secret, clientId })).toEqual({ ok: false, code: 2 });
    }
    expect(victimClosed).toBe(false);
    await publish(session.client, victim.username);

    // Its own ids are the username itself or the username, ':' and anything.
    for (const clientId of [attacker.username, `${attacker.username}:modem`]) {
      const own = await connect(url, { username: attacker.username, password: attacker.secret, clientId });
      expect(own.ok).toBe(true);
      if (own.ok) await own.client.endAsync();
    }
  });

  it('failed CONNECTs are limited per username and per address; past the limit even the right secret is refused unchecked', async () => {
    const ingest = await start({ MQTT_AUTH_FAILURES_PER_USERNAME_PER_MINUTE: '3', MQTT_AUTH_FAILURES_PER_ADDRESS_PER_MINUTE: '15' });
    const url = `mqtt://127.0.0.1:${ingest.port}`;
    const target = await provision();
    // A burst of parallel guesses: only the username's budget of them is checked at all.
    const guesses = await Promise.all(Array.from({ length: 10 }, () => connect(url, { username: target.username, password: 'guess', clientId: target.username })));
    expect(guesses.filter((guess) => !guess.ok && guess.code === 4)).toHaveLength(3);
    expect(guesses.filter((guess) => !guess.ok && guess.code === 3)).toHaveLength(7);
    expect(await connect(url, { username: target.username, password: target.secret, clientId: target.username })).toEqual({ ok: false, code: 3 });

    // Only the 3 guesses checked spent the address's budget. Twelve unknown usernames (refused
    // like a wrong secret) spend the rest of its 15, then a good device from that address is refused too.
    for (let i = 0; i < 12; i += 1) expect(await connect(url, { username: `nobody-${run}-${i}`, password: 'x', clientId: `nobody-${run}-${i}` })).toEqual({ ok: false, code: 4 });
    const bystander = await provision();
    expect(await connect(url, { username: bystander.username, password: bystander.secret, clientId: bystander.username })).toEqual({ ok: false, code: 3 });

    // Another broker process keeps its own counts: the same device connects there.
    const fresh = await start();
    const elsewhere = await connect(`mqtt://127.0.0.1:${fresh.port}`, { username: target.username, password: target.secret, clientId: target.username });
    expect(elsewhere.ok).toBe(true);
    if (elsewhere.ok) await elsewhere.client.endAsync();
  });

  it('a fleet behind one address reconnecting at once with legacy scrypt hashes, to two ingest processes: all let in past the address budget, hashes upgraded, no session closed', async () => {
    const budget = { MQTT_AUTH_FAILURES_PER_ADDRESS_PER_MINUTE: '3' };
    const ingests = [await start(budget), await start(budget)];
    // Hashed as before HMAC-SHA-256 (one scrypt for the whole fleet: they share the secret).
    const secret = newDeviceSecret();
    const salt = randomBytes(16);
    const legacy = `scrypt$16384$8$1$${salt.toString('base64')}$${scryptSync(secret, salt, 32, { N: 16384, r: 8, p: 1 }).toString('base64')}`;
    const fleet: Array<Awaited<ReturnType<typeof provision>>> = [];
    for (let i = 0; i < 8; i += 1) fleet.push(await provision());
    await owner.query('UPDATE devices SET secret_hash = $2 WHERE id = ANY($1)', [fleet.map((device) => device.id), legacy]);
    const upgradesHeard = new Set<string>();
    let allHeard!: () => void;
    const heard = new Promise<void>((resolve) => (allHeard = resolve));
    owner.on('notification', ({ channel, payload }) => {
      if (channel !== 'device_credentials_changed' || !fleet.some((device) => device.username === payload)) return;
      upgradesHeard.add(payload!);
      if (upgradesHeard.size === fleet.length) allHeard();
    });
    await owner.query('LISTEN device_credentials_changed');

    // Each device connects to both processes at once: both check the legacy hash, one upgrades
    // it, and the other's session holds a hash no longer stored.
    const attempts = fleet.flatMap((device) => ingests.map((ingest, i) => ({ device, i, session: connect(`mqtt://127.0.0.1:${ingest.port}`, { username: device.username, password: secret, clientId: `${device.username}:${i}`, connectTimeout: 60_000 }) })));
    const sessions = await Promise.all(attempts.map(async (attempt) => ({ ...attempt, session: await attempt.session })));
    expect(sessions.map(({ session }) => session.ok)).toEqual(attempts.map(() => true));
    let closed = 0;
    for (const { session } of sessions) if (session.ok) session.client.on('close', () => (closed += 1));
    const { rows } = await owner.query('SELECT secret_hash FROM devices WHERE id = ANY($1)', [fleet.map((device) => device.id)]);
    expect(rows).toHaveLength(fleet.length);
    for (const row of rows as Array<{ secret_hash: string }>) expect(row.secret_hash.split('$').slice(0, 2)).toEqual(['hmac-sha256', salt.toString('base64')]);

    // Every upgrade was announced as a credential change (the ingest processes heard it as this
    // test did); the sessions that proved the legacy hash stay open and publish.
    await heard;
    const ts = Date.now() - 1000;
    await Promise.all(sessions.map(({ device, i, session }) => session.ok && publish(session.client, device.username, new Date(ts - i))));
    const stored = await owner.query('SELECT count(*)::int AS n FROM telemetry_points WHERE device_id = ANY($1) AND recorded_at >= $2', [fleet.map((device) => device.id), new Date(ts - 1)]);
    expect(stored.rows[0].n).toBe(attempts.length);
    expect(closed).toBe(0);
    await owner.query('UNLISTEN device_credentials_changed');

    // The upgraded hash is the one checked from now on.
    const again = await connect(`mqtt://127.0.0.1:${ingests[0]!.port}`, { username: fleet[0]!.username, password: secret, clientId: `${fleet[0]!.username}:again` });
    expect(again.ok).toBe(true);
    if (again.ok) await again.client.endAsync();
  });

  describe('mqtts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mqtts-'));
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('a certificate and key configured: a TLS listener takes devices, commit-before-PUBACK as on TCP', async () => {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
      const ingest = await start({ MQTT_TLS_CERT_FILE: cert, MQTT_TLS_KEY_FILE: key, MQTT_TLS_PORT: '0' });
      expect(ingest.tls?.url).toMatch(/^mqtts:\/\/localhost:\d+$/);
      const device = await provision();
      const ts = new Date(Date.now() - 1500);
      const session = await connect(`mqtts://127.0.0.1:${ingest.tls!.port}`, { username: device.username, password: device.secret, clientId: device.username, ca: readFileSync(cert), servername: 'localhost' });
      if (!session.ok) throw new Error(`TLS connect refused (${session.code})`);
      expect((session.client.stream as { encrypted?: boolean }).encrypted).toBe(true);
      await publish(session.client, device.username, ts);
      const { rows } = await owner.query('SELECT count(*)::int AS n FROM telemetry_points WHERE device_id = $1 AND recorded_at = $2', [device.id, ts]);
      expect(rows[0].n).toBe(1);

      // A client that does not trust the certificate does not get in.
      const untrusting = await new Promise<string>((resolve) => {
        const client = mqtt.connect(`mqtts://127.0.0.1:${ingest.tls!.port}`, { username: device.username, password: device.secret, clientId: device.username, reconnectPeriod: 0, connectTimeout: 5000 });
        clients.push(client);
        client.once('connect', () => resolve('connected'));
        client.once('error', (error) => resolve(String((error as Error & { code?: string }).code)));
      });
      expect(untrusting).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
    });

    it('the TLS settings are checked at start: cert and key together, files readable', () => {
      expect(() => testConfig({ MQTT_TLS_CERT_FILE: cert })).toThrow(/MQTT_TLS_KEY_FILE: MQTT_TLS_CERT_FILE and MQTT_TLS_KEY_FILE come together/);
      expect(() => testConfig({ MQTT_TLS_CERT_FILE: join(dir, 'missing.pem'), MQTT_TLS_KEY_FILE: key })).toThrow(/MQTT_TLS_CERT_FILE: must be a readable file/);
    });
  });
});
