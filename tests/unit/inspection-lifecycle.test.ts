import { describe, expect, it } from 'vitest';
import {
  addInterval,
  afterOverdue,
  afterResult,
  checklistErrors,
  daysUntil,
  DG_RELEVANT_TYPES,
  INSPECTION_TYPE_DEFINITIONS,
  INSPECTION_TYPES,
  inspectionExpiry,
  inspectionResult,
  intervalText,
  nextDueAfter,
  nextTimer,
  overdueAt,
  remindersCovered,
  resultRefusal,
  vehicleGrounding,
  type InspectionType,
  type ItemResult,
} from '../../domain/inspection-lifecycle.js';

const at = (iso: string) => Date.parse(iso);
/** Every item of the type's checklist passed, except those named as failed (with notes). */
const checklist = (type: InspectionType, failed: Record<string, string | undefined> = {}): ItemResult[] =>
  INSPECTION_TYPE_DEFINITIONS[type].checklist.map((c) => (c.id in failed ? { item: c.id, result: 'FAIL', ...(failed[c.id] ? { notes: failed[c.id] } : {}) } : { item: c.id, result: 'PASS' }));

describe('inspection types as data', () => {
  it('keeps the 49 CFR 180.407(c) tank test intervals and cites them', () => {
    const tank = (type: InspectionType) => [intervalText(INSPECTION_TYPE_DEFINITIONS[type].interval), INSPECTION_TYPE_DEFINITIONS[type].citation.startsWith('49 CFR 180.407(c)')];
    expect(tank('TANK_EXTERNAL_VISUAL')).toEqual(['P1Y', true]);
    expect(tank('TANK_LEAKAGE')).toEqual(['P1Y', true]);
    expect(tank('TANK_INTERNAL_VISUAL')).toEqual(['P5Y', true]);
    expect(tank('TANK_PRESSURE')).toEqual(['P5Y', true]);
    expect(intervalText(INSPECTION_TYPE_DEFINITIONS.PRE_TRIP.interval)).toBe('P1D');
    expect(intervalText(INSPECTION_TYPE_DEFINITIONS.PERIODIC_DG.interval)).toBe('P1Y');
  });

  it('counts the annual DG inspection and the tank tests, not the pre-trip or brakes, as the vehicle DG inspection expiry', () => {
    expect(DG_RELEVANT_TYPES).toEqual(['PERIODIC_DG', 'TANK_EXTERNAL_VISUAL', 'TANK_LEAKAGE', 'TANK_INTERNAL_VISUAL', 'TANK_PRESSURE']);
  });

  it('lets a driver record the pre-trip only; everything else needs manage_fleet', () => {
    expect(INSPECTION_TYPES.map((t) => [t, INSPECTION_TYPE_DEFINITIONS[t].recordPermission])).toEqual([
      ['PRE_TRIP', 'report_incidents'],
      ['PERIODIC_DG', 'manage_fleet'],
      ['BRAKES', 'manage_fleet'],
      ['TANK_EXTERNAL_VISUAL', 'manage_fleet'],
      ['TANK_LEAKAGE', 'manage_fleet'],
      ['TANK_INTERNAL_VISUAL', 'manage_fleet'],
      ['TANK_PRESSURE', 'manage_fleet'],
    ]);
  });

  it('gives every checklist unique item ids and at least one critical item, and reminders largest first', () => {
    for (const type of INSPECTION_TYPES) {
      const { checklist: items, reminderDays } = INSPECTION_TYPE_DEFINITIONS[type];
      expect([type, new Set(items.map((i) => i.id)).size]).toEqual([type, items.length]);
      expect([type, items.some((i) => i.critical)]).toEqual([type, true]);
      expect([type, [...reminderDays].sort((a, b) => b - a)]).toEqual([type, reminderDays]);
    }
  });
});

describe('due-date arithmetic', () => {
  it('adds days, months and years on the calendar, a missing day becoming the month end', () => {
    expect(addInterval('2026-12-31', { count: 1, unit: 'day' })).toBe('2027-01-01');
    expect(addInterval('2027-01-31', { count: 1, unit: 'month' })).toBe('2027-02-28');
    expect(addInterval('2028-01-31', { count: 1, unit: 'month' })).toBe('2028-02-29');
    expect(addInterval('2026-08-31', { count: 6, unit: 'month' })).toBe('2027-02-28');
    expect(addInterval('2028-02-29', { count: 1, unit: 'year' })).toBe('2029-02-28');
    expect(addInterval('2026-12-01', { count: 5, unit: 'year' })).toBe('2031-12-01');
  });

  it('dates the next inspection from the day (UTC) the passing one was done', () => {
    expect(nextDueAfter('PERIODIC_DG', '2026-12-01T23:30:00+10:00')).toBe('2027-12-01');
    expect(nextDueAfter('PRE_TRIP', '2026-12-01T06:00:00Z')).toBe('2026-12-02');
    expect(nextDueAfter('TANK_PRESSURE', '2026-03-15T10:00:00Z')).toBe('2031-03-15');
  });

  it('is overdue from the first instant of the day after the due date', () => {
    expect(overdueAt('2027-01-01')).toBe(at('2027-01-02T00:00:00Z'));
    expect(daysUntil('2027-01-01', at('2026-12-25T18:00:00Z'))).toBe(7);
    expect(daysUntil('2027-01-01', at('2027-01-01T23:59:59Z'))).toBe(0);
  });
});

