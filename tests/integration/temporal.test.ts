import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { taskQueues } from '../../config/env.js';
import type { Database } from '../../db/orm.js';
import { startWorker, type RunningWorker } from '../../services/worker.js';
import { silentLog, testConfig, testDatabase } from '../support/stack.js';

describe('a workflow executed by the real worker on the Temporal dev server', () => {
  const config = testConfig();
  let db: Database;
  let worker: RunningWorker;
  let connection: Connection;
  let client: Client;

  beforeAll(async () => {
    db = await testDatabase();
    worker = await startWorker(config, db, silentLog, { bundle: inject('workflowBundle') });
    connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
    client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
  });
  afterAll(async () => {
    await worker?.shutdown();
    await connection?.close();
    await db?.close();
  });

  it('runs telemetry partition maintenance: the activity talks to PostgreSQL and the history records it', async () => {
    const workflowId = `test-telemetry-maintenance-${Date.now()}`;
    const handle = await client.workflow.start('telemetryMaintenanceWorkflow', { taskQueue: taskQueues(config).platform, workflowId, args: [] });
    const result = (await handle.result()) as { daysReadyAhead: number };
    expect(result).toEqual({ daysReadyAhead: 7 });

    // The partition for a week from now exists (pg_partman names daily partitions _pYYYY_MM_DD).
    const weekAhead = new Date(Date.now() + 7 * 86_400_000).toISOString().slice(0, 10).replaceAll('-', '_');
    const rows = await db.em.fork().execute<Array<{ name: string }>>(`SELECT inhrelid::regclass::text AS name FROM pg_inherits WHERE inhparent = 'telemetry_points'::regclass`);
    expect(rows.map((row) => row.name)).toContain(`telemetry_points_p${weekAhead}`);
    expect(rows.map((row) => row.name)).toContain('telemetry_points_default');

    const history = await handle.fetchHistory();
    const scheduled = history.events?.find((event) => event.activityTaskScheduledEventAttributes)?.activityTaskScheduledEventAttributes;
    expect(scheduled?.activityType?.name).toBe('maintainTelemetryPartitions');
    expect(history.events?.some((event) => event.activityTaskCompletedEventAttributes)).toBe(true);
    expect(history.events?.at(-1)?.workflowExecutionCompletedEventAttributes).toBeTruthy();
  });

  it('registers the daily maintenance schedule on the dev server', async () => {
    const description = await client.schedule.getHandle(`${config.TEMPORAL_TASK_QUEUE_PREFIX}telemetry-maintenance`).describe();
    expect(description.action.type).toBe('startWorkflow');
    expect(description.action.type === 'startWorkflow' && description.action.workflowType).toBe('telemetryMaintenanceWorkflow');
    expect(description.spec.intervals?.[0]?.every).toBe(86_400_000);
  });
});
