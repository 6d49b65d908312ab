import { access, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Component, StackContext } from './component.js';
import { keycloak, REALM } from './keycloak.js';
import { APP_DATABASE, APP_ROLE, CATALOGUE_ROLE, OWNER_ROLE, postgres } from './postgres.js';
import { step } from './progress.js';
import { redis } from './redis.js';
import { MOSQUITTO_INGEST_USER, mosquitto, mosquittoPaths } from './mosquitto.js';
import { loadSecrets } from './secrets.js';
import { loadStackSettings } from './settings.js';
import { temporal, temporalPaths } from './temporal.js';
import { sleep } from './processes.js';
import { aptInstall } from './apt.js';
import { withLock } from './locks.js';

export async function stackContext(env: NodeJS.ProcessEnv = process.env): Promise<StackContext> {
  const settings = loadStackSettings(env);
  await mkdir(settings.logs, { recursive: true });
  return { settings, secrets: await loadSecrets(join(settings.root, 'secrets.json')) };
}

export function components(ctx: StackContext): Component[] {
  return [postgres(ctx), temporal(ctx), keycloak(ctx), redis(ctx), mosquitto(ctx)];
}

/** The application's configuration for this local stack (what production sets in its own environment). */
export function stackEnvironment(ctx: StackContext): Record<string, string> {
  const { settings: s, secrets } = ctx;
  const db = (role: string, password: string) => `postgresql://${role}:${encodeURIComponent(password)}@127.0.0.1:${s.pgPort}/${APP_DATABASE}`;
  return {
    NODE_ENV: 'development',
    DATABASE_URL: db(APP_ROLE, secrets.appPassword),
    DATABASE_OWNER_URL: db(OWNER_ROLE, secrets.ownerPassword),
    DATABASE_CATALOGUE_URL: db(CATALOGUE_ROLE, secrets.cataloguePassword),
    TEMPORAL_ADDRESS: `127.0.0.1:${s.temporalPort}`,
    TEMPORAL_NAMESPACE: 'default',
    TEMPORAL_UI_URL: `http://localhost:${s.temporalUiPort}`,
    TEMPORAL_TEST_SERVER_PATH: temporalPaths(s.root).testServer,
    // The OpenAPI fuzzer the contract test runs (same venv, infra/stack/requirements.txt).
    SCHEMATHESIS_PATH: temporalPaths(s.root).schemathesis,
    OIDC_ISSUER: `http://localhost:${s.keycloakPort}/realms/${REALM}`,
    OIDC_AUDIENCE: 'safeshipper-api',
    // The realm's clients (infra/keycloak): the dev client's password grant is for this local stack only.
    OIDC_ALLOWED_CLIENTS: 'safeshipper-web,safeshipper-integrations,safeshipper-dev',
    KEYCLOAK_ADMIN_PASSWORD: secrets.keycloakAdminPassword,
    // The realm's dev-only service-account secret for the admin REST API (infra/keycloak); production sets its own.
    KEYCLOAK_ADMIN_CLIENT_SECRET: 'dev-only-admin-api-secret-change-me',
    API_PORT: String(s.apiPort),
    MQTT_PORT: String(s.mqttPort),
    REDIS_URL: `redis://127.0.0.1:${s.redisPort}`,
    // External-broker mode (MQTT_MODE=external) against the stack's mosquitto; the default stays the embedded broker.
    MQTT_BROKER_URL: `mqtt://127.0.0.1:${s.mosquittoServicePort}`,
    MQTT_BROKER_USERNAME: MOSQUITTO_INGEST_USER,
    MQTT_BROKER_PASSWORD: secrets.mosquittoIngestPassword,
    // mosquitto authenticates devices from a password file that ingest keeps in sync and makes it re-read (SIGHUP).
    MQTT_BROKER_PASSWORD_FILE: mosquittoPaths(s.root).passwords,
    MQTT_BROKER_PID_FILE: join(s.pids, 'mosquitto.pid'),
    DATA_ENCRYPTION_KEY: secrets.dataEncryptionKey,
    AUDIT_CHECKPOINT_KEY: secrets.auditCheckpointKey,
    // Uploaded documents on local disk, shared by the api and the worker of this machine.
    DOCUMENT_STORE_DIR: join(s.root, 'documents'),
    // Incident notifications go to a file here instead of mail and SMS gateways: `tail -f .stack/notifications.jsonl`.
    NOTIFY_FILE_SINK: join(s.root, 'notifications.jsonl'),
  };
}

