import { ActivityFailure, ApplicationFailure, allHandlersFinished, condition, continueAsNew, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { FINAL_STATUSES, nextStatus, refusal, type ShipmentEvent, type ShipmentStatus } from '../domain/shipment-lifecycle.js';
import {
  amendedSignal,
  arriveUpdate,
  assignUpdate,
  bookUpdate,
  cancelUpdate,
  closeUpdate,
  complianceQuery,
  deliverUpdate,
  departUpdate,
  ShipmentSearchAttributes,
  stateQuery,
  timelineQuery,
  TRANSITION_REFUSED,
  type Actor,
  type ShipmentInput,
  type ShipmentState,
} from './contracts/shipment.js';

const { recordShipmentStatus, recordShipmentAlert, checkShipmentCompliance } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});
// A refused assignment is an answer, not an outage: tried once, its refusal goes back to the caller.
const { checkAssignment } = proxyActivities<Activities>({ startToCloseTimeout: '30 seconds', retry: { maximumAttempts: 1 } });

/** Statuses in which a missed pickup or a late delivery still matters. */
const BEFORE_DEPARTURE: readonly ShipmentStatus[] = ['DRAFT', 'BOOKED', 'DG_VALIDATED', 'NON_COMPLIANT', 'READY'];
const BEFORE_DELIVERY: readonly ShipmentStatus[] = [...BEFORE_DEPARTURE, 'IN_TRANSIT', 'ARRIVED'];

const today = () => new Date(Date.now()).toISOString().slice(0, 10);

/**
 * One shipment's life, from DRAFT to CLOSED or CANCELLED (domain/shipment-lifecycle.ts). People
 * move it by updates, each validated against the transition table before it is accepted; the
 * compliance engine runs on booking (and again after an amendment signal) and the workflow
 * raises an alert when the pickup time passes before departure or `deliverBy` before delivery.
 * Every status it reaches is written to the shipment's row by an activity, and nowhere else.
 */
export async function shipmentWorkflow(input: ShipmentInput, carried?: ShipmentState): Promise<ShipmentState> {
  const state: ShipmentState = carried ?? { status: 'DRAFT', vehicleId: null, driverId: null, compliance: null, proofOfDelivery: null, alerts: { pickupMissed: false, deliveryLate: false }, timeline: [] };
  let amendedBy: Actor | null = null;
  /** A transition is running (its activities awaited): another is refused rather than interleaved with it. */
  let busy = false;
  const exclusive = async <T>(work: () => Promise<T>): Promise<T> => {
    busy = true;
    try {
      return await work();
    } finally {
      busy = false;
    }
  };

  const note = (event: string, by: Actor | null, detail: string | null = null) => {
    state.timeline.push({ at: new Date(Date.now()).toISOString(), event, status: state.status, by: by?.username ?? by?.subject ?? null, detail });
  };
  const move = async (event: ShipmentEvent, by: Actor | null, change: { vehicleId?: string; driverId?: string; detail?: string } = {}) => {
    const status = nextStatus(state.status, event);
    await recordShipmentStatus({ companyId: input.companyId, shipmentId: input.shipmentId, status, event, by, ...(change.vehicleId ? { vehicleId: change.vehicleId, driverId: change.driverId! } : {}) });
    state.status = status;
    upsertSearchAttributes([{ key: ShipmentSearchAttributes.ShipmentStatus, value: status }]);
    note(event, by, change.detail ?? null);
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
    const reason = busy ? `another transition of this shipment is in progress; try ${event} again` : refusal(state.status, event);
    if (reason) throw ApplicationFailure.nonRetryable(reason, TRANSITION_REFUSED);
  };

  setHandler(stateQuery, () => state);
  setHandler(timelineQuery, () => state.timeline);
  setHandler(complianceQuery, () => state.compliance);
  setHandler(amendedSignal, (by) => {
    amendedBy = by;
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
        await checkAssignment({ companyId: input.companyId, driverId, vehicleId, asOf: today() }).catch((error: unknown) => {
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

  /** The next alert still to come, if any: pickup first, then delivery. */
  const nextAlert = () => {
    if (!state.alerts.pickupMissed && BEFORE_DEPARTURE.includes(state.status)) return { kind: 'pickup-missed' as const, at: Date.parse(input.pickupAt), detail: `not departed by the pickup time ${input.pickupAt}` };
    if (!state.alerts.deliveryLate && BEFORE_DELIVERY.includes(state.status)) return { kind: 'delivery-late' as const, at: Date.parse(input.deliverBy), detail: `not delivered by ${input.deliverBy}` };
    return null;
  };

  while (!FINAL_STATUSES.includes(state.status)) {
    if (state.status === 'NON_COMPLIANT' && amendedBy) {
      const by: Actor = amendedBy;
      amendedBy = null;
      await exclusive(async () => {
        await move('amend', by);
        await checkCompliance();
      });
      continue;
    }
    if (workflowInfo().continueAsNewSuggested) {
      // Updates in flight finish in this run; the next one starts from the state they left.
      await condition(allHandlersFinished);
      return continueAsNew<typeof shipmentWorkflow>(input, state);
    }
    const seen = state.status;
    const alert = nextAlert();
    const woken = () => state.status !== seen || (seen === 'NON_COMPLIANT' && amendedBy !== null) || workflowInfo().continueAsNewSuggested;
    if (!alert) {
      await condition(woken);
      continue;
    }
    if (await condition(woken, Math.max(alert.at - Date.now(), 1))) continue;
    state.alerts[alert.kind === 'pickup-missed' ? 'pickupMissed' : 'deliveryLate'] = true;
    note(`alert.${alert.kind}`, null, alert.detail);
    await recordShipmentAlert({ companyId: input.companyId, shipmentId: input.shipmentId, kind: alert.kind, detail: alert.detail });
  }
  // Handlers still running (an update that moved the shipment to its final state) answer before the workflow completes.
  await condition(allHandlersFinished);
  return state;
}
