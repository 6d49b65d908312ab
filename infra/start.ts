import { DEMO_COMPANIES } from '../db/seed.js';
import { explainStartupError, startServices } from '../services/run.js';
import { telemetryTopic } from '../domain/telemetry-topics.js';
import { prepareDatabase } from './dev-data.js';
import { startDemoFleet } from './demo-fleet.js';
import { report, step, StackError } from './stack/progress.js';
import { stackContext, up } from './stack/stack.js';

/**
 * `npm start`: the local stack, migrations and demo data, then api + worker + ingest in this
 * process, and a note of where everything is. Ctrl-C stops it all cleanly.
 */
async function main(): Promise<void> {
  const started = Date.now();
  const ctx = await stackContext();
  const stackEnv = await up(ctx);
  const env = { ...stackEnv, ...process.env } as Record<string, string>;
  const { device } = await step('database: migrate and seed demo data', () => prepareDatabase(env, ctx.settings.root));
  const running = await step('services: worker, ingest, api', () =>
    startServices(['worker', 'ingest', 'api'], { ...env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' }).catch((error: unknown) => {
      throw new StackError(explainStartupError(error));
    }),
  );
  // A living system to look at (live stream, positions, geofence crossings); SAFESHIPPER_DEMO_FLEET=off leaves it out.
  const fleet =
    env.SAFESHIPPER_DEMO_FLEET === 'off' || !running.urls.api || !running.urls.ingest
      ? undefined
      : await step('demo fleet: 3 simulated tankers (iot-simulator)', () =>
          startDemoFleet({ apiUrl: running.urls.api!, mqttUrl: running.urls.ingest!, issuer: env.OIDC_ISSUER!, stackRoot: ctx.settings.root }),
        ).catch((error: unknown) => void console.warn(`demo fleet not started: ${(error as Error).message}`));
  const s = ctx.settings;
  const users = ['viewer', 'driver', 'operator', 'manager', 'admin'];
  console.log(`
SafeShipper is running (ready in ${((Date.now() - started) / 1000).toFixed(1)}s). Ctrl-C stops it.

  API            ${running.urls.api}/api/v1   (health: ${running.urls.api}/health/ready)
  API docs       ${running.urls.api}/api/v1/docs   (OpenAPI 3.1: ${running.urls.api}/api/v1/openapi.json)
  Temporal UI    http://localhost:${s.temporalUiPort}   (frontend ${stackEnv.TEMPORAL_ADDRESS})
  Keycloak       http://localhost:${s.keycloakPort}/admin   (admin / see .stack/secrets.json)
  MQTT           ${running.urls.ingest}   (demo device ${device.mqttUsername}, secret ${device.secret})
                 publish JSON to ${telemetryTopic(device.mqttUsername)} with client id ${device.mqttUsername}
  Demo fleet     ${fleet ? `${fleet.devices.map((d) => d.username).join(', ')} driving the Hume, West Gate–Monash and Princes routes (npm run simulator -- --help for more)` : 'off'}
  PostgreSQL     postgresql://127.0.0.1:${s.pgPort}/safeshipper   (credentials in .stack/stack.env)
  Redis          ${stackEnv.REDIS_URL}   (rate-limit counters shared by API replicas)

Demo users (password "demo-password"), companies ${DEMO_COMPANIES.map((c) => c.name).join(' and ')}:
  ${users.map((role) => `acme-${role}`).join(', ')}
  ${users.map((role) => `boreal-${role}`).join(', ')}
  platform-staff
Get a token:
  curl -s -d grant_type=password -d client_id=safeshipper-dev -d username=acme-operator -d password=demo-password \\
    http://localhost:${s.keycloakPort}/realms/safeshipper/protocol/openid-connect/token
`);

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping api, ingest and worker (the stack keeps running; \`npm run stack -- down\` stops it)`);
    (fleet ? fleet.stop({ drainMs: 2000 }) : Promise.resolve()).then(() => running.stop()).then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch(async (error: unknown) => {
  await report(error);
  process.exit(1);
});
