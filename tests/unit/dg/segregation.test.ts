import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { checkCompatibility, compileSegregationRules, segregationTableSchema } from '../../../domain/dangerous-goods/segregation.js';
import type { CompatibilityResult, SegregationItem } from '../../../domain/dangerous-goods/segregation.js';
import { FOOD, rules, seg } from './helpers.js';

type Key = '1.1/1.2' | '1.3' | '1.4' | '1.5' | '1.6' | '2.1' | '2.2' | '2.3A' | '2.3B' | '3' | '4.1' | '4.2' | '4.3' | '5.1' | '5.2' | '6.1A' | '7' | '8L';

// One real 172.101 entry per column of the 177.848(d) table, chosen without subsidiary hazards that
// would add keys of their own (the 2.3 gases' subsidiary 8 is a gas, not a Class 8 liquid).
const REP: Record<Key, () => SegregationItem> = {
  '1.1/1.2': () => seg('UN0081'), // Explosive, blasting, type A, 1.1D
  '1.3': () => seg('UN0327'), // Cartridges for weapons, blank, 1.3C
  '1.4': () => seg('UN0012'), // Cartridges for weapons, inert projectile, 1.4S
  '1.5': () => seg('UN0331'), // Explosive, blasting, type B, 1.5D
  '1.6': () => seg('UN0486'), // Articles, explosive, extremely insensitive, 1.6N
  '2.1': () => seg('UN1978'), // Propane
  '2.2': () => seg('UN1066'), // Nitrogen, compressed
  '2.3A': () => seg('UN1076'), // Phosgene, SP1 (Zone A)
  '2.3B': () => seg('UN1008'), // Boron trifluoride, SP2 (Zone B)
  '3': () => seg('UN1090'), // Acetone
  '4.1': () => seg('UN1325', { packingGroup: 'II' }), // Flammable solids, organic, n.o.s.
  '4.2': () => seg('UN1923'), // Calcium dithionite
  '4.3': () => seg('UN1428'), // Sodium
  '5.1': () => seg('UN1486'), // Potassium nitrate (not ammonium nitrate: note A stays out)
  '5.2': () => seg('UN3105'), // Organic peroxide type D, liquid
  '6.1A': () => seg('UN3381'), // Toxic by inhalation liquid, n.o.s., SP1, PG I
  '7': () => seg('UN2915'), // Radioactive material, Type A package
  '8L': () => seg('UN1830', { packingGroup: 'II' }), // Sulfuric acid (173.202: liquid)
};

const LABEL: Record<Key, string> = {
  '1.1/1.2': 'Division 1.1/1.2 explosives',
  '1.3': 'Division 1.3 explosives',
  '1.4': 'Division 1.4 explosives',
  '1.5': 'Division 1.5 explosives',
  '1.6': 'Division 1.6 explosives',
  '2.1': 'Division 2.1 flammable gas',
  '2.2': 'Division 2.2 non-flammable gas',
  '2.3A': 'Division 2.3 poison gas, Hazard Zone A',
  '2.3B': 'Division 2.3 poison gas, Hazard Zone B',
  '3': 'Class 3 flammable liquid',
  '4.1': 'Division 4.1 flammable solid',
  '4.2': 'Division 4.2 spontaneously combustible',
  '4.3': 'Division 4.3 dangerous when wet',
  '5.1': 'Division 5.1 oxidizer',
  '5.2': 'Division 5.2 organic peroxide',
  '6.1A': 'Division 6.1 PG I, Hazard Zone A',
  '7': 'Class 7 radioactive',
  '8L': 'Class 8 corrosive liquid',
};

