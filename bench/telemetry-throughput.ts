// Sustained QoS 1 throughput with commit-before-ack: BENCH_DEVICES (1000) simulated trackers, each
// keeping BENCH_INFLIGHT (4) messages of BENCH_BATCH (10) points unacknowledged, for BENCH_SECONDS (60),
// first against a bare aedes broker (no authentication, no database: the transport's ceiling), then
// against ingest (services/main.ts ingest, embedded aedes: authentication, pipeline, commit, detection)
// in the same run. The simulator runs in a process of its own; ingest in another. Figures printed,
// never asserted. Needs the local stack (npm run stack -- up).
//   Run: npx tsx bench/telemetry-throughput.ts
//   Small proof: BENCH_DEVICES=20 BENCH_SECONDS=5 npx tsx bench/telemetry-throughput.ts
// BENCH_GEOFENCES (0): that many geofences along the routes first (detection's spatial index at work);
// BENCH_TARGETS (raw,embedded): which runs; BENCH_PROFILE=1: a CPU profile of ingest in .stack/bench-profiles/.
import { floodRun, freePortish, printResults, seedGeofences, startIngestProcess, startRawAedes, type FloodSettings, type Result, runBenchmark } from './telemetry-support.js';

const DEVICES = Number(process.env.BENCH_DEVICES ?? 1000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const BATCH = Number(process.env.BENCH_BATCH ?? 10);
const INFLIGHT = Number(process.env.BENCH_INFLIGHT ?? 4);
const WARMUP = Number(process.env.BENCH_WARMUP ?? Math.min(5, SECONDS / 5));
const GEOFENCES = Number(process.env.BENCH_GEOFENCES ?? 0);
const TARGETS = (process.env.BENCH_TARGETS ?? 'raw,embedded').split(',');
const flood: FloodSettings = { seconds: SECONDS, batch: BATCH, inflight: INFLIGHT, warmup: WARMUP };

console.log(`throughput: ${DEVICES} devices × ${INFLIGHT} messages in flight × ${BATCH} points, ${SECONDS}s each, QoS 1${GEOFENCES ? `, ${GEOFENCES} geofences` : ''}`);
runBenchmark(DEVICES, async (database, devices) => {
  const results: Result[] = [];
  if (GEOFENCES > 0) await seedGeofences(database, GEOFENCES);
  if (TARGETS.includes('raw')) {
    const port = freePortish();
    const raw = await startRawAedes(port);
    results.push(await floodRun('raw aedes, no database', `mqtt://127.0.0.1:${port}`, devices.file, raw, flood));
    await raw.stop();
  }
  if (TARGETS.includes('embedded')) {
    const port = freePortish();
    const ingest = await startIngestProcess({ ...database.env, MQTT_PORT: String(port), MQTT_HOST: '127.0.0.1', MQTT_DEVICE_MESSAGES_PER_SECOND: '100000', MQTT_DEVICE_MESSAGE_BURST: '1000000' });
    const result = await floodRun(`ingest (embedded aedes, commit before PUBACK${GEOFENCES ? `, ${GEOFENCES} geofences` : ''})`, `mqtt://127.0.0.1:${port}`, devices.file, ingest, flood);
    await ingest.stop();
    result.rows = Number((await database.query('SELECT count(*) AS n FROM telemetry_points'))[0]!.n);
    results.push(result);
  }
  printResults('Sustained QoS 1 throughput (simulator in its own process; ingest in another)', results);
});