describe('timers: reminders, then the due date', () => {
  const program = (nextDueOn: string, remindersSent: number[] = [], status: 'CURRENT' | 'DUE_SOON' | 'OVERDUE' | 'FAILED' | 'RETIRED' = 'CURRENT') => ({ status, nextDueOn, remindersSent });

  it('waits for each reminder in turn, then for the day after the due date', () => {
    expect(nextTimer(program('2027-06-30'), 'PERIODIC_DG', at('2027-01-01T00:00:00Z'))).toEqual({ kind: 'reminder', leadDays: 30, at: at('2027-05-31T00:00:00Z') });
    expect(nextTimer(program('2027-06-30', [30]), 'PERIODIC_DG', at('2027-05-31T00:00:00Z'))).toEqual({ kind: 'reminder', leadDays: 7, at: at('2027-06-23T00:00:00Z') });
    expect(nextTimer(program('2027-06-30', [30, 7], 'DUE_SOON'), 'PERIODIC_DG', at('2027-06-23T00:00:00Z'))).toEqual({ kind: 'overdue', at: at('2027-07-01T00:00:00Z') });
  });

  it('sends one reminder, the most urgent, when several have already come, and none once overdue', () => {
    const now = at('2027-06-27T09:00:00Z');
    expect(nextTimer(program('2027-06-30'), 'PERIODIC_DG', now)).toEqual({ kind: 'reminder', leadDays: 7, at: now });
    expect(remindersCovered('PERIODIC_DG', 7)).toEqual([30, 7]);
    const late = at('2027-07-01T00:00:01Z');
    expect(nextTimer(program('2027-06-30'), 'PERIODIC_DG', late)).toEqual({ kind: 'overdue', at: late });
  });

  it('has no reminder for the daily pre-trip, and waits for nothing once failed, overdue or retired', () => {
    expect(nextTimer(program('2026-12-01'), 'PRE_TRIP', at('2026-12-01T05:00:00Z'))).toEqual({ kind: 'overdue', at: at('2026-12-02T00:00:00Z') });
    for (const status of ['FAILED', 'OVERDUE', 'RETIRED'] as const) expect(nextTimer(program('2027-06-30', [], status), 'PERIODIC_DG', at('2027-01-01T00:00:00Z'))).toBeNull();
  });
});

describe('results', () => {
  it('fails on any failed critical item; a failed other item is a defect on a PASS', () => {
    expect(inspectionResult('PERIODIC_DG', checklist('PERIODIC_DG'))).toBe('PASS');
    expect(inspectionResult('PERIODIC_DG', checklist('PERIODIC_DG', { 'cab-body': 'dented door' }))).toBe('PASS');
    expect(inspectionResult('PERIODIC_DG', checklist('PERIODIC_DG', { 'brake-system': undefined }))).toBe('FAIL');
  });

  it('takes exactly the checklist of the type: every item once, nothing else', () => {
    expect(checklistErrors('BRAKES', checklist('BRAKES'))).toEqual([]);
    const items = [...checklist('BRAKES').slice(1), { item: 'abs', result: 'PASS' as const }, { item: 'horn', result: 'PASS' as const }];
    expect(checklistErrors('BRAKES', items)).toEqual([
      { path: 'items.5.item', message: '"abs" is listed twice' },
      { path: 'items.6.item', message: 'is not an item of the BRAKES checklist' },
      { path: 'items', message: 'misses brake-adjustment of the BRAKES checklist' },
    ]);
  });

  it('refuses a result on no programme, a retired one, in the future, or not after the last one recorded (a retry included)', () => {
    const now = at('2026-12-01T10:00:00Z');
    const submission = { items: checklist('PRE_TRIP'), performedAt: '2026-12-01T09:00:00Z' };
    const running = { status: 'CURRENT' as const, lastPerformedAt: '2026-11-30T08:00:00.000Z' };
    expect(resultRefusal(running, 'PRE_TRIP', submission, now)).toBeNull();
    expect(resultRefusal({ status: null, lastPerformedAt: null }, 'PRE_TRIP', submission, now)).toBe('no PRE_TRIP inspection programme runs for this vehicle; start one first');
    expect(resultRefusal({ ...running, status: 'RETIRED' }, 'PRE_TRIP', submission, now)).toBe('the PRE_TRIP inspection programme of this vehicle is retired');
    expect(resultRefusal(running, 'PRE_TRIP', { ...submission, performedAt: '2026-12-01T10:01:00Z' }, now)).toBeNull();
    expect(resultRefusal(running, 'PRE_TRIP', { ...submission, performedAt: '2026-12-01T10:05:00Z' }, now)).toBe('performedAt 2026-12-01T10:05:00Z is in the future');
    expect(resultRefusal(running, 'PRE_TRIP', { ...submission, performedAt: '2026-11-29T08:00:00Z' }, now)).toBe('performedAt 2026-11-29T08:00:00Z is not after the last PRE_TRIP inspection recorded (2026-11-30T08:00:00.000Z)');
    expect(resultRefusal(running, 'PRE_TRIP', { ...submission, performedAt: '2026-11-30T08:00:00.000Z' }, now)).toBe('performedAt 2026-11-30T08:00:00.000Z is not after the last PRE_TRIP inspection recorded (2026-11-30T08:00:00.000Z)');
    expect(resultRefusal(running, 'PRE_TRIP', { ...submission, items: submission.items.slice(1) }, now)).toBe('items misses service-brakes of the PRE_TRIP checklist');
  });
});

