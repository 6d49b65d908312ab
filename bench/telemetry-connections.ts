// Concurrent authenticated connections on one ingest process: BENCH_CONNECTIONS (20,000) devices,
// each with its own username (one shared secret), connected by BENCH_SIMULATORS (2) simulator
// processes, each device subscribed to its commands topic, announcing itself online and publishing a
// point every BENCH_POINT_EVERY (30) seconds; held BENCH_HOLD (30) seconds. Prints the time to connect
// all and the ingest process's RSS before, connected, and at the end (per connection). Each CONNECT
// costs one HMAC-SHA-256 of the device's secret (security/device-secrets.ts; a legacy scrypt hash,
// which these devices never have, would cost a scrypt once, then be upgraded).
// Needs the local stack (npm run stack -- up). The ingest process needs a file descriptor per
// connection: its open-files limit (ulimit -n) must exceed BENCH_CONNECTIONS (printed first).
//   Run: npx tsx bench/telemetry-connections.ts
//   Small proof: BENCH_CONNECTIONS=200 BENCH_HOLD=5 npx tsx bench/telemetry-connections.ts
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { fmt, freePortish, runSimulator, startIngestProcess, runBenchmark } from './telemetry-support.js';

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20_000);
const SIMULATORS = Number(process.env.BENCH_SIMULATORS ?? 2);
const POINT_EVERY = Number(process.env.BENCH_POINT_EVERY ?? 30);
const HOLD = Number(process.env.BENCH_HOLD ?? 30);

const limit = Number(execFileSync('bash', ['-c', 'ulimit -n']).toString().trim());
console.log(`connections: ${fmt(CONNECTIONS)} devices from ${SIMULATORS} simulator processes; open-files limit ${fmt(limit)}${limit <= CONNECTIONS + 100 ? ' (too low for all of them: raise ulimit -n, or expect refusals near the limit)' : ''}`);
runBenchmark(CONNECTIONS, async (database, devices) => {
  const all = JSON.parse(await readFile(devices.file, 'utf8')) as unknown[];
  const files: string[] = [];
  for (let i = 0; i < SIMULATORS; i++) {
    const file = devices.file.replace(/\.json$/, `-${i}.json`);
    await writeFile(file, JSON.stringify(all.filter((_, n) => n % SIMULATORS === i)), { mode: 0o600 });
    files.push(file);
  }
  const port = freePortish();
  const ingest = await startIngestProcess({ ...database.env, MQTT_PORT: String(port), MQTT_HOST: '127.0.0.1' });
  const idleMb = ingest.rssMb();
  const started = performance.now();
  const connectedAt: number[] = [];
  let connectedMb = NaN;
  let rssMaxMb = idleMb;
  const runs = files.map((file, i) =>
    runSimulator(['--devices-file', file, '--mqtt-url', `mqtt://127.0.0.1:${port}`, '--rate', String(1 / POINT_EVERY), '--duration', String(HOLD), '--stats-every', '5', '--connect-concurrency', '25', '--connect-timeout', '120'], (line) => {
      rssMaxMb = Math.max(rssMaxMb, ingest.rssMb());
      // A simulator's first stats line comes once all its devices are connected.
      if (connectedAt[i] === undefined) {
        connectedAt[i] = performance.now() - started - line.t * 1000;
        if (connectedAt.filter((at) => at !== undefined).length === files.length) connectedMb = ingest.rssMb();
      }
      if (!line.final) console.log(`  simulator ${i} t=${line.t}s ${line.connected}/${line.devices} connected, ${line.acked} points acked`);
    }),
  );
  const finals = (await Promise.all(runs)).map((lines) => lines.at(-1)!);
  const endMb = ingest.rssMb();
  await ingest.stop();
  const connected = finals.reduce((sum, line) => sum + line.devices, 0);
  console.log('\nConcurrent authenticated connections on one ingest process (embedded aedes)');
  console.log('| devices | all connected after (s) | ingest RSS idle / connected / max (MB) | per connection (KB) | points acked |');
  console.log('|---|---|---|---|---|');
  console.log(
    `| ${fmt(connected)} | ${(Math.max(...connectedAt) / 1000).toFixed(1)} | ${fmt(idleMb)} / ${fmt(connectedMb)} / ${fmt(Math.max(rssMaxMb, endMb))} | ${fmt(((connectedMb - idleMb) * 1024) / connected)} | ${fmt(finals.reduce((sum, line) => sum + line.acked, 0))} |`,
  );
});
