import { describe, expect, it } from 'vitest';
import { readSpecialProvisions } from '../../../data/load.js';
import { parseHazardClass, parseQuantityLimit, resolveItem } from '../../../domain/dangerous-goods/catalogue.js';
import { catalogue, entry } from './helpers.js';

describe('catalogue derivations (49 CFR 172.101)', () => {
  it('loads all 3,259 rows, 3,003 with an identification number (data/README.md)', () => {
    expect(catalogue.entries).toHaveLength(3259);
    expect(catalogue.entries.filter((e) => e.idNumber !== null)).toHaveLength(3003);
    expect(catalogue.forbiddenByName.size).toBe(256);
  });

  it('derives UN1203 gasoline: Class 3, PG II, liquid, limited-quantity eligible via 173.150(b)', () => {
    const e = entry('UN1203');
    expect({
      idNumber: e.idNumber,
      hazardClass: e.hazardClass,
      classNumber: e.classNumber,
      compatibilityGroup: e.compatibilityGroup,
      packingGroup: e.packingGroup,
      subsidiaryRisks: e.subsidiaryRisks,
      inhalationHazard: e.inhalationHazard,
      physicalState: e.physicalState,
      limitedQuantityEligible: e.limitedQuantityEligible,
      quantityLimits: e.quantityLimits,
      forbidden: e.forbidden,
      technicalNameRequired: e.technicalNameRequired,
    }).toEqual({
      idNumber: 'UN1203',
      hazardClass: '3',
      classNumber: 3,
      compatibilityGroup: null,
      packingGroup: 'II',
      subsidiaryRisks: [],
      inhalationHazard: { pih: false, zone: null, specialProvision: null, citation: '49 CFR 172.102(c)(1)' },
      physicalState: { value: 'liquid', basis: '172.101 column (8B): non-bulk packaging 49 CFR 173.202 is for liquids' },
      limitedQuantityEligible: { value: true, basis: '172.101 column (8A) → 49 CFR 173.150(b)' },
      quantityLimits: {
        passengerAircraftRail: { kind: 'max', amounts: [{ value: 5, unit: 'L' }], gross: false, exclusive: false },
        cargoAircraftOnly: { kind: 'max', amounts: [{ value: 60, unit: 'L' }], gross: false, exclusive: false },
      },
      forbidden: false,
      technicalNameRequired: false,
    });
  });

  it.each([
    ['1.1D', { hazardClass: '1.1', classNumber: 1, compatibilityGroup: 'D', combustibleLiquid: false }],
    ['1.4S', { hazardClass: '1.4', classNumber: 1, compatibilityGroup: 'S', combustibleLiquid: false }],
    ['1.6N', { hazardClass: '1.6', classNumber: 1, compatibilityGroup: 'N', combustibleLiquid: false }],
    ['2.3', { hazardClass: '2.3', classNumber: 2, compatibilityGroup: null, combustibleLiquid: false }],
    ['6.1', { hazardClass: '6.1', classNumber: 6, compatibilityGroup: null, combustibleLiquid: false }],
    ['8', { hazardClass: '8', classNumber: 8, compatibilityGroup: null, combustibleLiquid: false }],
    ['Comb liq', { hazardClass: 'Comb liq', classNumber: null, compatibilityGroup: null, combustibleLiquid: true }],
    ['Forbidden', { hazardClass: null, classNumber: null, compatibilityGroup: null, combustibleLiquid: false }],
    ['', { hazardClass: null, classNumber: null, compatibilityGroup: null, combustibleLiquid: false }],
  ])('parses column (3) "%s" into division and compatibility group (172.101(d))', (raw, expected) => {
    expect(parseHazardClass(raw)).toEqual(expected);
  });

  it('UN0081 "Explosive, blasting, type A" is Division 1.1, compatibility group D', () => {
    const e = entry('UN0081');
    expect([e.hazardClassRaw, e.hazardClass, e.compatibilityGroup]).toEqual(['1.1D', '1.1', 'D']);
  });

  it('reads subsidiary hazards from column (6), repairing the mangled UN1052 label cell "8.6.1" (177.848(e)(6) keys on labels)', () => {
    expect(entry('UN1052').subsidiaryRisks).toEqual(['6.1']);
    expect(entry('UN1017').subsidiaryRisks).toEqual(['5.1', '8']);
    expect(entry('UN3535', { packingGroup: 'I' }).subsidiaryRisks).toEqual(['4.1']);
    expect(entry('UN3101').subsidiaryRisks).toEqual(['1']);
  });

  it('special provisions 1-4 and 6 say what the zone mapping assumes (172.102(c)(1))', () => {
    const sp = readSpecialProvisions();
    expect(sp['1']).toMatch(/poisonous by inhalation .* in Hazard Zone A/);
    expect(sp['2']).toMatch(/poisonous by inhalation .* in Hazard Zone B/);
    expect(sp['3']).toMatch(/poisonous by inhalation .* in Hazard Zone C/);
    expect(sp['4']).toMatch(/poisonous by inhalation .* in Hazard Zone D/);
    expect(sp['6']).toMatch(/poisonous-by-inhalation/);
    expect(sp['6']).not.toMatch(/Hazard Zone/);
    expect(sp['5']).toMatch(/^If this material meets the definition/);
  });

  it.each([
    ['UN1076', {}, { pih: true, zone: 'A', specialProvision: '1' }],
    ['UN1017', {}, { pih: true, zone: 'B', specialProvision: '2' }],
    ['UN1052', {}, { pih: true, zone: 'C', specialProvision: '3' }],
    ['UN1005', { hazardClass: '2.3' }, { pih: true, zone: 'D', specialProvision: '4' }],
    ['UN3169', {}, { pih: true, zone: null, specialProvision: '6' }],
    ['UN1203', {}, { pih: false, zone: null, specialProvision: null }],
  ] as const)('%s %o: inhalation hazard %o (172.102 SP1–SP4, SP6)', (un, q, expected) => {
    const { pih, zone, specialProvision } = entry(un, q).inhalationHazard;
    expect({ pih, zone, specialProvision }).toEqual(expected);
  });

  it.each([
    ['UN1017', {}, 'gas', 'Class 2 (gases), 49 CFR 173.115'],
    ['UN1830', { packingGroup: 'II' }, 'liquid', '172.101 column (8B): non-bulk packaging 49 CFR 173.202 is for liquids'],
    ['UN1689', {}, 'solid', '172.101 column (8B): non-bulk packaging 49 CFR 173.211 is for solids'],
    ['UN2031', { packingGroup: 'I' }, 'liquid', '172.101 column (8B): non-bulk packaging 49 CFR 173.158 is for liquids'],
    ['UN3105', {}, 'liquid', 'proper shipping name says "liquid" (172.101 column (2))'],
    ['UN3244', {}, 'solid', '172.101 column (8B): non-bulk packaging 49 CFR 173.212 is for solids'],
    ['UN2794', {}, null, 'the 172.101 entry does not state liquid or solid'],
    ['UN2028', {}, null, 'the 172.101 entry does not state liquid or solid'],
  ] as const)('%s %o is %s (%s)', (un, q, value, basis) => {
    expect(entry(un, q).physicalState).toEqual({ value, basis });
  });

  it.each([
    ['UN1203', {}, true, '172.101 column (8A) → 49 CFR 173.150(b)'],
    ['UN1089', {}, false, '172.101 column (8A) lists no exceptions'],
    ['UN1830', { packingGroup: 'II' }, true, '172.101 column (8A) → 49 CFR 173.154(b)'],
    ['UN1689', {}, false, '172.101 column (8A) lists no exceptions'],
    ['UN1428', {}, null, '172.101 column (8A) names 49 CFR 173.151; limited-quantity eligibility not derived from it'],
    ['UN1978', {}, true, '172.101 column (8A) → 49 CFR 173.306(a)'],
    ['UN3082', {}, true, '172.101 column (8A) → 49 CFR 173.155(b)'],
  ] as const)('%s %o limited-quantity eligible: %s (%s)', (un, q, value, basis) => {
    expect(entry(un, q).limitedQuantityEligible).toEqual({ value, basis });
  });

  it.each([
    ['Forbidden', { kind: 'forbidden' }],
    ['No limit', { kind: 'unlimited' }],
    ['No Limit', { kind: 'unlimited' }],
    ['0.5 L', { kind: 'max', amounts: [{ value: 0.5, unit: 'L' }], gross: false, exclusive: false }],
    ['25 kg', { kind: 'max', amounts: [{ value: 25, unit: 'kg' }], gross: false, exclusive: false }],
    ['50 mL or 50 g', { kind: 'max', amounts: [{ value: 0.05, unit: 'L' }, { value: 0.05, unit: 'kg' }], gross: false, exclusive: false }],
    ['30 kg gross', { kind: 'max', amounts: [{ value: 30, unit: 'kg' }], gross: true, exclusive: false }],
    ['Less than .1 kg', { kind: 'max', amounts: [{ value: 0.1, unit: 'kg' }], gross: false, exclusive: true }],
    ['See A105', { kind: 'reference', text: 'See A105' }],
  ] as const)('parses column (9) limit "%s" (172.101(j))', (text, expected) => {
    expect(parseQuantityLimit(text)).toEqual(expected);
  });

  it('Forbidden rows carry no identification number and are found by name (172.101 column (3))', () => {
    const f = catalogue.forbiddenByName.get('di-(beta-nitroxyethyl) ammonium nitrate');
    expect(f?.forbidden).toBe(true);
    expect(f?.idNumber).toBeNull();
    expect(f?.limitedQuantityEligible.value).toBe(false);
  });

  it('flags the rows the (c) rules, note A and the Class 1 codes need (177.848(c), (e)(5), (g))', () => {
    expect(entry('UN1689').flags.cyanide).toBe(true);
    expect(entry('UN1789', { packingGroup: 'II' }).flags.acid).toBe(true);
    expect(entry('UN1824', { packingGroup: 'II' }).flags.acid).toBe(false);
    expect(entry('UN1942').flags.ammoniumNitrateNoteA).toBe(true);
    expect(entry('UN2067').flags.ammoniumNitrateNoteA).toBe(true);
    expect(entry('UN3375').flags.ammoniumNitrateNoteA).toBe(false);
    expect(entry('UN0337').flags.fireworks).toBe(true);
    expect(entry('UN0030').flags.detonator).toBe(true);
    expect(entry('UN0442').flags.detonator).toBe(false);
    expect(entry('UN3111').flags.organicPeroxideTypeBTemperatureControlled).toBe(true);
  });
});

