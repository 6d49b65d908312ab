import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { loadConfig, type Config } from '../config/env.js';
import { createLogger, type Logger } from '../config/logger.js';
import { openDatabase } from '../db/orm.js';
import { startApi } from '../api/server.js';
import { startIngest } from '../ingest/index.js';
import { startDetection } from '../ingest/detection/index.js';
import { startApiCluster } from './api-cluster.js';
import { startWorker } from './worker.js';

export const SERVICES = ['api', 'worker', 'ingest'] as const;
export type ServiceName = (typeof SERVICES)[number];

export interface RunningServices {
  config: Config;
  log: Logger;
  urls: Partial<Record<ServiceName, string>>;
  stop(): Promise<void>;
}

/** How many API processes: API_WORKERS, else one per CPU (tests keep the API in their own process). */
export function apiWorkers(config: Pick<Config, 'API_WORKERS' | 'NODE_ENV'>): number {
  return config.API_WORKERS ?? (config.NODE_ENV === 'test' ? 1 : availableParallelism());
}

/**
 * Starts any of api, worker and ingest (all three for development, one per process to scale
 * out). The API runs in this process, or as a cluster of API_WORKERS processes (one per CPU by
 * default) with this process as their primary; worker and ingest always stay in this process
 * (one broker owns the MQTT port and its sessions; Temporal workers scale as separate processes).
 * Stopping reverses the order: the API stops taking requests, the broker closes after committing
 * what it holds, the worker drains, then the pool ends.
 */
export async function startServices(names: readonly ServiceName[], env: NodeJS.ProcessEnv = process.env): Promise<RunningServices> {
  const config = loadConfig(env);
  // Cluster workers tag their lines with their pid: which process served a request shows in the log.
  const log = cluster.isWorker ? createLogger(names.join('+'), config.LOG_LEVEL).child({ pid: process.pid }) : createLogger(names.join('+'), config.LOG_LEVEL);
  const workers = names.includes('api') ? apiWorkers(config) : 0;
  const inProcess = names.filter((name) => name !== 'api' || workers === 1);
  const db = inProcess.length > 0 ? await openDatabase({ url: config.DATABASE_URL, poolSize: config.DATABASE_POOL_SIZE }) : undefined;
  const stops: Array<() => Promise<void>> = [];
  const urls: Partial<Record<ServiceName, string>> = {};
  try {
    if (db && inProcess.includes('worker')) {
      const worker = await startWorker(config, db, log);
      stops.push(() => worker.shutdown());
      urls.worker = `${config.TEMPORAL_ADDRESS} (namespace ${config.TEMPORAL_NAMESPACE})`;
    }
    if (db && inProcess.includes('ingest')) {
      // Detection first: the broker commits nothing before its detector (and the relay to Temporal) is running; it stops after the broker.
      const detection = await startDetection(config, db, log);
      stops.push(() => detection.close());
      const ingest = await startIngest(config, db, log, { detector: detection.detector });
      stops.push(() => ingest.close());
      urls.ingest = ingest.url;
    }
    if (db && inProcess.includes('api')) {
      const api = await startApi(config, db, log);
      stops.push(() => api.close());
      urls.api = api.url;
    } else if (names.includes('api')) {
      const api = await startApiCluster(workers, env, log);
      stops.push(() => api.stop());
      urls.api = api.url;
    }
  } catch (error) {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await db?.close();
    throw error;
  }
  return {
    config,
    log,
    urls,
    async stop() {
      for (const stop of [...stops].reverse()) await stop();
      await db?.close();
      log.info('stopped');
    },
  };
}

/** Explains the start-up failures a newcomer will meet, naming the fix. */
export function explainStartupError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'EADDRINUSE') {
    const port = (error as { port?: number }).port;
    return `port ${port} is already in use; stop the process holding it, or set API_PORT / MQTT_PORT to a free port`;
  }
  if (code === 'ECONNREFUSED' && message.includes('5432')) return `PostgreSQL refused the connection (${message}); is the stack up? \`npm run stack up\``;
  return message;
}

/** A stop that runs once however many signals ask for it, then ends the process: 0 when clean, 1 otherwise. */
export function stopOnceThenExit(running: RunningServices, message = 'shutting down'): (reason: string) => void {
  let stopping = false;
  return (reason) => {
    if (stopping) return;
    stopping = true;
    running.log.info({ reason }, message);
    running.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        running.log.error({ err: error }, 'unclean shutdown');
        process.exit(1);
      },
    );
  };
}
