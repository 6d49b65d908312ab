import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

// No Docker engine runs here: the production deployment is proven by reading what it would run.
const text = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
const compose = parse(text('docker-compose.yml'), { merge: true }) as Compose;
const devRealm = JSON.parse(text('infra/keycloak/safeshipper-realm.json')) as Realm;
const template = JSON.parse(text('infra/keycloak/production/safeshipper-realm.json')) as Realm;

interface Service {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, string>;
  ports?: Array<string | { host_ip?: string; published?: string | number; target: number }>;
  volumes?: Array<string | { type: string; source: string; target: string; read_only?: boolean }>;
  healthcheck?: { test: string[] };
}
interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}
interface Client {
  clientId: string;
  secret?: string;
  directAccessGrantsEnabled?: boolean;
  implicitFlowEnabled?: boolean;
  [field: string]: unknown;
}
interface User {
  username: string;
  serviceAccountClientId?: string;
  credentials?: unknown[];
  [field: string]: unknown;
}
interface Realm {
  clients: Client[];
  users?: User[];
  [field: string]: unknown;
}

const service = (name: string): Service => {
  const found = compose.services[name];
  if (!found) throw new Error(`docker-compose.yml has no service "${name}"`);
  return found;
};
const commandOf = (s: Service) => (Array.isArray(s.command) ? s.command : (s.command ?? '').split(/\s+/));
/** A compose variable that stops `docker compose up` when unset or empty: no default value can leak into production. */
const required = (variable: string) => new RegExp(`^\\$\\{${variable}:\\?[^}]+\\}$`);

// What makes the development realm development-only: the password-grant client (any user's
// password becomes a token), the demo integrations client (its service account is an OPERATOR of
// the demo company), demo users with a known password, fixed secrets and localhost URLs.
const DEV_ONLY_CLIENTS = ['safeshipper-integrations'];
const SECRET_VARIABLES: Record<string, string> = { 'safeshipper-admin-api': 'KEYCLOAK_ADMIN_CLIENT_SECRET' };
const DEV_WEB_URL = 'http://localhost:3000';
const WEB_URL_PLACEHOLDER = '${SAFESHIPPER_WEB_URL}';

/** The template the production realm must be: the development realm with exactly the development parts taken out. */
function expectedTemplate(dev: Realm): Realm {
  const clients = dev.clients
    .filter((client) => !client.directAccessGrantsEnabled && !DEV_ONLY_CLIENTS.includes(client.clientId))
    .map((client) => {
      const production = JSON.parse(JSON.stringify(client).replaceAll(DEV_WEB_URL, WEB_URL_PLACEHOLDER)) as Client;
      production.description = expect.any(String);
      if (client.secret !== undefined) production.secret = `\${${SECRET_VARIABLES[client.clientId]}}`;
      return production;
    });
  const kept = new Set(clients.map((client) => client.clientId));
  // Service accounts are not people: Keycloak keeps a client's service-account role grants (the
  // admin API's manage-users) as a user entry without credentials, so those of kept clients stay.
  const users = (dev.users ?? []).filter((user) => user.serviceAccountClientId && kept.has(user.serviceAccountClientId));
  return { ...dev, clients, users };
}

