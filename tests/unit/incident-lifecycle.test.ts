import { describe, expect, it } from 'vitest';
import {
  ESCALATION_POLICY,
  INCIDENT_STATUSES,
  INCIDENT_TRANSITIONS,
  emergencyGuidance,
  incidentRefusal,
  nextEscalation,
  nextIncidentStatus,
  raisedSeverity,
  reportability,
  type GoodsOnBoard,
  type IncidentEvent,
  type IncidentStatus,
  type ReportabilityFacts,
} from '../../domain/incident-lifecycle.js';

describe('incident lifecycle', () => {
  it('walks REPORTED → ACKNOWLEDGED → RESPONDING → RESOLVED → CLOSED', () => {
    const path: IncidentEvent[] = ['acknowledge', 'start-response', 'resolve', 'close'];
    const visited = path.reduce<IncidentStatus[]>((states, event) => [...states, nextIncidentStatus(states.at(-1)!, event)], ['REPORTED']);
    expect(visited).toEqual(['REPORTED', 'ACKNOWLEDGED', 'RESPONDING', 'RESOLVED', 'CLOSED']);
  });

  it('lets a crew start the response without a separate acknowledgement, but never resolve an incident nobody took on', () => {
    expect(nextIncidentStatus('REPORTED', 'start-response')).toBe('RESPONDING');
    expect(incidentRefusal('REPORTED', 'resolve')).toBe('cannot resolve an incident that is REPORTED; resolve is allowed only from ACKNOWLEDGED, RESPONDING');
    expect(nextIncidentStatus('ACKNOWLEDGED', 'resolve')).toBe('RESOLVED');
  });

  it('closes only a resolved incident, and nothing leaves CLOSED', () => {
    expect(INCIDENT_STATUSES.filter((s) => incidentRefusal(s, 'close') === null)).toEqual(['RESOLVED']);
    expect(incidentRefusal('RESPONDING', 'close')).toBe('cannot close an incident that is RESPONDING; close is allowed only from RESOLVED');
    expect((Object.keys(INCIDENT_TRANSITIONS) as IncidentEvent[]).filter((e) => incidentRefusal('CLOSED', e) === null)).toEqual([]);
    expect(() => nextIncidentStatus('CLOSED', 'acknowledge')).toThrow('cannot acknowledge an incident that is CLOSED; acknowledge is allowed only from REPORTED');
  });
});

describe('escalation policy', () => {
  it('brings in the managers after 5 minutes and everyone after 15, raising the severity at the second step only', () => {
    expect(ESCALATION_POLICY).toEqual([
      { afterMinutes: 5, audience: 'managers', raiseSeverity: false },
      { afterMinutes: 15, audience: 'everyone', raiseSeverity: true },
    ]);
    const reported = Date.parse('2026-12-01T10:00:00Z');
    expect(nextEscalation(reported, 0)).toMatchObject({ index: 0, audience: 'managers', dueAtMs: Date.parse('2026-12-01T10:05:00Z') });
    expect(nextEscalation(reported, 1)).toMatchObject({ index: 1, audience: 'everyone', dueAtMs: Date.parse('2026-12-01T10:15:00Z') });
    expect(nextEscalation(reported, 2)).toBeNull();
  });

  it('raises a severity one level, CRITICAL staying CRITICAL', () => {
    expect(['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'].map((s) => raisedSeverity(s as 'LOW'))).toEqual(['MEDIUM', 'HIGH', 'CRITICAL', 'CRITICAL']);
  });
});

