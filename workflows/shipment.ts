import { msToNumber } from '@temporalio/common/lib/time.js';
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowCancellationType,
  ParentClosePolicy,
  allHandlersFinished,
  condition,
  continueAsNew,
  isCancellation,
  proxyActivities,
  setHandler,
  startChild,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import { oneAtATime } from './one-at-a-time.js';
import type { Activities } from '../activities/index.js';
import type { ErpStage, ShipmentWebhookEvent } from '../domain/integrations.js';
import { FINAL_STATUSES, nextStatus, refusal, type ShipmentEvent, type ShipmentStatus } from '../domain/shipment-lifecycle.js';
import { INCIDENT_TASK_QUEUE, INCIDENT_WORKFLOW_TYPE, incidentWorkflowId, siblingTaskQueue, type IncidentInput } from './contracts/incident.js';
import { erpIdempotencyKey, shipmentEventIdempotencyKey } from './contracts/integrations.js';
import {
  amendedSignal,
  arrivedAtDestinationSignal,
  arriveUpdate,
  assignUpdate,
  bookUpdate,
  cancelUpdate,
  closeUpdate,
  complianceQuery,
  deliverUpdate,
  departUpdate,
  enteredRestrictedZoneSignal,
  INGEST_ACTOR,
  leftOriginSignal,
  positionReportedSignal,
  SHIPMENT_TASK_QUEUE,
  ShipmentSearchAttributes,
  stateQuery,
  timelineQuery,
  TRANSITION_REFUSED,
  type Actor,
  type RestrictedZoneEntry,
  type RoadEvent,
  type ShipmentInput,
  type ShipmentState,
} from './contracts/shipment.js';