describe('the grounding rule', () => {
  const current = { status: 'CURRENT' as const, nextDueOn: '2027-01-01', groundedReason: null };

  it('grounds a failed inspection with its failed critical items, keeping the due date', () => {
    const failed = afterResult('PERIODIC_DG', current, '2026-12-01T09:00:00Z', checklist('PERIODIC_DG', { 'brake-system': 'air leak at the trailer coupling', 'fire-extinguishers': undefined, 'cab-body': 'scratched' }));
    expect(failed).toEqual({ status: 'FAILED', nextDueOn: '2027-01-01', groundedReason: 'annual DG vehicle inspection failed on 2026-12-01: Brake system (air leak at the trailer coupling); Fire extinguishers: fitted, charged, in date' });
  });

  it('grounds an overdue programme, but keeps a failure reason that says more', () => {
    expect(afterOverdue('PERIODIC_DG', current)).toEqual({ status: 'OVERDUE', nextDueOn: '2027-01-01', groundedReason: 'annual DG vehicle inspection overdue (was due on 2027-01-01)' });
    const failed = { status: 'FAILED' as const, nextDueOn: '2027-01-01', groundedReason: 'annual DG vehicle inspection failed on 2026-12-01: Brake system' };
    expect(afterOverdue('PERIODIC_DG', failed)).toEqual(failed);
  });

  it('lifts the grounding of the type with a later PASS and starts the next cycle', () => {
    const overdue = afterOverdue('PERIODIC_DG', current);
    expect(afterResult('PERIODIC_DG', overdue, '2027-01-10T09:00:00Z', checklist('PERIODIC_DG'))).toEqual({ status: 'CURRENT', nextDueOn: '2028-01-10', groundedReason: null });
  });

  it('keeps the vehicle grounded while any type gives a reason, the reasons in type order', () => {
    expect(vehicleGrounding([])).toEqual({ status: 'ACTIVE', groundedReason: null });
    expect(vehicleGrounding([{ type: 'TANK_LEAKAGE', reason: 'cargo tank leakage test overdue (was due on 2027-01-01)' }, { type: 'PRE_TRIP', reason: 'pre-trip inspection failed on 2026-12-01: Tyres' }, { type: 'BRAKES', reason: null }])).toEqual({
      status: 'GROUNDED',
      groundedReason: 'pre-trip inspection failed on 2026-12-01: Tyres; cargo tank leakage test overdue (was due on 2027-01-01)',
    });
    expect(vehicleGrounding([{ type: 'PRE_TRIP', reason: null }])).toEqual({ status: 'ACTIVE', groundedReason: null });
  });

  it("keeps the vehicle's DG inspection expiry at the earliest due date of its running DG-relevant programmes", () => {
    expect(
      inspectionExpiry([
        { type: 'PERIODIC_DG', status: 'FAILED', nextDueOn: '2027-03-01' },
        { type: 'TANK_PRESSURE', status: 'CURRENT', nextDueOn: '2027-02-01' },
        { type: 'PRE_TRIP', status: 'CURRENT', nextDueOn: '2026-12-02' },
        { type: 'TANK_LEAKAGE', status: 'RETIRED', nextDueOn: '2026-01-01' },
      ]),
    ).toBe('2027-02-01');
    expect(inspectionExpiry([{ type: 'BRAKES', status: 'CURRENT', nextDueOn: '2027-01-01' }])).toBeNull();
  });
});
