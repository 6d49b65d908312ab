import { describe, expect, it } from 'vitest';
import { assessCompliance, complianceInputSchema } from '../../../domain/dangerous-goods/compliance.js';
import type { ComplianceInput, ComplianceReport } from '../../../domain/dangerous-goods/compliance.js';
import { catalogue, rules } from './helpers.js';

const GASOLINE = { unNumber: 'UN1203', packingGroup: 'II', properShippingName: 'Gasoline', quantity: 500, unit: 'L', grossMass: 470, receptacleCapacity: 20, receptacleCount: 25 } as const;

const BASE: ComplianceInput = {
  regime: '49cfr',
  mode: 'road',
  asOf: '2026-06-15',
  load: { items: [GASOLINE] },
  placardsDisplayed: ['FLAMMABLE'],
  driver: { dgLicence: { number: 'CDL-H-123', expiresOn: '2027-01-31' }, training: { completedOn: '2025-01-10' } },
  vehicle: { inspection: { inspectedOn: '2026-03-01' } },
  emergency: { responseInformation: true, contactPhone: '+1 800 424 9300' },
};

function assess(input: ComplianceInput): ComplianceReport {
  return assessCompliance(complianceInputSchema.parse(input), catalogue, rules);
}

const check = (r: ComplianceReport, id: string): ComplianceReport['checks'][number] | undefined => r.checks.find((c) => c.id === id);
const statusOf = (r: ComplianceReport): Record<string, string> => Object.fromEntries(r.checks.map((c) => [c.id, c.status]));