const { recordShipmentStatus, recordShipmentAlert, checkShipmentCompliance } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});
// A refused assignment is an answer, not an outage: tried once, its refusal goes back to the caller.
const { checkAssignment } = proxyActivities<Activities>({ startToCloseTimeout: '30 seconds', retry: { maximumAttempts: 1 } });
// The ERP and the customers' webhook receivers are other people's systems: retried without a limit on attempts (each call carries
// its idempotency key, so a retry never doubles an order), backing off to one attempt every 10 (ERP) or 5 (webhooks) minutes
// through an outage. A refusal they will repeat (non-retryable) is recorded on the timeline and the lane goes on.
const ERP_RETRY = { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes' } as const;
const DEFAULT_ERP_CALL_TIMEOUT = '2 minutes';
const { publishShipmentEvent } = proxyActivities<Activities>({ startToCloseTimeout: '1 minute', retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' } });

/** Which transitions the ERP hears about (booking once the load is validated) and which the customers' webhooks announce. */
const ERP_STAGES: Partial<Record<ShipmentEvent, ErpStage>> = { validate: 'booked', depart: 'dispatched', deliver: 'delivered', cancel: 'cancelled' };
const PUBLISHED_EVENTS: Partial<Record<ShipmentEvent, ShipmentWebhookEvent>> = {
  book: 'shipment.booked',
  assign: 'shipment.ready',
  depart: 'shipment.departed',
  arrive: 'shipment.arrived',
  deliver: 'shipment.delivered',
  close: 'shipment.closed',
  cancel: 'shipment.cancelled',
};

/** Statuses in which a missed pickup or a late delivery still matters. */
const BEFORE_DEPARTURE: readonly ShipmentStatus[] = ['DRAFT', 'BOOKED', 'DG_VALIDATED', 'NON_COMPLIANT', 'READY'];
const BEFORE_DELIVERY: readonly ShipmentStatus[] = [...BEFORE_DEPARTURE, 'IN_TRANSIT', 'ARRIVED'];
/** Statuses in which the load is on the road: a restricted zone entered then is the load's business. */
const LOAD_ON_BOARD: readonly ShipmentStatus[] = ['IN_TRANSIT', 'ARRIVED'];

const DEFAULT_NO_POSITION_ALERT_AFTER = '15 minutes';
const DEFAULT_HISTORY_LENGTH_LIMIT = 2000;
/** Position reports are many and their redeliveries come soon after the original: the recent ids are enough to drop a repeat. */
const RECENT_POSITION_IDS = 200;

const today = () => new Date(Date.now()).toISOString().slice(0, 10);
const iso = (ms: number) => new Date(ms).toISOString();

type RoadSignal = { kind: 'leftOrigin'; event: RoadEvent } | { kind: 'arrivedAtDestination'; event: RoadEvent } | { kind: 'enteredRestrictedZone'; event: RestrictedZoneEntry };
interface ErpJob {
  stage: ErpStage;
  idempotencyKey: string;
}
interface EventJob {
  event: ShipmentWebhookEvent;
  idempotencyKey: string;
  data: Record<string, unknown>;
}

/** What one run hands the next when it continues as new: the state and everything still to do. */
export interface CarriedShipment {
  state: ShipmentState;
  /** Road event ids applied: every geofence event, the most recent position reports. */
  appliedEventIds: { road: string[]; positions: string[] };
  /** Road signals received and not yet applied. */
  inbox: RoadSignal[];
  amendedBy: Actor | null;
  /** Integration calls not yet answered, in order (the first may have been in flight: its idempotency key makes the repeat harmless). */
  pending: { erp: ErpJob[]; events: EventJob[] };
  /** How often each event has been published, so a repeatable one (`shipment.ready` on reassignment) gets a key of its own. */
  published: Partial<Record<ShipmentWebhookEvent, number>>;
  /** Workflow time (ms) the no-position clock runs from: departure or the last report. */
  silenceFrom: number | null;
}

/**
 * One shipment's life, from DRAFT to CLOSED or CANCELLED (domain/shipment-lifecycle.ts). People move it by updates, each validated
 * against the transition table before it is accepted; ingest moves it by signals from the road (departure, arrival), which queue
 * and are applied one at a time, each once. The compliance engine runs on booking (and again after an amendment signal), and the
 * workflow raises alerts when the pickup time passes before departure, `deliverBy` before delivery, or a shipment on the road goes
 * silent. Every status it reaches is written to the shipment's row by an activity, and nowhere else.
 *
 * The ERP and the webhooks are told in the background: two lanes, each calling in order (the ERP's cancellation after its
 * booking), while the shipment's own transitions go on. An ERP outage delays the ERP's view of the shipment, never the shipment;
 * the workflow completes once both lanes are empty.
 */
export async function shipmentWorkflow(input: ShipmentInput, carried?: CarriedShipment): Promise<ShipmentState> {
  const state: ShipmentState = carried?.state ?? {
    status: 'DRAFT',
    vehicleId: null,
    driverId: null,
    compliance: null,
    proofOfDelivery: null,
    alerts: { pickupMissed: false, deliveryLate: false, noPositionSince: null },
    lastPositionAt: null,
    incidents: [],
    erp: [],
    timeline: [],
  };
  const appliedEventIds = carried?.appliedEventIds ?? { road: [], positions: [] };
  const inbox: RoadSignal[] = carried?.inbox ?? [];
  const pending = carried?.pending ?? { erp: [], events: [] };
  const published = carried?.published ?? {};
  let amendedBy: Actor | null = carried?.amendedBy ?? null;
  let silenceFrom: number | null = carried?.silenceFrom ?? null;
  const noPositionAfterMs = msToNumber(input.noPositionAlertAfter ?? DEFAULT_NO_POSITION_ALERT_AFTER);
  const historyLengthLimit = input.historyLengthLimit ?? DEFAULT_HISTORY_LENGTH_LIMIT;
  // An attempt cut off by a lost worker is tried again once this passes: as long as the ERP adapter's own deadline, no longer.
  const { syncShipmentToErp } = proxyActivities<Activities>({ startToCloseTimeout: input.erpCallTimeout ?? DEFAULT_ERP_CALL_TIMEOUT, retry: ERP_RETRY });
  /** Bumped by whatever changes what the main loop waits for (a status, a position). */
  let changes = 0;

  const transitions = oneAtATime();
  const exclusive = transitions.run;

  const note = (event: string, by: Actor | null, detail: string | null = null) => {
    state.timeline.push({ at: iso(Date.now()), event, status: state.status, by: by?.username ?? by?.subject ?? null, detail });
  };
  /** The integrations a transition owes: queued here, called by the lanes below. */
  const integrate = (event: ShipmentEvent, data: Record<string, unknown>) => {
    const stage = ERP_STAGES[event];
    if (stage) pending.erp.push({ stage, idempotencyKey: erpIdempotencyKey(input.shipmentId, stage) });
    const name = PUBLISHED_EVENTS[event];
    if (name) {
      const count = (published[name] ?? 0) + 1;
      published[name] = count;
      // A repeated event (`shipment.ready` on reassignment) is a new event: its key counts the repeats.
      const idempotencyKey = `${shipmentEventIdempotencyKey(input.shipmentId, name)}${count > 1 ? `-${count}` : ''}`;
      pending.events.push({ event: name, idempotencyKey, data });
    }
  };
  const move = async (event: ShipmentEvent, by: Actor | null, change: { vehicleId?: string; driverId?: string; detail?: string } = {}) => {
    const status = nextStatus(state.status, event);
    // Cancelling releases the vehicle and driver in the same write as the status: a cancelled load holds nobody.
    const release = event === 'cancel';
    await recordShipmentStatus({ companyId: input.companyId, shipmentId: input.shipmentId, status, event, by, ...(change.vehicleId ? { vehicleId: change.vehicleId, driverId: change.driverId! } : {}), ...(release ? { release } : {}) });
    state.status = status;
    upsertSearchAttributes([{ key: ShipmentSearchAttributes.ShipmentStatus, value: status }]);
    if (release) {
      state.vehicleId = null;
      state.driverId = null;
      upsertSearchAttributes([
        { key: ShipmentSearchAttributes.VehicleId, value: null },
        { key: ShipmentSearchAttributes.DriverId, value: null },
      ]);
    }
    if (event === 'depart') silenceFrom = Date.now();
    note(event, by, change.detail ?? null);
    integrate(event, {
      status,
      at: iso(Date.now()),
      vehicleId: change.vehicleId ?? state.vehicleId,
      driverId: change.driverId ?? state.driverId,
      ...(event === 'deliver' ? { proofOfDelivery: state.proofOfDelivery } : {}),
      ...(event === 'cancel' ? { reason: change.detail } : {}),
    });
    changes += 1;
    return state;
  };
  /** BOOKED → DG_VALIDATED or NON_COMPLIANT, as the compliance engine judges the consignment items. */
  const checkCompliance = async () => {
    const { unNumbers, ...compliance } = await checkShipmentCompliance({ companyId: input.companyId, shipmentId: input.shipmentId, asOf: today() });
    state.compliance = compliance;
    upsertSearchAttributes([{ key: ShipmentSearchAttributes.UnNumbers, value: unNumbers }]);
    await move(compliance.status === 'COMPLIANT' ? 'validate' : 'reject', null, { detail: compliance.failures.join('; ') || `compliant under ${compliance.regime}` });
    return state;
  };
  /** The update validator: a transition the table does not allow from the current state is refused before it is accepted. */
  const allowed = <Args extends unknown[]>(event: ShipmentEvent) => (..._args: Args) => {
    const reason = transitions.busy ? `another transition of this shipment is in progress; try ${event} again` : refusal(state.status, event);
    if (reason) throw ApplicationFailure.nonRetryable(reason, TRANSITION_REFUSED);
  };
  /** True when `eventId` was applied already (ingest redelivers); otherwise remembers it. */
  const repeated = (ids: string[], eventId: string, keep = Infinity) => {
    if (ids.includes(eventId)) return true;
    ids.push(eventId);
    if (ids.length > keep) ids.splice(0, ids.length - keep);
    return false;
  };

  setHandler(stateQuery, () => state);
  setHandler(timelineQuery, () => state.timeline);
  setHandler(complianceQuery, () => state.compliance);
  setHandler(amendedSignal, (by) => {
    amendedBy = by;
  });
  setHandler(leftOriginSignal, (event) => {
    if (!repeated(appliedEventIds.road, event.eventId)) inbox.push({ kind: 'leftOrigin', event });
  });
  setHandler(arrivedAtDestinationSignal, (event) => {
    if (!repeated(appliedEventIds.road, event.eventId)) inbox.push({ kind: 'arrivedAtDestination', event });
  });
  setHandler(enteredRestrictedZoneSignal, (event) => {
    if (!repeated(appliedEventIds.road, event.eventId)) inbox.push({ kind: 'enteredRestrictedZone', event });
  });
  // The silence is measured on the workflow's clock from when a report arrives; `at` (the device's clock) is what the state shows.
  setHandler(positionReportedSignal, ({ eventId, at }) => {
    if (repeated(appliedEventIds.positions, eventId, RECENT_POSITION_IDS)) return;
    state.lastPositionAt = at;
    silenceFrom = Date.now();
    state.alerts.noPositionSince = null;
    changes += 1;
  });
  // Booking answers with the compliance verdict: the caller learns at once whether the load may go.
  setHandler(
    bookUpdate,
    (by) =>
      exclusive(async () => {
        await move('book', by);
        return checkCompliance();
      }),
    { validator: allowed('book') },
  );
  setHandler(
    assignUpdate,
    ({ vehicleId, driverId, by }) =>
      exclusive(async () => {
        await checkAssignment({ companyId: input.companyId, shipmentId: input.shipmentId, driverId, vehicleId, asOf: today() }).catch((error: unknown) => {
          // The activity's refusal becomes the update's own, so the caller reads the reasons, not an activity failure.
          if (error instanceof ActivityFailure && error.cause instanceof ApplicationFailure && error.cause.type === TRANSITION_REFUSED) throw ApplicationFailure.nonRetryable(error.cause.message, TRANSITION_REFUSED);
          throw error;
        });
        await move('assign', by, { vehicleId, driverId, detail: `vehicle ${vehicleId}, driver ${driverId}` });
        state.vehicleId = vehicleId;
        state.driverId = driverId;
        upsertSearchAttributes([
          { key: ShipmentSearchAttributes.VehicleId, value: vehicleId },
          { key: ShipmentSearchAttributes.DriverId, value: driverId },
        ]);
        return state;
      }),
    { validator: allowed('assign') },
  );
  setHandler(departUpdate, (by) => exclusive(() => move('depart', by)), { validator: allowed('depart') });
  setHandler(arriveUpdate, (by) => exclusive(() => move('arrive', by)), { validator: allowed('arrive') });
  setHandler(
    deliverUpdate,
    ({ by, ...proof }) =>
      exclusive(async () => {
        state.proofOfDelivery = proof;
        return move('deliver', by, { detail: `signed by ${proof.signedBy} at ${proof.signedAt}, document ${proof.documentId}` });
      }),
    { validator: allowed('deliver') },
  );
  setHandler(closeUpdate, (by) => exclusive(() => move('close', by)), { validator: allowed('close') });
  setHandler(cancelUpdate, ({ reason, by }) => exclusive(() => move('cancel', by, { detail: reason })), { validator: allowed('cancel') });

  /**
   * The incidents queue of this deployment: the shipments queue's prefix carries over. A replayer runs the workflow on a queue of
   * its own naming, where only the command's kind, type and id are compared: the base name stands in.
   */
  const incidentsQueue = () => {
    const own = workflowInfo().taskQueue;
    return own.endsWith(SHIPMENT_TASK_QUEUE) ? siblingTaskQueue(own, SHIPMENT_TASK_QUEUE) : INCIDENT_TASK_QUEUE;
  };
  /** A placard load (or one the data cannot clear) entering a RESTRICTED_DG geofence is an incident, run by its own workflow. */
  const restrictedZone = async ({ geofenceId, name, at }: RestrictedZoneEntry) => {
    const placardLoad = state.compliance?.placardLoad ?? null;
    if (placardLoad === false) {
      note('restricted-zone.entered', INGEST_ACTOR, `entered ${name} (${geofenceId}) at ${at}: not a placard load, no incident`);
      return;
    }
    const incidentId = uuid4();
    const detail = `entered the restricted DG zone ${name} (${geofenceId}) at ${at} with ${placardLoad ? 'a placard load' : 'a load that may be a placard load'}`;
    const incident: IncidentInput = {
      companyId: input.companyId,
      incidentId,
      kind: 'ROUTE_VIOLATION',
      severity: 'HIGH',
      shipmentId: input.shipmentId,
      vehicleId: state.vehicleId,
      description: `Shipment ${input.shipmentNumber} ${detail}`,
      reportedBy: null,
      occurredAt: at,
      location: null,
      source: 'shipment',
    };
    await startChild(INCIDENT_WORKFLOW_TYPE, {
      workflowId: incidentWorkflowId(incidentId),
      taskQueue: incidentsQueue(),
      args: [incident],
      // The incident outlives the shipment: it is closed by people, not by the load's delivery.
      parentClosePolicy: ParentClosePolicy.ABANDON,
      cancellationType: ChildWorkflowCancellationType.ABANDON,
    });
    state.incidents.push({ incidentId, kind: incident.kind, at, detail });
    note('incident.restricted-zone', INGEST_ACTOR, `incident ${incidentId}: ${detail}`);
  };
  /** A road signal, applied when it fits the state; one that does not is kept on the timeline as ignored. */
  const applyRoadSignal = async (signal: RoadSignal) => {
    if (signal.kind === 'enteredRestrictedZone') {
      if (LOAD_ON_BOARD.includes(state.status)) return restrictedZone(signal.event);
      return note('enteredRestrictedZone.ignored', INGEST_ACTOR, `entered ${signal.event.name} at ${signal.event.at} while ${state.status}: no load on the road`);
    }
    const event = signal.kind === 'leftOrigin' ? 'depart' : 'arrive';
    const reason = refusal(state.status, event);
    if (reason) return note(`${signal.kind}.ignored`, INGEST_ACTOR, `at ${signal.event.at}: ${reason}`);
    await exclusive(() => move(event, INGEST_ACTOR, { detail: `${signal.kind === 'leftOrigin' ? 'left the origin' : 'reached the destination'} at ${signal.event.at}` }));
  };

  // The integration lanes, each in call order; a job leaves its lane only once answered, so one cut off by continue-as-new is carried.
  const erpOrderCreated = () => state.erp.some((sync) => sync.stage === 'booked' && sync.erpReference !== null);
  const lane = async <Job>(jobs: Job[], call: (job: Job) => Promise<void>) => {
    for (;;) {
      await condition(() => jobs.length > 0);
      await call(jobs[0]!);
      jobs.shift();
    }
  };
  const failure = (error: unknown) => {
    if (isCancellation(error)) throw error;
    return error instanceof ActivityFailure && error.cause ? error.cause.message : String(error);
  };
  const erpCall = async ({ stage, idempotencyKey }: ErpJob) => {
    // Compensation: the ERP hears of a cancellation only when it holds an order to cancel.
    if (stage === 'cancelled' && !erpOrderCreated()) return;
    try {
      const { erpReference } = await syncShipmentToErp({ companyId: input.companyId, shipmentId: input.shipmentId, stage, idempotencyKey });
      state.erp.push({ stage, erpReference, at: iso(Date.now()), failure: null });
      if (erpReference) note(`erp.${stage}`, null, `ERP reference ${erpReference}`);
    } catch (error) {
      const reason = failure(error);
      state.erp.push({ stage, erpReference: null, at: iso(Date.now()), failure: reason });
      note('erp.failed', null, `${stage}: ${reason}`);
    }
  };
  const eventCall = async ({ event, idempotencyKey, data }: EventJob) => {
    try {
      await publishShipmentEvent({ companyId: input.companyId, shipmentId: input.shipmentId, event, idempotencyKey, data });
    } catch (error) {
      note('webhooks.failed', null, `${event}: ${failure(error)}`);
    }
  };
  const lanes = new CancellationScope();
  const integrations = lanes.run(() => Promise.all([lane(pending.erp, erpCall), lane(pending.events, eventCall)]));
  const stopLanes = async () => {
    lanes.cancel();
    await integrations.catch((error: unknown) => {
      if (!isCancellation(error)) throw error;
    });
  };

  /** The next alert still to come, if any: whichever of pickup, delivery and silence falls due first. */
  const nextAlert = () => {
    const due: Array<{ kind: 'pickup-missed' | 'delivery-late' | 'no-position'; at: number; detail: string }> = [];
    if (!state.alerts.pickupMissed && BEFORE_DEPARTURE.includes(state.status)) due.push({ kind: 'pickup-missed', at: Date.parse(input.pickupAt), detail: `not departed by the pickup time ${input.pickupAt}` });
    if (!state.alerts.deliveryLate && BEFORE_DELIVERY.includes(state.status)) due.push({ kind: 'delivery-late', at: Date.parse(input.deliverBy), detail: `not delivered by ${input.deliverBy}` });
    if (state.status === 'IN_TRANSIT' && state.alerts.noPositionSince === null && silenceFrom !== null) {
      due.push({ kind: 'no-position', at: silenceFrom + noPositionAfterMs, detail: `no position reported since ${iso(silenceFrom)}` });
    }
    return due.sort((a, b) => a.at - b.at)[0] ?? null;
  };
  const amendmentDue = () => state.status === 'NON_COMPLIANT' && amendedBy !== null && !transitions.busy;
  const signalDue = () => inbox.length > 0 && !transitions.busy;
  const continueDue = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength >= historyLengthLimit;

  while (!FINAL_STATUSES.includes(state.status)) {
    if (signalDue()) {
      await applyRoadSignal(inbox.shift()!);
      continue;
    }
    if (amendmentDue()) {
      const by: Actor = amendedBy!;
      amendedBy = null;
      await exclusive(async () => {
        await move('amend', by);
        await checkCompliance();
      });
      continue;
    }
    if (continueDue()) {
      await stopLanes();
      // Updates in flight finish in this run; the next one starts from the state they left.
      await condition(allHandlersFinished);
      return continueAsNew<typeof shipmentWorkflow>(input, { state, appliedEventIds, inbox, amendedBy, pending, published, silenceFrom });
    }
    const seen = changes;
    const woken = () => changes !== seen || signalDue() || amendmentDue() || continueDue();
    const alert = nextAlert();
    if (!alert) {
      await condition(woken);
      continue;
    }
    if (await condition(woken, Math.max(alert.at - Date.now(), 1))) continue;
    if (alert.kind === 'no-position') state.alerts.noPositionSince = iso(silenceFrom!);
    else state.alerts[alert.kind === 'pickup-missed' ? 'pickupMissed' : 'deliveryLate'] = true;
    note(`alert.${alert.kind}`, null, alert.detail);
    await recordShipmentAlert({ companyId: input.companyId, shipmentId: input.shipmentId, kind: alert.kind, detail: alert.detail });
  }
  // Handlers still running (an update that moved the shipment to its final state) answer, and the lanes empty, before it completes.
  await condition(() => allHandlersFinished() && pending.erp.length === 0 && pending.events.length === 0);
  await stopLanes();
  return state;
}
