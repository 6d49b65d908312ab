import { readdir, readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { HISTORIES_DIR, historyFromObject } from '../support/histories.js';

/**
 * The shipment workflow replays the histories recorded from representative runs (tests/histories, re-recorded by
 * tests/support/record-histories.ts): a change to the workflow that would break the shipments already running fails here.
 */
describe('shipment workflow replay', () => {
  beforeAll(() => Runtime.install({ logger: new DefaultLogger('ERROR') }));
  const histories = async () => {
    const names = (await readdir(HISTORIES_DIR)).filter((name) => name.endsWith('.json')).sort();
    return Promise.all(names.map(async (name) => ({ workflowId: name.replace(/\.json$/, ''), history: historyFromObject(JSON.parse(await readFile(`${HISTORIES_DIR}${name}`, 'utf8'))) })));
  };

  it('replays every recorded history without a determinism violation', async () => {
    const recorded = await histories();
    expect(recorded.map((h) => h.workflowId)).toEqual(['amended', 'cancelled', 'happy-path', 'restricted-zone']);
    const results = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle: inject('workflowBundle') }, recorded)) results.push({ workflowId: result.workflowId, error: result.error?.message });
    expect(results).toEqual(recorded.map(({ workflowId }) => ({ workflowId, error: undefined })));
  });

  it('fails a history whose commands the code no longer issues', async () => {
    const [happy] = (await histories()).filter((h) => h.workflowId === 'happy-path');
    // As if the workflow had once written its first status through another activity.
    const scheduled = happy!.history.events.find((e) => e.activityTaskScheduledEventAttributes)!.activityTaskScheduledEventAttributes!;
    scheduled.activityType!.name = 'recordShipmentStatusV0';
    const results = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle: inject('workflowBundle') }, [happy!])) results.push(result.error);
    expect(results).toHaveLength(1);
    expect(results[0]).toBeInstanceOf(DeterminismViolationError);
  });
});
