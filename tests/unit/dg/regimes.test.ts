// Issue 11: every compatibility answer is given under one regime, ADG 7.x or 49 CFR, and says
// which rule decided and where each fact came from.
import { describe, expect, it } from 'vitest';
import { checkCompatibility } from '../../../domain/dangerous-goods/segregation.js';
import type { CompatibilityResult, RuleApplication, SegregationItem } from '../../../domain/dangerous-goods/segregation.js';
import { determinePlacards } from '../../../domain/dangerous-goods/placards.js';
import { FOOD, rules, seg } from './helpers.js';

const STAND_IN = '(stand-in: the ADG 7.x segregation tables are not in the shipped data)';
const ADG_LQ_SOURCE = '49 CFR 172.101 column (8A) used as a stand-in for ADG 7.x 3.4 (limited quantities); the ADG Dangerous Goods List is not in the shipped data';
const GATE_CITATION = 'ADG 7.x 9.1 (segregation of placard loads), 5.3.1 (placard load)';
const O_3_51 = '177.848(d): Class 3 flammable liquid with Division 5.1 oxidizer is "O": may not be loaded together unless separated so that leaking packages could not commingle (177.848(e)(3))';
const H_3_51 = ['Class 3 flammable liquid', 'Division 5.1 oxidizer'];

const CFR_BASIS_CLASS: RuleApplication = { rule: 'class-segregation', applies: true, message: 'every pair, on primary and subsidiary hazards, at any quantity', citation: '49 CFR 177.848' };
const CFR_BASIS_FOOD: RuleApplication = {
  rule: 'food',
  applies: true,
  message:
    'a package bearing or required to bear a POISON or POISON INHALATION HAZARD label may not go with foodstuffs, feed or edible material; nothing else is restricted by this rule (not Class 8, not a Division 2.3 POISON GAS label, not Division 6.2)',
  citation: '49 CFR 177.841(e)',
};
const ADG_FOOD_APPLIES: RuleApplication = {
  rule: 'food',
  applies: true,
  message: 'Division 2.3, Class 6 (6.1, 6.2), Class 8 and subsidiary 6.1 or 8 dangerous goods may not be transported with food or food packaging, at any quantity',
  citation: 'ADG 7.x 9.1 (dangerous goods with food or food packaging)',
};
const ADG_NO_OVERPACK: RuleApplication = { rule: 'overpack', applies: false, message: 'no two lines are declared to share an overpack (items[].overpack)', citation: 'ADG 7.x 9.1 (overpacks)' };
const adgGate = (applies: boolean | null, missing?: string[]): RuleApplication => ({
  rule: 'class-segregation',
  applies,
  message:
    applies === true
      ? 'a placard load: classes are segregated, with 49 CFR 177.848 standing in for the ADG segregation tables, which are not in the shipped data'
      : applies === false
        ? 'not a placard load: no class segregation is required'
        : 'whether the load is a placard load cannot be decided from the data given',
  citation: GATE_CITATION,
  ...(missing ? { missing } : {}),
});

const GASOLINE = (quantity: number, extra: Partial<SegregationItem> = {}): SegregationItem => seg('UN1203', { quantity, unit: 'L', receptacleCapacity: 200, ...extra });
const FERTILIZER = (quantity: number, extra: Partial<SegregationItem> = {}): SegregationItem => seg('UN2067', { quantity, unit: 'kg', receptacleCapacity: 25, ...extra });

function only(r: CompatibilityResult): CompatibilityResult['conflicts'][number] {
  expect(r.conflicts).toHaveLength(1);
  return r.conflicts[0] as CompatibilityResult['conflicts'][number];
}

describe('a US Class 8 corrosive with food', () => {
  const load = [FOOD, seg('UN1830', { packingGroup: 'II', quantity: 20, unit: 'L', receptacleCapacity: 20 })];

  it('49cfr: allowed; the answer cites 177.841(e) and says it restricts only POISON / POISON INHALATION HAZARD labels', () => {
    expect(checkCompatibility(load, rules, '49cfr')).toEqual({
      regime: '49cfr',
      compatible: true,
      verdict: 'COMPATIBLE',
      conflicts: [],
      indeterminate: [],
      notes: [],
      basis: [CFR_BASIS_CLASS, CFR_BASIS_FOOD],
    });
  });

  it('adg: forbidden by the ADG food rule, at any quantity', () => {
    expect(checkCompatibility(load, rules, 'adg')).toEqual({
      regime: 'adg',
      compatible: false,
      verdict: 'INCOMPATIBLE',
      conflicts: [
        {
          items: [0, 1],
          code: 'X',
          severity: 'prohibited',
          hazards: ['food or food packaging', 'Division 2.3, Class 6, Class 8 or subsidiary 6.1/8 dangerous goods'],
          rule: 'ADG 7.x: Division 2.3, Class 6 (6.1, 6.2), Class 8 and subsidiary 6.1 or 8 dangerous goods may not be transported with food or food packaging',
          citation: 'ADG 7.x 9.1 (dangerous goods with food or food packaging)',
        },
      ],
      indeterminate: [],
      notes: [],
      basis: [adgGate(false), ADG_FOOD_APPLIES, ADG_NO_OVERPACK],
    });
  });
});