describe('shipment compliance status', () => {
  it('COMPLIANT: complete descriptions, placarded, licensed, trained, inspected, emergency information (exact report)', () => {
    expect(assess(BASE)).toEqual({
      status: 'COMPLIANT',
      regime: '49cfr',
      asOf: '2026-06-15',
      checks: [
        { id: 'dg-descriptions', status: 'pass', message: 'every dangerous goods description resolves to one 172.101 entry and is complete', citation: '49 CFR 172.202(a), 172.203(k)' },
        { id: 'forbidden', status: 'pass', message: 'no item is a forbidden material', citation: '49 CFR 173.21; 172.101 column (3) "Forbidden"' },
        { id: 'segregation', status: 'pass', message: 'no segregation restriction applies between the items', citation: '49 CFR 177.848; 49 CFR 177.841(e)' },
        { id: 'placards', status: 'pass', message: 'required placards displayed: FLAMMABLE', citation: '49 CFR 172.504, 172.505' },
        { id: 'quantity-limits', status: 'pass', message: 'columns (9A)/(9B) limit packages on passenger aircraft or rail cars and cargo aircraft: not applicable to this mode', citation: '49 CFR 172.101(j)' },
        { id: 'driver-licence', status: 'pass', message: 'CDL hazardous materials endorsement is current until 2027-01-31', citation: '49 CFR 383.93(b)(4)' },
        { id: 'driver-training', status: 'pass', message: 'hazmat employee training (recurrent at least every three years) is current until 2028-01-10', citation: '49 CFR 172.704(c)(2)' },
        { id: 'vehicle-inspection', status: 'pass', message: 'vehicle periodic inspection (at least every 12 months) is current until 2027-03-01', citation: '49 CFR 396.17(c)' },
        { id: 'emergency-information', status: 'pass', message: 'emergency response information is carried', citation: '49 CFR 172.602' },
        { id: 'emergency-contact', status: 'pass', message: '24-hour emergency contact +1 800 424 9300', citation: '49 CFR 172.604' },
      ],
    });
  });

  it('NON_COMPLIANT: the hazmat endorsement expired the day before (49 CFR 383.93(b)(4))', () => {
    const r = assess({ ...BASE, driver: { ...BASE.driver, dgLicence: { expiresOn: '2026-06-14' } } });
    expect(r.status).toBe('NON_COMPLIANT');
    expect(check(r, 'driver-licence')).toEqual({ id: 'driver-licence', status: 'fail', message: 'CDL hazardous materials endorsement expired on 2026-06-14', citation: '49 CFR 383.93(b)(4)' });
  });

  it('a licence expiring on the day is still current, with a warning: COMPLIANT', () => {
    const r = assess({ ...BASE, driver: { ...BASE.driver, dgLicence: { expiresOn: '2026-06-15' } } });
    expect(check(r, 'driver-licence')).toMatchObject({ status: 'warn', message: 'CDL hazardous materials endorsement is current but expires on 2026-06-15 (0 days)' });
    expect(r.status).toBe('COMPLIANT');
  });

  it.each([
    ['2023-06-14', 'fail'],
    ['2023-06-15', 'warn'],
    ['2023-08-01', 'pass'],
  ])('training completed %s: recurrent within three years (172.704(c)(2)) → %s', (completedOn, status) => {
    expect(check(assess({ ...BASE, driver: { ...BASE.driver, training: { completedOn } } }), 'driver-training')?.status).toBe(status);
  });

  it.each([
    ['2025-06-14', 'fail'],
    ['2025-06-15', 'warn'],
    ['2025-12-01', 'pass'],
  ])('vehicle inspected %s: periodic inspection every 12 months (396.17(c)) → %s', (inspectedOn, status) => {
    expect(check(assess({ ...BASE, vehicle: { inspection: { inspectedOn } } }), 'vehicle-inspection')?.status).toBe(status);
  });

  it('NON_COMPLIANT: chlorine with a Division 1.1 explosive (177.848(d) "X")', () => {
    const r = assess({ ...BASE, load: { items: [GASOLINE, { unNumber: 'UN1017', properShippingName: 'Chlorine', quantity: 50, unit: 'kg', grossMass: 120, receptacleCapacity: 50, receptacleUnit: 'L', receptacleCount: 1 }, { unNumber: 'UN0081', properShippingName: 'Explosive, blasting, type A', quantity: 25, unit: 'kg', grossMass: 27, bulk: false, receptacleCapacity: 25, receptacleUnit: 'kg', receptacleCount: 1 }] } });
    expect(r.status).toBe('NON_COMPLIANT');
    expect(check(r, 'segregation')).toMatchObject({ status: 'fail', citation: '49 CFR 177.848; 49 CFR 177.841(e)', items: [0, 1, 2] });
  });

  it('chlorine with gasoline is allowed only separated ("O"): a warning, not a failure', () => {
    const r = assess({ ...BASE, placardsDisplayed: ['FLAMMABLE', 'POISON GAS'], load: { items: [GASOLINE, { unNumber: 'UN1017', properShippingName: 'Chlorine', quantity: 50, unit: 'kg', grossMass: 120, bulk: false, receptacleCapacity: 50, receptacleUnit: 'L', receptacleCount: 1 }] } });
    expect(check(r, 'segregation')?.status).toBe('warn');
    expect(r.status).toBe('COMPLIANT');
  });

  it('NON_COMPLIANT: a Forbidden material by name (173.21)', () => {
    const r = assess({ ...BASE, load: { items: [GASOLINE, { unNumber: 'UN0222', properShippingName: 'Tri-(b-nitroxyethyl) ammonium nitrate', quantity: 1, unit: 'kg' }] } });
    expect(r.status).toBe('NON_COMPLIANT');
    expect(check(r, 'forbidden')).toEqual({ id: 'forbidden', status: 'fail', message: 'forbidden for transportation: items[1]', citation: '49 CFR 173.21; 172.101 column (3) "Forbidden"', items: [1] });
    expect(check(r, 'dg-descriptions')?.status).toBe('fail');
  });

  it('NON_COMPLIANT: an unknown UN number is an invalid description', () => {
    const r = assess({ ...BASE, load: { items: [GASOLINE, { unNumber: 'UN9999', properShippingName: 'Nothing', quantity: 1, unit: 'kg' }] } });
    expect(check(r, 'dg-descriptions')).toEqual({
      id: 'dg-descriptions',
      status: 'fail',
      message: 'items[1]: UN9999 is not in the 49 CFR 172.101 Hazardous Materials Table',
      citation: '49 CFR 172.202(a), 172.203(k)',
    });
  });

  it('INCOMPLETE: an n.o.s. entry marked "G" without a technical name, and no proper shipping name on another line (172.203(k), 172.202(a))', () => {
    const r = assess({ ...BASE, load: { items: [{ ...GASOLINE, properShippingName: undefined }, { unNumber: 'UN1993', packingGroup: 'III', properShippingName: 'Flammable liquids, n.o.s.', quantity: 20, unit: 'L', grossMass: 22, receptacleCapacity: 20, receptacleCount: 1 }] } });
    expect(r.status).toBe('INCOMPLETE');
    expect(check(r, 'dg-descriptions')).toEqual({
      id: 'dg-descriptions',
      status: 'warn',
      message: 'dangerous goods descriptions are incomplete',
      citation: '49 CFR 172.202(a), 172.203(k)',
      missing: ['items[0].properShippingName', 'items[1].technicalName (entry marked "G": 172.203(k))'],
    });
  });

  it('a technical name in parentheses completes a "G" entry', () => {
    const r = assess({ ...BASE, load: { items: [GASOLINE, { unNumber: 'UN1993', packingGroup: 'III', properShippingName: 'Flammable liquids, n.o.s. (toluene)', quantity: 20, unit: 'L', grossMass: 22, receptacleCapacity: 20, receptacleCount: 1 }] } });
    expect(check(r, 'dg-descriptions')?.status).toBe('pass');
  });

  it('INCOMPLETE: training and emergency contact not recorded', () => {
    const r = assess({ ...BASE, driver: { dgLicence: BASE.driver?.dgLicence }, emergency: { responseInformation: true } });
    expect(r.status).toBe('INCOMPLETE');
    expect(statusOf(r)).toMatchObject({ 'driver-training': 'warn', 'emergency-contact': 'warn' });
    expect(check(r, 'emergency-contact')?.missing).toEqual(['emergency.contactPhone']);
  });

  it('INCOMPLETE: placards required but the displayed placards are not recorded', () => {
    const r = assess({ ...BASE, placardsDisplayed: undefined });
    expect(check(r, 'placards')).toEqual({ id: 'placards', status: 'warn', message: 'required: FLAMMABLE; the placards displayed are not recorded', citation: '49 CFR 172.504, 172.505', missing: ['placardsDisplayed'] });
    expect(r.status).toBe('INCOMPLETE');
  });

  it('NON_COMPLIANT: a required placard not displayed', () => {
    const r = assess({ ...BASE, placardsDisplayed: ['CORROSIVE'] });
    expect(check(r, 'placards')).toEqual({ id: 'placards', status: 'fail', message: 'required placards not displayed: FLAMMABLE', citation: '49 CFR 172.504(e) Table 2' });
  });

  it('DANGEROUS displayed in place of two Table 2 placards is accepted (172.504(b))', () => {
    const acid = { unNumber: 'UN1830', packingGroup: 'II', properShippingName: 'Sulfuric acid', quantity: 100, unit: 'L', grossMass: 190, receptacleCapacity: 20, receptacleCount: 5 } as const;
    const r = assess({ ...BASE, placardsDisplayed: ['DANGEROUS'], load: { items: [GASOLINE, acid] } });
    expect(check(r, 'placards')?.status).toBe('pass');
  });

  it('NON_COMPLIANT: emergency response information not carried (172.602), bad telephone number (172.604)', () => {
    const r = assess({ ...BASE, emergency: { responseInformation: false, contactPhone: 'call us' } });
    expect(statusOf(r)).toMatchObject({ 'emergency-information': 'fail', 'emergency-contact': 'fail' });
    expect(r.status).toBe('NON_COMPLIANT');
  });

  it('no placards required: no hazmat endorsement needed', () => {
    const r = assess({ ...BASE, placardsDisplayed: [], load: { items: [{ ...GASOLINE, quantity: 10, grossMass: 12, receptacleCount: 1 }] }, driver: { training: BASE.driver?.training } });
    expect(check(r, 'driver-licence')).toEqual({ id: 'driver-licence', status: 'pass', message: 'no placards required: a hazardous materials endorsement is not required', citation: '49 CFR 383.93(b)(4)' });
    expect(check(r, 'placards')?.message).toBe('no placard is required');
    expect(r.status).toBe('COMPLIANT');
  });

  it.each([
    ['passenger-aircraft', 'fail', 'items[0] (UN1203): 20 L per package exceeds the column (9A) passenger aircraft/rail limit'],
    ['cargo-aircraft', 'pass', 'every package is within column (9B) cargo aircraft only'],
    ['passenger-rail', 'fail', 'items[0] (UN1203): 20 L per package exceeds the column (9A) passenger aircraft/rail limit'],
  ] as const)('quantity limits by %s (172.101(j)): %s', (mode, status, message) => {
    expect(check(assess({ ...BASE, mode }), 'quantity-limits')).toEqual({ id: 'quantity-limits', status, message, citation: '49 CFR 172.101(j)' });
  });

  it('quantity limits: a material Forbidden in column (9A) fails on a passenger aircraft', () => {
    const r = assess({ ...BASE, mode: 'passenger-aircraft', load: { items: [{ unNumber: 'UN1089', properShippingName: 'Acetaldehyde', packingGroup: 'I', quantity: 1, unit: 'L', grossMass: 2, receptacleCapacity: 1, receptacleCount: 1 }] } });
    expect(check(r, 'quantity-limits')).toMatchObject({ status: 'fail', message: 'items[0] (UN1089) is forbidden in column (9A) passenger aircraft/rail' });
  });

  it('ADG: a load under every threshold needs no DG driver licence or emergency information; COMPLIANT', () => {
    const r = assess({
      regime: 'adg',
      asOf: '2026-06-15',
      load: { items: [{ ...GASOLINE, quantity: 200, grossMass: 180, receptacleCount: 10 }] },
      driver: { training: { expiresOn: '2027-06-01' } },
      vehicle: { inspection: { expiresOn: '2026-12-31' } },
    });
    expect(statusOf(r)).toEqual({
      'dg-descriptions': 'pass',
      forbidden: 'pass',
      segregation: 'pass',
      placards: 'pass',
      'quantity-limits': 'pass',
      'driver-licence': 'pass',
      'driver-training': 'pass',
      'vehicle-inspection': 'pass',
      'emergency-information': 'pass',
      'emergency-contact': 'pass',
    });
    expect(check(r, 'placards')?.message).toBe('not a placard load');
    expect(r.status).toBe('COMPLIANT');
  });

  it('ADG: a receptacle over 500 L needs a DG driver licence; not recorded → INCOMPLETE', () => {
    const r = assess({ regime: 'adg', asOf: '2026-06-15', load: { items: [{ ...GASOLINE, quantity: 900, grossMass: 800, receptacleCapacity: 1000, receptacleCount: 1 }] } });
    expect(check(r, 'driver-licence')).toMatchObject({ status: 'warn', missing: ['driver.dgLicence.expiresOn'] });
    expect(r.status).toBe('INCOMPLETE');
  });

  it('ADG: food with a Class 8 item fails segregation', () => {
    const r = assess({
      regime: 'adg',
      asOf: '2026-06-15',
      load: { items: [{ food: true, quantity: 300, unit: 'kg' }, { unNumber: 'UN1830', packingGroup: 'II', properShippingName: 'Sulfuric acid', quantity: 20, unit: 'L', receptacleCapacity: 20, receptacleCount: 1 }] },
    });
    expect(check(r, 'segregation')).toMatchObject({ status: 'fail', items: [0, 1] });
    expect(r.status).toBe('NON_COMPLIANT');
  });

  it('the regime decides segregation: a small ADG load of gasoline and fertilizer passes, the same load under 49 CFR is "O"', () => {
    const items = [
      { unNumber: 'UN1203', packingGroup: 'II', properShippingName: 'Gasoline', quantity: 100, unit: 'kg', grossMass: 110, receptacleCapacity: 20, receptacleCount: 5 },
      { unNumber: 'UN2067', properShippingName: 'Ammonium nitrate based fertilizer', packingGroup: 'III', quantity: 50, unit: 'kg', grossMass: 52, receptacleCapacity: 25, receptacleCount: 2 },
    ] as const;
    expect(check(assess({ regime: 'adg', asOf: '2026-06-15', load: { items: [...items] } }), 'segregation')).toEqual({
      id: 'segregation',
      status: 'pass',
      message: 'no segregation restriction applies between the items',
      citation: 'ADG 7.x 9.1 (segregation of placard loads), 5.3.1 (placard load); ADG 7.x 9.1 (dangerous goods with food or food packaging); ADG 7.x 9.1 (overpacks)',
    });
    expect(check(assess({ ...BASE, load: { items: [...items] } }), 'segregation')).toMatchObject({ status: 'warn', message: expect.stringContaining('177.848(d): Class 3 flammable liquid with Division 5.1 oxidizer is "O"') });
  });

  it('49 CFR: a Class 8 corrosive with food passes segregation (177.841(e) reaches POISON labels only); ADG fails it', () => {
    const items = [{ food: true, quantity: 300, unit: 'kg' }, { unNumber: 'UN1830', packingGroup: 'II', properShippingName: 'Sulfuric acid', quantity: 20, unit: 'L', receptacleCapacity: 20, receptacleCount: 1 }] as const;
    expect(check(assess({ ...BASE, load: { items: [...items] } }), 'segregation')?.status).toBe('pass');
    expect(check(assess({ ...BASE, regime: 'adg', load: { items: [...items] } }), 'segregation')?.status).toBe('fail');
  });

  it('the input schema rejects an impossible date and unknown fields', () => {
    expect(complianceInputSchema.safeParse({ ...BASE, asOf: '2026-02-30' }).success).toBe(false);
    expect(complianceInputSchema.safeParse({ ...BASE, colour: 'red' }).success).toBe(false);
  });
});
