/**
 * A shipment's life, from booking to proof of delivery, as plain data. The shipment workflow's
 * update validators ask `refusal` before any transition runs, the API filters on these states,
 * and the database CHECK holds the same list (written out in its migration).
 */
import type { Regime } from './dangerous-goods/regime.js';

export const SHIPMENT_STATUSES = [
  'DRAFT',
  'BOOKED',
  'DG_VALIDATED',
  'NON_COMPLIANT',
  'READY',
  'IN_TRANSIT',
  'ARRIVED',
  'DELIVERED',
  'CLOSED',
  'CANCELLED',
] as const;
export type ShipmentStatus = (typeof SHIPMENT_STATUSES)[number];

/** What a person or a system asks of a shipment; `validate` and `recheck` are the compliance engine's answers. */
export type ShipmentEvent = 'book' | 'validate' | 'reject' | 'amend' | 'assign' | 'depart' | 'arrive' | 'deliver' | 'close' | 'cancel';

/** Event → the states it may leave from → the state it reaches. */
export const SHIPMENT_TRANSITIONS: Readonly<Record<ShipmentEvent, { readonly from: readonly ShipmentStatus[]; readonly to: ShipmentStatus }>> = {
  book: { from: ['DRAFT'], to: 'BOOKED' },
  validate: { from: ['BOOKED'], to: 'DG_VALIDATED' },
  reject: { from: ['BOOKED'], to: 'NON_COMPLIANT' },
  // Amended consignment items: back to BOOKED, where the compliance engine checks the load again.
  amend: { from: ['NON_COMPLIANT'], to: 'BOOKED' },
  assign: { from: ['DG_VALIDATED', 'READY'], to: 'READY' },
  depart: { from: ['READY'], to: 'IN_TRANSIT' },
  arrive: { from: ['IN_TRANSIT'], to: 'ARRIVED' },
  deliver: { from: ['ARRIVED'], to: 'DELIVERED' },
  close: { from: ['DELIVERED'], to: 'CLOSED' },
  // Once the load is on the road it can no longer be called off: it has to arrive somewhere.
  cancel: { from: ['DRAFT', 'BOOKED', 'DG_VALIDATED', 'NON_COMPLIANT', 'READY'], to: 'CANCELLED' },
};

/** States no event leaves: the workflow ends there. */
export const FINAL_STATUSES: readonly ShipmentStatus[] = ['CLOSED', 'CANCELLED'];

/** Why `event` cannot happen to a shipment in `status`, or null when it can. */
export function refusal(status: ShipmentStatus, event: ShipmentEvent): string | null {
  const { from } = SHIPMENT_TRANSITIONS[event];
  if (from.includes(status)) return null;
  return `cannot ${event} a shipment that is ${status}; ${event} is allowed only from ${from.join(', ')}`;
}

export function canTransition(status: ShipmentStatus, event: ShipmentEvent): boolean {
  return refusal(status, event) === null;
}

/** The state `event` leads to; throws when the transition is not allowed (callers ask `refusal` first). */
export function nextStatus(status: ShipmentStatus, event: ShipmentEvent): ShipmentStatus {
  const reason = refusal(status, event);
  if (reason) throw new Error(reason);
  return SHIPMENT_TRANSITIONS[event].to;
}

/**
 * Consignment items change only while the load's compliance is open: before booking, or while a
 * NON_COMPLIANT load waits for its amendment. From BOOKED on, the load the compliance engine judged
 * (and the placards a vehicle was chosen for) must be the load on the road.
 */
export const ITEM_CHANGES_ALLOWED: readonly ShipmentStatus[] = ['DRAFT', 'NON_COMPLIANT'];

export function itemChangeRefusal(status: ShipmentStatus): string | null {
  if (ITEM_CHANGES_ALLOWED.includes(status)) return null;
  return `the consignment items of a ${status} shipment cannot change: its compliance is settled; items change only while it is ${ITEM_CHANGES_ALLOWED.join(' or ')}`;
}

/**
 * The placards the load must display at once, each needing a holder on the vehicle: the required
 * placards (the placard engine's answer under the company's regime), where an allowed substitution
 * (49 CFR 172.504(b): one DANGEROUS for several Table 2 placards) needs fewer. A placard the data
 * cannot settle is not counted: the compliance engine reports it as undecided.
 */
export function placardsToHold(placards: { placards: readonly { placard: string; required: boolean }[]; alternatives: readonly { placard: string; replaces: readonly string[] }[] }): string[] {
  const required = placards.placards.filter((p) => p.required).map((p) => p.placard);
  let fewest = required;
  for (const alternative of placards.alternatives) {
    const kept = required.filter((name) => !alternative.replaces.includes(name));
    if (kept.length + 1 < fewest.length) fewest = [...kept, alternative.placard];
  }
  return fewest;
}

const REGIME_NAMES: Record<Regime, string> = { adg: 'ADG 7.x', '49cfr': '49 CFR' };

/** Why a driver or vehicle may not carry this load on `today` (YYYY-MM-DD), each reason in words; empty when they may. */
export function assignmentRefusals(
  today: string,
  driver: { name: string; licenceExpiresOn: string; trainingExpiresOn: readonly string[] },
  vehicle: { registration: string; status: 'ACTIVE' | 'GROUNDED'; groundedReason: string | null; inspectionExpiresOn: string | null },
  /** The vehicle's placard holders and the placards the load needs (absent: the load is not known yet). */
  placarding?: { regime: Regime; holders: number; needed: readonly string[] },
): string[] {
  const reasons: string[] = [];
  if (driver.licenceExpiresOn < today) reasons.push(`driver ${driver.name}'s DG licence expired on ${driver.licenceExpiresOn}`);
  if (driver.trainingExpiresOn.length === 0) reasons.push(`driver ${driver.name} has no DG training on record`);
  else if (driver.trainingExpiresOn.every((expires) => expires < today)) reasons.push(`driver ${driver.name}'s DG training expired on ${[...driver.trainingExpiresOn].sort().at(-1)}`);
  if (vehicle.status === 'GROUNDED') reasons.push(`vehicle ${vehicle.registration} is grounded${vehicle.groundedReason ? `: ${vehicle.groundedReason}` : ''}`);
  if (!vehicle.inspectionExpiresOn) reasons.push(`vehicle ${vehicle.registration} has no inspection on record`);
  else if (vehicle.inspectionExpiresOn < today) reasons.push(`vehicle ${vehicle.registration}'s inspection expired on ${vehicle.inspectionExpiresOn}`);
  if (placarding && placarding.needed.length > placarding.holders) reasons.push(`vehicle ${vehicle.registration} has ${placarding.holders} placard holders; the load needs ${placarding.needed.length} under ${REGIME_NAMES[placarding.regime]}: ${placarding.needed.join(', ')}`);
  return reasons;
}
