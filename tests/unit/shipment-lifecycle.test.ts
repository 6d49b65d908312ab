import { describe, expect, it } from 'vitest';
import { SHIPMENT_STATUSES, SHIPMENT_TRANSITIONS, assignmentRefusals, canTransition, nextStatus, refusal, type ShipmentEvent, type ShipmentStatus } from '../../domain/shipment-lifecycle.js';

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
