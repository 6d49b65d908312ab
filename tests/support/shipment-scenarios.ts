import { randomUUID } from 'node:crypto';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Activities } from '../../activities/index.js';
import {
  amendedSignal,
  arrivedAtDestinationSignal,
  assignUpdate,
  bookUpdate,
  cancelUpdate,
  closeUpdate,
  deliverUpdate,
  enteredRestrictedZoneSignal,
  leftOriginSignal,
  positionReportedSignal,
  SHIPMENT_WORKFLOW_TYPE,
  shipmentWorkflowId,
  stateQuery,
  type Actor,
  type ShipmentInput,
  type ShipmentState,
} from '../../workflows/contracts/shipment.js';
import type { ErpSyncRequest, ShipmentEventRequest } from '../../workflows/contracts/integrations.js';

/**
 * The shipment workflow's activities played in memory, recording what the workflow asked of them: the time-skipping tests assert on
 * the records, and tests/support/record-histories.ts runs the same scenarios to record the histories the replay test replays.
 */
export type ShipmentActivities = Pick<Activities, 'recordShipmentStatus' | 'recordShipmentAlert' | 'checkShipmentCompliance' | 'checkAssignment' | 'syncShipmentToErp' | 'publishShipmentEvent'>;

export interface Played {
  activities: ShipmentActivities;
  statuses: Array<{ status: string; release: boolean }>;
  alerts: Array<{ kind: string; detail: string }>;
  erp: ErpSyncRequest[];
  events: ShipmentEventRequest[];
}

export interface PlayOptions {
  /** The compliance verdicts, one per check, in order (the last one repeats); COMPLIANT by default. */
  verdicts?: Array<'COMPLIANT' | 'NON_COMPLIANT'>;
  placardLoad?: boolean | null;
  /** What the ERP answers a call; by default the company has no ERP (`{ erpReference: null }`). */
  erp?: (request: ErpSyncRequest) => Promise<{ erpReference: string | null }>;
}

export function playActivities(options: PlayOptions = {}): Played {
  const played: Omit<Played, 'activities'> = { statuses: [], alerts: [], erp: [], events: [] };
  const verdicts = [...(options.verdicts ?? ['COMPLIANT'])];
  const activities: ShipmentActivities = {
    async recordShipmentStatus({ status, release }) {
      played.statuses.push({ status, release: release ?? false });
    },
    async recordShipmentAlert({ kind, detail }) {
      played.alerts.push({ kind, detail });
    },
    async checkShipmentCompliance({ asOf }) {
      const status = verdicts.length > 1 ? verdicts.shift()! : verdicts[0]!;
      const failures = status === 'COMPLIANT' ? [] : ['segregation: items[0] with items[1]: 177.848(d) "X" (49 CFR 177.848)'];
      return { status, regime: 'adg', asOf, failures, placardLoad: options.placardLoad ?? false, unNumbers: ['UN1203'] };
    },
    async checkAssignment({ vehicleId }) {
      if (vehicleId === REFUSED_VEHICLE) throw ApplicationFailure.nonRetryable('vehicle ABC-123 has 0 placard holders; the load needs 1 under ADG 7.x: CLASS 3 LABEL', 'TransitionRefused');
    },
    async syncShipmentToErp(request) {
      played.erp.push(request);
      return options.erp ? options.erp(request) : { erpReference: null };
    },
    async publishShipmentEvent(request) {
      played.events.push(request);
      return { deliveries: 0 };
    },
  };
  return { activities, ...played };
}

export const COMPANY = '11111111-1111-4111-8111-111111111111';
export const OPERATOR: Actor = { subject: 'test-operator', username: 'acme-operator' };
export const DRIVER: Actor = { subject: 'test-driver', username: 'acme-driver' };
export const VEHICLE = '00000000-0000-4000-8000-0000000000a1';
export const CREW = { vehicleId: VEHICLE, driverId: '00000000-0000-4000-8000-0000000000d1' };
/** `checkAssignment` refuses this vehicle, as the real one refuses a vehicle short of placard holders. */
export const REFUSED_VEHICLE = '00000000-0000-4000-8000-0000000000a2';
export const PROOF = { signedBy: 'R. Receiver', signedAt: '2030-01-01T11:30:00.000Z', documentId: 'POD-1' };

/** Starts a shipment's workflow on `taskQueue` with pickup in one day and delivery in two (from `now`), unless told otherwise. */
export async function startShipment(client: Client, taskQueue: string, now: number, input: Partial<ShipmentInput> = {}): Promise<WorkflowHandle> {
  const shipmentId = randomUUID();
  return client.workflow.start(SHIPMENT_WORKFLOW_TYPE, {
    taskQueue,
    workflowId: shipmentWorkflowId(shipmentId),
    args: [{ shipmentId, companyId: COMPANY, shipmentNumber: `SS-${shipmentId.slice(0, 8).toUpperCase()}`, pickupAt: new Date(now + 86_400_000).toISOString(), deliverBy: new Date(now + 2 * 86_400_000).toISOString(), ...input } satisfies ShipmentInput],
  });
}

