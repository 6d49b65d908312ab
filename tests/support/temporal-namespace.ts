import { Client, Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import { ensureSearchAttributes } from '../../services/search-attributes.js';

/**
 * Test runs execute their workflows in a namespace of their own, never in `default`, which is
 * what operations staff read in the Temporal UI. Runs share the namespace (each has its own task
 * queue and schedule prefix) and remove their schedules and open workflows when they end.
 */
export const TEST_NAMESPACE = 'safeshipper-tests';
const RETENTION = '1 day';
const ALREADY_EXISTS = 6;

async function eventually<T>(what: string, attempt: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${what}: ${(error as Error).message}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/** Registers the test namespace and the platform's search attributes in it, when missing. */
export async function ensureTestNamespace(address: string, namespace = TEST_NAMESPACE): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    await connection.workflowService
      .registerNamespace({ namespace, description: 'SafeShipper test runs', workflowExecutionRetentionPeriod: msToTs(RETENTION) })
      .catch((error: { code?: number }) => {
        if (error.code !== ALREADY_EXISTS) throw error;
      });
    await eventually(`namespace ${namespace} not available`, () => connection.workflowService.describeNamespace({ namespace }));
    await ensureSearchAttributes(connection, namespace);
    // The frontend caches namespaces: wait until a client can use this one.
    const client = new Client({ connection, namespace });
    await eventually(`namespace ${namespace} not usable`, () => client.workflow.count());
  } finally {
    await connection.close();
  }
}

/** Removes what a run left in the namespace: its schedules and its still-open workflows. */
export async function cleanUpRun(address: string, namespace: string, taskQueuePrefix: string): Promise<{ schedules: number; workflows: number }> {
  const connection = await Connection.connect({ address });
  let schedules = 0;
  let workflows = 0;
  try {
    const client = new Client({ connection, namespace });
    for await (const schedule of client.schedule.list()) {
      if (!schedule.scheduleId.startsWith(taskQueuePrefix)) continue;
      await client.schedule.getHandle(schedule.scheduleId).delete();
      schedules += 1;
    }
    for await (const execution of client.workflow.list({ query: 'ExecutionStatus="Running"' })) {
      if (!execution.taskQueue.startsWith(taskQueuePrefix)) continue;
      await client.workflow.getHandle(execution.workflowId, execution.runId).terminate('test run ended');
      workflows += 1;
    }
  } finally {
    await connection.close();
  }
  return { schedules, workflows };
}
