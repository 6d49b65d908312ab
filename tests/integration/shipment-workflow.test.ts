import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { WorkflowUpdateFailedError, WorkflowUpdateStage } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import type { Activities } from '../../activities/index.js';
import { arriveUpdate, assignUpdate, bookUpdate, cancelUpdate, closeUpdate, deliverUpdate, departUpdate, timelineQuery, type Actor } from '../../workflows/contracts/shipment.js';
import type { shipmentWorkflow } from '../../workflows/shipment.js';
import { addSearchAttributes } from '../../services/search-attributes.js';
import { testEnv } from '../support/stack.js';

/** The shipment workflow on Temporal's time-skipping server: alert timers hours long (skipped, not waited), and transitions that would interleave. */
describe('shipment workflow on the time-skipping server', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: testEnv().TEMPORAL_TEST_SERVER_PATH! } } });
    await addSearchAttributes(env.connection, env.namespace ?? 'default');
  });
  afterAll(async () => {
    await env?.teardown();
  });

  it('alerts once when the pickup time passes before departure and once when deliverBy passes before delivery', async () => {
    const written: string[] = [];
    const alerts: Array<{ kind: string; detail: string }> = [];
    const activities: Pick<Activities, 'recordShipmentStatus' | 'recordShipmentAlert' | 'checkShipmentCompliance' | 'checkAssignment'> = {
      async recordShipmentStatus(change) {
        written.push(change.status);
      },
      async recordShipmentAlert({ kind, detail }) {
        alerts.push({ kind, detail });
      },
      async checkShipmentCompliance({ asOf }) {
        return { status: 'COMPLIANT', regime: 'adg', asOf, failures: [], unNumbers: ['UN1203'] };
      },
      async checkAssignment() {},
    };
    const taskQueue = 'shipment-timers';
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: inject('workflowBundle'), activities });
    const now = await env.currentTimeMs();
    const pickupAt = new Date(now + 60 * 60_000).toISOString();
    const deliverBy = new Date(now + 5 * 60 * 60_000).toISOString();
    const by: Actor = { subject: 'test', username: 'acme-operator' };

    const result = await worker.runUntil(async () => {
      const handle = await env.client.workflow.start<typeof shipmentWorkflow>('shipmentWorkflow', {
        taskQueue,
        workflowId: 'shipment-timers',
        args: [{ shipmentId: '00000000-0000-4000-8000-000000000001', companyId: '11111111-1111-4111-8111-111111111111', shipmentNumber: 'SS-TIMERS', pickupAt, deliverBy }],
      });
      expect((await handle.executeUpdate(bookUpdate, { args: [by] })).status).toBe('DG_VALIDATED');
      await env.sleep('2 hours');
      expect(alerts).toEqual([{ kind: 'pickup-missed', detail: `not departed by the pickup time ${pickupAt}` }]);
      await handle.executeUpdate(assignUpdate, { args: [{ vehicleId: 'v-1', driverId: 'd-1', by }] });
      await handle.executeUpdate(departUpdate, { args: [by] });
      await env.sleep('2 hours');
      expect(alerts).toHaveLength(1);
      await env.sleep('2 hours');
      expect(alerts.map((a) => a.kind)).toEqual(['pickup-missed', 'delivery-late']);
      await handle.executeUpdate(arriveUpdate, { args: [by] });
      await handle.executeUpdate(deliverUpdate, { args: [{ signedBy: 'R. Receiver', signedAt: deliverBy, documentId: 'POD-1', by }] });
      expect((await handle.query(timelineQuery)).map((e) => `${e.event}:${e.status}`)).toEqual([
        'book:BOOKED',
        'validate:DG_VALIDATED',
        'alert.pickup-missed:DG_VALIDATED',
        'assign:READY',
        'depart:IN_TRANSIT',
        'alert.delivery-late:IN_TRANSIT',
        'arrive:ARRIVED',
        'deliver:DELIVERED',
      ]);
      await handle.executeUpdate(closeUpdate, { args: [by] });
      return handle.result();
    });
    expect(result.status).toBe('CLOSED');
    expect(result.alerts).toEqual({ pickupMissed: true, deliveryLate: true });
    expect(result.proofOfDelivery).toEqual({ signedBy: 'R. Receiver', signedAt: deliverBy, documentId: 'POD-1' });
    expect(written).toEqual(['BOOKED', 'DG_VALIDATED', 'READY', 'IN_TRANSIT', 'ARRIVED', 'DELIVERED', 'CLOSED']);
  });

  it('refuses a transition while another is still running, rather than interleaving them', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const activities: Pick<Activities, 'recordShipmentStatus' | 'recordShipmentAlert' | 'checkShipmentCompliance' | 'checkAssignment'> = {
      async recordShipmentStatus() {},
      async recordShipmentAlert() {},
      async checkShipmentCompliance({ asOf }) {
        return { status: 'COMPLIANT', regime: 'adg', asOf, failures: [], unNumbers: [] };
      },
      async checkAssignment() {
        await released;
      },
    };
    const taskQueue = 'shipment-exclusive';
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: inject('workflowBundle'), activities });
    const now = await env.currentTimeMs();
    const by: Actor = { subject: 'test', username: 'acme-operator' };
    const state = await worker.runUntil(async () => {
      const handle = await env.client.workflow.start<typeof shipmentWorkflow>('shipmentWorkflow', {
        taskQueue,
        workflowId: 'shipment-exclusive',
        args: [{ shipmentId: '00000000-0000-4000-8000-000000000002', companyId: '11111111-1111-4111-8111-111111111111', shipmentNumber: 'SS-EXCL', pickupAt: new Date(now + 86_400_000).toISOString(), deliverBy: new Date(now + 2 * 86_400_000).toISOString() }],
      });
      await handle.executeUpdate(bookUpdate, { args: [by] });
      const assigning = await handle.startUpdate(assignUpdate, { args: [{ vehicleId: 'v-1', driverId: 'd-1', by }], waitForStage: WorkflowUpdateStage.ACCEPTED });
      const cancelled = await handle.executeUpdate(cancelUpdate, { args: [{ reason: 'customer called', by }] }).then(
        () => 'accepted',
        (error: unknown) => (error instanceof WorkflowUpdateFailedError ? error.cause?.message : String(error)),
      );
      expect(cancelled).toBe('another transition of this shipment is in progress; try cancel again');
      release();
      return assigning.result();
    });
    expect(state.status).toBe('READY');
  });
});
