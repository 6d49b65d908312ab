import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ActivityFailure, ApplicationFailure, Client, Connection, WorkflowFailedError } from '@temporalio/client';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SHIPPED_CATALOGUE } from '../../activities/government.js';
import type { Database } from '../../db/orm.js';
import { startWorker, type RunningWorker } from '../../services/worker.js';
import { CATALOGUE_SYNC_WORKFLOW_TYPE } from '../../workflows/contracts/integrations.js';
import { isolatedDatabase, silentLog, testConfig, testDatabase, testEnv } from '../support/stack.js';

/**
 * The government DG catalogue sync as the platform's scheduled work: the worker creates its
 * daily Schedule, and the workflow runs the sync activity (the same one as `safeshipper dg sync`,
 * whose own rules tests/integration/dg-sync.test.ts covers against a local https server) on the
 * real worker, from the source the configuration names: here a small published table in a local
 * file, synced into a catalogue database of this file's own (the run's shared catalogue is never
 * touched, and a small table keeps it cheap). A rejected file is never applied and never retried.
 */
describe('DG catalogue sync: a daily Schedule and its workflow', () => {
  const ROWS = 40;
  const prefix = `${testEnv().TEMPORAL_TASK_QUEUE_PREFIX}catalogue-`;
  const folder = mkdtempSync(join(tmpdir(), 'catalogue-sync-'));
  const lines = readFileSync(new URL(SHIPPED_CATALOGUE.hazardousMaterialsTable), 'utf8').trim().split('\n').slice(0, ROWS);
  const published = join(folder, 'hmt.jsonl');
  writeFileSync(published, lines.join('\n'));
  let catalogue: Awaited<ReturnType<typeof isolatedDatabase>>;
  let owner: pg.Client;
  let db: Database;
  let worker: RunningWorker;
  let connection: Connection;
  let client: Client;
  const count = async (table: string) => Number((await owner.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);

  beforeAll(async () => {
    // The worker starts while the database is made (the sync connects only when it runs): its URL is the one isolatedDatabase makes, checked below.
    const catalogueUrl = testEnv().DATABASE_CATALOGUE_URL!.replace(/\/([^/]+)$/, `/${new URL(testEnv().DATABASE_URL!).pathname.slice(1)}_catalogue_sync`);
    const config = testConfig({ TEMPORAL_TASK_QUEUE_PREFIX: prefix, DATABASE_CATALOGUE_URL: catalogueUrl, DG_SYNC_HMT_URL: pathToFileURL(published).href });
    db = await testDatabase();
    [catalogue, worker] = await Promise.all([isolatedDatabase('catalogue_sync'), startWorker(config, db, silentLog, { bundle: inject('workflowBundle') })]);
    expect(catalogue.catalogueUrl).toBe(catalogueUrl);
    owner = new pg.Client({ connectionString: catalogue.ownerUrl });
    await owner.connect();
    connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
    client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
  });
  afterAll(async () => {
    await worker?.shutdown();
    await connection?.close();
    await db?.close();
    await owner?.end();
    await catalogue?.drop();
    rmSync(folder, { recursive: true, force: true });
  });

  it('the worker schedules it daily; triggered, the run syncs the configured table into the catalogue', async () => {
    const schedule = client.schedule.getHandle(`${prefix}catalogue-sync`);
    const description = await schedule.describe();
    expect(description.action).toMatchObject({ type: 'startWorkflow', workflowType: CATALOGUE_SYNC_WORKFLOW_TYPE, taskQueue: `${prefix}platform`, args: [] });
    expect(description.spec.intervals?.map((interval) => interval.every)).toEqual([24 * 3600 * 1000]);
    expect(await count('dangerous_goods')).toBe(0);

    await schedule.trigger();
    let workflowId: string | undefined;
    while (!workflowId) {
      const [action] = (await schedule.describe()).info.recentActions;
      workflowId = action?.action.type === 'startWorkflow' ? action.action.workflow.workflowId : undefined;
    }
    const outcome = await client.workflow.getHandle(workflowId).result();
    const { rows } = await owner.query<{ id: string; source: string }>('SELECT id, source FROM dg_catalogue_revisions');
    expect(rows).toEqual([{ id: expect.any(String), source: pathToFileURL(published).href }]);
    expect(outcome).toEqual({ status: 'applied', revisionId: rows[0]!.id, rows: ROWS, added: ROWS, changed: 0, withdrawn: 0, reinstated: 0 });
    expect(await count('dangerous_goods')).toBe(ROWS);
  });

  it('a published table with a bad line fails the run at once: refused, never retried, nothing applied', async () => {
    const bad = join(folder, 'bad.jsonl');
    writeFileSync(bad, [...lines, '{"idNumber":"UN12","properShippingName":"Broken"}'].join('\n'));
    const url = pathToFileURL(bad).href;
    const before = await count('dg_catalogue_revisions');

    const handle = await client.workflow.start(CATALOGUE_SYNC_WORKFLOW_TYPE, { taskQueue: `${prefix}platform`, workflowId: `${prefix}catalogue-sync-refused`, args: [{ hazardousMaterialsTable: url, specialProvisions: SHIPPED_CATALOGUE.specialProvisions }] });
    const failure = await handle.result().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const activity = (failure as WorkflowFailedError).cause;
    expect(activity).toBeInstanceOf(ActivityFailure);
    expect((activity as ActivityFailure).retryState).toBe('NON_RETRYABLE_FAILURE');
    expect(activity!.cause).toBeInstanceOf(ApplicationFailure);
    expect(activity!.cause).toMatchObject({ type: 'CatalogueSourceRejected', nonRetryable: true, message: `${url}: 1 invalid line(s)`, details: [{ line: ROWS + 1, message: expect.stringContaining('hazardClass') }] });

    const { events } = await handle.fetchHistory();
    const scheduled = events!.filter((e) => e.activityTaskScheduledEventAttributes).map((e) => e.activityTaskScheduledEventAttributes!);
    expect(scheduled.map((a) => [a.activityType!.name, Number(a.heartbeatTimeout!.seconds)])).toEqual([['syncDangerousGoodsCatalogue', 60]]);
    expect(events!.filter((e) => e.activityTaskStartedEventAttributes).map((e) => e.activityTaskStartedEventAttributes!.attempt)).toEqual([1]);
    expect(await count('dg_catalogue_revisions')).toBe(before);
    expect(await count('dangerous_goods')).toBe(ROWS);
  });
});