const exists = (path: string) => access(path).then(() => true, () => false);

/** Every Debian package the components lack, gathered first and installed in one apt transaction. */
export async function ensureDebianPackages(list: Component[], log: string, install = aptInstall): Promise<string[]> {
  const lacking = await Promise.all(
    list.map(async (component) => {
      if (!component.debian) return [];
      const present = await Promise.all(component.debian.files.map(exists));
      return present.every(Boolean) ? [] : component.debian.packages;
    }),
  );
  const packages = [...new Set(lacking.flat())].sort();
  if (packages.length > 0) await step(`Debian packages: ${packages.join(' ')}`, () => install(packages, log));
  return packages;
}

/**
 * Installs and starts one component under its own lock: a second `npm start`/`npm test` started
 * meanwhile waits, then finds it installed and running instead of installing or starting it again.
 */
export async function ensure(ctx: StackContext, component: Component): Promise<void> {
  await withLock(join(ctx.settings.root, 'locks', component.name), component.title, async () => {
    if (component.install) await step(`${component.title}: install if missing`, () => component.install!());
    if (await component.running()) {
      // Already running: it may still be starting (another command started it), so give it time.
      await step(`${component.title}: already running, checking health`, async () => {
        for (let attempt = 0; attempt < 120; attempt += 1) {
          if ((await component.health()).ok) return;
          await sleep(1000);
        }
        throw new Error(`${component.title} is running but unhealthy; see ${component.log} or run \`npm run stack -- down\``);
      });
      if (component.reconcile) await step(`${component.title}: bring up to date`, () => component.reconcile!());
      return;
    }
    await step(`${component.title}: start`, () => component.start());
  });
}

/** Installs what is missing and starts what is not running; components come up side by side. */
export async function up(ctx: StackContext): Promise<Record<string, string>> {
  const list = components(ctx);
  await ensureDebianPackages(list, join(ctx.settings.logs, 'apt.log'));
  await Promise.all(list.map((component) => ensure(ctx, component)));
  const env = stackEnvironment(ctx);
  const lines = Object.entries(env).map(([key, value]) => `${key}=${value}`);
  await writeFile(join(ctx.settings.root, 'stack.env'), `# written by \`npm run stack up\`: the app's configuration for this local stack\n${lines.join('\n')}\n`, { mode: 0o600 });
  return env;
}

export async function down(ctx: StackContext): Promise<void> {
  for (const component of components(ctx).reverse()) {
    const stopped = await step(`${component.title}: stop`, () => component.stop());
    if (!stopped) console.log(`  (${component.name} was not running)`);
  }
}

export async function status(ctx: StackContext): Promise<boolean> {
  let allOk = true;
  const rows: string[][] = [['component', 'state', 'where', 'health']];
  for (const component of components(ctx)) {
    const isRunning = await component.running();
    const health = isRunning ? await component.health() : { ok: false, detail: '-' };
    allOk &&= health.ok;
    rows.push([component.name, isRunning ? (health.ok ? 'up' : 'unhealthy') : 'down', component.url(), health.detail]);
  }
  rows.push(['mqtt', 'embedded', `mqtt://localhost:${ctx.settings.mqttPort} (aedes, inside ingest)`, 'runs with `npm start` / `npm run ingest`']);
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  for (const row of rows) console.log(row.map((cell, column) => cell.padEnd(widths[column]!)).join('  '));
  return allOk;
}