// Every "X" and "O" cell of the 49 CFR 177.848(d) table outside the Class 1 × Class 1 block,
// transcribed from the eCFR text (upper triangle; the table is symmetric).
const CELLS: [Key, Key, 'X' | 'O'][] = [
  ['1.1/1.2', '2.1', 'X'], ['1.1/1.2', '2.2', 'X'], ['1.1/1.2', '2.3A', 'X'], ['1.1/1.2', '2.3B', 'X'], ['1.1/1.2', '3', 'X'],
  ['1.1/1.2', '4.1', 'X'], ['1.1/1.2', '4.2', 'X'], ['1.1/1.2', '4.3', 'X'], ['1.1/1.2', '5.1', 'X'], ['1.1/1.2', '5.2', 'X'],
  ['1.1/1.2', '6.1A', 'X'], ['1.1/1.2', '7', 'X'], ['1.1/1.2', '8L', 'X'],
  ['1.3', '2.1', 'X'], ['1.3', '2.3A', 'X'], ['1.3', '2.3B', 'X'], ['1.3', '3', 'X'], ['1.3', '4.2', 'X'], ['1.3', '4.3', 'X'],
  ['1.3', '5.1', 'X'], ['1.3', '5.2', 'X'], ['1.3', '6.1A', 'X'], ['1.3', '8L', 'X'],
  ['1.4', '2.1', 'O'], ['1.4', '2.3A', 'O'], ['1.4', '2.3B', 'O'], ['1.4', '3', 'O'], ['1.4', '4.2', 'O'], ['1.4', '6.1A', 'O'], ['1.4', '8L', 'O'],
  ['1.5', '2.1', 'X'], ['1.5', '2.2', 'X'], ['1.5', '2.3A', 'X'], ['1.5', '2.3B', 'X'], ['1.5', '3', 'X'], ['1.5', '4.1', 'X'],
  ['1.5', '4.2', 'X'], ['1.5', '4.3', 'X'], ['1.5', '5.1', 'X'], ['1.5', '5.2', 'X'], ['1.5', '6.1A', 'X'], ['1.5', '7', 'X'], ['1.5', '8L', 'X'],
  ['2.1', '2.3A', 'X'], ['2.1', '2.3B', 'O'], ['2.1', '6.1A', 'O'], ['2.1', '7', 'O'],
  ['2.3A', '3', 'X'], ['2.3A', '4.1', 'X'], ['2.3A', '4.2', 'X'], ['2.3A', '4.3', 'X'], ['2.3A', '5.1', 'X'], ['2.3A', '5.2', 'X'], ['2.3A', '8L', 'X'],
  ['2.3B', '3', 'O'], ['2.3B', '4.1', 'O'], ['2.3B', '4.2', 'O'], ['2.3B', '4.3', 'O'], ['2.3B', '5.1', 'O'], ['2.3B', '5.2', 'O'], ['2.3B', '8L', 'O'],
  ['3', '5.1', 'O'], ['3', '6.1A', 'X'],
  ['4.1', '6.1A', 'X'], ['4.1', '8L', 'O'],
  ['4.2', '6.1A', 'X'], ['4.2', '8L', 'X'],
  ['4.3', '6.1A', 'X'], ['4.3', '8L', 'O'],
  ['5.1', '6.1A', 'X'], ['5.1', '8L', 'O'],
  ['5.2', '6.1A', 'X'], ['5.2', '8L', 'O'],
  ['6.1A', '8L', 'X'],
];

// The pairs 177.848(c) names itself; the (c) rule is the more specific one and is the one cited.
const C_PAIRS = new Set(['4.2|8L', '3|6.1A', '4.1|6.1A', '4.2|6.1A', '4.3|6.1A', '5.1|6.1A', '5.2|6.1A', '6.1A|8L']);

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

// Every 49 CFR answer names its regime and the rules it applied (no food line in these loads).
const CFR = {
  regime: '49cfr',
  basis: [
    { rule: 'class-segregation', applies: true, message: 'every pair, on primary and subsidiary hazards, at any quantity', citation: '49 CFR 177.848' },
    { rule: 'food', applies: false, message: 'no food, feed or edible material in the load', citation: '49 CFR 177.841(e)' },
  ],
} as const;

