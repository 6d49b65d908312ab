import type { Server } from 'node:http';
import { Connection } from '@temporalio/client';
import type { Config } from '../config/env.js';
import type { Logger } from '../config/logger.js';
import type { Database } from '../db/orm.js';
import { createApp } from './app.js';
import { rateLimiterFromConfig } from './middleware/rate-limit.js';

export interface RunningApi {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/** Starts the API; Temporal is connected lazily so the API answers (and reports not-ready) while Temporal is down. */
export async function startApi(config: Config, db: Database, log: Logger): Promise<RunningApi> {
  const temporal = Connection.lazy({ address: config.TEMPORAL_ADDRESS });
  const limiter = rateLimiterFromConfig(config, log);
  const stopping = new AbortController();
  const app = createApp({ config, db, temporal, log, limiter, stopping: stopping.signal });
  const server = app.listen(config.API_PORT, config.API_HOST);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
  } catch (error) {
    await limiter.close();
    await temporal.close();
    throw error;
  }
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.API_PORT;
  log.info({ port }, 'api listening');
  return {
    server,
    url: `http://localhost:${port}`,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      stopping.abort();
      await closed;
      server.closeAllConnections();
      await temporal.close();
      await limiter.close();
    },
  };
}
