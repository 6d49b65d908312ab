import { describe, expect, it } from 'vitest';
import { determinePlacards } from '../../domain/dangerous-goods/placards.js';
import { SHIPMENT_STATUSES, SHIPMENT_TRANSITIONS, assignmentRefusals, canTransition, itemChangeRefusal, nextStatus, placardsToHold, refusal, type ShipmentEvent, type ShipmentStatus } from '../../domain/shipment-lifecycle.js';
import { entry } from './dg/helpers.js';

describe('shipment lifecycle', () => {
  it('walks the happy path from DRAFT to CLOSED', () => {
    const path: ShipmentEvent[] = ['book', 'validate', 'assign', 'depart', 'arrive', 'deliver', 'close'];
    const visited = path.reduce<ShipmentStatus[]>((states, event) => [...states, nextStatus(states.at(-1)!, event)], ['DRAFT']);
    expect(visited).toEqual(['DRAFT', 'BOOKED', 'DG_VALIDATED', 'READY', 'IN_TRANSIT', 'ARRIVED', 'DELIVERED', 'CLOSED']);
  });

  it('sends a non-compliant load back to BOOKED when amended, and lets a READY shipment be reassigned', () => {
    expect(nextStatus('BOOKED', 'reject')).toBe('NON_COMPLIANT');
    expect(nextStatus('NON_COMPLIANT', 'amend')).toBe('BOOKED');
    expect(nextStatus('READY', 'assign')).toBe('READY');
  });

  it('cancels from exactly the states before IN_TRANSIT', () => {
    expect(SHIPMENT_STATUSES.filter((s) => canTransition(s, 'cancel'))).toEqual(['DRAFT', 'BOOKED', 'DG_VALIDATED', 'NON_COMPLIANT', 'READY']);
  });

  it('leaves CLOSED and CANCELLED by no event', () => {
    const events = Object.keys(SHIPMENT_TRANSITIONS) as ShipmentEvent[];
    expect(events.filter((e) => canTransition('CLOSED', e) || canTransition('CANCELLED', e))).toEqual([]);
  });

  it('says why a transition is refused', () => {
    expect(refusal('IN_TRANSIT', 'cancel')).toBe('cannot cancel a shipment that is IN_TRANSIT; cancel is allowed only from DRAFT, BOOKED, DG_VALIDATED, NON_COMPLIANT, READY');
    expect(refusal('READY', 'depart')).toBeNull();
    expect(() => nextStatus('DRAFT', 'depart')).toThrow('cannot depart a shipment that is DRAFT; depart is allowed only from READY');
  });
});

describe('assignment refusals', () => {
  const driver = { name: 'Ann Lee', licenceExpiresOn: '2027-01-01', trainingExpiresOn: ['2026-01-01', '2027-06-30'] };
  const vehicle = { registration: 'ABC-123', status: 'ACTIVE' as const, groundedReason: null, inspectionExpiresOn: '2026-12-31' };

  it('accepts a current driver and vehicle (a licence expiring today is still current)', () => {
    expect(assignmentRefusals('2026-11-30', driver, vehicle)).toEqual([]);
    expect(assignmentRefusals('2027-01-01', driver, { ...vehicle, inspectionExpiresOn: '2027-01-01' })).toEqual([]);
  });

  it('names every reason', () => {
    expect(
      assignmentRefusals('2027-08-01', { ...driver, licenceExpiresOn: '2027-07-31' }, { ...vehicle, status: 'GROUNDED', groundedReason: 'brake inspection failed on 2027-07-30: Parking brake' }),
    ).toEqual([
      "driver Ann Lee's DG licence expired on 2027-07-31",
      "driver Ann Lee's DG training expired on 2027-06-30",
      'vehicle ABC-123 is grounded: brake inspection failed on 2027-07-30: Parking brake',
      "vehicle ABC-123's inspection expired on 2026-12-31",
    ]);
    expect(assignmentRefusals('2026-11-30', { ...driver, trainingExpiresOn: [] }, { ...vehicle, inspectionExpiresOn: null })).toEqual([
      'driver Ann Lee has no DG training on record',
      'vehicle ABC-123 has no inspection on record',
    ]);
  });
});

describe('consignment item changes', () => {
  it('are allowed only while compliance is open (DRAFT, NON_COMPLIANT) and refused with the reason from BOOKED on', () => {
    expect(SHIPMENT_STATUSES.filter((s) => itemChangeRefusal(s) === null)).toEqual(['DRAFT', 'NON_COMPLIANT']);
    expect(itemChangeRefusal('READY')).toBe('the consignment items of a READY shipment cannot change: its compliance is settled; items change only while it is DRAFT or NON_COMPLIANT');
  });
});

describe('placard holders', () => {
  const line = (unNumber: string, quantity: number, receptacleCapacity: number, extra: { packingGroup?: 'I' | 'II' | 'III'; grossMass?: number } = {}) => ({
    entry: entry(unNumber, extra.packingGroup ? { packingGroup: extra.packingGroup } : {}, 'placards'),
    quantity,
    unit: 'L' as const,
    receptacleCapacity,
    ...(extra.grossMass ? { grossMass: extra.grossMass } : {}),
  });
  const vehicle = { registration: 'ABC-123', status: 'ACTIVE' as const, groundedReason: null, inspectionExpiresOn: '2030-12-31' };
  const driver = { name: 'Ann Lee', licenceExpiresOn: '2030-01-01', trainingExpiresOn: ['2030-06-30'] };

  it('ADG: one holder per class label and one for the emergency information panel; a small load needs none', () => {
    const tanker = placardsToHold(determinePlacards([line('UN1203', 1000, 1000, { packingGroup: 'II' }), line('UN1830', 600, 200, { packingGroup: 'II' })], 'adg'));
    expect(tanker).toEqual(['CLASS 3 LABEL', 'CLASS 8 LABEL', 'EMERGENCY INFORMATION PANEL']);
    expect(placardsToHold(determinePlacards([line('UN1203', 200, 200, { packingGroup: 'II' })], 'adg'))).toEqual([]);
  });

  it('49 CFR: one DANGEROUS placard stands in for several Table 2 placards when the substitution is allowed', () => {
    const mixed = determinePlacards([line('UN1203', 300, 20, { packingGroup: 'II', grossMass: 300 }), line('UN1830', 300, 20, { packingGroup: 'II', grossMass: 300 })], '49cfr');
    expect(mixed.placards.filter((p) => p.required).map((p) => p.placard)).toEqual(['FLAMMABLE', 'CORROSIVE']);
    expect(mixed.alternatives.map((a) => a.placard)).toEqual(['DANGEROUS']);
    expect(placardsToHold(mixed)).toEqual(['DANGEROUS']);
  });

  it('refuses a vehicle with fewer holders than the load needs, naming them and the regime', () => {
    const needed = ['CLASS 3 LABEL', 'EMERGENCY INFORMATION PANEL'];
    expect(assignmentRefusals('2026-12-01', driver, vehicle, { regime: 'adg', holders: 1, needed })).toEqual([
      'vehicle ABC-123 has 1 placard holders; the load needs 2 under ADG 7.x: CLASS 3 LABEL, EMERGENCY INFORMATION PANEL',
    ]);
    expect(assignmentRefusals('2026-12-01', driver, vehicle, { regime: 'adg', holders: 2, needed })).toEqual([]);
    expect(assignmentRefusals('2026-12-01', driver, vehicle, { regime: '49cfr', holders: 0, needed: [] })).toEqual([]);
  });
});
