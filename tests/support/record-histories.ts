/**
 * Records the shipment workflow's histories the replay test replays (tests/histories/*.json): the runs of
 * tests/support/shipment-scenarios.ts `SCENARIOS`, on Temporal's time-skipping test server with the activities played in memory.
 *
 *   node --import tsx tests/support/record-histories.ts
 *
 * Run it after a deliberate change to the workflow's commands (and commit the new files with it); a change that was not meant to
 * alter them should replay the recorded ones as they are.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { stackContext, stackEnvironment } from '../../infra/stack/stack.js';
import { addSearchAttributes } from '../../services/search-attributes.js';
import { bundleWorkflows } from '../../services/worker.js';
import { HISTORIES_DIR, historyToObject } from './histories.js';
import { playActivities, SCENARIO_OPTIONS, SCENARIOS } from './shipment-scenarios.js';

async function record(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const testServer = process.env.TEMPORAL_TEST_SERVER_PATH ?? stackEnvironment(await stackContext()).TEMPORAL_TEST_SERVER_PATH!;
  const env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: testServer } } });
  try {
    await addSearchAttributes(env.connection, env.namespace ?? 'default');
    const workflowBundle = await bundleWorkflows();
    await mkdir(HISTORIES_DIR, { recursive: true });
    for (const [name, scenario] of Object.entries(SCENARIOS)) {
      const taskQueue = `record-${name}-shipments`;
      const { activities } = playActivities(SCENARIO_OPTIONS[name as keyof typeof SCENARIOS]);
      const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle, activities });
      const { workflowId, state } = await worker.runUntil(async () => scenario(env.client, taskQueue, await env.currentTimeMs()));
      const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
      await writeFile(`${HISTORIES_DIR}${name}.json`, `${JSON.stringify(historyToObject(history), null, 1)}\n`);
      console.log(`${name}.json: ${history.events!.length} events, ended ${state.status}`);
    }
  } finally {
    await env.teardown();
  }
}

await record();
