// External-broker mode: the throughput run through the stack's mosquitto (MQTT 5 devices on its devices
// listener, ingest on its service listener with a persistent session on the shared subscription
// $share/<group>/…, PUBACK to the broker after commit), first with one ingest process, then with two
// sharing the subscription (how ingest scales out). BENCH_DEVICES (1000), BENCH_SECONDS (60),
// BENCH_BATCH (10), BENCH_INFLIGHT (4). Needs the local stack (npm run stack -- up), whose mosquitto it
// uses: ingest writes the benchmark's devices into the stack's password file (the developer's own
// ingest writes its devices back at its next sync), and the benchmark's ingest sessions are removed
// at the end (they never expire by themselves and would queue every later message).
//   Run: npx tsx bench/telemetry-external.ts
//   Small proof: BENCH_DEVICES=20 BENCH_SECONDS=5 npx tsx bench/telemetry-external.ts
import { readFile } from 'node:fs/promises';
import mqtt from 'mqtt';
import { stackContext } from '../infra/stack/stack.js';
import { floodRun, fmt, printResults, run, stackEnv, startIngestProcess, stopAll, type Child, type Result, runBenchmark } from './telemetry-support.js';

const DEVICES = Number(process.env.BENCH_DEVICES ?? 1000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const PROCESSES = (process.env.BENCH_INGEST_PROCESSES ?? '1,2').split(',').map(Number);
const flood = {
  seconds: SECONDS,
  batch: Number(process.env.BENCH_BATCH ?? 10),
  inflight: Number(process.env.BENCH_INFLIGHT ?? 4),
  warmup: Number(process.env.BENCH_WARMUP ?? Math.min(5, SECONDS / 5)),
};
const settings = (await stackContext()).settings;
const group = `bench${run}`;
const clientId = (n: number) => `safeshipper-bench-ingest-${run}-${n}`;

/** Ends a benchmark ingest session for good (clean start, expiry 0), so the broker stops keeping messages for it. */
async function removeSession(id: string): Promise<void> {
  const client = await mqtt.connectAsync(stackEnv.MQTT_BROKER_URL!, {
    clientId: id,
    username: stackEnv.MQTT_BROKER_USERNAME!,
    password: stackEnv.MQTT_BROKER_PASSWORD!,
    protocolVersion: 5,
    clean: true,
    properties: { sessionExpiryInterval: 0 },
    reconnectPeriod: 0,
  });
  await client.endAsync();
}

console.log(`external broker: ${DEVICES} devices flooding QoS 1 (MQTT 5) through mosquitto on ${settings.mosquittoPort}, ${SECONDS}s per run, ingest processes ${PROCESSES.join(' then ')}`);
runBenchmark(DEVICES, async (database, devices) => {
  const ingests: Child[] = [];
  const results: Result[] = [];
  const committed: string[] = [];
  try {
    const passwords = stackEnv.MQTT_BROKER_PASSWORD_FILE!;
    for (const count of PROCESSES) {
      while (ingests.length < count) {
        const n = ingests.length + 1;
        ingests.push(
          await startIngestProcess(
            { ...database.env, MQTT_MODE: 'external', MQTT_BROKER_CLIENT_ID: clientId(n), MQTT_SHARE_GROUP: group, MQTT_DEVICE_MESSAGES_PER_SECOND: '100000', MQTT_DEVICE_MESSAGE_BURST: '1000000' },
            `ingest-${n}`,
          ),
        );
      }
      // Devices are refused until ingest's sync has written them into the broker's password file.
      for (let waited = 0; !(await readFile(passwords, 'utf8')).includes(`bench-b${String(DEVICES).padStart(6, '0')}:`); waited++) {
        if (waited > 600) throw new Error(`the benchmark's devices never reached ${passwords}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await new Promise((resolve) => setTimeout(resolve, 1000)); // mosquitto re-reads the file on the SIGHUP that follows the write
      const rows = async () => Number((await database.query('SELECT count(*) AS n FROM telemetry_points'))[0]!.n);
      const before = await rows();
      const started = performance.now();
      const result = await floodRun(`mosquitto → ${count} ingest process${count > 1 ? 'es' : ''}`, `mqtt://127.0.0.1:${settings.mosquittoPort}`, devices.file, ingests[0], flood, ['--protocol-version', '5']);
      // Here a device's PUBACK is mosquitto's (on receipt); ingest acknowledges to mosquitto after its commit.
      // The figure that counts is committed rows per second, until ingest has caught up with what the devices sent.
      let stored = await rows();
      for (let stalled = 0; stored - before < result.final.acked && stalled < 30; ) {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        const now = await rows();
        stalled = now === stored ? stalled + 1 : 0;
        stored = now;
      }
      const seconds = (performance.now() - started) / 1000;
      result.rows = stored - before;
      committed.push(`${result.target}: ${fmt(stored - before)} of ${fmt(result.final.acked)} points committed in ${seconds.toFixed(1)} s = ${fmt((stored - before) / seconds)} points/s committed`);
      results.push(result);
    }
    printResults('External-broker mode (mosquitto; a device’s PUBACK is the broker’s; RSS is the first ingest process)', results);
    console.log(`\nCommitted by ingest (the throughput figure of this mode), from the run's start until caught up:\n  ${committed.join('\n  ')}`);
  } finally {
    await stopAll();
    for (let n = 1; n <= ingests.length; n++) await removeSession(clientId(n)).catch((error: unknown) => console.error(`session ${clientId(n)} not removed: ${(error as Error).message}`));
  }
});