function only(r: CompatibilityResult): CompatibilityResult['conflicts'][number] {
  expect(r.conflicts).toHaveLength(1);
  return r.conflicts[0] as CompatibilityResult['conflicts'][number];
}

describe('177.848(d) segregation table through real catalogue entries', () => {
  it('the shipped table compiles: 18 columns, symmetric, "*" exactly on Class 1 × Class 1', () => {
    const data = segregationTableSchema.parse(JSON.parse(readFileSync(new URL('../../../data/segregation-49cfr-177.848.json', import.meta.url), 'utf8')));
    expect(() => compileSegregationRules(data)).not.toThrow();
    const broken = structuredClone(data);
    (broken.rows['3'] as { cells: string[] }).cells[13] = 'X';
    expect(() => compileSegregationRules(broken)).toThrow('177.848(d) table is not symmetric at 3/5.1');
  });

  it('covers all 74 "X"/"O" cells', () => {
    expect(CELLS).toHaveLength(74);
  });

  it.each(CELLS)('%s with %s is "%s" (49 CFR 177.848(d), or (c) where it names the pair)', (a, b, code) => {
    const r = checkCompatibility([REP[a](), REP[b]()], rules, '49cfr');
    const viaC = C_PAIRS.has(`${a}|${b}`);
    expect(r.verdict).toBe(code === 'X' ? 'INCOMPATIBLE' : 'CONDITIONAL');
    expect(r.compatible).toBe(false);
    expect(r.indeterminate).toEqual([]);
    expect(r.notes).toEqual([]);
    expect(only(r)).toEqual({
      items: [0, 1],
      code,
      severity: code === 'X' ? 'prohibited' : 'conditional',
      hazards: [LABEL[a], LABEL[b]],
      rule: viaC ? expect.stringMatching(/^177\.848\(c\): /) : expect.stringMatching(new RegExp(`^177\\.848\\(d\\): ${esc(LABEL[a])} with ${esc(LABEL[b])} is "${code}": `)),
      citation: viaC ? '49 CFR 177.848(c)' : '49 CFR 177.848(d)',
    });
  });

  it.each([
    ['3', '8L'],
    ['2.2', '3'],
    ['1.3', '4.1'],
    ['1.6', '3'],
    ['7', '3'],
    ['2.3A', '6.1A'],
    ['2.1', '3'],
    ['5.1', '5.2'],
  ] as [Key, Key][])('%s with %s is a blank cell: compatible (177.848(e)(1))', (a, b) => {
    expect(checkCompatibility([REP[a](), REP[b]()], rules, '49cfr')).toEqual({ ...CFR, compatible: true, verdict: 'COMPATIBLE', conflicts: [], indeterminate: [], notes: [] });
  });

  it('is symmetric: the same pair in the other order gives the mirrored conflict', () => {
    const r = checkCompatibility([REP['8L'](), REP['2.3B']()], rules, '49cfr');
    expect(only(r)).toMatchObject({ items: [0, 1], code: 'O', hazards: [LABEL['8L'], LABEL['2.3B']] });
  });

  it('exact output for chlorine with gasoline (2.3 Zone B with Class 3: "O")', () => {
    expect(checkCompatibility([seg('UN1017'), seg('UN1203')], rules, '49cfr')).toEqual({
      ...CFR,
      compatible: false,
      verdict: 'CONDITIONAL',
      conflicts: [
        {
          items: [0, 1],
          code: 'O',
          severity: 'conditional',
          hazards: ['Division 2.3 poison gas, Hazard Zone B', 'Class 3 flammable liquid'],
          rule: '177.848(d): Division 2.3 poison gas, Hazard Zone B with Class 3 flammable liquid is "O": may not be loaded together unless separated so that leaking packages could not commingle (177.848(e)(3))',
          citation: '49 CFR 177.848(d)',
        },
      ],
      indeterminate: [],
      notes: [],
    });
  });
});