describe('the small Australian load: 100 kg of UN1203 with 50 kg of UN2067', () => {
  const load = [seg('UN1203', { quantity: 100, unit: 'kg', receptacleCapacity: 20 }), seg('UN2067', { quantity: 50, unit: 'kg', receptacleCapacity: 25 })];

  it('adg: below the placard-load threshold, no class segregation is required', () => {
    expect(checkCompatibility(load, rules, 'adg')).toEqual({
      regime: 'adg',
      compatible: true,
      verdict: 'COMPATIBLE',
      conflicts: [],
      indeterminate: [],
      notes: [],
      basis: [adgGate(false), { rule: 'food', applies: false, message: 'no food or food packaging in the load', citation: 'ADG 7.x 9.1 (dangerous goods with food or food packaging)' }, ADG_NO_OVERPACK],
    });
  });

  it('49cfr: 177.848(d) 3 with 5.1 is "O" at any quantity', () => {
    const r = checkCompatibility(load, rules, '49cfr');
    expect(r.verdict).toBe('CONDITIONAL');
    expect(only(r)).toEqual({ items: [0, 1], code: 'O', severity: 'conditional', hazards: H_3_51, rule: O_3_51, citation: '49 CFR 177.848(d)' });
    expect(r.basis).toEqual([CFR_BASIS_CLASS, { rule: 'food', applies: false, message: 'no food, feed or edible material in the load', citation: '49 CFR 177.841(e)' }]);
  });
});

describe('ADG: class segregation only for placard loads (ADG 7.x 5.3.1 (f): aggregate 1,000 kg/L)', () => {
  it('at the threshold (900 L + 100 kg = 1,000): a placard load, segregated, with 177.848 named as the stand-in', () => {
    const r = checkCompatibility([GASOLINE(900), FERTILIZER(100)], rules, 'adg');
    expect(r.verdict).toBe('CONDITIONAL');
    expect(only(r)).toEqual({ items: [0, 1], code: 'O', severity: 'conditional', hazards: H_3_51, rule: O_3_51, citation: `49 CFR 177.848(d) ${STAND_IN}` });
    expect(r.basis[0]).toEqual(adgGate(true));
  });

  it('just below (899 L + 100 kg = 999): not a placard load, compatible', () => {
    const r = checkCompatibility([GASOLINE(899), FERTILIZER(100)], rules, 'adg');
    expect([r.verdict, r.conflicts, r.basis[0]]).toEqual(['COMPATIBLE', [], adgGate(false)]);
  });

  it('the same loads under 49cfr are segregated either way', () => {
    expect(checkCompatibility([GASOLINE(899), FERTILIZER(100)], rules, '49cfr').verdict).toBe('CONDITIONAL');
    expect(checkCompatibility([GASOLINE(900), FERTILIZER(100)], rules, '49cfr').verdict).toBe('CONDITIONAL');
  });

  it('missing quantities: indeterminate, naming the fields the placard-load test needs', () => {
    const missing = ['items[0].receptacleCapacity', 'items[1].receptacleCapacity', 'items[0].quantity', 'items[1].quantity'];
    expect(checkCompatibility([seg('UN1203'), seg('UN2067')], rules, 'adg')).toEqual({
      regime: 'adg',
      compatible: false,
      verdict: 'INDETERMINATE',
      conflicts: [],
      indeterminate: [
        {
          items: [0, 1],
          missing,
          rule: `ADG 7.x: class segregation applies to placard loads only, and whether this load is one cannot be decided from the data given; if it is: ${O_3_51}`,
          citation: `${GATE_CITATION}; 49 CFR 177.848(d) ${STAND_IN}`,
        },
      ],
      notes: [],
      basis: [adgGate(null, missing), { rule: 'food', applies: false, message: 'no food or food packaging in the load', citation: 'ADG 7.x 9.1 (dangerous goods with food or food packaging)' }, ADG_NO_OVERPACK],
    });
  });

  it('an undecidable placard load does not matter where no pair would be segregated', () => {
    expect(checkCompatibility([seg('UN1203'), seg('UN1090')], rules, 'adg').verdict).toBe('COMPATIBLE');
  });
});

