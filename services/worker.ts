import { fileURLToPath } from 'node:url';
import { DefaultLogger, NativeConnection, Runtime, Worker, bundleWorkflowCode, type LogLevel, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { Client, Connection, ScheduleAlreadyRunning, ScheduleOverlapPolicy } from '@temporalio/client';
import type { Config } from '../config/env.js';
import { taskQueues } from '../config/env.js';
import type { Logger } from '../config/logger.js';
import type { Database } from '../db/orm.js';
import { createActivities } from '../activities/index.js';

export const workflowsPath = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

/** Bundles the workflow code once (webpack): a test run shares one bundle across workers. */
export function bundleWorkflows(): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath, logger: { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: console.warn, error: console.error } });
}

export interface RunningWorker {
  worker: Worker;
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

export async function startWorker(config: Config, db: Database, log: Logger, options: { bundle?: WorkflowBundleWithSourceMap } = {}): Promise<RunningWorker> {
  installRuntime(log);
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const worker = await Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: taskQueues(config).platform,
    ...(options.bundle ? { workflowBundle: options.bundle } : { workflowsPath }),
    activities: createActivities({ db, catalogueDatabaseUrl: config.DATABASE_CATALOGUE_URL }),
    shutdownGraceTime: '10 seconds',
  });
  const done = worker.run().finally(() => connection.close());
  await ensureSchedules(config);
  log.info({ taskQueue: taskQueues(config).platform }, 'worker started');
  return {
    worker,
    done,
    async shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}

/** Scheduled syncs exist once per namespace; creating them again is a no-op. */
async function ensureSchedules(config: Config): Promise<void> {
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  try {
    const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
    await client.schedule
      .create({
        scheduleId: `${config.TEMPORAL_TASK_QUEUE_PREFIX}telemetry-maintenance`,
        spec: { intervals: [{ every: '1 day' }] },
        action: { type: 'startWorkflow', workflowType: 'telemetryMaintenanceWorkflow', taskQueue: taskQueues(config).platform, args: [] },
        policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
      })
      .catch((error: unknown) => {
        if (!(error instanceof ScheduleAlreadyRunning)) throw error;
      });
  } finally {
    await connection.close();
  }
}
