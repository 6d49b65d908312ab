import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import mqtt, { type MqttClient } from 'mqtt';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandsTopic, telemetryTopic } from '../../domain/telemetry-topics.js';
import { MOSQUITTO_INGEST_USER, mosquitto, mosquittoPaths } from '../../infra/stack/mosquitto.js';
import { ensure, ensureDebianPackages, stackContext } from '../../infra/stack/stack.js';
import type { StackContext } from '../../infra/stack/component.js';
import { brokerSecretHash, DEVICES_MARKER } from '../../security/broker-secrets.js';
import { hashDeviceSecret, newDeviceSecret } from '../../security/device-secrets.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { ACME, testEnv } from '../support/stack.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });

/** Runs a script in a Node process of its own (two `npm run stack -- up` are two processes). */
function processRun(script: string, env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`child exited ${code}: ${out}`))));
  });
}

/** The mosquitto processes running with this config file (ps, read only). */
async function brokersFor(config: string): Promise<number[]> {
  const out = await new Promise<string>((resolve) => {
    const child = spawn('ps', ['-eo', 'pid=,args='], { stdio: ['ignore', 'pipe', 'ignore'] });
    let text = '';
    child.stdout.on('data', (chunk) => (text += chunk));
    child.on('exit', () => resolve(text));
  });
  return out
    .split('\n')
    .filter((line) => line.includes('/usr/sbin/mosquitto') && line.includes(config))
    .map((line) => Number(line.trim().split(/\s+/)[0]));
}

/**
 * External-broker mode against Debian's mosquitto, brought up by the stack's own component in
 * a stack folder of this file's (its own ports, password file and persistence): the developer's
 * broker and whatever ingest serves it are never touched, and this file's ingest processes keep
 * the password file from the run's database only.
 */