describe('reportability (serious incidents)', () => {
  const petrol: GoodsOnBoard = { unNumber: 'UN1203', hazardClass: '3', packingGroup: 'II', quantity: 20000, unit: 'L' };
  const culture: GoodsOnBoard = { unNumber: 'UN2814', hazardClass: '6.2', packingGroup: null, quantity: 2, unit: 'kg' };
  const facts = (over: Partial<ReportabilityFacts>): ReportabilityFacts => ({ regime: '49cfr', kind: 'SPILL', reportedSeverity: 'HIGH', consequences: {}, goods: [petrol], ...over });

  it('under 49 CFR, a spill of petrol with no one hurt is not an immediate notice', () => {
    expect(reportability(facts({}))).toEqual({ serious: false, criteria: [] });
  });

  it('under 49 CFR, names each 171.15(b) criterion met', () => {
    const result = reportability(facts({ goods: [petrol, culture], consequences: { hospitalised: 2, evacuationMinutes: 60, transportClosureMinutes: 59 } }));
    expect(result.serious).toBe(true);
    expect(result.criteria.map((c) => `${c.criterion} ${c.citation}`)).toEqual(['hospitalisation 49 CFR 171.15(b)(1)(ii)', 'evacuation 49 CFR 171.15(b)(1)(iii)', 'infectious 49 CFR 171.15(b)(3)']);
    expect(result.criteria[2]!.detail).toBe('spill involving an infectious substance (UN2814)');
  });

  it('under 49 CFR, the reporter’s CRITICAL is the judgement of (b)(5); a collision of a 6.2 load with nothing broken is not (b)(3)', () => {
    expect(reportability(facts({ kind: 'COLLISION', goods: [culture] })).serious).toBe(false);
    expect(reportability(facts({ kind: 'COLLISION', reportedSeverity: 'CRITICAL' })).criteria).toEqual([
      { criterion: 'judgement', detail: 'reported CRITICAL: in the judgement of the person in possession it must be reported', citation: '49 CFR 171.15(b)(5)' },
    ]);
  });

  it('under ADG, an evacuation counts from 3 hours and a release from the transport category’s quantity', () => {
    expect(reportability(facts({ regime: 'adg', consequences: { evacuationMinutes: 120 } })).serious).toBe(false);
    expect(reportability(facts({ regime: 'adg', consequences: { evacuationMinutes: 180 } })).criteria.map((c) => c.criterion)).toEqual(['evacuation']);
    // PG II petrol: category 2 stand-in, 333 L.
    expect(reportability(facts({ regime: 'adg', consequences: { released: { quantity: 300, unit: 'L' } } })).serious).toBe(false);
    const released = reportability(facts({ regime: 'adg', consequences: { released: { quantity: 400, unit: 'L' } } }));
    expect(released.criteria.map((c) => c.detail)).toEqual(['400 L released (at least 333 L for the goods on board)']);
    expect(released.criteria[0]!.citation).toMatch(/^ADR 1\.8\.5\.3 \(ADG 7\.x/);
  });
});

describe('emergency guidance from the catalogue', () => {
  it('says class, hazard, packing group and inhalation hazard in words, and where the ERG guide is found', () => {
    expect(emergencyGuidance({ unNumber: 'UN1005', properShippingName: 'Ammonia, anhydrous', hazardClass: '2.2', packingGroup: null, subsidiaryRisks: ['8'], poisonInhalationHazard: true, inhalationHazardZone: 'D' })).toEqual({
      guidance:
        'UN1005 Ammonia, anhydrous: class 2.2 (non-flammable, non-toxic gas); subsidiary hazard 8 (corrosive); POISON INHALATION HAZARD, hazard zone D: isolate and evacuate downwind; emergency response guide: look up UN1005 in the Emergency Response Guidebook (guide numbers are not in the catalogue data)',
      ergGuide: null,
      citation: '49 CFR 172.101',
    });
    expect(emergencyGuidance({ unNumber: 'UN1203', properShippingName: 'Gasoline', hazardClass: '3', packingGroup: 'II', subsidiaryRisks: [], poisonInhalationHazard: false, inhalationHazardZone: null }).guidance).toMatch(/^UN1203 Gasoline: class 3 \(flammable liquid\); packing group II \(medium danger\); emergency/);
  });
});