describe('subsidiary hazards: stricter wins, except within one class (177.848(e)(6))', () => {
  it('Class 8 nitric acid with subsidiary 5.1 against gasoline: the subsidiary oxidizer gives "O"', () => {
    const r = checkCompatibility([seg('UN2031', { packingGroup: 'II', properShippingName: 'Nitric acid other than red fuming, with at least 65 percent' }), seg('UN1203')], rules, '49cfr');
    expect(only(r)).toEqual({
      items: [0, 1],
      code: 'O',
      severity: 'conditional',
      hazards: ['subsidiary Division 5.1 oxidizer', 'Class 3 flammable liquid'],
      rule: '177.848(d): subsidiary Division 5.1 oxidizer with Class 3 flammable liquid is "O": may not be loaded together unless separated so that leaking packages could not commingle (177.848(e)(3)) (subsidiary hazard segregation applies where stricter, 177.848(e)(6))',
      citation: '49 CFR 177.848(d), (e)(6)',
    });
  });

  it('Division 6.1 with subsidiary 3 against a Zone A poison gas: the subsidiary gives "X" where the primary gives nothing', () => {
    const r = checkCompatibility([seg('UN2929', { packingGroup: 'II' }), seg('UN1076')], rules, '49cfr');
    expect(only(r)).toMatchObject({ code: 'X', severity: 'prohibited', hazards: ['subsidiary Class 3 flammable liquid', LABEL['2.3A']], citation: '49 CFR 177.848(d), (e)(6)' });
  });

  it('bromine (Class 8, subsidiary 6.1, SP1, PG I) carries the 6.1 Zone A column: "X" with Class 3', () => {
    const r = checkCompatibility([seg('UN1744', { properShippingName: 'Bromine' }), seg('UN1090')], rules, '49cfr');
    expect(only(r)).toMatchObject({ code: 'X', hazards: ['subsidiary Division 6.1 PG I, Hazard Zone A', LABEL['3']], citation: '49 CFR 177.848(d), (e)(6)' });
  });

  it('the primary decides when it is as strict: 2.3 Zone B with subsidiary 5.1 (chlorine) against Class 3 cites the primary cell', () => {
    expect(only(checkCompatibility([seg('UN1017'), REP['3']()], rules, '49cfr')).citation).toBe('49 CFR 177.848(d)');
  });

  it('same class: two Class 8 liquids are not segregated for their subsidiary 5.1 and 3 hazards, with a note', () => {
    const r = checkCompatibility([seg('UN2031', { packingGroup: 'II', properShippingName: 'Nitric acid other than red fuming, with at least 65 percent' }), seg('UN2789')], rules, '49cfr');
    expect(r).toEqual({
      ...CFR,
      compatible: true,
      verdict: 'COMPATIBLE',
      conflicts: [],
      indeterminate: [],
      notes: [
        {
          items: [0, 1],
          message: 'items[0] and items[1] are both 8: segregation for their subsidiary hazards is not applied, which holds only if they cannot react dangerously with each other',
          citation: '49 CFR 177.848(e)(6)',
        },
      ],
    });
  });
});

