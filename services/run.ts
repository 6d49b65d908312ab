import { loadConfig, type Config } from '../config/env.js';
import { createLogger, type Logger } from '../config/logger.js';
import { openDatabase, type Database } from '../db/orm.js';
import { startApi } from '../api/server.js';
import { startIngest } from '../ingest/broker.js';
import { startWorker } from './worker.js';

export const SERVICES = ['api', 'worker', 'ingest'] as const;
export type ServiceName = (typeof SERVICES)[number];

export interface RunningServices {
  config: Config;
  db: Database;
  log: Logger;
  urls: Partial<Record<ServiceName, string>>;
  stop(): Promise<void>;
}

/**
 * Starts any of api, worker and ingest in this process (all three for development, one per
 * process to scale out). Stopping reverses the order: the API stops taking requests, the
 * broker closes after committing what it holds, the worker drains, then the pool ends.
 */
export async function startServices(names: readonly ServiceName[], env: NodeJS.ProcessEnv = process.env): Promise<RunningServices> {
  const config = loadConfig(env);
  const log = createLogger(names.join('+'), config.LOG_LEVEL);
  const db = await openDatabase({ url: config.DATABASE_URL, poolSize: config.DATABASE_POOL_SIZE });
  const stops: Array<() => Promise<void>> = [];
  const urls: Partial<Record<ServiceName, string>> = {};
  try {
    if (names.includes('worker')) {
      const worker = await startWorker(config, db, log);
      stops.push(() => worker.shutdown());
      urls.worker = `${config.TEMPORAL_ADDRESS} (namespace ${config.TEMPORAL_NAMESPACE})`;
    }
    if (names.includes('ingest')) {
      const ingest = await startIngest(config, db, log);
      stops.push(() => ingest.close());
      urls.ingest = ingest.url;
    }
    if (names.includes('api')) {
      const api = await startApi(config, db, log);
      stops.push(() => api.close());
      urls.api = api.url;
    }
  } catch (error) {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await db.close();
    throw error;
  }
  return {
    config,
    db,
    log,
    urls,
    async stop() {
      for (const stop of [...stops].reverse()) await stop();
      await db.close();
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
