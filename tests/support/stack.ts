import { inject } from 'vitest';
import { loadConfig, type Config } from '../../config/env.js';
import { createLogger } from '../../config/logger.js';
import { openDatabase, type Database } from '../../db/orm.js';

export const ACME = '11111111-1111-4111-8111-111111111111';
export const BOREAL = '22222222-2222-4222-8222-222222222222';

export function testEnv(): Record<string, string> {
  return inject('env');
}

export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({ ...testEnv(), ...overrides });
}

export const silentLog = createLogger('test', 'silent');

export function testDatabase(): Promise<Database> {
  return openDatabase({ url: testEnv().DATABASE_URL!, poolSize: 4 });
}

/** A real access token from the running Keycloak, via the dev client's password grant. */
export async function passwordToken(username: string, options: { clientId?: string; realm?: string; password?: string } = {}): Promise<string> {
  const env = testEnv();
  const issuer = options.realm ? env.OIDC_ISSUER!.replace(/\/realms\/[^/]+$/, `/realms/${options.realm}`) : env.OIDC_ISSUER!;
  const response = await fetch(`${issuer}/protocol/openid-connect/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'password', client_id: options.clientId ?? 'safeshipper-dev', username, password: options.password ?? 'demo-password' }),
  });
  const body = (await response.json()) as { access_token?: string; error_description?: string };
  if (!body.access_token) throw new Error(`no token for ${username}: ${response.status} ${body.error_description}`);
  return body.access_token;
}

/**
 * A database of its own for a test file that changes shared data (the catalogue sync): cloned
 * from the extension template and migrated; drop it when done.
 */
export async function isolatedDatabase(name: string): Promise<{ url: string; ownerUrl: string; catalogueUrl: string; drop(): Promise<void> }> {
  const { default: pg } = await import('pg');
  const { migrate } = await import('../../db/orm.js');
  const env = testEnv();
  const database = `${new URL(env.DATABASE_URL!).pathname.slice(1)}_${name}`;
  const withDatabase = (url: string) => url.replace(/\/[^/]+$/, `/${database}`);
  const owner = new pg.Client({ connectionString: env.DATABASE_OWNER_URL });
  await owner.connect();
  await owner.query(`CREATE DATABASE ${database} TEMPLATE safeshipper_template`);
  await owner.end();
  await migrate(withDatabase(env.DATABASE_OWNER_URL!));
  return {
    url: withDatabase(env.DATABASE_URL!),
    ownerUrl: withDatabase(env.DATABASE_OWNER_URL!),
    catalogueUrl: withDatabase(env.DATABASE_CATALOGUE_URL!),
    async drop() {
      const client = new pg.Client({ connectionString: env.DATABASE_OWNER_URL });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await client.end();
    },
  };
}