describe('Class 1 compatibility table and mixed divisions (177.848(f)–(i))', () => {
  const pair = (a: string, b: string): CompatibilityResult => checkCompatibility([seg(a), seg(b)], rules, '49cfr');

  it('1.1D with 1.1D: same group, blank (177.848(g)(1))', () => {
    expect(pair('UN0081', 'UN0081').verdict).toBe('COMPATIBLE');
  });

  it('1.1A with 1.1B: "X" (177.848(g)(2))', () => {
    expect(only(pair('UN0074', 'UN0225'))).toEqual({
      items: [0, 1],
      code: 'X',
      severity: 'prohibited',
      hazards: ['Division 1.1A explosive', 'Division 1.1B explosive'],
      rule: '177.848(f): Division 1.1A explosive with Division 1.1B explosive is "X": explosives of these compatibility groups may not be carried on the same transport vehicle (177.848(g)(2))',
      citation: '49 CFR 177.848(f)',
    });
  });

  it('1.1B detonators with 1.1D: "X(4)"', () => {
    expect(only(pair('UN0030', 'UN0081'))).toMatchObject({ code: 'X(4)', severity: 'prohibited', citation: '49 CFR 177.848(f)' });
  });

  it('1.4S fireworks with 1.1D: prohibited under code 5 (177.848(g)(3)(v))', () => {
    const c = only(pair('UN0337', 'UN0081'));
    expect(c).toMatchObject({ code: '4/5', severity: 'prohibited', hazards: ['Division 1.4S explosive', 'Division 1.1D explosive'] });
    expect(c.rule).toContain('Division 1.4S fireworks may not be loaded with Division 1.1 or 1.2 explosives (177.848(g)(3)(v))');
  });

  it('1.4S fireworks with 1.2D: prohibited under code 5', () => {
    expect(only(pair('UN0337', 'UN0283')).severity).toBe('prohibited');
  });

  it('1.4S fireworks with 1.4G fireworks: code 5 reaches only 1.1/1.2, so compatible', () => {
    expect(pair('UN0337', 'UN0336').verdict).toBe('COMPATIBLE');
  });

  it('1.4S cartridges (not fireworks) with 1.1D: compatible', () => {
    expect(pair('UN0012', 'UN0081').verdict).toBe('COMPATIBLE');
  });

  it('1.4B detonators with 1.4S cartridges: conditional on 177.835(g) (code 4)', () => {
    const c = only(pair('UN0255', 'UN0012'));
    expect(c).toMatchObject({ code: '4/5', severity: 'conditional' });
    expect(c.rule).toContain('177.835(g)');
  });

  it('1.4S with group A (1.1A): "X"', () => {
    expect(only(pair('UN0012', 'UN0074')).code).toBe('X');
  });

  it('group L only with an identical explosive (code 1, 177.848(g)(3)(i))', () => {
    expect(pair('UN0380', 'UN0380').verdict).toBe('COMPATIBLE');
    expect(only(pair('UN0380', 'UN0322'))).toMatchObject({ code: '1', severity: 'prohibited' });
  });

  it('1.2G ammunition (not fireworks) with 1.1D: conditional under code 6', () => {
    expect(only(pair('UN0009', 'UN0081'))).toMatchObject({ code: '6', severity: 'conditional' });
  });

  it('1.1G fireworks with 1.1D: prohibited under code 6', () => {
    expect(only(pair('UN0333', 'UN0081'))).toMatchObject({ code: '6', severity: 'prohibited' });
  });

  it('1.1C with 1.1D: allowed, assigned group E (code 2, 177.848(g)(3)(ii))', () => {
    expect(pair('UN0271', 'UN0081')).toEqual({
      ...CFR,
      compatible: true,
      verdict: 'COMPATIBLE',
      conflicts: [],
      indeterminate: [],
      notes: [{ items: [0, 1], message: 'explosives of compatibility groups C, D are together assigned to compatibility group E', citation: '49 CFR 177.848(g)(3)(ii)' }],
    });
  });

  it('1.1D with 1.6N: allowed, assigned group D (code 3, 177.848(g)(3)(iii))', () => {
    expect(pair('UN0081', 'UN0486').notes).toEqual([
      { items: [0, 1], message: 'explosives of compatibility groups C, D or E with group N are together assigned to compatibility group D', citation: '49 CFR 177.848(g)(3)(iii)' },
    ]);
  });

  it('1.1D with 1.4D: transported as 1.1D (177.848(h))', () => {
    expect(pair('UN0081', 'UN0444').notes).toEqual([
      { items: [0, 1], message: 'compatibility group D in divisions 1.1, 1.4: the whole shipment is transported as Division 1.1D', citation: '49 CFR 177.848(h)' },
    ]);
  });

  it('1.5D with 1.2D: transported as 1.1D (177.848(i))', () => {
    expect(pair('UN0331', 'UN0283').notes).toEqual([
      { items: [0, 1], message: 'Division 1.5D with Division 1.2D in one freight container: the shipment is transported as Division 1.1D', citation: '49 CFR 177.848(i)' },
    ]);
  });

  it('explosive samples with no class assigned (UN0190): indeterminate against another explosive', () => {
    const r = pair('UN0190', 'UN0081');
    expect(r.verdict).toBe('INDETERMINATE');
    expect(r.indeterminate).toEqual([
      { items: [0, 1], missing: ['items[0]: explosive division and compatibility group'], rule: '177.848(f) needs the division and compatibility group of each explosive', citation: '49 CFR 177.848(f)' },
    ]);
  });
});

