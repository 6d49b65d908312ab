import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Component, StackContext } from './component.js';
import { alive, capture, daemon, ensurePortFree, readPid, stopDaemon, waitFor } from './processes.js';

const REDIS_SERVER = '/usr/bin/redis-server';
// The Debian package depends on redis-tools, so redis-cli comes with it.
const REDIS_CLI = '/usr/bin/redis-cli';

/**
 * Redis for the API's shared rate-limit counters: Debian's redis-server, our own instance on
 * 127.0.0.1 with its folder under the stack. Counters live a minute at most, so nothing is
 * persisted (no RDB snapshots, no append-only file): a restart just starts the windows afresh.
 */
export function redis(ctx: StackContext): Component {
  const dir = join(ctx.settings.root, 'redis');
  const log = join(ctx.settings.logs, 'redis.log');
  const pidFile = join(ctx.settings.pids, 'redis.pid');
  const port = ctx.settings.redisPort;

  const cli = (...args: string[]) => capture(REDIS_CLI, ['-h', '127.0.0.1', '-p', String(port), ...args]);
  const healthy = async () => {
    const { code, stdout } = await cli('PING');
    return code === 0 && stdout.trim() === 'PONG';
  };

  return {
    name: 'redis',
    title: 'Redis (rate limits)',
    log,
    url: () => `redis://127.0.0.1:${port}`,

    debian: { packages: ['redis-server'], files: [REDIS_SERVER, REDIS_CLI] },

    async running() {
      return alive(await readPid(pidFile));
    },

    async start() {
      await ensurePortFree(port, 'Redis', 'SAFESHIPPER_REDIS_PORT');
      await mkdir(dir, { recursive: true });
      const pid = await daemon(
        REDIS_SERVER,
        [
          '--port', String(port),
          '--bind', '127.0.0.1',
          '--dir', dir,
          '--daemonize', 'no',
          '--save', '',
          '--appendonly', 'no',
          '--logfile', '',
        ],
        { log, pidFile },
      );
      await waitFor('Redis', healthy, { timeoutMs: 30_000, pid, log });
    },

    stop: () => stopDaemon(pidFile),

    async health() {
      if (!(await healthy())) return { ok: false, detail: `no PONG from 127.0.0.1:${port}` };
      const version = /redis_version:(\S+)/.exec((await cli('INFO', 'server')).stdout)?.[1];
      return { ok: true, detail: `PONG${version ? ` (Redis ${version})` : ''}` };
    },
  };
}