describe('ADG: incompatible goods never in one overpack, at any quantity', () => {
  it('two incompatible items in one overpack below the placard threshold: prohibited', () => {
    const r = checkCompatibility([GASOLINE(20, { receptacleCapacity: 20, overpack: 'P1' }), FERTILIZER(25, { overpack: 'P1' })], rules, 'adg');
    expect(r.verdict).toBe('INCOMPATIBLE');
    expect(only(r)).toEqual({
      items: [0, 1],
      code: 'X',
      severity: 'prohibited',
      hazards: H_3_51,
      rule: `ADG 7.x: incompatible goods may not share an overpack: items[0] and items[1] are both in overpack "P1", and ${O_3_51}`,
      citation: `ADG 7.x 9.1 (overpacks); 49 CFR 177.848(d) ${STAND_IN}`,
    });
    expect(r.basis).toEqual([
      adgGate(false),
      { rule: 'food', applies: false, message: 'no food or food packaging in the load', citation: 'ADG 7.x 9.1 (dangerous goods with food or food packaging)' },
      { rule: 'overpack', applies: true, message: 'lines sharing an overpack may not be incompatible (177.848 standing in for the ADG segregation tables), at any quantity', citation: 'ADG 7.x 9.1 (overpacks)' },
    ]);
  });

  it('the same items in different overpacks: compatible', () => {
    expect(checkCompatibility([GASOLINE(20, { receptacleCapacity: 20, overpack: 'P1' }), FERTILIZER(25, { overpack: 'P2' })], rules, 'adg').verdict).toBe('COMPATIBLE');
  });

  it('compatible goods may share an overpack', () => {
    expect(checkCompatibility([GASOLINE(20, { overpack: 'P1' }), seg('UN1090', { quantity: 20, unit: 'L', receptacleCapacity: 20, overpack: 'P1' })], rules, 'adg').verdict).toBe('COMPATIBLE');
  });
});

