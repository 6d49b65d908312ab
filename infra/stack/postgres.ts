import { access, chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import pg from 'pg';
import type { Component } from './component.js';
import { StackError } from './progress.js';
import { capture, ensurePortFree, portOpen, run, waitFor } from './processes.js';
import { aptInstall } from './apt.js';

const PG_BIN = '/usr/lib/postgresql/15/bin';
const EXTENSION_DIR = '/usr/share/postgresql/15/extension';
export const APP_DATABASE = 'safeshipper';
/** Test databases are cloned from this template, so each run gets a fresh, migrated-from-zero database. */
export const TEMPLATE_DATABASE = 'safeshipper_template';
export const OWNER_ROLE = 'safeshipper_owner';
export const APP_ROLE = 'safeshipper_app';

const exists = (path: string) => access(path).then(() => true, () => false);
const quoteLiteral = (value: string) => `'${value.replaceAll("'", "''")}'`;

export function postgres(ctx: import('./component.js').StackContext): Component {
  const dataDir = join(ctx.settings.root, 'postgres', 'data');
  const socketDir = join(ctx.settings.root, 'postgres', 'run');
  const log = join(ctx.settings.logs, 'postgres.log');
  const port = ctx.settings.pgPort;
  const asRoot = process.getuid?.() === 0;
  // PostgreSQL refuses to run as root: as root, its files belong to the `postgres` user.
  const asPostgres = (command: string, args: string[]) => (asRoot ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args]) as [string, string[]];

  async function sql(database: string, statements: string[]): Promise<void> {
    const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password: ctx.secrets.postgresSuperuserPassword, database });
    await client.connect();
    try {
      for (const statement of statements) await client.query(statement);
    } finally {
      await client.end();
    }
  }

  async function running(): Promise<boolean> {
    if (!(await exists(join(dataDir, 'PG_VERSION')))) return false;
    const [command, args] = asPostgres(join(PG_BIN, 'pg_ctl'), ['status', '-D', dataDir]);
    return (await capture(command, args)).code === 0;
  }

  /** The data folder must be reachable by the `postgres` user through every parent folder. */
  async function openParentsToPostgres(): Promise<void> {
    let dir = dirname(dataDir);
    const parents: string[] = [];
    while (dir !== '/') {
      parents.push(dir);
      dir = dirname(dir);
    }
    for (const parent of parents) {
      const { code } = await capture('runuser', ['-u', 'postgres', '--', 'test', '-x', parent]);
      if (code !== 0) await chmod(parent, 0o755 | 0o001);
    }
  }

  async function provision(): Promise<void> {
    const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password: ctx.secrets.postgresSuperuserPassword, database: 'postgres' });
    await client.connect();
    try {
      const roles = await client.query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE rolname = ANY($1)', [[OWNER_ROLE, APP_ROLE]]);
      const have = new Set(roles.rows.map((row) => row.rolname));
      // The owner runs migrations and creates test databases; the app role is what the
      // services connect as: not an owner, no BYPASSRLS, so row-level security applies to it.
      if (!have.has(OWNER_ROLE)) await client.query(`CREATE ROLE ${OWNER_ROLE} LOGIN CREATEDB`);
      await client.query(`ALTER ROLE ${OWNER_ROLE} PASSWORD ${quoteLiteral(ctx.secrets.ownerPassword)}`);
      if (!have.has(APP_ROLE)) await client.query(`CREATE ROLE ${APP_ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS`);
      await client.query(`ALTER ROLE ${APP_ROLE} PASSWORD ${quoteLiteral(ctx.secrets.appPassword)}`);
      const dbs = await client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname = ANY($1)', [[APP_DATABASE, TEMPLATE_DATABASE]]);
      const haveDb = new Set(dbs.rows.map((row) => row.datname));
      for (const db of [APP_DATABASE, TEMPLATE_DATABASE]) {
        if (!haveDb.has(db)) await client.query(`CREATE DATABASE ${db} OWNER ${OWNER_ROLE} ENCODING 'UTF8' TEMPLATE template0`);
      }
      await client.query(`ALTER DATABASE ${TEMPLATE_DATABASE} WITH IS_TEMPLATE true`);
    } finally {
      await client.end();
    }
    // Extensions need a superuser; every database gets them, the template passes them on.
    for (const db of [APP_DATABASE, TEMPLATE_DATABASE]) {
      await sql(db, [
        'CREATE EXTENSION IF NOT EXISTS postgis',
        'CREATE EXTENSION IF NOT EXISTS pg_trgm',
        'CREATE EXTENSION IF NOT EXISTS unaccent',
        'CREATE SCHEMA IF NOT EXISTS partman',
        'CREATE EXTENSION IF NOT EXISTS pg_partman SCHEMA partman',
        `GRANT ALL ON SCHEMA partman TO ${OWNER_ROLE}`,
        `GRANT ALL ON ALL TABLES IN SCHEMA partman TO ${OWNER_ROLE}`,
        `GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA partman TO ${OWNER_ROLE}`,
        `GRANT EXECUTE ON ALL PROCEDURES IN SCHEMA partman TO ${OWNER_ROLE}`,
        `ALTER SCHEMA public OWNER TO ${OWNER_ROLE}`,
        `REVOKE CREATE ON SCHEMA public FROM PUBLIC`,
        `GRANT USAGE ON SCHEMA public TO ${APP_ROLE}`,
      ]);
    }
  }

  return {
    name: 'postgres',
    title: 'PostgreSQL 15 + PostGIS 3 + pg_partman',
    log,
    url: () => `postgresql://127.0.0.1:${port}/${APP_DATABASE}`,

    async install() {
      const needed = [`${PG_BIN}/initdb`, `${EXTENSION_DIR}/postgis.control`, `${EXTENSION_DIR}/pg_partman.control`];
      const present = await Promise.all(needed.map(exists));
      if (present.every(Boolean)) return false;
      await aptInstall(['postgresql-15', 'postgresql-15-postgis-3', 'postgresql-15-partman'], join(ctx.settings.logs, 'apt.log'));
      return true;
    },

    running,

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
        throw new StackError('PostgreSQL did not start', `read the log below; \`npm run stack down\` then retry`, log);
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