/** Queries the workflow until `done` holds of its state (a signal is applied by the workflow, after the client's call returns). */
export async function until(handle: WorkflowHandle, done: (state: ShipmentState) => boolean, what: string): Promise<ShipmentState> {
  for (let attempt = 0; ; attempt += 1) {
    const state = await handle.query(stateQuery);
    if (done(state)) return state;
    if (attempt === 200) throw new Error(`${what}: the state is still ${JSON.stringify(state)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface Finished {
  workflowId: string;
  state: ShipmentState;
}
const finished = async (handle: WorkflowHandle): Promise<Finished> => ({ workflowId: handle.workflowId, state: (await handle.result()) as ShipmentState });

const road = (eventId: string, at = '2030-01-01T09:00:00.000Z') => ({ eventId, at });

/**
 * The runs whose histories are recorded and replayed: each drives one shipment to its end with the activities of `playActivities`
 * (the options each needs are in `SCENARIO_OPTIONS`).
 */
export const SCENARIOS = {
  /** Booked, assigned, departed and arrived by ingest (each signal twice), a position, delivered, closed; the ERP takes every stage. */
  'happy-path': async (client: Client, taskQueue: string, now: number) => {
    const handle = await startShipment(client, taskQueue, now);
    await handle.executeUpdate(bookUpdate, { args: [OPERATOR] });
    await handle.executeUpdate(assignUpdate, { args: [{ ...CREW, by: OPERATOR }] });
    await handle.signal(leftOriginSignal, road('left-1'));
    await handle.signal(leftOriginSignal, road('left-1'));
    await handle.signal(positionReportedSignal, road('pos-1', '2030-01-01T09:05:00.000Z'));
    await until(handle, (s) => s.status === 'IN_TRANSIT' && s.lastPositionAt !== null, 'departure');
    await handle.signal(arrivedAtDestinationSignal, road('arrived-1', '2030-01-01T11:00:00.000Z'));
    await until(handle, (s) => s.status === 'ARRIVED', 'arrival');
    await handle.executeUpdate(deliverUpdate, { args: [{ ...PROOF, by: DRIVER }] });
    await handle.executeUpdate(closeUpdate, { args: [OPERATOR] });
    return finished(handle);
  },
  /** NON_COMPLIANT at booking, amended, validated on the second check, then cancelled (no ERP order existed to cancel). */
  amended: async (client: Client, taskQueue: string, now: number) => {
    const handle = await startShipment(client, taskQueue, now);
    await handle.executeUpdate(bookUpdate, { args: [OPERATOR] });
    await handle.signal(amendedSignal, OPERATOR);
    await until(handle, (s) => s.status === 'DG_VALIDATED', 'the re-check');
    await handle.executeUpdate(cancelUpdate, { args: [{ reason: 'customer withdrew the order', by: OPERATOR }] });
    return finished(handle);
  },
  /** Booked (the ERP creates an order), assigned, cancelled: vehicle and driver released, the order cancelled. */
  cancelled: async (client: Client, taskQueue: string, now: number) => {
    const handle = await startShipment(client, taskQueue, now);
    await handle.executeUpdate(bookUpdate, { args: [OPERATOR] });
    await handle.executeUpdate(assignUpdate, { args: [{ ...CREW, by: OPERATOR }] });
    await handle.executeUpdate(cancelUpdate, { args: [{ reason: 'customer called', by: OPERATOR }] });
    return finished(handle);
  },
  /** A placard load on the road enters a restricted DG zone: an incident workflow is started (and left running). */
  'restricted-zone': async (client: Client, taskQueue: string, now: number) => {
    const handle = await startShipment(client, taskQueue, now);
    await handle.executeUpdate(bookUpdate, { args: [OPERATOR] });
    await handle.executeUpdate(assignUpdate, { args: [{ ...CREW, by: OPERATOR }] });
    await handle.signal(leftOriginSignal, road('left-1'));
    await handle.signal(enteredRestrictedZoneSignal, { ...road('zone-1', '2030-01-01T09:30:00.000Z'), geofenceId: '00000000-0000-4000-8000-00000000000f', name: 'Burnley Tunnel' });
    await until(handle, (s) => s.incidents.length === 1, 'the incident');
    await handle.signal(arrivedAtDestinationSignal, road('arrived-1', '2030-01-01T11:00:00.000Z'));
    await until(handle, (s) => s.status === 'ARRIVED', 'arrival');
    await handle.executeUpdate(deliverUpdate, { args: [{ ...PROOF, by: DRIVER }] });
    await handle.executeUpdate(closeUpdate, { args: [OPERATOR] });
    return finished(handle);
  },
} satisfies Record<string, (client: Client, taskQueue: string, now: number) => Promise<Finished>>;

const order = async ({ stage }: ErpSyncRequest) => ({ erpReference: stage === 'booked' ? 'ORD-1001' : `ORD-1001/${stage}` });
export const SCENARIO_OPTIONS: Record<keyof typeof SCENARIOS, PlayOptions> = {
  'happy-path': { erp: order },
  amended: { verdicts: ['NON_COMPLIANT', 'COMPLIANT'] },
  cancelled: { erp: order },
  'restricted-zone': { placardLoad: true },
};
