// CONNECT rate of one ingest process: BENCH_CONNECTIONS (1,000) devices connect from this process
// (one client address, as a fleet behind one NAT), BENCH_CONNECT_CONCURRENCY (100) CONNECTs at a
// time, with the default per-address CONNECT budget (not lifted as the other benchmarks do).
// Prints CONNACKs per second and how many were refused. BENCH_LEGACY=1 stores the devices' hashes
// in the legacy scrypt form, so each first CONNECT pays the scrypt and the upgrade.
//   Run: npx tsx bench/telemetry-connect-rate.ts
import { randomBytes, scryptSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import mqtt from 'mqtt';
import { fmt, freePortish, startIngestProcess, runBenchmark } from './telemetry-support.js';

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 1000);
const CONCURRENCY = Number(process.env.BENCH_CONNECT_CONCURRENCY ?? 100);
const LEGACY = process.env.BENCH_LEGACY === '1';

runBenchmark(CONNECTIONS, async (database, devices) => {
  const all = JSON.parse(await readFile(devices.file, 'utf8')) as Array<{ username: string; secret: string }>;
  if (LEGACY) {
    const salt = randomBytes(16);
    const hash = scryptSync(all[0]!.secret, salt, 32, { N: 16384, r: 8, p: 1 });
    await database.query(`UPDATE devices SET secret_hash = $1 WHERE mqtt_username LIKE 'bench-%'`, [`scrypt$16384$8$1$${salt.toString('base64')}$${hash.toString('base64')}`]);
  }
  const port = freePortish();
  const ingest = await startIngestProcess({ ...database.env, MQTT_PORT: String(port), MQTT_HOST: '127.0.0.1', MQTT_AUTH_FAILURES_PER_ADDRESS_PER_MINUTE: '100' });
  const clients: mqtt.MqttClient[] = [];
  const refused = new Map<string, number>();
  const queue = [...all];
  const started = performance.now();
  const worker = async () => {
    for (let device = queue.shift(); device; device = queue.shift()) {
      const { username, secret } = device;
      await new Promise<void>((resolve) => {
        const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, { username, password: secret, clientId: username, reconnectPeriod: 0, connectTimeout: 120_000 });
        clients.push(client);
        client.once('connect', () => resolve());
        client.once('error', (error: Error & { code?: number }) => {
          refused.set(String(error.code ?? error.message), (refused.get(String(error.code ?? error.message)) ?? 0) + 1);
          client.end(true);
          resolve();
        });
      });
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - started) / 1000;
  const accepted = CONNECTIONS - [...refused.values()].reduce((sum, n) => sum + n, 0);
  await Promise.all(clients.map((client) => client.endAsync(true)));
  await ingest.stop();
  console.log(`| devices | hashes | CONNECTs in flight | accepted | refused (CONNACK code: count) | seconds | CONNACKs per second |`);
  console.log('|---|---|---|---|---|---|---|');
  console.log(`| ${fmt(CONNECTIONS)} | ${LEGACY ? 'legacy scrypt, upgraded at CONNECT' : 'as provisioned (hashDeviceSecret)'} | ${CONCURRENCY} | ${fmt(accepted)} | ${[...refused].map(([code, n]) => `${code}: ${n}`).join(', ') || '0'} | ${seconds.toFixed(1)} | ${fmt(CONNECTIONS / seconds)} |`);
});