describe('resolveItem: exactly one row or a typed problem', () => {
  it('resolves a single-row UN number exactly, accepting "un 1203" spelling', () => {
    const r = resolveItem(catalogue, { unNumber: 'un 1203' });
    expect(r.ok && [r.entry.idNumber, r.exact, r.equivalentRows]).toEqual(['UN1203', true, 1]);
  });

  it('unknown UN number', () => {
    expect(resolveItem(catalogue, { unNumber: 'UN9999' })).toEqual({
      ok: false,
      problem: { kind: 'unknown-un-number', unNumber: 'UN9999', message: 'UN9999 is not in the 49 CFR 172.101 Hazardous Materials Table' },
    });
  });

  it('invalid identification number', () => {
    const r = resolveItem(catalogue, { unNumber: '1203' });
    expect(r.ok ? null : r.problem.kind).toBe('invalid-un-number');
  });

  it('wrong packing group for the entry (172.101 column (5))', () => {
    expect(resolveItem(catalogue, { unNumber: 'UN1203', packingGroup: 'I' })).toEqual({
      ok: false,
      problem: {
        kind: 'packing-group-mismatch',
        unNumber: 'UN1203',
        given: 'I',
        allowed: ['II'],
        message: 'UN1203: packing group I is not assigned to this entry (172.101 column (5): II)',
      },
    });
    const gas = resolveItem(catalogue, { unNumber: 'UN1978', packingGroup: 'II' });
    expect(gas.ok ? null : gas.problem.message).toBe('UN1978: packing group II is not assigned to this entry (172.101 column (5): none)');
  });

  it('ambiguous: UN1005 is 2.3 (international) and 2.2 (domestic) and nothing picks one', () => {
    const r = resolveItem(catalogue, { unNumber: 'UN1005' }, 'segregation');
    expect(r.ok ? null : r.problem).toMatchObject({
      kind: 'ambiguous',
      unNumber: 'UN1005',
      differsIn: ['hazardClass', 'subsidiaryRisks', 'inhalationHazardZone'],
      message: 'UN1005 has 2 172.101 entries that differ in hazardClass, subsidiaryRisks, inhalationHazardZone; give hazardClass or variant to pick one',
    });
    const byClass = resolveItem(catalogue, { unNumber: 'UN1005', hazardClass: '2.2' });
    expect(byClass.ok && byClass.entry.hazardClass).toBe('2.2');
    const byVariant = resolveItem(catalogue, { unNumber: 'UN1005', variant: 'international' });
    expect(byVariant.ok && byVariant.entry.hazardClass).toBe('2.3');
  });

  it('ambiguous: UN1955 n.o.s. toxic gas has one row per hazard zone; the zone picks it', () => {
    const r = resolveItem(catalogue, { unNumber: 'UN1955' }, 'segregation');
    expect(r.ok ? null : r.problem).toMatchObject({ kind: 'ambiguous', differsIn: ['inhalationHazardZone', 'properShippingName'] });
    const z = resolveItem(catalogue, { unNumber: 'UN1955', inhalationHazardZone: 'B' });
    expect(z.ok && z.entry.properShippingName).toBe('Compressed gas, toxic, n.o.s. Inhalation Hazard Zone B');
  });

  it('packing group does not matter for segregation of UN1993, but does for placards (ADG PG I criterion)', () => {
    const s = resolveItem(catalogue, { unNumber: 'UN1993' }, 'segregation');
    expect(s.ok && [s.exact, s.equivalentRows]).toEqual([false, 3]);
    const p = resolveItem(catalogue, { unNumber: 'UN1993' }, 'placards');
    expect(p.ok ? null : p.problem.kind).toBe('ambiguous');
  });

  it('proper shipping name picks among rows, with a technical name in parentheses allowed (172.203(k))', () => {
    const r = resolveItem(catalogue, { unNumber: 'NA1993', properShippingName: 'Diesel fuel' });
    expect(r.ok && [r.entry.properShippingName, r.entry.hazardClass, r.exact]).toEqual(['Diesel fuel', '3', true]);
    const t = resolveItem(catalogue, { unNumber: 'UN1993', packingGroup: 'II', properShippingName: 'Flammable liquids, n.o.s. (toluene, xylene)' });
    expect(t.ok && [t.entry.properShippingName, t.exact]).toEqual(['Flammable liquids, n.o.s.', true]);
    const alt = resolveItem(catalogue, { unNumber: 'UN2789', properShippingName: 'Acetic acid, glacial' });
    expect(alt.ok && alt.exact).toBe(true);
  });

  it('a name that is not an entry of that UN number is a problem, not a guess', () => {
    const r = resolveItem(catalogue, { unNumber: 'UN1203', properShippingName: 'Acetone' });
    expect(r.ok ? null : [r.problem.kind, r.problem.message]).toEqual(['no-matching-entry', 'UN1203: no 172.101 entry matches properShippingName "Acetone"']);
  });

  it('nitric acid rows of one packing group differ in subsidiary 5.1: ambiguous for segregation', () => {
    const r = resolveItem(catalogue, { unNumber: 'UN2031', packingGroup: 'II' }, 'segregation');
    expect(r.ok ? null : r.problem.kind).toBe('ambiguous');
  });
});