describe('note A: ammonium nitrate with Division 1.1 or 1.5 (177.848(e)(5))', () => {
  const NOTE = { items: [0, 1], message: 'note A: ammonium nitrate (UN1942) or ammonium nitrate fertilizer may be loaded with Division 1.1 or 1.5 explosives despite the "X", unless 177.835(c) forbids it', citation: '49 CFR 177.848(e)(5)' };

  it('UN1942 with 1.1D: allowed, with the note', () => {
    expect(checkCompatibility([seg('UN1942'), seg('UN0081')], rules, '49cfr')).toEqual({ ...CFR, compatible: true, verdict: 'COMPATIBLE', conflicts: [], indeterminate: [], notes: [NOTE] });
  });

  it('ammonium nitrate based fertilizer UN2067 with 1.5D: allowed, with the note', () => {
    expect(checkCompatibility([seg('UN2067'), seg('UN0331')], rules, '49cfr').notes).toEqual([NOTE]);
  });

  it('UN1942 with 1.2D: the note reaches only 1.1 and 1.5, so "X"', () => {
    expect(only(checkCompatibility([seg('UN1942'), seg('UN0283')], rules, '49cfr'))).toMatchObject({ code: 'X', hazards: [LABEL['5.1'], LABEL['1.1/1.2']] });
  });

  it('another oxidizer (potassium nitrate) with 1.1D: "X"', () => {
    expect(only(checkCompatibility([REP['5.1'](), REP['1.1/1.2']()], rules, '49cfr')).code).toBe('X');
  });

  it('UN1942 with 1.3C: the note does not reach 1.3, so "X"', () => {
    expect(only(checkCompatibility([seg('UN1942'), seg('UN0327')], rules, '49cfr')).code).toBe('X');
  });
});

describe('177.848(c) rules', () => {
  it('sodium cyanide with hydrochloric acid: "X" (cyanides with acids), though the table has no 6.1 (non-Zone A) column', () => {
    expect(only(checkCompatibility([seg('UN1689'), seg('UN1789', { packingGroup: 'II' })], rules, '49cfr'))).toEqual({
      items: [0, 1],
      code: 'X',
      severity: 'prohibited',
      hazards: ['cyanide', 'acid'],
      rule: '177.848(c): cyanides, cyanide mixtures or solutions may not be loaded with acids (a mixture would generate hydrogen cyanide)',
      citation: '49 CFR 177.848(c)',
    });
  });

  it('a cyanide with an alkaline corrosive (sodium hydroxide solution): no (c) restriction', () => {
    expect(checkCompatibility([seg('UN1689'), seg('UN1824', { packingGroup: 'II' })], rules, '49cfr').verdict).toBe('COMPATIBLE');
  });

  it('a cyanide with an acid of the same class (chloroacetic acid is 6.1/8): (c) still applies, (e)(6) does not waive it', () => {
    expect(only(checkCompatibility([seg('UN3414', { packingGroup: 'II' }), seg('UN1750')], rules, '49cfr')).citation).toBe('49 CFR 177.848(c)');
  });

  it('Division 4.2 with a Class 8 liquid: "X"', () => {
    expect(only(checkCompatibility([REP['4.2'](), REP['8L']()], rules, '49cfr'))).toEqual({
      items: [0, 1],
      code: 'X',
      severity: 'prohibited',
      hazards: [LABEL['4.2'], LABEL['8L']],
      rule: '177.848(c): Division 4.2 materials may not be loaded with Class 8 liquids',
      citation: '49 CFR 177.848(c)',
    });
  });

  it('Division 4.2 with a Class 8 solid: no restriction', () => {
    expect(checkCompatibility([REP['4.2'](), seg('UN1823', { packingGroup: 'II' })], rules, '49cfr').verdict).toBe('COMPATIBLE');
  });

  it('6.1 PG I Zone A with Class 3: "X"', () => {
    expect(only(checkCompatibility([REP['6.1A'](), REP['3']()], rules, '49cfr'))).toMatchObject({ code: 'X', citation: '49 CFR 177.848(c)', rule: expect.stringContaining('Division 6.1 PG I Hazard Zone A material may not be loaded with Class 3') });
  });

  it('6.1 PG I Zone B (chloropicrin, SP2) is not the Zone A column: compatible with Class 3', () => {
    expect(checkCompatibility([seg('UN1580'), REP['3']()], rules, '49cfr').verdict).toBe('COMPATIBLE');
  });
});