describe('food under each regime', () => {
  it('a 6.1 with food: prohibited under both, each citing its own rule', () => {
    const toxic = seg('UN2811', { packingGroup: 'II', quantity: 10, unit: 'kg', receptacleCapacity: 10 });
    expect(only(checkCompatibility([FOOD, toxic], rules, 'adg')).citation).toBe('ADG 7.x 9.1 (dangerous goods with food or food packaging)');
    expect(only(checkCompatibility([FOOD, toxic], rules, '49cfr'))).toEqual({
      items: [0, 1],
      code: 'X',
      severity: 'prohibited',
      hazards: ['foodstuffs, feed or edible material', 'POISON or POISON INHALATION HAZARD labelled material'],
      rule: '177.841(e)(1): a package bearing or required to bear a POISON or POISON INHALATION HAZARD label may not be transported with foodstuffs, feed or edible material, unless it is overpacked in a metal drum (173.25(c)) or the two are loaded in separate closed unit load devices ((e)(1)(i), (ii)); the load does not say so',
      citation: '49 CFR 177.841(e)(1)',
    });
  });

  it('49cfr: a 6.1 PG III with food is prohibited unless its POISON label shows "PG III" (177.841(e)(3)), said in a note', () => {
    const r = checkCompatibility([seg('UN2811', { packingGroup: 'III' }), FOOD], rules, '49cfr');
    expect(only(r)).toMatchObject({ items: [0, 1], code: 'X', hazards: ['POISON or POISON INHALATION HAZARD labelled material', 'foodstuffs, feed or edible material'], citation: '49 CFR 177.841(e)(1)' });
    expect(r.notes).toEqual([
      {
        items: [0, 1],
        message: 'items[0] is Division 6.1 PG III: if its POISON label displays "PG III" (or the "PG III" mark is beside it), it may go with the food when separated so that leakage could not reach the food',
        citation: '49 CFR 177.841(e)(3)',
      },
    ]);
  });

  it('49cfr: a POISON subsidiary label counts (bromine, Class 8 with 6.1)', () => {
    expect(only(checkCompatibility([FOOD, seg('UN1744', { properShippingName: 'Bromine' })], rules, '49cfr')).citation).toBe('49 CFR 177.841(e)(1)');
  });

  it('a 2.3 with food: prohibited under ADG; under 49cfr its POISON GAS label is not one 177.841(e)(1) names', () => {
    expect(only(checkCompatibility([FOOD, seg('UN1017')], rules, 'adg')).code).toBe('X');
    const r = checkCompatibility([FOOD, seg('UN1017')], rules, '49cfr');
    expect([r.verdict, r.basis]).toEqual(['COMPATIBLE', [CFR_BASIS_CLASS, CFR_BASIS_FOOD]]);
  });

  it('adg: an all-limited-quantity load with food is outside the food rule', () => {
    const r = checkCompatibility([FOOD, seg('UN1830', { packingGroup: 'II', limitedQuantity: true, quantity: 5, unit: 'L', receptacleCapacity: 1 })], rules, 'adg');
    expect(r.verdict).toBe('COMPATIBLE');
    expect(r.basis[1]).toEqual({ rule: 'food', applies: false, message: 'every dangerous goods line is a limited quantity', citation: 'ADG 7.x 9.1 (dangerous goods with food or food packaging)' });
    expect(r.notes).toEqual([{ items: [1], message: 'items[1] (UN1830) is a limited quantity: class segregation does not apply to it', citation: ADG_LQ_SOURCE }]);
  });

  it('adg: a limited quantity in a load that is not all limited quantities is under the food rule', () => {
    const r = checkCompatibility([FOOD, seg('UN1830', { packingGroup: 'II', limitedQuantity: true, quantity: 5, unit: 'L', receptacleCapacity: 1 }), GASOLINE(20)], rules, 'adg');
    expect(r.conflicts.map((c) => [c.items, c.code, c.citation])).toEqual([[[0, 1], 'X', 'ADG 7.x 9.1 (dangerous goods with food or food packaging)']]);
  });

  it("adg: the driver's own food is outside the food rule", () => {
    const r = checkCompatibility([{ entry: null, food: true, driversOwnFood: true }, seg('UN1830', { packingGroup: 'II', quantity: 20, unit: 'L', receptacleCapacity: 20 })], rules, 'adg');
    expect(r.verdict).toBe('COMPATIBLE');
    expect(r.basis[1]).toEqual({ rule: 'food', applies: false, message: "the only food in the load is the driver's own", citation: 'ADG 7.x 9.1 (dangerous goods with food or food packaging)' });
  });

  it('49cfr: a limited quantity bears no label, so 177.841(e) does not reach it', () => {
    const r = checkCompatibility([FOOD, seg('UN2811', { packingGroup: 'III', limitedQuantity: true })], rules, '49cfr');
    expect(r.verdict).toBe('COMPATIBLE');
    expect(r.notes).toEqual([
      { items: [1], message: 'items[1] (UN2811) is a limited quantity: its packages need no hazard labels, so neither 177.848 segregation nor the 177.841(e) food rule reaches it', citation: '49 CFR 177.848(a), 177.841(e)' },
    ]);
  });
});

describe('limited-quantity eligibility names its source', () => {
  it('adg: a claim 172.101 does not back cites the stand-in, in segregation and in placards', () => {
    const r = checkCompatibility([seg('UN1089', { limitedQuantity: true, quantity: 1, unit: 'L', receptacleCapacity: 1 }), seg('UN1017', { quantity: 1, unit: 'kg', receptacleCapacity: 1 })], rules, 'adg');
    expect(r.notes).toEqual([
      { items: [0], message: 'items[0] is declared a limited quantity, but UN1089 is not eligible (172.101 column (8A) lists no exceptions): segregated as fully regulated', citation: ADG_LQ_SOURCE },
    ]);
    const p = determinePlacards([seg('UN1089', { limitedQuantity: true, quantity: 1, unit: 'L', receptacleCapacity: 1 })], 'adg');
    expect(p.reasons.find((x) => x.criterion === 'limited-quantity-claim')?.citation).toBe(ADG_LQ_SOURCE);
  });

  it('adg: an honoured limited quantity in the placard test says where its eligibility came from', () => {
    const p = determinePlacards([seg('UN1203', { limitedQuantity: true, quantity: 10, unit: 'L', receptacleCapacity: 1 })], 'adg');
    expect(p.reasons.find((x) => x.criterion === 'limited-quantity-source')).toEqual({
      kind: 'note',
      criterion: 'limited-quantity-source',
      met: true,
      message: 'limited-quantity eligibility is read from 49 CFR 172.101 column (8A)',
      citation: ADG_LQ_SOURCE,
      items: [0],
    });
  });

  it('49cfr: the same claim cites 172.101 itself', () => {
    const r = checkCompatibility([seg('UN1089', { limitedQuantity: true }), seg('UN1017')], rules, '49cfr');
    expect(r.notes[0]?.citation).toBe('49 CFR 172.101(i)(8A)');
  });
});
