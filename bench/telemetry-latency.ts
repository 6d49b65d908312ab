// Publish → committed latency at a steady rate: BENCH_RATE (10,000) points/s in all from BENCH_DEVICES
// (1000) simulated trackers, one point per QoS 1 message, for BENCH_SECONDS (60) after BENCH_WARMUP (10)
// seconds not counted. The PUBACK is sent only once the point is committed (ingest holds it), so the
// simulator's publish → PUBACK time is publish → committed. Target: p99 < 500 ms. Figures printed, never
// asserted. Needs the local stack (npm run stack -- up).
//   Run: npx tsx bench/telemetry-latency.ts
//   Small proof: BENCH_DEVICES=20 BENCH_RATE=200 BENCH_SECONDS=5 BENCH_WARMUP=2 npx tsx bench/telemetry-latency.ts
import { fmt, freePortish, runSimulator, startIngestProcess, runBenchmark } from './telemetry-support.js';

const DEVICES = Number(process.env.BENCH_DEVICES ?? 1000);
const RATE = Number(process.env.BENCH_RATE ?? 10_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 10);

console.log(`latency: ${fmt(RATE)} points/s from ${DEVICES} devices (${RATE / DEVICES} each, one point per message), ${SECONDS}s after ${WARMUP}s warm-up`);
runBenchmark(DEVICES, async (database, devices) => {
  const port = freePortish();
  const ingest = await startIngestProcess({ ...database.env, MQTT_PORT: String(port), MQTT_HOST: '127.0.0.1' });
  let rssMaxMb = ingest.rssMb();
  const lines = await runSimulator(
    ['--devices-file', devices.file, '--mqtt-url', `mqtt://127.0.0.1:${port}`, '--mode', 'rate', '--rate', String(RATE / DEVICES), '--batch', '1', '--max-inflight', '100', '--duration', String(SECONDS + WARMUP), '--warmup', String(WARMUP), '--stats-every', '5', '--connect-concurrency', '50'],
    (line) => {
      rssMaxMb = Math.max(rssMaxMb, ingest.rssMb());
      if (!line.final) console.log(`  t=${line.t}s ${fmt(line.ackedPerSecond)} points/s committed, p50 ${fmt(line.latencyMs.p50)} ms, p99 ${fmt(line.latencyMs.p99)} ms, buffered ${line.buffered}`);
    },
  );
  await ingest.stop();
  const final = lines.at(-1)!;
  const rows = Number((await database.query('SELECT count(*) AS n FROM telemetry_points'))[0]!.n);
  console.log('\nPublish → committed (PUBACK after commit), after warm-up');
  console.log('| offered points/s | committed points/s (whole run) | p50 (ms) | p99 (ms) | max (ms) | samples | ingest RSS max (MB) | rows stored / acked |');
  console.log('|---|---|---|---|---|---|---|---|');
  console.log(`| ${fmt(RATE)} | ${fmt(final.sustainedPointsPerSecond ?? NaN)} | ${fmt(final.latencyMs.p50)} | ${fmt(final.latencyMs.p99)} | ${fmt(final.latencyMs.max)} | ${fmt(final.latencyMs.count)} | ${fmt(rssMaxMb)} | ${fmt(rows)} / ${fmt(final.acked)} |`);
});
