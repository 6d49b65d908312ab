import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CompanySchema } from '../../db/entities.js';
import { inTenant } from '../../db/orm.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { passwordToken, testEnv } from '../support/stack.js';

/**
 * The OpenAPI contract under schemathesis (the stack's venv, infra/stack/requirements.txt):
 * every check on, every phase (examples, coverage, fuzzing, and the stateful phase that follows
 * the document's links from a create to the created resource), once as an ADMIN over every
 * operation and once as a VIEWER over the reads. The fuzzer writes whatever its role may:
 * users, company name, master data. So it runs in a company of its own, with Keycloak users of its own, deleted afterwards; the demo users
 * and companies the other test files use are never reachable from it (every route is scoped to
 * the caller's company). The platform routes (`/admin/*`) answer these roles 403, as documented.
 */

const env = testEnv();
const issuer = env.OIDC_ISSUER!;
const realm = /\/realms\/([^/]+)$/.exec(issuer)![1]!;
const keycloak = issuer.replace(/\/realms\/[^/]+$/, '');
const run = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
const company = randomUUID();

/** Keycloak's admin REST API as the master realm's admin (the API's own service account manages only company users through the API). */
async function keycloakAdmin(method: string, path: string, body?: unknown): Promise<Response> {
  const token = await passwordToken('admin', { realm: 'master', clientId: 'admin-cli', password: env.KEYCLOAK_ADMIN_PASSWORD! });
  const response = await fetch(`${keycloak}/admin/realms/${realm}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok) throw new Error(`Keycloak admin ${method} ${path}: ${response.status} ${await response.text()}`);
  return response;
}

/** A user of the fuzzer's company with one realm role; answers its username and password. */
async function createUser(role: 'ADMIN' | 'VIEWER'): Promise<{ username: string; password: string }> {
  const username = `fuzz-${role.toLowerCase()}-${run}`;
  const password = randomBytes(18).toString('base64url');
  const created = await keycloakAdmin('POST', '/users', {
    username,
    enabled: true,
    email: `${username}@fuzz.safeshipper.test`,
    emailVerified: true,
    firstName: 'Contract',
    lastName: `Fuzzer ${role}`,
    attributes: { company_id: [company] },
    credentials: [{ type: 'password', value: password, temporary: false }],
  });
  const id = created.headers.get('location')!.split('/').pop()!;
  const roleRepresentation = (await (await keycloakAdmin('GET', `/roles/${role}`)).json()) as { id: string; name: string };
  await keycloakAdmin('POST', `/users/${id}/role-mappings/realm`, [{ id: roleRepresentation.id, name: roleRepresentation.name }]);
  return { username, password };
}

/** Every user of the fuzzer's company: the two made here and those the fuzzer created through `POST /users`. */
async function deleteCompanyUsers(): Promise<number> {
  const users = (await (await keycloakAdmin('GET', `/users?q=company_id:${company}&max=10000&briefRepresentation=true`)).json()) as Array<{ id: string }>;
  for (const user of users) await keycloakAdmin('DELETE', `/users/${user.id}`);
  return users.length;
}

type Operation = { operationId: string; parameters?: Array<{ $ref?: string; name?: string; in?: string }>; requestBody?: { content?: Record<string, unknown> }; responses: Record<string, unknown> };

/**
 * What the fuzzer is told beyond the document, per operation, derived from the document itself:
 * the refusals a schema cannot express, which schemathesis asks to be declared
 * (`schemathesis explain ST202`). Each is a status the operation documents:
 * - 422 where the operation documents it: rules across fields or beyond the request (a reference
 *   in your company, a catalogue entry in force, a key reused with another body, yourself).
 * - 412 where it takes If-Match: which version is current is the server's to know.
 * - 400 where it takes a `cursor`: only a cursor the API issued is one. And where If-Match is
 *   optional (DELETE): schemathesis' coverage phase sends `If-Match: 0` there as if it matched the
 *   documented `^"v\d+"$`; the API answers 400 naming If-Match, as the pattern says it should.
 * - 428 for a missing If-Match where it is required (RFC 6585), beside the 4xx the check expects.
 * - 415 for a file upload: the file is judged by its bytes (a PDF, a photo), which no schema can say.
 */
function fuzzerConfig(document: { paths: Record<string, Record<string, Operation>> }): string {
  const positive = ['2xx', '3xx', '401', '403', '404', '409', '429', '5xx'];
  const missingHeader = ['400', '401', '403', '406', '415', '422'];
  const list = (statuses: string[]) => `[${statuses.map((status) => JSON.stringify(status)).join(', ')}]`;
  const sections: string[] = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const refs = (op.parameters ?? []).map((p) => p.$ref);
      const takesIfMatch = refs.some((ref) => ref?.endsWith('/IfMatch') || ref?.endsWith('/IfMatchOptional'));
      const extra = [
        ...('422' in op.responses ? ['422'] : []),
        // A byte range the schema allows may lie beyond the stored file: only the server knows its size.
        ...('416' in op.responses ? ['416'] : []),
        ...(op.requestBody?.content?.['multipart/form-data'] && '415' in op.responses ? ['415'] : []),
        ...(takesIfMatch ? ['412'] : []),
        ...((op.parameters ?? []).some((p) => p.in === 'query' && p.name === 'cursor') || refs.some((ref) => ref?.endsWith('/IfMatchOptional')) ? ['400'] : []),
      ];
      const lines = [`include-name = ${JSON.stringify(`${method.toUpperCase()} ${path}`)}`];
      if (extra.length) lines.push(`checks.positive_data_acceptance.expected-statuses = ${list([...positive, ...extra])}`);
      if (refs.some((ref) => ref?.endsWith('/IfMatch'))) lines.push(`checks.missing_required_header.expected-statuses = ${list([...missingHeader, '428'])}`);
      if (lines.length > 1) sections.push(`[[operations]]\n${lines.join('\n')}`);
    }
  }
  return `${sections.join('\n\n')}\n`;
}

interface FuzzRun {
  exitCode: number | null;
  output: string;
  seconds: number;
}

/** One schemathesis run with every check, against the live document, as the token's holder. */
async function fuzz(token: string, label: string, only: string[] = []): Promise<FuzzRun> {
  const dir = await mkdtemp(join(tmpdir(), `safeshipper-fuzz-${label}-`));
  const config = join(dir, 'schemathesis.toml');
  await writeFile(config, fuzzerConfig((await (await fetch(`${api.base}/api/v1/openapi.json`)).json()) as never));
  const args = [
    '--config-file', config,
    'run',
    `${api.base}/api/v1/openapi.json`,
    '--url', api.base,
    '--checks', 'all',
    '--phases', 'examples,coverage,fuzzing,stateful',
    '--header', `Authorization: Bearer ${token}`,
    ...only,
    '--max-examples', '10',
    // One worker: hypothesis' lambda-description cache is not thread-safe ("AST constructor recursion depth mismatch" under several).
    '--workers', '1',
    '--seed', '1',
    // Nothing carried between runs (the seed makes a run repeatable) and nothing left in the checkout.
    '--generation-database', 'none',
    '--no-color',
  ];
  const started = Date.now();
  // Run in the scratch folder: schemathesis keeps a crash cache (.schemathesis/) in its working directory.
  const child = spawn(env.SCHEMATHESIS_PATH!, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', SCHEMATHESIS_TELEMETRY: 'false' } });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exitCode = await new Promise<number | null>((resolve) => child.on('close', resolve));
  await rm(dir, { recursive: true, force: true });
  return { exitCode, output, seconds: (Date.now() - started) / 1000 };
}

let api: TestApi;

describe('the OpenAPI contract under schemathesis', () => {
  let admin: { username: string; password: string };
  let viewer: { username: string; password: string };

  beforeAll(async () => {
    api = await startTestApi({ API_RATE_LIMITS: 'off' }, { workflows: inject('workflowBundle') });
    await inTenant(api.db, company, async (em) => {
      em.create(CompanySchema, { id: company, name: `Contract fuzzing ${run}`, createdAt: new Date(), updatedAt: new Date() });
      await em.flush();
    });
    admin = await createUser('ADMIN');
    viewer = await createUser('VIEWER');
  });
  afterAll(async () => {
    await deleteCompanyUsers();
    await api?.close();
  });

  it('runs at full speed with API_RATE_LIMITS=off, while the default keeps the limits', async () => {
    const token = await passwordToken(viewer.username, { password: viewer.password });
    const twice = async (overrides: Record<string, string>) => {
      const limitedApi = await startTestApi({ RATE_LIMIT_READ_PER_MINUTE: '1', ...overrides });
      try {
        const statuses = [];
        for (let i = 0; i < 2; i += 1) {
          const response = await fetch(`${limitedApi.base}/api/v1/me`, { headers: { Authorization: `Bearer ${token}` } });
          statuses.push([response.status, response.headers.get('ratelimit-limit')]);
        }
        return statuses;
      } finally {
        await limitedApi.close();
      }
    };
    expect(await twice({})).toEqual([[200, '1'], [429, '1']]);
    expect(await twice({ API_RATE_LIMITS: 'off' })).toEqual([[200, null], [200, null]]);
  });

  for (const role of ['VIEWER', 'ADMIN'] as const) {
    it(`holds for ${role === "ADMIN" ? "an" : "a"} ${role}: every check, every phase, zero failures`, { timeout: 300_000 }, async () => {
      const user = role === 'ADMIN' ? admin : viewer;
      const token = await passwordToken(user.username, { password: user.password });
      // A VIEWER may only read: every write answers 403, which the RBAC matrix proves route by route. Its fuzzing is spent on the reads.
      const result = await fuzz(token, role.toLowerCase(), role === 'VIEWER' ? ['--include-method', 'GET'] : []);
      const operations = /Tested: (\d+)/.exec(result.output)?.[1];
      const cases = /Test cases:\s*\n\s*(.+)/.exec(result.output)?.[1];
      console.log(`schemathesis as ${role}: ${operations} operations, ${cases} in ${result.seconds.toFixed(1)} s (exit ${result.exitCode})`);
      expect(result.exitCode, result.output).toBe(0);
    });
  }
});
