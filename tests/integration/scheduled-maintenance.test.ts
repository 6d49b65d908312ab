import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { taskQueues } from '../../config/env.js';
import { randomUUID } from 'node:crypto';
import { appendAudit, verifyAuditChain } from '../../db/audit.js';
import { inTenant, type Database } from '../../db/orm.js';
import { AuditCheckpointSeal } from '../../security/audit-checkpoint.js';
import { SCHEDULES, startWorker, type RunningWorker } from '../../services/worker.js';
import { ACME, silentLog, testConfig, testDatabase, testEnv } from '../support/stack.js';

/** The security housekeeping the worker schedules: idempotency keys purged, audit chain heads sealed. */
describe('scheduled security housekeeping on the real worker', () => {
  const config = testConfig();
  let db: Database;
  let worker: RunningWorker;
  let connection: Connection;
  let client: Client;
  let owner: pg.Client;

  beforeAll(async () => {
    db = await testDatabase();
    worker = await startWorker(config, db, silentLog, { bundle: inject('workflowBundle') });
    connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
    client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
    owner = new pg.Client({ connectionString: testEnv().DATABASE_OWNER_URL });
    await owner.connect();
  });
  afterAll(async () => {
    await owner?.end();
    await worker?.shutdown();
    await connection?.close();
    await db?.close();
  });

  it('registers the telemetry rollup and the purge hourly and the audit seal every 5 minutes, in the configured namespace', async () => {
    for (const [name, workflowType, every] of [
      ['telemetry-rollup', 'telemetryRollupWorkflow', 3_600_000],
      ['idempotency-purge', 'idempotencyPurgeWorkflow', 3_600_000],
      ['audit-checkpoint', 'auditCheckpointWorkflow', 300_000],
    ] as const) {
      const description = await client.schedule.getHandle(`${config.TEMPORAL_TASK_QUEUE_PREFIX}${name}`).describe();
      expect(description.action.type === 'startWorkflow' && description.action.workflowType).toBe(workflowType);
      expect(description.spec.intervals?.[0]?.every).toBe(every);
    }
    expect(SCHEDULES.map((schedule) => schedule.name)).toEqual(['telemetry-maintenance', 'telemetry-rollup', 'idempotency-purge', 'audit-checkpoint', 'catalogue-sync']);
  });

  it('the purge workflow removes expired keys; the seal workflow seals a company chain, which then verifies as sealed', async () => {
    // The run's hourly schedule would purge the key itself if the hour turned meanwhile (every run's test files share the database): paused while this counts.
    const schedule = client.schedule.getHandle(`${config.TEMPORAL_TASK_QUEUE_PREFIX}idempotency-purge`);
    await schedule.pause('the test counts what its own purge run removes');
    await owner.query(`INSERT INTO idempotency_keys (company_id, user_subject, key, request_hash, status, headers, created_at) VALUES ($1, 'workflow-purge', 'k', 'x', 201, '{}', now() - interval '2 days')`, [ACME]);
    const run = (workflowType: string) => client.workflow.execute(workflowType, { taskQueue: taskQueues(config).platform, workflowId: `${config.TEMPORAL_TASK_QUEUE_PREFIX}${workflowType}-${Date.now()}`, args: [] });
    expect(((await run('idempotencyPurgeWorkflow')) as { keysPurged: number }).keysPurged).toBeGreaterThanOrEqual(1);
    expect((await owner.query(`SELECT 1 FROM idempotency_keys WHERE user_subject = 'workflow-purge'`)).rowCount).toBe(0);
    await schedule.unpause();
    const company = randomUUID();
    await owner.query('INSERT INTO companies (id, name) VALUES ($1, $2)', [company, `Sealed ${company.slice(0, 8)}`]);
    await inTenant(db, company, (em) => appendAudit(em, { companyId: company, actorSubject: 'workflow-test', actorUsername: null, action: 'create', entityType: 'vehicle' }));
    expect(((await run('auditCheckpointWorkflow')) as { chainsSealed: number }).chainsSealed).toBeGreaterThanOrEqual(1);
    const [head] = (await owner.query<{ id: string }>('SELECT id FROM audit_log WHERE chain = $1', [company])).rows;
    const seal = new AuditCheckpointSeal(config.AUDIT_CHECKPOINT_KEY);
    expect(await inTenant(db, company, (em) => verifyAuditChain(em, company, seal))).toEqual({ valid: true, entries: 1, firstBreak: null, checkpointedThrough: Number(head!.id) });
  });
});