describe('the production realm template', () => {
  it('has no people: only service accounts of its clients, none with a credential or a company', () => {
    expect(devRealm.users?.some((user) => user.credentials)).toBe(true);
    for (const user of template.users ?? []) {
      expect(user.serviceAccountClientId, user.username).toBeTypeOf('string');
      expect(template.clients.map((client) => client.clientId)).toContain(user.serviceAccountClientId);
      expect(user.credentials, user.username).toBeUndefined();
      expect(user.attributes, user.username).toBeUndefined();
    }
    expect((template.users ?? []).map((user) => user.username)).toEqual(['service-account-safeshipper-admin-api']);
  });

  it('has no password-grant or implicit client', () => {
    expect(template.clients.filter((client) => client.directAccessGrantsEnabled || client.implicitFlowEnabled).map((client) => client.clientId)).toEqual([]);
  });

  it('takes every client secret and URL from the environment', () => {
    const secrets = template.clients.filter((client) => client.secret !== undefined);
    expect(secrets.map((client) => client.clientId)).toEqual(['safeshipper-admin-api']);
    for (const client of secrets) expect(client.secret).toMatch(/^\$\{[A-Z][A-Z0-9_]*\}$/);
    expect(JSON.stringify(template)).not.toContain('localhost');
    expect(JSON.stringify(template)).not.toMatch(/dev-only|demo/i);
  });

  it('is the development realm minus its development parts (roles, composites, scopes, mappers, user profile alike)', () => {
    expect(template).toEqual(expectedTemplate(devRealm));
  });

  it('is the realm whose clients the API accepts', () => {
    const allowed = String(service('api').environment?.OIDC_ALLOWED_CLIENTS).split(',');
    expect(allowed).toEqual(['safeshipper-web']);
    for (const id of allowed) expect(template.clients.map((client) => client.clientId)).toContain(id);
  });

  it('gets each placeholder from a variable compose refuses to start without', () => {
    const placeholders = [...new Set([...JSON.stringify(template).matchAll(/\$\{([A-Z][A-Z0-9_]*)\}/g)].map((match) => match[1]!))].sort();
    expect(placeholders).toEqual(['KEYCLOAK_ADMIN_CLIENT_SECRET', 'SAFESHIPPER_WEB_URL']);
    const environment = service('keycloak').environment ?? {};
    for (const name of placeholders) expect(environment[name], name).toMatch(required(name));
  });
});

