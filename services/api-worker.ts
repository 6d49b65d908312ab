import { explainStartupError, startServices, stopOnceThenExit } from './run.js';
import type { WorkerOrder, WorkerReport } from './api-cluster.js';

/**
 * One API worker of the cluster (services/api-cluster.ts forks it with API_WORKERS=1): the API
 * alone, its own database pool. It reports to the primary once listening, and drains on the
 * primary's order, on SIGINT/SIGTERM (Ctrl-C reaches every process of the terminal), or when the
 * primary is gone.
 */
const report = (message: WorkerReport) => new Promise<void>((resolve) => (process.send ? process.send(message, () => resolve()) : resolve()));

try {
  const running = await startServices(['api']);
  const stop = stopOnceThenExit(running, 'api worker draining');
  process.on('message', (order: WorkerOrder) => {
    if (order.type === 'stop') stop('primary');
  });
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('disconnect', () => stop('primary gone'));
  await report({ type: 'listening', url: running.urls.api! });
} catch (error) {
  const { code, port } = error as { code?: string; port?: number };
  await report({ type: 'failed', message: explainStartupError(error), ...(code ? { code } : {}), ...(port !== undefined ? { port } : {}) });
  process.exit(1);
}
