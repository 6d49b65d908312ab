import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { WorkflowUpdateFailedError, WorkflowUpdateStage } from '@temporalio/client';
import { ApplicationFailure, defaultPayloadConverter } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { INCIDENT_WORKFLOW_TYPE, type IncidentInput } from '../../workflows/contracts/incident.js';
import {
  arrivedAtDestinationSignal,
  arriveUpdate,
  assignUpdate,
  bookUpdate,
  cancelUpdate,
  closeUpdate,
  deliverUpdate,
  departUpdate,
  enteredRestrictedZoneSignal,
  leftOriginSignal,
  positionReportedSignal,
  stateQuery,
  type ShipmentState,
} from '../../workflows/contracts/shipment.js';
import { addSearchAttributes } from '../../services/search-attributes.js';
import { testEnv } from '../support/stack.js';
import { COMPANY, CREW, DRIVER, OPERATOR, playActivities, PROOF, SCENARIO_OPTIONS, startShipment, until, type PlayOptions } from '../support/shipment-scenarios.js';

const entries = (state: ShipmentState) => state.timeline.map((e) => `${e.event}:${e.status}:${e.by}`);

/** The shipment workflow on Temporal's time-skipping server: timers hours long (skipped, not waited), road signals, the integration lanes, continue-as-new. */
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

  // Queues end in `shipments`, as the deployment's do: the incidents queue is derived from it.
  let queues = 0;
  const worker = async (options: PlayOptions = {}) => {
    const played = playActivities(options);
    const taskQueue = `t${(queues += 1)}-shipments`;
    return { played, taskQueue, worker: await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: inject('workflowBundle'), activities: played.activities }) };
  };

  it('alerts once when the pickup passes before departure, once per silence on the road, and once when deliverBy passes', async () => {
    const { played, taskQueue, worker: w } = await worker({ erp: async ({ stage }) => ({ erpReference: `ORD-7/${stage}` }) });
    const now = await env.currentTimeMs();
    const pickupAt = new Date(now + 60 * 60_000).toISOString();
    const deliverBy = new Date(now + 5 * 60 * 60_000).toISOString();
    const result = await w.runUntil(async () => {
      const handle = await startShipment(env.client, taskQueue, now, { pickupAt, deliverBy });
      expect((await handle.executeUpdate(bookUpdate, { args: [OPERATOR] })).status).toBe('DG_VALIDATED');
      await env.sleep('2 hours');
      expect(played.alerts).toEqual([{ kind: 'pickup-missed', detail: `not departed by the pickup time ${pickupAt}` }]);
      await handle.executeUpdate(assignUpdate, { args: [{ ...CREW, by: OPERATOR }] });
      const departedAt = (await handle.executeUpdate(departUpdate, { args: [DRIVER] })).timeline.at(-1)!.at;
      // 15 minutes without a position (the default): one alert, however long the silence lasts.
      await env.sleep('40 minutes');
      expect(played.alerts.map((a) => a.kind)).toEqual(['pickup-missed', 'no-position']);
      expect((await handle.query(stateQuery)).alerts.noPositionSince).toBe(departedAt);
      await handle.signal(positionReportedSignal, { eventId: 'p-1', at: '2030-01-01T09:00:00.000Z' });
      expect(await until(handle, (s) => s.alerts.noPositionSince === null, 'the position')).toMatchObject({ lastPositionAt: '2030-01-01T09:00:00.000Z' });
      await env.sleep('10 minutes');
      expect(played.alerts).toHaveLength(2);
      await env.sleep('10 minutes');
      expect(played.alerts.map((a) => a.kind)).toEqual(['pickup-missed', 'no-position', 'no-position']);
      await env.sleep('3 hours');
      expect(played.alerts.map((a) => a.kind)).toEqual(['pickup-missed', 'no-position', 'no-position', 'delivery-late']);
      await handle.executeUpdate(arriveUpdate, { args: [DRIVER] });
      await handle.executeUpdate(deliverUpdate, { args: [{ ...PROOF, by: DRIVER }] });
      await handle.executeUpdate(closeUpdate, { args: [OPERATOR] });
      return (await handle.result()) as ShipmentState;
    });
    expect(entries(result).filter((e) => !e.startsWith('erp.'))).toEqual([
      'book:BOOKED:acme-operator',
      'validate:DG_VALIDATED:null',
      'alert.pickup-missed:DG_VALIDATED:null',
      'assign:READY:acme-operator',
      'depart:IN_TRANSIT:acme-driver',
      'alert.no-position:IN_TRANSIT:null',
      'alert.no-position:IN_TRANSIT:null',
      'alert.delivery-late:IN_TRANSIT:null',
      'arrive:ARRIVED:acme-driver',
      'deliver:DELIVERED:acme-driver',
      'close:CLOSED:acme-operator',
    ]);
    expect(result).toMatchObject({ status: 'CLOSED', alerts: { pickupMissed: true, deliveryLate: true }, proofOfDelivery: PROOF });
    expect(played.statuses.map((s) => s.status)).toEqual(['BOOKED', 'DG_VALIDATED', 'READY', 'IN_TRANSIT', 'ARRIVED', 'DELIVERED', 'CLOSED']);
    // The ERP heard of the booking (once validated), the dispatch and the delivery, each under its own key; the webhooks of every transition.
    const shipmentId = played.erp[0]!.shipmentId;
    expect(played.erp.map((c) => `${c.stage}:${c.idempotencyKey}`)).toEqual([`booked:erp-${shipmentId}-booked`, `dispatched:erp-${shipmentId}-dispatched`, `delivered:erp-${shipmentId}-delivered`]);
    expect(result.erp.map((s) => `${s.stage}:${s.erpReference}`)).toEqual(['booked:ORD-7/booked', 'dispatched:ORD-7/dispatched', 'delivered:ORD-7/delivered']);
    expect(played.events.map((e) => e.idempotencyKey)).toEqual(['booked', 'ready', 'departed', 'arrived', 'delivered', 'closed'].map((e) => `shipment.${e}-${shipmentId}`));
    expect(played.events.find((e) => e.event === 'shipment.delivered')!.data).toMatchObject({ status: 'DELIVERED', ...CREW, proofOfDelivery: PROOF });
  });

  it('refuses a transition while another is still running, rather than interleaving them', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const { played, taskQueue, worker: w } = await worker();
    played.activities.checkAssignment = async () => {
      await released;
    };
    const now = await env.currentTimeMs();
    const state = await w.runUntil(async () => {
      const handle = await startShipment(env.client, taskQueue, now);
      await handle.executeUpdate(bookUpdate, { args: [OPERATOR] });
      const assigning = await handle.startUpdate(assignUpdate, { args: [{ ...CREW, by: OPERATOR }], waitForStage: WorkflowUpdateStage.ACCEPTED });
      const cancelled = await handle.executeUpdate(cancelUpdate, { args: [{ reason: 'customer called', by: OPERATOR }] }).then(
        () => 'accepted',
        (error: unknown) => (error instanceof WorkflowUpdateFailedError ? error.cause?.message : String(error)),
      );
      expect(cancelled).toBe('another transition of this shipment is in progress; try cancel again');
      release();
      const assigned = await assigning.result();
      await handle.terminate('test over');
      return assigned;
    });
    expect(state.status).toBe('READY');
  });

  it('tells the ERP in the background: a slow ERP holds up no transition, and cancelling releases the crew and cancels the order once it exists', async () => {
    let answer!: () => void;
    const erpAnswers = new Promise<void>((resolve) => (answer = resolve));
    const { played, taskQueue, worker: w } = await worker({
      erp: async ({ stage }) => {
        if (stage === 'booked') await erpAnswers;
        return { erpReference: 'ORD-42' };
      },
    });
    const now = await env.currentTimeMs();
    const { result, searchAttributes, draftResult, draftCalls } = await w.runUntil(() => (async () => {
      const handle = await startShipment(env.client, taskQueue, now);
      await handle.executeUpdate(bookUpdate, { args: [OPERATOR] });
      expect((await handle.executeUpdate(assignUpdate, { args: [{ ...CREW, by: OPERATOR }] })).status).toBe('READY');
      const cancelled = await handle.executeUpdate(cancelUpdate, { args: [{ reason: 'customer called', by: OPERATOR }] });
      expect(cancelled).toMatchObject({ status: 'CANCELLED', vehicleId: null, driverId: null, erp: [] });
      // The booking is still with the ERP: the cancellation waits behind it, and the workflow for both.
      expect(played.erp.map((c) => c.stage)).toEqual(['booked']);
      answer();
      const result = (await handle.result()) as ShipmentState;
      const { searchAttributes } = await handle.describe();
      // Cancelled before booking: the ERP never had an order, and hears nothing.
      const draft = await startShipment(env.client, taskQueue, now);
      const calls = played.erp.length;
      await draft.executeUpdate(cancelUpdate, { args: [{ reason: 'entered by mistake', by: OPERATOR }] });
      return { result, searchAttributes, draftResult: (await draft.result()) as ShipmentState, draftCalls: played.erp.length - calls };
    })().finally(answer));
    const shipmentId = played.erp[0]!.shipmentId;
    expect(played.erp.map((c) => `${c.stage}:${c.idempotencyKey}`)).toEqual([`booked:erp-${shipmentId}-booked`, `cancelled:erp-${shipmentId}-cancelled`]);
    expect(result.erp.map((s) => `${s.stage}:${s.erpReference}`)).toEqual(['booked:ORD-42', 'cancelled:ORD-42']);
    expect(entries(result)).toEqual([
      'book:BOOKED:acme-operator',
      'validate:DG_VALIDATED:null',
      'assign:READY:acme-operator',
      'cancel:CANCELLED:acme-operator',
      'erp.booked:CANCELLED:null',
      'erp.cancelled:CANCELLED:null',
    ]);
    expect(played.statuses.slice(0, 4)).toEqual([
      { status: 'BOOKED', release: false },
      { status: 'DG_VALIDATED', release: false },
      { status: 'READY', release: false },
      { status: 'CANCELLED', release: true },
    ]);
    expect(searchAttributes).toMatchObject({ ShipmentStatus: ['CANCELLED'], UnNumbers: ['UN1203'] });
    // Removed (the time-skipping server answers a removed keyword as [null]; the dev server leaves it out: tests/integration/shipment-lifecycle.test.ts).
    expect([searchAttributes.VehicleId, searchAttributes.DriverId].map((values) => (values ?? []).filter((value) => value !== null))).toEqual([[], []]);
    expect(played.events.filter((e) => e.shipmentId === shipmentId).map((e) => e.event)).toEqual(['shipment.booked', 'shipment.ready', 'shipment.cancelled']);
    expect(draftCalls).toBe(0);
    expect(draftResult).toMatchObject({ status: 'CANCELLED', erp: [] });
  });

  it('continues as new past its history length, carrying the timeline, alerts, applied event ids, ERP answers and the call in flight', async () => {
    let answer!: () => void;
    const dispatchAnswers = new Promise<void>((resolve) => (answer = resolve));
    const { played, taskQueue, worker: w } = await worker({
      erp: async ({ stage }) => {
        if (stage === 'dispatched') await dispatchAnswers;
        return { erpReference: `ORD-9/${stage}` };
      },
    });
    const now = await env.currentTimeMs();
    // Picked up an hour ago: the pickup alert fires at once.
    // Whatever happens, the ERP answers in the end: a worker does not shut down while its activity waits.
    const { result, runs } = await w.runUntil(() => (async () => {
      const handle = await startShipment(env.client, taskQueue, now, { pickupAt: new Date(now - 3_600_000).toISOString(), historyLengthLimit: 150 });
      await handle.executeUpdate(bookUpdate, { args: [OPERATOR] });
      await handle.executeUpdate(assignUpdate, { args: [{ ...CREW, by: OPERATOR }] });
      await handle.signal(leftOriginSignal, { eventId: 'left-1', at: '2030-01-01T09:00:00.000Z' });
      await until(handle, (s) => s.status === 'IN_TRANSIT' && s.erp.length === 1, 'the departure');
      const { runId: firstRun, historyLength } = await handle.describe();
      expect(historyLength).toBeLessThan(150);
      // Positions until the history passes 150 events, then the run hands over (the dispatch notice still with the ERP).
      let positions = 0;
      for (let attempt = 0; (await handle.describe()).runId === firstRun; attempt += 1) {
        if (attempt === 200) throw new Error('the run never continued as new');
        const { historyLength: length } = await handle.describe();
        if (length < 150) await handle.signal(positionReportedSignal, { eventId: `p-${(positions += 1)}`, at: `2030-01-01T10:${String(positions).padStart(2, '0')}:00.000Z` });
        else await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const carried = await until(handle, (s) => s.lastPositionAt !== null, 'the new run');
      // Redelivered to the new run: the departure and the last position are not applied again.
      await handle.signal(leftOriginSignal, { eventId: 'left-1', at: '2030-01-01T09:00:00.000Z' });
      await handle.signal(positionReportedSignal, { eventId: `p-${positions}`, at: '2030-01-01T23:59:00.000Z' });
      await handle.signal(arrivedAtDestinationSignal, { eventId: 'arrived-1', at: '2030-01-01T11:00:00.000Z' });
      await until(handle, (s) => s.status === 'ARRIVED', 'the arrival');
      expect((await handle.query(stateQuery)).lastPositionAt).toBe(carried.lastPositionAt);
      answer();
      await handle.executeUpdate(deliverUpdate, { args: [{ ...PROOF, by: DRIVER }] });
      await handle.executeUpdate(closeUpdate, { args: [OPERATOR] });
      const result = (await handle.result()) as ShipmentState;
      return { result, runs: [firstRun, (await handle.describe()).runId] };
    })().finally(answer));
    expect(runs[1]).not.toBe(runs[0]);
    expect(entries(result).filter((e) => !e.startsWith('erp.'))).toEqual([
      'alert.pickup-missed:DRAFT:null',
      'book:BOOKED:acme-operator',
      'validate:DG_VALIDATED:null',
      'assign:READY:acme-operator',
      'depart:IN_TRANSIT:system:ingest',
      'arrive:ARRIVED:system:ingest',
      'deliver:DELIVERED:acme-driver',
      'close:CLOSED:acme-operator',
    ]);
    expect(result.alerts.pickupMissed).toBe(true);
    // The dispatch notice cut off by the hand-over was asked again with its key, and answered once.
    const shipmentId = played.erp[0]!.shipmentId;
    expect(played.erp.map((c) => c.idempotencyKey)).toEqual([`erp-${shipmentId}-booked`, `erp-${shipmentId}-dispatched`, `erp-${shipmentId}-dispatched`, `erp-${shipmentId}-delivered`]);
    expect(result.erp.map((s) => `${s.stage}:${s.erpReference}`)).toEqual(['booked:ORD-9/booked', 'dispatched:ORD-9/dispatched', 'delivered:ORD-9/delivered']);
  });

  it('takes departure and arrival from ingest once per event id, keeps a signal that does not fit as ignored, and raises an incident for a placard load in a restricted zone', async () => {
    const { played, taskQueue, worker: w } = await worker({ ...SCENARIO_OPTIONS['restricted-zone'], erp: async ({ stage }) => {
      if (stage === 'dispatched') throw ApplicationFailure.nonRetryable('the ERP refuses the dispatch notice: order not released', 'ErpRejected');
      return { erpReference: null };
    } });
    const now = await env.currentTimeMs();
    const { result, history, incident } = await w.runUntil(async () => {
      const handle = await startShipment(env.client, taskQueue, now);
      await handle.executeUpdate(bookUpdate, { args: [OPERATOR] });
      await handle.signal(arrivedAtDestinationSignal, { eventId: 'arrived-early', at: '2030-01-01T08:00:00.000Z' });
      await until(handle, (s) => s.timeline.some((e) => e.event === 'arrivedAtDestination.ignored'), 'the ignored arrival');
      await handle.executeUpdate(assignUpdate, { args: [{ ...CREW, by: OPERATOR }] });
      // Ingest redelivers: each event twice.
      for (const eventId of ['left-1', 'left-1']) await handle.signal(leftOriginSignal, { eventId, at: '2030-01-01T09:00:00.000Z' });
      const zone = { eventId: 'zone-1', at: '2030-01-01T09:30:00.000Z', geofenceId: '00000000-0000-4000-8000-00000000000f', name: 'Burnley Tunnel' };
      await handle.signal(enteredRestrictedZoneSignal, zone);
      await handle.signal(enteredRestrictedZoneSignal, zone);
      for (const eventId of ['arrived-1', 'arrived-1']) await handle.signal(arrivedAtDestinationSignal, { eventId, at: '2030-01-01T11:00:00.000Z' });
      await until(handle, (s) => s.status === 'ARRIVED', 'the arrival');
      await handle.executeUpdate(deliverUpdate, { args: [{ ...PROOF, by: DRIVER }] });
      await handle.executeUpdate(closeUpdate, { args: [OPERATOR] });
      const result = (await handle.result()) as ShipmentState;
      const { incidentId } = result.incidents[0]!;
      return { result, history: await handle.fetchHistory(), incident: await env.client.workflow.getHandle(`incident-${incidentId}`).describe() };
    });
    // The ERP's answers come in the background: they are checked apart from the transitions.
    expect(entries(result).filter((e) => !e.startsWith('erp.'))).toEqual([
      'book:BOOKED:acme-operator',
      'validate:DG_VALIDATED:null',
      'arrivedAtDestination.ignored:DG_VALIDATED:system:ingest',
      'assign:READY:acme-operator',
      'depart:IN_TRANSIT:system:ingest',
      'incident.restricted-zone:IN_TRANSIT:system:ingest',
      'arrive:ARRIVED:system:ingest',
      'deliver:DELIVERED:acme-driver',
      'close:CLOSED:acme-operator',
    ]);
    expect(result.timeline.filter((e) => e.event.startsWith('erp.')).map((e) => `${e.event}:${e.detail}`)).toEqual(['erp.failed:dispatched: the ERP refuses the dispatch notice: order not released']);
    expect(result.timeline.find((e) => e.event === 'arrivedAtDestination.ignored')!.detail).toBe('at 2030-01-01T08:00:00.000Z: cannot arrive a shipment that is DG_VALIDATED; arrive is allowed only from IN_TRANSIT');
    // A refusal by the ERP is kept, and the lane goes on to the delivery.
    expect(result.erp.map((s) => `${s.stage}:${s.failure}`)).toEqual(['booked:null', 'dispatched:the ERP refuses the dispatch notice: order not released', 'delivered:null']);
    expect(played.erp.map((c) => c.stage)).toEqual(['booked', 'dispatched', 'delivered']);

    // The incident: its own workflow on this deployment's incidents queue, started as an abandoned child with what happened.
    const [raised] = result.incidents;
    expect(raised).toMatchObject({ kind: 'ROUTE_VIOLATION', at: '2030-01-01T09:30:00.000Z' });
    expect(incident).toMatchObject({ type: INCIDENT_WORKFLOW_TYPE, taskQueue: taskQueue.replace(/shipments$/, 'incidents'), status: { name: 'RUNNING' } });
    const started = history.events!.filter((e) => e.startChildWorkflowExecutionInitiatedEventAttributes).map((e) => e.startChildWorkflowExecutionInitiatedEventAttributes!);
    expect(started).toHaveLength(1);
    expect(started[0]!.parentClosePolicy).toBe(2); // PARENT_CLOSE_POLICY_ABANDON
    const input = defaultPayloadConverter.fromPayload<IncidentInput>(started[0]!.input!.payloads![0]!);
    expect(input).toMatchObject({ companyId: COMPANY, incidentId: raised!.incidentId, kind: 'ROUTE_VIOLATION', severity: 'HIGH', vehicleId: CREW.vehicleId, reportedBy: null, occurredAt: '2030-01-01T09:30:00.000Z', source: 'shipment' });
    expect(input.description).toMatch(/^Shipment SS-\w+ entered the restricted DG zone Burnley Tunnel \(00000000-0000-4000-8000-00000000000f\) at 2030-01-01T09:30:00.000Z with a placard load$/);
    await env.client.workflow.getHandle(`incident-${raised!.incidentId}`).terminate('test over');
  });
});