describe('docker-compose.yml', () => {
  const keycloak = service('keycloak');
  const postgres = service('postgres');
  const temporal = service('temporal');

  it('runs Keycloak in production mode, importing the template (never the development realm) only into an empty realm', () => {
    const command = commandOf(keycloak);
    expect(command[0]).toBe('start');
    expect(command).not.toContain('start-dev');
    expect(command).toContain('--import-realm');
    // An existing realm is never imported over: a restart keeps disabled users disabled.
    expect(command.join(' ')).not.toMatch(/override|IGNORE_EXISTING|OVERWRITE/i);
    expect(keycloak.volumes).toEqual(['./infra/keycloak/production:/opt/keycloak/data/import:ro']);
  });

  it('keeps Keycloak in PostgreSQL under its own role, in a named volume', () => {
    const environment = keycloak.environment ?? {};
    expect(environment.KC_DB).toBe('postgres');
    expect(environment.KC_DB_URL).toBe('jdbc:postgresql://postgres:5432/keycloak');
    expect(environment.KC_DB_USERNAME).toBe('keycloak');
    expect(environment.KC_DB_PASSWORD).toMatch(required('KEYCLOAK_DB_PASSWORD'));
    expect(postgres.environment?.KEYCLOAK_DB_PASSWORD).toMatch(required('KEYCLOAK_DB_PASSWORD'));
    const [volume, target] = String(postgres.volumes?.[0]).split(':');
    expect(Object.keys(compose.volumes ?? {})).toContain(volume);
    expect(target).toBe('/home/postgres/pgdata/data');
  });

  it('connects Temporal as its own role, not the superuser, to databases made for it', () => {
    const environment = temporal.environment ?? {};
    expect(environment.POSTGRES_USER).toBe('temporal');
    expect(environment.POSTGRES_PWD).toMatch(required('TEMPORAL_DB_PASSWORD'));
    expect(environment.SKIP_DB_CREATE).toBe('true');
    expect(postgres.environment?.TEMPORAL_DB_PASSWORD).toMatch(required('TEMPORAL_DB_PASSWORD'));
    const init = text('infra/postgres/docker-init.sh');
    for (const role of ['temporal', 'keycloak']) {
      expect(init).toMatch(new RegExp(`CREATE ROLE ${role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE`));
    }
    for (const database of ['temporal', 'temporal_visibility', 'keycloak']) expect(init).toContain(`CREATE DATABASE ${database} OWNER`);
  });

  it('has no default for any secret: every one is ${VAR:?…}', () => {
    const secretish = /PASSWORD|SECRET|_KEY|TOKEN/;
    const offenders: string[] = [];
    const visit = (where: string, value: unknown) => {
      if (typeof value === 'string') {
        for (const match of value.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)([^}]*)\}/g)) {
          if (secretish.test(match[1]!) && !match[2]!.startsWith(':?')) offenders.push(`${where}: ${match[0]}`);
        }
      } else if (value && typeof value === 'object') {
        for (const [key, inner] of Object.entries(value)) visit(`${where}.${key}`, inner);
      }
    };
    visit('compose', compose);
    expect(offenders).toEqual([]);
    for (const [name, s] of Object.entries(compose.services)) {
      for (const [key, value] of Object.entries(s.environment ?? {})) {
        // A secret is interpolated from the environment, never written here; URLs carry their password the same way.
        if (secretish.test(key) && !key.endsWith('_FILE')) expect(value, `${name}.${key}`).toMatch(/^\$\{[A-Z_]+:\?[^}]+\}$/);
        if (/^[a-z]+:\/\/[^/]*@/.test(value)) expect(value, `${name}.${key}`).toMatch(/^[a-z]+:\/\/[\w-]*:\$\{[A-Z_]+:\?[^}]+\}@/);
      }
    }
  });

  it('publishes only services that authenticate every caller; the rest are unreachable or on 127.0.0.1', () => {
    // The API checks a Keycloak token on every /api/v1 request; the broker checks device credentials.
    const AUTHENTICATED = ['api', 'ingest'];
    const published: Record<string, string[]> = {};
    for (const [name, s] of Object.entries(compose.services)) {
      for (const port of s.ports ?? []) {
        const hostIp = typeof port === 'string' ? (port.split(':').length === 3 ? port.split(':')[0]! : '0.0.0.0') : (port.host_ip ?? '0.0.0.0');
        (published[name] ??= []).push(hostIp);
      }
    }
    for (const [name, addresses] of Object.entries(published)) {
      if (!AUTHENTICATED.includes(name)) expect(addresses.every((address) => address === '127.0.0.1'), `${name} publishes on ${addresses.join(', ')}`).toBe(true);
    }
    for (const name of ['postgres', 'redis', 'temporal', 'typesense', 'worker', 'migrate']) expect(published[name], name).toBeUndefined();
    // Keycloak's management interface (health, metrics) answers anyone: never published.
    expect(JSON.stringify(keycloak.ports ?? [])).not.toContain('9000');
  });

  it('publishes MQTT over TLS only: device secrets never cross a network in clear', () => {
    const ingest = compose.services.ingest!;
    expect(ingest.ports).toEqual(['8883:8883']);
    expect(ingest.environment).toMatchObject({ MQTT_TLS_PORT: '8883', MQTT_TLS_CERT_FILE: expect.stringMatching(/^\/run\//), MQTT_TLS_KEY_FILE: expect.stringMatching(/^\/run\//) });
  });

  it('runs Redis with a password that the app is given', () => {
    const redis = service('redis');
    expect(redis.environment?.REDIS_PASSWORD).toMatch(required('REDIS_PASSWORD'));
    expect(commandOf(redis).join(' ')).toContain('--requirepass "$$REDIS_PASSWORD"');
    expect(service('api').environment?.REDIS_URL).toMatch(/^redis:\/\/:\$\{REDIS_PASSWORD:\?[^}]+\}@redis:6379$/);
  });
});

describe('the image', () => {
  const ignored = text('.dockerignore').split('\n').map((line) => line.trim()).filter((line) => line && !line.startsWith('#'));
  // Docker's rules: Go filepath.Match per path segment plus `**` for any number of segments; a pattern matching a folder excludes what is inside it.
  const asRegExp = (pattern: string) =>
    new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('**/', '\u0000').replaceAll('*', '[^/]*').replaceAll('?', '[^/]').replaceAll('\u0000', '(?:.*/)?')}(?:/.*)?$`);
  const excluded = (path: string) => ignored.some((pattern) => !pattern.startsWith('!') && asRegExp(pattern).test(path));

  it('never contains an .env file or the local stack (its secrets and data)', () => {
    for (const path of ['.env', '.env.production', '.env.local', 'infra/.env', '.stack', '.stack/secrets.json', '.stack/stack.env']) expect(excluded(path), path).toBe(true);
    expect(ignored.some((pattern) => pattern.startsWith('!'))).toBe(false);
    expect(excluded('services/main.ts')).toBe(false);
  });
});
