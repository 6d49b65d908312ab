import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../config/logger.js';

/** What a cluster worker tells the primary (services/api-worker.ts). */
export type WorkerReport = { type: 'listening'; url: string } | { type: 'failed'; message: string; code?: string; port?: number };
/** What the primary tells a worker. */
export type WorkerOrder = { type: 'stop' };

export interface ApiCluster {
  url: string;
  /** The live workers' process ids. */
  pids(): number[];
  stop(): Promise<void>;
}

const WORKER_SCRIPT = fileURLToPath(new URL('./api-worker.ts', import.meta.url));
// A worker that keeps dying right after start (database gone, bad deployment) is replaced ever more slowly, not in a hot loop.
const QUICK_DEATH_MS = 10_000;
const MAX_RESPAWN_DELAY_MS = 30_000;
const STOP_GRACE_MS = 15_000;

function startupError(report: Extract<WorkerReport, { type: 'failed' }>): Error {
  return Object.assign(new Error(report.message), report.code ? { code: report.code } : {}, report.port !== undefined ? { port: report.port } : {});
}

/**
 * Runs the API in `count` worker processes sharing one listening socket (node:cluster hands
 * connections to the workers in turn), so a request waits for a free core rather than for one
 * busy event loop. A worker that dies is replaced; stopping asks every worker to drain (stop
 * accepting, finish what is in flight, close its pool) and waits for it.
 */
export async function startApiCluster(count: number, env: NodeJS.ProcessEnv, log: Logger): Promise<ApiCluster> {
  // Workers run api-worker.ts under tsx, whoever the primary is (services/main.ts, npm start).
  cluster.setupPrimary({ exec: WORKER_SCRIPT, execArgv: ['--import', 'tsx'] });
  const workerEnv = { ...env, API_WORKERS: '1' };
  let stopping = false;
  let quickDeaths = 0;
  let url = '';

  const fork = (): Promise<Worker> =>
    new Promise((resolve, reject) => {
      const worker = cluster.fork(workerEnv);
      const started = Date.now();
      let listening = false;
      worker.on('message', (report: WorkerReport) => {
        if (report.type === 'listening') {
          listening = true;
          url = report.url;
          resolve(worker);
        } else reject(startupError(report));
      });
      worker.once('exit', (code, signal) => {
        if (!listening) {
          reject(new Error(`API worker ${worker.process.pid} exited during start (${signal ?? `code ${code}`})`));
          return;
        }
        if (stopping) return;
        quickDeaths = Date.now() - started < QUICK_DEATH_MS ? quickDeaths + 1 : 0;
        const delay = quickDeaths === 0 ? 0 : Math.min(MAX_RESPAWN_DELAY_MS, 500 * 2 ** quickDeaths);
        log.error({ pid: worker.process.pid, code, signal, respawnInMs: delay }, 'api worker died; replacing it');
        setTimeout(() => {
          if (stopping) return;
          fork().then(
            (replacement) => log.warn({ pid: replacement.process.pid, replaced: worker.process.pid }, 'api worker replaced'),
            (error: unknown) => log.error({ err: error }, 'api worker replacement failed to start'),
          );
        }, delay).unref();
      });
    });

  const stopWorker = (worker: Worker) =>
    new Promise<void>((resolve) => {
      if (worker.isDead()) return resolve();
      worker.once('exit', () => resolve());
      const kill = setTimeout(() => worker.process.kill('SIGKILL'), STOP_GRACE_MS);
      worker.once('exit', () => clearTimeout(kill));
      try {
        worker.send({ type: 'stop' } satisfies WorkerOrder);
      } catch {
        worker.process.kill('SIGTERM');
      }
    });
  const live = () => Object.values(cluster.workers ?? {}).filter((worker): worker is Worker => worker !== undefined && !worker.isDead());
  const stop = async () => {
    stopping = true;
    await Promise.all(live().map(stopWorker));
  };

  const results = await Promise.allSettled(Array.from({ length: count }, fork));
  const failure = results.find((result) => result.status === 'rejected');
  if (failure) {
    await stop();
    throw failure.reason;
  }
  const pids = () => live().map((worker) => worker.process.pid!);
  log.info({ url, workers: pids() }, 'api cluster listening');
  return { url, pids, stop };
}
