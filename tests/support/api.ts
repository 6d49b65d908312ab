import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Connection } from '@temporalio/client';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createApp } from '../../api/app.js';
import { startWorker, type BoundedContext } from '../../services/worker.js';
import type { Database } from '../../db/orm.js';
import { passwordToken, silentLog, testConfig, testDatabase } from './stack.js';

export interface TestApi {
  base: string;
  db: Database;
  /** A real token per demo user, fetched once. */
  token(username: string): Promise<string>;
  call(username: string, method: string, path: string, options?: { body?: unknown; headers?: Record<string, string> }): Promise<Response>;
  close(): Promise<void>;
}

/**
 * The API app on an ephemeral port with the test database and real Keycloak tokens; `overrides`
 * change its configuration. With a workflow bundle, a worker runs beside it (the lifecycle routes
 * need one to answer their updates).
 */
export async function startTestApi(overrides: Record<string, string> = {}, options: { workflows?: WorkflowBundleWithSourceMap; contexts?: BoundedContext[] } = {}): Promise<TestApi> {
  const config = testConfig(overrides);
  const db = await testDatabase();
  const worker = options.workflows ? await startWorker(config, db, silentLog, { bundle: options.workflows, ...(options.contexts ? { contexts: options.contexts } : {}) }) : undefined;
  const temporal = Connection.lazy({ address: config.TEMPORAL_ADDRESS });
  const server: Server = createApp({ config, db, temporal, log: silentLog }).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const tokens = new Map<string, Promise<string>>();
  const token = (username: string) => {
    if (!tokens.has(username)) tokens.set(username, passwordToken(username));
    return tokens.get(username)!;
  };
  return {
    base,
    db,
    token,
    async call(username, method, path, options = {}) {
      const headers: Record<string, string> = { Authorization: `Bearer ${await token(username)}`, ...options.headers };
      if (options.body !== undefined) headers['Content-Type'] ??= 'application/json';
      return fetch(`${base}${path}`, { method, headers, ...(options.body !== undefined ? { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) } : {}) });
    },
    async close() {
      await new Promise((resolve) => server.close(resolve));
      server.closeAllConnections();
      await worker?.shutdown();
      await temporal.close();
      await db.close();
    },
  };
}
