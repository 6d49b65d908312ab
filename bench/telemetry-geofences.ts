// Geofence detection at throughput: BENCH_GEOFENCES (10,000) geofences of Acme along the simulator's
// routes (≈ 1.1 km squares), then the throughput run of bench/telemetry-throughput.ts against ingest
// (BENCH_DEVICES 1000, BENCH_SECONDS 60, BENCH_BATCH 10, BENCH_INFLIGHT 4): every committed point goes
// through detection's spatial index in its commit. Prints points/s beside the geofence enter/exit
// events detection recorded (telemetry_events). Needs the local stack (npm run stack -- up).
//   Run: npx tsx bench/telemetry-geofences.ts
//   Small proof: BENCH_GEOFENCES=500 BENCH_DEVICES=20 BENCH_SECONDS=5 npx tsx bench/telemetry-geofences.ts
import { floodRun, fmt, freePortish, printResults, seedGeofences, startIngestProcess, runBenchmark } from './telemetry-support.js';

const GEOFENCES = Number(process.env.BENCH_GEOFENCES ?? 10_000);
const DEVICES = Number(process.env.BENCH_DEVICES ?? 1000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const flood = {
  seconds: SECONDS,
  batch: Number(process.env.BENCH_BATCH ?? 10),
  inflight: Number(process.env.BENCH_INFLIGHT ?? 4),
  warmup: Number(process.env.BENCH_WARMUP ?? Math.min(5, SECONDS / 5)),
};

console.log(`geofences: ${fmt(GEOFENCES)} geofences, ${DEVICES} devices flooding QoS 1 for ${SECONDS}s`);
runBenchmark(DEVICES, async (database, devices) => {
  await seedGeofences(database, GEOFENCES);
  const port = freePortish();
  const ingest = await startIngestProcess({ ...database.env, MQTT_PORT: String(port), MQTT_HOST: '127.0.0.1', MQTT_DEVICE_MESSAGES_PER_SECOND: '100000', MQTT_DEVICE_MESSAGE_BURST: '1000000' });
  // The simulated vehicles drive fast (time scale 30) so they cross fences during the run.
  const result = await floodRun(`ingest with ${fmt(GEOFENCES)} geofences`, `mqtt://127.0.0.1:${port}`, devices.file, ingest, flood);
  await ingest.stop();
  result.rows = Number((await database.query('SELECT count(*) AS n FROM telemetry_points'))[0]!.n);
  printResults('Throughput with geofence detection in every commit', [result]);
  const events = await database.query(`SELECT kind, count(*)::int AS n FROM telemetry_events GROUP BY kind ORDER BY kind`);
  console.log(`\ndetection recorded: ${events.map((row) => `${row.kind} ${fmt(row.n as number)}`).join(', ') || 'no events'}`);
});