describe('external MQTT broker (mosquitto) and ingest processes sharing its subscription', () => {
  let root: string;
  let ctx: StackContext;
  let stackEnv: Record<string, string>;
  let owner: pg.Client;
  const children = new Set<ChildProcess>();
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'safeshipper-mosquitto-'));
    stackEnv = { SAFESHIPPER_STACK_DIR: root, SAFESHIPPER_MOSQUITTO_PORT: String(await freePort()), SAFESHIPPER_MOSQUITTO_SERVICE_PORT: String(await freePort()) };
    ctx = await stackContext(stackEnv);
    owner = new pg.Client({ connectionString: testEnv().DATABASE_OWNER_URL });
    await owner.connect();
  });
  afterAll(async () => {
    for (const client of clients) client.end(true);
    for (const child of children) child.kill('SIGKILL');
    await api?.close();
    if (ctx) await mosquitto(ctx).stop();
    await owner?.end();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('the stack brings mosquitto up once when started side by side, and again leaves it running with its devices', async () => {
    const stackModule = new URL('../../infra/stack/stack.ts', import.meta.url).href;
    const mosquittoModule = new URL('../../infra/stack/mosquitto.ts', import.meta.url).href;
    // What `npm run stack -- up` does for one component: its Debian package if missing, then start under the component's lock.
    const up = `
      const { stackContext, ensure, ensureDebianPackages } = await import(${JSON.stringify(stackModule)});
      const { mosquitto } = await import(${JSON.stringify(mosquittoModule)});
      const ctx = await stackContext(process.env);
      const component = mosquitto(ctx);
      await ensureDebianPackages([component], ctx.settings.logs + '/apt.log');
      await ensure(ctx, component);`;
    const paths = mosquittoPaths(root);
    const upHere = async () => {
      const component = mosquitto(ctx);
      await ensureDebianPackages([component], join(ctx.settings.logs, 'apt.log'));
      await ensure(ctx, component);
    };
    await Promise.all([processRun(up, stackEnv), upHere()]);
    const first = await brokersFor(paths.config);
    expect(first).toHaveLength(1);
    expect(await mosquitto(ctx).health()).toEqual({ ok: true, detail: 'mosquitto version 2.0.11' });

    // A device line (as ingest writes it) survives the next `stack up`, which finds the broker running.
    const line = `stack-test-device:${await brokerSecretHash('x')}`;
    await writeFile(paths.passwords, `${await readFile(paths.passwords, 'utf8')}${line}\n`);
    await upHere();
    expect(await brokersFor(paths.config)).toEqual(first);
    const passwords = await readFile(paths.passwords, 'utf8');
    expect(passwords.split('\n').filter((entry) => entry.startsWith(`${MOSQUITTO_INGEST_USER}:$7$`))).toHaveLength(1);
    expect(passwords.slice(passwords.indexOf(DEVICES_MARKER))).toBe(`${DEVICES_MARKER}\n${line}\n`);
  });

  const serviceUrl = () => `mqtt://127.0.0.1:${ctx.settings.mosquittoServicePort}`;
  const devicesUrl = () => `mqtt://127.0.0.1:${ctx.settings.mosquittoPort}`;

  /** `node --import tsx services/main.ts ingest` in external mode; resolves once it holds its subscriptions. */
  const startIngestProcess = async (clientId: string, group = 'ingest') => {
    const paths = mosquittoPaths(root);
    const child = spawn(process.execPath, ['--import', 'tsx', 'services/main.ts', 'ingest'], {
      env: {
        ...process.env,
        ...testEnv(),
        MQTT_MODE: 'external',
        MQTT_BROKER_URL: serviceUrl(),
        MQTT_BROKER_USERNAME: MOSQUITTO_INGEST_USER,
        MQTT_BROKER_PASSWORD: ctx.secrets.mosquittoIngestPassword,
        MQTT_BROKER_CLIENT_ID: clientId,
        MQTT_SHARE_GROUP: group,
        MQTT_BROKER_PASSWORD_FILE: paths.passwords,
        MQTT_BROKER_PID_FILE: join(ctx.settings.pids, 'mosquitto.pid'),
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.add(child);
    const lines: Array<Record<string, unknown>> = [];
    createInterface({ input: child.stdout! }).on('line', (text) => {
      try {
        lines.push(JSON.parse(text) as Record<string, unknown>);
      } catch {
        /* not a log line */
      }
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      const poll = setInterval(() => {
        if (lines.some((line) => line.msg === 'subscribed to the shared subscriptions')) {
          clearInterval(poll);
          resolve();
        }
      }, 50);
      void exited.then((code) => {
        clearInterval(poll);
        reject(new Error(`ingest exited with ${code} before subscribing`));
      });
    });
    return {
      child,
      lines,
      kill: async () => {
        child.kill('SIGKILL');
        await exited;
        children.delete(child);
      },
      /** SIGTERM: a clean stop; resolves with what it acknowledged to the broker. */
      stop: async () => {
        child.kill('SIGTERM');
        expect(await exited).toBe(0);
        children.delete(child);
        return lines.find((line) => line.msg === 'external broker disconnected')?.acknowledged as number;
      },
    };
  };

  /** A device as the API provisions it (both hashes); ingest's password sync brings it to the broker. */
  const provisionDevice = async (username: string) => {
    const secret = newDeviceSecret();
    const { rows } = await owner.query(`INSERT INTO devices (company_id, name, mqtt_username, secret_hash, broker_secret_hash) VALUES ($1, $2, $2, $3, $4) RETURNING id`, [
      ACME,
      username,
      await hashDeviceSecret(secret),
      await brokerSecretHash(secret),
    ]);
    return { id: rows[0].id as string, username, secret };
  };

  /** An MQTT 5 device on the devices listener; retried while ingest's sync has not yet brought its credentials to the broker. */
  const connectDevice = async (device: { username: string; secret: string }, attempts = 100): Promise<MqttClient> => {
    for (let attempt = 1; ; attempt += 1) {
      const client = mqtt.connect(devicesUrl(), { username: device.username, password: device.secret, clientId: device.username, protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000 });
      const outcome = await new Promise<'ok' | Error>((resolve) => {
        client.once('connect', () => resolve('ok'));
        client.once('error', resolve);
      });
      if (outcome === 'ok') {
        clients.push(client);
        return client;
      }
      client.end(true);
      if (attempt >= attempts) throw outcome;
      await sleep(100);
    }
  };

  const point = (base: number, seq: number) => JSON.stringify({ v: 1, ts: new Date(base + seq).toISOString(), seq, lat: -37.8 + seq / 1e5, lon: 144.9 });
  const rowsOf = async (deviceId: string) => (await owner.query<{ n: number; seqs: number }>(`SELECT count(*)::int AS n, count(DISTINCT sequence)::int AS seqs FROM telemetry_points WHERE device_id = $1`, [deviceId])).rows[0]!;
  const untilRows = async (deviceId: string, k: number) => {
    for (let attempt = 0; attempt < 600 && (await rowsOf(deviceId)).n < k; attempt += 1) await sleep(100);
    return rowsOf(deviceId);
  };

  type IngestProcess = Awaited<ReturnType<typeof startIngestProcess>>;
  /** a and b share the group `ingest`; c is alone in group `kill` (every group gets each message once), killed in the last test. */
  let a: IngestProcess, b: IngestProcess, c: IngestProcess;
  let api: TestApi;

  it('mosquitto enforces the devices ACL and credentials: own topics only, revocation disconnects', async () => {
    // Started side by side: each process costs seconds of start-up on a loaded machine.
    [a, b, c, api] = await Promise.all([startIngestProcess('ingest-test-a'), startIngestProcess('ingest-test-b'), startIngestProcess('ingest-test-c', 'kill'), startTestApi()]);
    const suffix = Date.now().toString(36);
    // Provisioned through the API: the secret it hands out once is what the broker accepts.
    const provisioned = async (username: string) => {
      const body = (await (await api.call('acme-manager', 'POST', '/api/v1/devices', { body: { name: 'Tanker tracker', mqttUsername: username } })).json()) as { id: string; mqtt: { secret: string } };
      return { id: body.id, username, secret: body.mqtt.secret };
    };
    const [x, y] = [await provisioned(`ext-acl-x-${suffix}`), await provisioned(`ext-acl-y-${suffix}`)];
    const [clientX, clientY] = [await connectDevice(x), await connectDevice(y)];

    // Publishing as another device: refused by the broker (MQTT 5 PUBACK 135, not authorised), nothing stored.
    const refused = await clientX.publishAsync(telemetryTopic(y.username), point(Date.now(), 0), { qos: 1 }).then(
      () => 'acknowledged',
      (error: { code?: number }) => error.code,
    );
    expect(refused).toBe(135);
    expect((await rowsOf(y.id)).n).toBe(0);

    // Subscribing to another device's commands: the broker grants the SUBACK but delivers none of them.
    const x2 = await connectDevice(x);
    const seenByX: string[] = [];
    const seenByY: string[] = [];
    x2.on('message', (topic) => seenByX.push(topic));
    clientY.on('message', (topic) => seenByY.push(topic));
    await x2.subscribeAsync([commandsTopic(y.username), commandsTopic(x.username)], { qos: 1 });
    await clientY.subscribeAsync(commandsTopic(y.username), { qos: 1 });
    const service = mqtt.connect(serviceUrl(), { username: MOSQUITTO_INGEST_USER, password: ctx.secrets.mosquittoIngestPassword, clientId: 'ingest-test-commands', protocolVersion: 5, reconnectPeriod: 0 });
    clients.push(service);
    await new Promise((resolve) => service.once('connect', resolve));
    await service.publishAsync(commandsTopic(y.username), '{"cmd":"for-y"}', { qos: 1 });
    // Delivered in order to x2: its own command arriving proves y's would have arrived before it.
    await service.publishAsync(commandsTopic(x.username), '{"cmd":"for-x"}', { qos: 1 });
    for (let attempt = 0; attempt < 100 && (seenByX.length === 0 || seenByY.length === 0); attempt += 1) await sleep(50);
    expect(seenByX).toEqual([commandsTopic(x.username)]);
    expect(seenByY).toEqual([commandsTopic(y.username)]);

    // Rotated through the API: the live session ends, the old secret is refused, the new one is accepted.
    const x2Closed = new Promise<void>((resolve) => x2.once('close', () => resolve()));
    const rotated = (await (await api.call('acme-manager', 'POST', `/api/v1/devices/${x.id}/rotate-secret`)).json()) as { mqtt: { secret: string } };
    await x2Closed;
    await expect(connectDevice(x, 1)).rejects.toMatchObject({ code: 135 });
    await connectDevice({ username: x.username, secret: rotated.mqtt.secret });

    // Revoked through the API: ingest's sync takes it out of the broker, which drops its session and refuses it.
    const yClosed = new Promise<void>((resolve) => clientY.once('close', () => resolve()));
    expect((await api.call('acme-manager', 'POST', `/api/v1/devices/${y.id}/revoke`)).status).toBe(200);
    await yClosed;
    await expect(connectDevice(y, 1)).rejects.toMatchObject({ code: 135 });
  });

  it('two ingest processes sharing the subscription both take work, and every point is stored once', async () => {
    const device = await provisionDevice(`ext-share-${Date.now().toString(36)}`);
    const client = await connectDevice(device);
    const N = 200;
    const base = Date.now() - 120_000;
    await Promise.all(Array.from({ length: N }, (_, seq) => client.publishAsync(telemetryTopic(device.username), point(base, seq), { qos: 1 })));
    // And one at QoS 0, the device's choice: stored too, with nothing to acknowledge.
    await client.publishAsync(telemetryTopic(device.username), point(base, N), { qos: 0 });
    expect(await untilRows(device.id, N + 1)).toEqual({ n: N + 1, seqs: N + 1 });
    const [byA, byB] = await Promise.all([a.stop(), b.stop()]);
    expect(byA).toBeGreaterThan(0);
    expect(byB).toBeGreaterThan(0);
    // Each message of group `ingest` acknowledged once, by one of them (both connected throughout: nothing redelivered;
    // the previous test's messages were refused by the broker or were commands, never theirs).
    expect(byA + byB).toBe(N);
  });

  it('K QoS 1 points while the ingest process is SIGKILLed and restarted: exactly K rows (persistent session)', async () => {
    const device = await provisionDevice(`ext-kill-${Date.now().toString(36)}`);
    const client = await connectDevice(device);
    const K = 400;
    const base = Date.now() - 60_000;
    for (let seq = 0; seq < K; seq += 1) {
      // The broker's PUBACK: from here on the point is the broker's to deliver.
      await client.publishAsync(telemetryTopic(device.username), point(base, seq), { qos: 1 });
      if (seq === 150) await c.kill();
    }
    c = await startIngestProcess('ingest-test-c', 'kill');
    expect(c.lines.find((line) => line.msg === 'external broker connected')?.sessionPresent).toBe(true);
    expect(await untilRows(device.id, K)).toEqual({ n: K, seqs: K });
    await c.stop();
    // Redeliveries of what the killed process had committed but not acknowledged were stored once.
    expect(await rowsOf(device.id)).toEqual({ n: K, seqs: K });
  });
});
