import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { stackContext, stackEnvironment } from '../../infra/stack/stack.js';
import { createTestRealm, deleteTestRealm, keycloakOrigin, testRealmName } from '../support/keycloak-realm.js';
import { cleanUpRun, TEST_NAMESPACE } from '../support/temporal-namespace.js';
import { ACME, passwordToken, testEnv } from '../support/stack.js';

/**
 * The suite depends on nothing a user of the dev stack can change: a Keycloak realm of its own
 * per run (the demo realm's users may be disabled, demoted or re-passworded by anyone) and a
 * Temporal namespace of its own (operations staff read `default`).
 */
const env = testEnv();
const access = { origin: keycloakOrigin(env.OIDC_ISSUER!), adminPassword: env.KEYCLOAK_ADMIN_PASSWORD! };
const decode = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { iss: string; company_id?: string; realm_access?: { roles?: string[] } };

async function asMaster(method: string, path: string, body?: unknown): Promise<Response> {
  const token = await passwordToken('admin', { realm: 'master', clientId: 'admin-cli', password: access.adminPassword });
  return fetch(`${access.origin}/admin/realms${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

async function userId(realm: string, username: string): Promise<string> {
  const [user] = (await (await asMaster('GET', `/${realm}/users?exact=true&username=${username}`)).json()) as Array<{ id: string }>;
  return user!.id;
}

describe('test runs are hermetic', () => {
  const made: string[] = [];
  afterAll(async () => {
    for (const realm of made) await deleteTestRealm(access, realm);
  });

  it('the run uses a realm of its own, not the demo realm', async () => {
    const demoIssuer = stackEnvironment(await stackContext()).OIDC_ISSUER;
    expect(env.OIDC_ISSUER).not.toBe(demoIssuer);
    expect(decode(await passwordToken('acme-admin')).iss).toBe(env.OIDC_ISSUER);
  });

  it('demo users disabled in the dev stack do not reach the next run', async () => {
    const demoRealm = 'safeshipper';
    const usernames = ['acme-viewer', 'acme-admin'];
    const ids = await Promise.all(usernames.map((username) => userId(demoRealm, username)));
    const before = await Promise.all(ids.map(async (id) => ((await (await asMaster('GET', `/${demoRealm}/users/${id}`)).json()) as { enabled: boolean }).enabled));
    try {
      for (const id of ids) expect((await asMaster('PUT', `/${demoRealm}/users/${id}`, { enabled: false })).status).toBe(204);
      await expect(passwordToken('acme-admin', { realm: demoRealm })).rejects.toThrow(/Account disabled/);

      // The next run's setup.
      const next = testRealmName(`${Date.now().toString(36)}${randomBytes(3).toString('hex')}`);
      made.push(next);
      await createTestRealm(access, next);
      for (const [username, role] of [['acme-viewer', 'VIEWER'], ['acme-admin', 'ADMIN']] as const) {
        const claims = decode(await passwordToken(username, { realm: next }));
        expect(claims.company_id).toBe(ACME);
        expect(claims.realm_access?.roles).toContain(role);
      }
    } finally {
      for (const [index, id] of ids.entries()) await asMaster('PUT', `/${demoRealm}/users/${id}`, { enabled: before[index] });
    }
  });

  it('workflows run in the test namespace, and a run removes its schedules and open workflows when it ends', async () => {
    expect(env.TEMPORAL_NAMESPACE).toBe(TEST_NAMESPACE);
    const connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS! });
    try {
      const client = new Client({ connection, namespace: TEST_NAMESPACE });
      const prefix = `test-cleanup-${randomBytes(4).toString('hex')}-`;
      const taskQueue = `${prefix}platform`;
      await client.schedule.create({
        scheduleId: `${prefix}maintenance`,
        spec: { intervals: [{ every: '1 day' }] },
        action: { type: 'startWorkflow', workflowType: 'telemetryMaintenanceWorkflow', taskQueue, args: [] },
      });
      // No worker polls this queue: the workflow stays open until the clean-up ends it.
      const handle = await client.workflow.start('telemetryMaintenanceWorkflow', { taskQueue, workflowId: `${prefix}open`, args: [] });
      let seen = false;
      for (let attempt = 0; attempt < 40 && !seen; attempt += 1) {
        seen = (await client.workflow.count(`WorkflowId="${prefix}open" AND ExecutionStatus="Running"`)).count === 1;
        if (!seen) await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(seen).toBe(true);

      expect(await cleanUpRun(env.TEMPORAL_ADDRESS!, TEST_NAMESPACE, prefix)).toEqual({ schedules: 1, workflows: 1 });
      expect((await handle.describe()).status.name).toBe('TERMINATED');
      await expect(client.schedule.getHandle(`${prefix}maintenance`).describe()).rejects.toThrow(/not found/i);

      // Nothing of the run in `default`.
      const operations = new Client({ connection, namespace: 'default' });
      await expect(operations.workflow.getHandle(`${prefix}open`).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
    } finally {
      await connection.close();
    }
  });
});
