import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import '../support/provided-context.js';
import { stackContext, up } from '../../infra/stack/stack.js';
import { APP_DATABASE, TEMPLATE_DATABASE } from '../../infra/stack/postgres.js';
import { migrate, openDatabase } from '../../db/orm.js';
import { seedDemoData } from '../../db/seed.js';
import { hashDeviceSecret } from '../../security/device-secrets.js';
import { bundleWorkflows } from '../../services/worker.js';
import { governmentActivities, SHIPPED_CATALOGUE } from '../../activities/government.js';
import { createTestRealm, deleteAbandonedTestRealms, deleteTestRealm, keycloakOrigin, testRealmName } from '../support/keycloak-realm.js';
import { cleanUpRun, ensureTestNamespace, TEST_NAMESPACE } from '../support/temporal-namespace.js';

/**
 * Once per test run: make sure the real stack is up (PostgreSQL/PostGIS, the Temporal dev
 * server, Keycloak), create a fresh database from the extension template, migrate and seed it,
 * a Keycloak realm of the run's own and the test namespace in Temporal, bundle the workflow code,
 * and hand every test file the same environment. Nothing the run uses is state a user of the
 * dev stack can change, and the teardown removes what the run made.
 */
export default async function setup(project: TestProject) {
  const ctx = await stackContext();
  const stackEnv = await up(ctx);
  const runId = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const database = `safeshipper_test_${runId}`;
  const withDatabase = (url: string) => url.replace(new RegExp(`/${APP_DATABASE}$`), `/${database}`);
  const env: Record<string, string> = {
    ...stackEnv,
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATABASE_URL: withDatabase(stackEnv.DATABASE_URL!),
    DATABASE_OWNER_URL: withDatabase(stackEnv.DATABASE_OWNER_URL!),
    DATABASE_CATALOGUE_URL: withDatabase(stackEnv.DATABASE_CATALOGUE_URL!),
    TEMPORAL_NAMESPACE: TEST_NAMESPACE,
    TEMPORAL_TASK_QUEUE_PREFIX: `test-${runId}-`,
    RATE_LIMIT_KEY_PREFIX: `safeshipper-test:${runId}`,
    TEST_DEVICE_SECRET: randomBytes(18).toString('base64url'),
    // The run's notifications go to a file of its own (removed at the end), never to the developer's .stack/notifications.jsonl.
    NOTIFY_FILE_SINK: join(tmpdir(), `safeshipper-test-${runId}-notifications.jsonl`),
    // Uploaded documents (the contract fuzzer uploads too) in a folder of the run's own, removed at the end.
    DOCUMENT_STORE_DIR: join(tmpdir(), `safeshipper-test-${runId}-documents`),
  };

  const keycloak = { origin: keycloakOrigin(stackEnv.OIDC_ISSUER!), adminPassword: stackEnv.KEYCLOAK_ADMIN_PASSWORD! };
  const realm = testRealmName(runId);
  // Keycloak and Temporal work alongside the database's: a realm import takes seconds.
  const identity = deleteAbandonedTestRealms(keycloak).then(() => createTestRealm(keycloak, realm));
  const temporal = ensureTestNamespace(stackEnv.TEMPORAL_ADDRESS!).then(() => bundleWorkflows());
  // Observed now, so a failure of one is not an unhandled rejection while the database work runs.
  void Promise.allSettled([identity, temporal]);

  const dropDatabase = async () => {
    const client = new pg.Client({ connectionString: stackEnv.DATABASE_OWNER_URL });
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await client.end();
  };

  try {
    const owner = new pg.Client({ connectionString: stackEnv.DATABASE_OWNER_URL });
    await owner.connect();
    await owner.query(`CREATE DATABASE ${database} TEMPLATE ${TEMPLATE_DATABASE}`);
    await owner.end();
    await migrate(env.DATABASE_OWNER_URL!);
    const db = await openDatabase({ url: env.DATABASE_URL!, poolSize: 2 });
    await seedDemoData(db, await hashDeviceSecret(env.TEST_DEVICE_SECRET!));
    await governmentActivities({ catalogueDatabaseUrl: env.DATABASE_CATALOGUE_URL }).syncDangerousGoodsCatalogue(SHIPPED_CATALOGUE);
    await db.close();
    env.OIDC_ISSUER = await identity;
    project.provide('env', env);
    project.provide('workflowBundle', await temporal);
  } catch (error) {
    // A setup that fails half-way leaves nothing behind either.
    await identity.then(() => deleteTestRealm(keycloak, realm)).catch(() => undefined);
    await dropDatabase().catch(() => undefined);
    throw error;
  }

  return async () => {
    await cleanUpRun(stackEnv.TEMPORAL_ADDRESS!, TEST_NAMESPACE, env.TEMPORAL_TASK_QUEUE_PREFIX!);
    await deleteTestRealm(keycloak, realm);
    await dropDatabase();
    await rm(env.NOTIFY_FILE_SINK!, { force: true });
    await rm(env.DOCUMENT_STORE_DIR!, { recursive: true, force: true });
  };
}