describe('ADG 7.x food and food packaging', () => {
  it.each([
    ['Division 2.3', () => REP['2.3B']()],
    ['Division 6.1', () => seg('UN1689')],
    ['Division 6.2', () => seg('UN3373')],
    ['Class 8', () => REP['8L']()],
    ['subsidiary 8 (Class 3 with 8)', () => seg('UN1717')],
    ['subsidiary 6.1 (Class 3 with 6.1)', () => seg('UN1992', { packingGroup: 'II' })],
  ])('%s with food: "X"', (_, make) => {
    expect(only(checkCompatibility([FOOD, make()], rules, 'adg'))).toEqual({
      items: [0, 1],
      code: 'X',
      severity: 'prohibited',
      hazards: ['food or food packaging', 'Division 2.3, Class 6, Class 8 or subsidiary 6.1/8 dangerous goods'],
      rule: 'ADG 7.x: Division 2.3, Class 6 (6.1, 6.2), Class 8 and subsidiary 6.1 or 8 dangerous goods may not be transported with food or food packaging',
      citation: 'ADG 7.x 9.1 (dangerous goods with food or food packaging)',
    });
  });

  it('Class 3 with food: compatible', () => {
    expect(checkCompatibility([FOOD, REP['3']()], rules, 'adg').verdict).toBe('COMPATIBLE');
  });

  it('a dangerous goods line marked as food is checked the same way', () => {
    expect(only(checkCompatibility([seg('UN1090', { food: true }), REP['8L']()], rules, 'adg')).citation).toBe('ADG 7.x 9.1 (dangerous goods with food or food packaging)');
  });

  it('an all-limited-quantity load with food: exempt (the edges are in regimes.test.ts)', () => {
    expect(checkCompatibility([FOOD, seg('UN1830', { packingGroup: 'II', limitedQuantity: true })], rules, 'adg').verdict).toBe('COMPATIBLE');
  });
});

