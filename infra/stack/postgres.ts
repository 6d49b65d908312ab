import { access, chmod, mkdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { Component, StackContext } from './component.js';
import { StackError } from './progress.js';
import { capture, ensurePortFree, portOpen, run, waitFor } from './processes.js';

const PG_BIN = '/usr/lib/postgresql/15/bin';
const EXTENSION_DIR = '/usr/share/postgresql/15/extension';
export const APP_DATABASE = 'safeshipper';
/** Test databases are cloned from this template, so each run gets a fresh, migrated-from-zero database. */
export const TEMPLATE_DATABASE = 'safeshipper_template';
export const OWNER_ROLE = 'safeshipper_owner';
export const APP_ROLE = 'safeshipper_app';
/** The government DG sync's role: the only writer of the shared DG catalogue. */
export const CATALOGUE_ROLE = 'safeshipper_catalogue';

const exists = (path: string) => access(path).then(() => true, () => false);
const PROVISION_SQL = fileURLToPath(new URL('../postgres/provision.sql', import.meta.url));

export function postgres(ctx: StackContext): Component {
  const dataDir = join(ctx.settings.root, 'postgres', 'data');
  const socketDir = join(ctx.settings.root, 'postgres', 'run');
  const log = join(ctx.settings.logs, 'postgres.log');
  const port = ctx.settings.pgPort;
  const asRoot = process.getuid?.() === 0;
  // PostgreSQL refuses to run as root: as root, its files belong to the `postgres` user.
  const asPostgres = (command: string, args: string[]) => (asRoot ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args]) as [string, string[]];

  async function running(): Promise<boolean> {
    if (!(await exists(join(dataDir, 'PG_VERSION')))) return false;
    const [command, args] = asPostgres(join(PG_BIN, 'pg_ctl'), ['status', '-D', dataDir]);
    return (await capture(command, args)).code === 0;
  }

  /**
   * The data folder must be reachable by the `postgres` user through every parent folder (a CI
   * checkout may sit in a 700 temp folder): add only the search bit for others where it is missing.
   */
  async function openParentsToPostgres(): Promise<void> {
    let dir = dirname(dataDir);
    const parents: string[] = [];
    while (dir !== '/') {
      parents.push(dir);
      dir = dirname(dir);
    }
    for (const parent of parents) {
      const { code } = await capture('runuser', ['-u', 'postgres', '--', 'test', '-x', parent]);
      if (code !== 0) await chmod(parent, ((await stat(parent)).mode & 0o7777) | 0o001);
    }
  }

  /** Roles, databases and extensions, from the same SQL file docker-compose uses. */
  async function provision(): Promise<void> {
    await run(
      join(PG_BIN, 'psql'),
      ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', 'postgres', '-q', '-v', `owner_password=${ctx.secrets.ownerPassword}`, '-v', `app_password=${ctx.secrets.appPassword}`, '-v', `catalogue_password=${ctx.secrets.cataloguePassword}`, '-f', PROVISION_SQL],
      { log: join(ctx.settings.logs, 'provision.log'), env: { ...process.env, PGPASSWORD: ctx.secrets.postgresSuperuserPassword } },
    );
  }

  return {
    name: 'postgres',
    title: 'PostgreSQL 15 + PostGIS 3 + pg_partman',
    log,
    url: () => `postgresql://127.0.0.1:${port}/${APP_DATABASE}`,

    debian: {
      packages: ['postgresql-15', 'postgresql-15-postgis-3', 'postgresql-15-partman'],
      files: [`${PG_BIN}/initdb`, `${EXTENSION_DIR}/postgis.control`, `${EXTENSION_DIR}/pg_partman.control`],
    },

    running,
    // Roles and databases a newer checkout needs (a new role, a changed password) reach a server that is already running.
    reconcile: provision,

    async start() {
      await mkdir(socketDir, { recursive: true });
      await mkdir(ctx.settings.logs, { recursive: true });
      if (asRoot) {
        await openParentsToPostgres();
        await capture('chown', ['-R', 'postgres:postgres', join(ctx.settings.root, 'postgres')]);
        await writeFile(log, '', { flag: 'a' });
        await capture('chown', ['postgres:postgres', log]);
      }
      if (!(await exists(join(dataDir, 'PG_VERSION')))) {
        const pwFile = join(ctx.settings.root, 'postgres', 'pwfile');
        await writeFile(pwFile, ctx.secrets.postgresSuperuserPassword, { mode: 0o600 });
        if (asRoot) await capture('chown', ['postgres:postgres', pwFile]);
        const [command, args] = asPostgres(join(PG_BIN, 'initdb'), [
          '-D', dataDir, '-U', 'postgres', '--pwfile', pwFile, '-E', 'UTF8', '--locale', 'C.UTF-8',
          '--auth-local', 'peer', '--auth-host', 'scram-sha-256',
        ]);
        await run(command, args, { log: join(ctx.settings.logs, 'initdb.log') });
      }
      await ensurePortFree(port, 'PostgreSQL', 'SAFESHIPPER_PG_PORT');
      const options = `-p ${port} -k ${socketDir} -c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=256MB`;
      const [command, args] = asPostgres(join(PG_BIN, 'pg_ctl'), ['start', '-D', dataDir, '-l', log, '-w', '-t', '60', '-o', options]);
      await run(command, args, { log: join(ctx.settings.logs, 'pg_ctl.log') }).catch(() => {
        throw new StackError('PostgreSQL did not start', `read the log below; \`npm run stack -- down\` then retry`, log);
      });
      await waitFor('PostgreSQL', () => portOpen(port), { timeoutMs: 30_000, log });
      await provision();
    },

    async stop() {
      if (!(await running())) return false;
      const [command, args] = asPostgres(join(PG_BIN, 'pg_ctl'), ['stop', '-D', dataDir, '-m', 'fast', '-w']);
      await run(command, args, { log: join(ctx.settings.logs, 'pg_ctl.log') });
      return true;
    },

    async health() {
      const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password: ctx.secrets.postgresSuperuserPassword, database: APP_DATABASE });
      try {
        await client.connect();
        const { rows } = await client.query<{ postgis: string }>('SELECT postgis_lib_version() AS postgis');
        return { ok: true, detail: `PostGIS ${rows[0]?.postgis}` };
      } catch (error) {
        return { ok: false, detail: (error as Error).message };
      } finally {
        await client.end().catch(() => undefined);
      }
    },
  };
}
