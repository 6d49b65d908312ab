import { fileURLToPath } from 'node:url';
import { DefaultLogger, NativeConnection, Runtime, Worker, bundleWorkflowCode, type LogLevel, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { Client, Connection, ScheduleAlreadyRunning, ScheduleOverlapPolicy } from '@temporalio/client';
import type { Config } from '../config/env.js';
import { taskQueues } from '../config/env.js';
import type { Logger } from '../config/logger.js';
import type { Database } from '../db/orm.js';
import { createActivities } from '../activities/index.js';
import { SHIPPED_CATALOGUE } from '../activities/government.js';
import { integrationSettingsFromConfig } from '../integrations/settings.js';
import { documentStoreFromConfig } from '../documents/store.js';
import { AuditCheckpointSeal } from '../security/audit-checkpoint.js';
import { databaseRules } from '../db/dangerous-goods-rules.js';
import { ensureSearchAttributes } from './search-attributes.js';
import { externalSearchEngine } from '../search/index.js';
import { ensureSearchSync } from '../search/sync.js';
import { notificationChannels } from '../integrations/notifications/index.js';
import { keycloakDirectory } from '../activities/notifications.js';
import { keycloakAdminFromConfig } from '../identity/keycloak-admin.js';
import { fieldEncryptionFromConfig } from '../security/field-encryption.js';

export const workflowsPath = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

/** Bundles the workflow code once (webpack): a test run shares one bundle across workers. */
export function bundleWorkflows(): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath, logger: { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: console.warn, error: console.error } });
}

export interface RunningWorker {
  workers: Worker[];
  /** Resolves when the worker has drained and stopped. */
  done: Promise<void>;
  shutdown(): Promise<void>;
}

let runtimeInstalled = false;

/** The SDK logs through our JSON logger, at warnings and above unless asked for more. */
function installRuntime(log: Logger): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const levels: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' };
  Runtime.install({ logger: new DefaultLogger('WARN', (entry) => log[levels[entry.level]]({ sdk: entry.meta }, entry.message)) });
}

export type BoundedContext = keyof ReturnType<typeof taskQueues>;

/** `contexts` limits the worker to some task queues (a test that needs only its own); by default it serves them all. */
export async function startWorker(config: Config, db: Database, log: Logger, options: { bundle?: WorkflowBundleWithSourceMap; contexts?: BoundedContext[] } = {}): Promise<RunningWorker> {
  installRuntime(log);
  await ensureNamespaceSetup(config);
  await ensureSearchSync(config, db);
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const channels = notificationChannels(config);
  if (channels.length === 0) log.warn('no notification channel configured (NOTIFY_SMTP_URL, NOTIFY_SMS_URL, NOTIFY_WEBHOOK_URL, NOTIFY_FILE_SINK): incident notifications reach nobody');
  // The webhook fan-out starts delivery workflows: a client of its own, closed with the worker.
  const temporal = new Client({ connection: Connection.lazy({ address: config.TEMPORAL_ADDRESS }), namespace: config.TEMPORAL_NAMESPACE });
  const activities = createActivities({
    db,
    temporal,
    integrations: integrationSettingsFromConfig(config),
    catalogueSources: { hazardousMaterialsTable: config.DG_SYNC_HMT_URL ?? SHIPPED_CATALOGUE.hazardousMaterialsTable, specialProvisions: config.DG_SYNC_SPECIAL_PROVISIONS_URL ?? SHIPPED_CATALOGUE.specialProvisions },
    auditSeal: new AuditCheckpointSeal(config.AUDIT_CHECKPOINT_KEY),
    catalogueDatabaseUrl: config.DATABASE_CATALOGUE_URL,
    rules: databaseRules(db),
    fields: fieldEncryptionFromConfig(config),
    notifications: { channels, directory: config.KEYCLOAK_ADMIN_CLIENT_SECRET ? keycloakDirectory(keycloakAdminFromConfig(config)) : undefined },
    governmentIncidentApi: { url: config.GOVERNMENT_INCIDENT_API_URL, token: config.GOVERNMENT_INCIDENT_API_TOKEN, timeoutMs: config.GOVERNMENT_INCIDENT_API_TIMEOUT_MS },
    log,
    documents: documentStoreFromConfig(config),
    search: { databaseUrl: config.DATABASE_URL, external: externalSearchEngine(config) },
    telemetryRetention: { rawDays: config.TELEMETRY_RETENTION_DAYS, rollupDays: config.TELEMETRY_ROLLUP_RETENTION_DAYS, lookbackHours: config.TELEMETRY_ROLLUP_LOOKBACK_HOURS },
  });
  // One worker per bounded context's task queue, sharing the connection, the bundle and the activities.
  const all = taskQueues(config);
  const queues = (options.contexts ?? (Object.keys(all) as BoundedContext[])).map((context) => all[context]);
  const workers = await Promise.all(
    queues.map((taskQueue) =>
      Worker.create({
        connection,
        namespace: config.TEMPORAL_NAMESPACE,
        taskQueue,
        ...(options.bundle ? { workflowBundle: options.bundle } : { workflowsPath }),
        activities,
        shutdownGraceTime: '10 seconds',
      }),
    ),
  );
  const done = Promise.all(workers.map((worker) => worker.run())).then(
    () => undefined,
  ).finally(() => Promise.all([connection.close(), temporal.connection.close()]));
  log.info({ taskQueues: queues }, 'worker started');
  return {
    workers,
    done,
    async shutdown() {
      for (const worker of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}

/**
 * The platform's scheduled work: telemetry partitions ahead of the data (daily), telemetry rolled up
 * by the hour and aged out (hourly), expired
 * idempotency keys purged (hourly), audit chain heads sealed (every 5 minutes: a rewrite of
 * entries older than that no longer matches a seal), the government DG catalogue synced (daily).
 */
export const SCHEDULES = [
  { name: 'telemetry-maintenance', workflowType: 'telemetryMaintenanceWorkflow', every: '1 day' },
  { name: 'telemetry-rollup', workflowType: 'telemetryRollupWorkflow', every: '1 hour' },
  { name: 'idempotency-purge', workflowType: 'idempotencyPurgeWorkflow', every: '1 hour' },
  { name: 'audit-checkpoint', workflowType: 'auditCheckpointWorkflow', every: '5 minutes' },
  { name: 'catalogue-sync', workflowType: 'catalogueSyncWorkflow', every: '1 day' },
] as const;

/** The namespace's search attributes and scheduled work exist once per namespace; ensuring them again is a no-op. */
async function ensureNamespaceSetup(config: Config): Promise<void> {
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  try {
    await ensureSearchAttributes(connection, config.TEMPORAL_NAMESPACE);
    const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
    for (const schedule of SCHEDULES) {
      await client.schedule
        .create({
          scheduleId: `${config.TEMPORAL_TASK_QUEUE_PREFIX}${schedule.name}`,
          spec: { intervals: [{ every: schedule.every }] },
          action: { type: 'startWorkflow', workflowType: schedule.workflowType, taskQueue: taskQueues(config).platform, args: [] },
          policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: schedule.every },
        })
        .catch((error: unknown) => {
          if (!(error instanceof ScheduleAlreadyRunning)) throw error;
        });
    }
  } finally {
    await connection.close();
  }
}