describe('missing data is reported, never guessed', () => {
  it('Class 8 of unknown state against 4.1: indeterminate until the state is declared', () => {
    const r = checkCompatibility([seg('UN2794'), REP['4.1']()], rules, '49cfr');
    expect(r).toEqual({
      ...CFR,
      compatible: false,
      verdict: 'INDETERMINATE',
      conflicts: [],
      indeterminate: [
        {
          items: [0, 1],
          missing: ['items[0].state'],
          rule: '177.848(d): unknown items[0].state; if it is Class 8 corrosive liquid, the cell against Division 4.1 flammable solid is "O"',
          citation: '49 CFR 177.848(d)',
        },
      ],
      notes: [],
    });
    expect(only(checkCompatibility([seg('UN2794', { state: 'liquid' }), REP['4.1']()], rules, '49cfr')).code).toBe('O');
    expect(checkCompatibility([seg('UN2794', { state: 'solid' }), REP['4.1']()], rules, '49cfr').verdict).toBe('COMPATIBLE');
  });

  it('the catalogue state wins over a contradicting declared state, with a note', () => {
    const r = checkCompatibility([seg('UN1830', { packingGroup: 'II', state: 'solid' }), REP['4.1']()], rules, '49cfr');
    expect(only(r).code).toBe('O');
    expect(r.notes[0]?.message).toBe('items[0] declares state "solid" but UN1830 is liquid (172.101 column (8B): non-bulk packaging 49 CFR 173.202 is for liquids); the catalogue is used');
  });

  it('a PIH gas without a zone (SP6) against Class 3: indeterminate; a declared zone settles it', () => {
    const r = checkCompatibility([seg('UN3169'), REP['3']()], rules, '49cfr');
    expect(r.verdict).toBe('INDETERMINATE');
    expect(r.indeterminate[0]?.missing).toEqual(['items[0].inhalationHazardZone']);
    expect(only(checkCompatibility([seg('UN3169', { inhalationHazardZone: 'A' }), REP['3']()], rules, '49cfr')).code).toBe('X');
    expect(checkCompatibility([seg('UN3169', { inhalationHazardZone: 'C' }), REP['3']()], rules, '49cfr').verdict).toBe('COMPATIBLE');
  });

  it('a 2.3 entry with no zone special provision at all (UN3539) takes a declared zone too', () => {
    expect(checkCompatibility([seg('UN3539'), REP['3']()], rules, '49cfr').verdict).toBe('INDETERMINATE');
    expect(only(checkCompatibility([seg('UN3539', { inhalationHazardZone: 'B' }), REP['3']()], rules, '49cfr')).code).toBe('O');
  });

  it('an undecided pair does not hide a prohibited one: X wins the verdict', () => {
    const r = checkCompatibility([seg('UN2794'), REP['4.1'](), REP['1.1/1.2']()], rules, '49cfr');
    expect(r.verdict).toBe('INCOMPATIBLE');
    // The battery's state also leaves its pair with the explosive open (1.1 with a Class 8 liquid is "X").
    expect(r.indeterminate.map((x) => x.items)).toEqual([[0, 1], [0, 2]]);
    expect(only(r)).toMatchObject({ items: [1, 2], code: 'X' });
  });
});

describe('what 177.848 does not reach (177.848(a))', () => {
  it('a limited quantity is not segregated: gasoline LQ with chlorine is compatible', () => {
    const r = checkCompatibility([seg('UN1203', { limitedQuantity: true }), seg('UN1017')], rules, '49cfr');
    expect(r.verdict).toBe('COMPATIBLE');
  });

  it('a limited-quantity claim the table does not back is ignored, with a note', () => {
    const r = checkCompatibility([seg('UN1089', { limitedQuantity: true }), seg('UN1017')], rules, '49cfr');
    expect(only(r).code).toBe('O');
    expect(r.notes).toEqual([
      {
        items: [0],
        message: 'items[0] is declared a limited quantity, but UN1089 is not eligible (172.101 column (8A) lists no exceptions): segregated as fully regulated',
        citation: '49 CFR 172.101(i)(8A)',
      },
    ]);
  });

  it('a combustible liquid carries no label: not in the table', () => {
    const r = checkCompatibility([seg('NA1993', { properShippingName: 'Combustible liquid, n.o.s.' }), REP['1.1/1.2']()], rules, '49cfr');
    expect(r.verdict).toBe('COMPATIBLE');
    expect(r.notes[0]?.citation).toBe('49 CFR 177.848(a)');
  });

  it('Class 9 and 6.2 are not in the table', () => {
    expect(checkCompatibility([seg('UN3082'), seg('UN3373'), REP['1.1/1.2']()], rules, '49cfr').verdict).toBe('COMPATIBLE');
  });
});
