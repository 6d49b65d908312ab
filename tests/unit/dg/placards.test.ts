import { describe, expect, it } from 'vitest';
import { determinePlacards } from '../../../domain/dangerous-goods/placards.js';
import type { PlacardItem, PlacardResult } from '../../../domain/dangerous-goods/placards.js';
import type { ItemQuery } from '../../../domain/dangerous-goods/catalogue.js';
import { entry } from './helpers.js';

function p(unNumber: string, extra: Omit<PlacardItem, 'entry'> & Omit<Partial<ItemQuery>, 'unNumber'> = {}): PlacardItem {
  const { packingGroup, properShippingName, hazardClass, inhalationHazardZone, variant, ...rest } = extra;
  return { ...rest, entry: entry(unNumber, { packingGroup, properShippingName, hazardClass, inhalationHazardZone, variant }, 'placards') };
}

const reason = (r: PlacardResult, criterion: string): PlacardResult['reasons'][number] | undefined => r.reasons.find((x) => x.criterion === criterion);
const met = (r: PlacardResult, criterion: string): boolean | null | undefined => reason(r, criterion)?.met;

const acid = (quantity: number, receptacleCapacity = 200): PlacardItem => p('UN1830', { packingGroup: 'II', quantity, unit: 'L', receptacleCapacity });

describe('ADG 7.x placard load', () => {
  it('exact output: 1,000 L of sulfuric acid in 200 L drums is a placard load on the aggregate (f)', () => {
    expect(determinePlacards([acid(1000)], 'adg')).toEqual({
      regime: 'adg',
      placardLoad: true,
      placards: [{ placard: 'CLASS 8 LABEL', hazardClass: '8', items: [0], required: true, citation: 'ADG 7.x 5.3 (placarding of placard loads)' }],
      alternatives: [],
      reasons: [
        { kind: 'criterion', criterion: 'adg-receptacle-over-500', met: false, message: 'no receptacle exceeds 500 L or 500 kg', citation: 'ADG 7.x 5.3.1 (placard load) (a)', items: [0] },
        { kind: 'criterion', criterion: 'adg-250-with-2.1-2.3-pg-i', met: false, message: 'no Division 2.1 (other than aerosols), Division 2.3 or Packing Group I goods', citation: 'ADG 7.x 5.3.1 (placard load) (b)', items: [] },
        { kind: 'criterion', criterion: 'adg-6.2-category-a', met: false, message: 'no Division 6.2 Category A infectious substances', citation: 'ADG 7.x 5.3.1 (placard load) (c)', items: [] },
        { kind: 'criterion', criterion: 'adg-6.2-category-b-10', met: false, message: 'no Division 6.2 Category B goods', citation: 'ADG 7.x 5.3.1 (placard load) (d)', items: [] },
        { kind: 'criterion', criterion: 'adg-limited-quantity-2000', met: false, message: 'no limited quantities or consumer commodities', citation: 'ADG 7.x 5.3.1 (placard load) (e)', items: [] },
        { kind: 'criterion', criterion: 'adg-aggregate-1000', met: true, message: 'aggregate quantity of 1000 kg/L (placard load at 1,000 or more)', citation: 'ADG 7.x 5.3.1 (placard load) (f)', items: [0] },
      ],
    });
  });

  it.each([
    [500, false],
    [500.1, true],
    [501, true],
  ])('(a) a receptacle of %s L: receptacle criterion met = %s (more than 500 L)', (capacity, expected) => {
    const r = determinePlacards([acid(100, capacity)], 'adg');
    expect(met(r, 'adg-receptacle-over-500')).toBe(expected);
    expect(r.placardLoad).toBe(expected);
  });

  it('(a) more than 500 kg in one receptacle counts too', () => {
    const r = determinePlacards([p('UN1486', { quantity: 501, unit: 'kg', receptacleCapacity: 501, receptacleUnit: 'kg' })], 'adg');
    expect(met(r, 'adg-receptacle-over-500')).toBe(true);
    expect(r.placards.map((x) => x.placard)).toEqual(['CLASS 5.1 LABEL', 'EMERGENCY INFORMATION PANEL']);
  });

  it.each([
    [249, false],
    [250, true],
    [251, true],
  ])('(b) Division 2.1 propane, aggregate %s L: placard load = %s (250 or more)', (q, expected) => {
    const r = determinePlacards([p('UN1978', { quantity: q, unit: 'L', receptacleCapacity: 45 })], 'adg');
    expect(met(r, 'adg-250-with-2.1-2.3-pg-i')).toBe(expected);
    expect(met(r, 'adg-aggregate-1000')).toBe(false);
    expect(r.placardLoad).toBe(expected);
  });

  it('(b) counts Class 2 by water capacity: 6 cylinders × 45 L = 270 L although only 100 kg of gas', () => {
    const r = determinePlacards([p('UN1978', { quantity: 100, unit: 'kg', receptacleCapacity: 45, receptacleUnit: 'L', receptacleCount: 6 })], 'adg');
    expect(reason(r, 'adg-250-with-2.1-2.3-pg-i')?.message).toBe('Division 2.1 (not aerosols), 2.3 or PG I goods with an aggregate of 270 kg/L (placard load at 250 or more)');
    expect(r.placardLoad).toBe(true);
  });

  it('(b) aerosols do not trigger the 250 threshold: 300 kg of flammable aerosols is not a placard load', () => {
    const r = determinePlacards([p('UN1950', { properShippingName: 'Aerosols, flammable, (each not exceeding 1 L capacity)', quantity: 300, unit: 'kg', receptacleCapacity: 1, receptacleUnit: 'L' })], 'adg');
    expect(met(r, 'adg-250-with-2.1-2.3-pg-i')).toBe(false);
    expect(r.placardLoad).toBe(false);
  });

  it.each([
    [249, false],
    [250, true],
  ])('(b) Packing Group I acetaldehyde, aggregate %s L: placard load = %s', (q, expected) => {
    expect(determinePlacards([p('UN1089', { quantity: q, unit: 'L', receptacleCapacity: 20 })], 'adg').placardLoad).toBe(expected);
  });

  it('(b) a 2.3 gas makes the whole load count from 250: 10 L chlorine + 240 L acid', () => {
    const r = determinePlacards([p('UN1017', { quantity: 10, unit: 'L', receptacleCapacity: 10 }), acid(240)], 'adg');
    expect(met(r, 'adg-250-with-2.1-2.3-pg-i')).toBe(true);
    expect(r.placards.map((x) => x.placard)).toEqual(['CLASS 2.3 LABEL', 'CLASS 8 LABEL']);
  });

  it('(c) any quantity of Division 6.2 Category A', () => {
    const r = determinePlacards([p('UN2814', { quantity: 0.05, unit: 'L', receptacleCapacity: 0.05 })], 'adg');
    expect(met(r, 'adg-6.2-category-a')).toBe(true);
    expect(r.placardLoad).toBe(true);
  });

  it.each([
    [9.99, false],
    [10, true],
    [10.01, true],
  ])('(d) %s kg of Division 6.2 Category B: placard load = %s (10 or more)', (q, expected) => {
    const r = determinePlacards([p('UN3373', { quantity: q, unit: 'kg', receptacleCapacity: 1, receptacleUnit: 'kg' })], 'adg');
    expect(met(r, 'adg-6.2-category-b-10')).toBe(expected);
    expect(r.placardLoad).toBe(expected);
  });

  it.each([
    [1999, false],
    [2000, true],
    [2001, true],
  ])('(e) %s L of limited quantities: placard load = %s (2,000 or more)', (q, expected) => {
    const r = determinePlacards([p('UN1090', { quantity: q, unit: 'L', limitedQuantity: true })], 'adg');
    expect(met(r, 'adg-limited-quantity-2000')).toBe(expected);
    expect(met(r, 'adg-aggregate-1000')).toBe(false);
    expect(r.placardLoad).toBe(expected);
    if (expected) expect(r.placards).toEqual([{ placard: 'LIMITED QUANTITY MARK', hazardClass: '', items: [0], required: true, citation: 'ADG 7.x 3.4 (limited quantity loads)' }]);
  });

  it('(e) limited quantities are counted separately: 1,500 L LQ + 900 L regulated is not a placard load', () => {
    const r = determinePlacards([p('UN1090', { quantity: 1500, unit: 'L', limitedQuantity: true }), acid(900)], 'adg');
    expect([met(r, 'adg-limited-quantity-2000'), met(r, 'adg-aggregate-1000'), r.placardLoad]).toEqual([false, false, false]);
  });

  it.each([
    [999, false],
    [1000, true],
    [1001, true],
  ])('(f) aggregate %s L: placard load = %s (1,000 or more)', (q, expected) => {
    const r = determinePlacards([acid(q)], 'adg');
    expect(met(r, 'adg-aggregate-1000')).toBe(expected);
    expect(r.placardLoad).toBe(expected);
  });

  it('unknown receptacle size leaves (a) open: placardLoad null with the missing field named', () => {
    const r = determinePlacards([p('UN1830', { packingGroup: 'II', quantity: 100, unit: 'L' })], 'adg');
    expect(r.placardLoad).toBeNull();
    expect(reason(r, 'adg-receptacle-over-500')?.missing).toEqual(['items[0].receptacleCapacity']);
  });

  it('a met criterion decides even when others are open', () => {
    expect(determinePlacards([p('UN1830', { packingGroup: 'II', quantity: 1200, unit: 'L' })], 'adg').placardLoad).toBe(true);
  });

  it('Class 1 and Class 7 are left to their own codes', () => {
    const r = determinePlacards([p('UN0081', { quantity: 2000, unit: 'kg', receptacleCapacity: 25, receptacleUnit: 'kg' })], 'adg');
    expect(r.placardLoad).toBe(false);
    expect(reason(r, 'adg-scope')).toMatchObject({ kind: 'exception', items: [0], citation: 'ADG 7.x 1.1 (scope)' });
  });
});

describe('49 CFR 172.504 / 172.505', () => {
  const gasoline = (grossMass: number, receptacleCapacity = 20): PlacardItem => p('UN1203', { quantity: grossMass, unit: 'L', grossMass, receptacleCapacity });

  it('Table 1 at any quantity: 1 kg of chlorine needs POISON GAS (exact output)', () => {
    expect(determinePlacards([p('UN1017', { quantity: 1, unit: 'kg', grossMass: 6, receptacleCapacity: 2, receptacleUnit: 'L' })], '49cfr')).toEqual({
      regime: '49cfr',
      placardLoad: true,
      placards: [{ placard: 'POISON GAS', hazardClass: '2.3', items: [0], required: true, citation: '49 CFR 172.504(e) Table 1' }],
      alternatives: [],
      reasons: [{ kind: 'criterion', criterion: '49cfr-table-1', met: true, message: 'Table 1 materials are placarded at any quantity', citation: '49 CFR 172.504(a), (e) Table 1', items: [0] }],
    });
  });

  it.each([
    ['UN1428', {}, 'DANGEROUS WHEN WET'],
    ['UN0081', {}, 'EXPLOSIVES 1.1'],
    ['UN0283', {}, 'EXPLOSIVES 1.2'],
    ['UN0327', {}, 'EXPLOSIVES 1.3'],
    ['UN3381', {}, 'POISON INHALATION HAZARD'],
    ['UN3111', {}, 'ORGANIC PEROXIDE'],
  ] as const)('Table 1: 1 kg of %s needs %s', (un, q, placard) => {
    const r = determinePlacards([p(un, { ...q, quantity: 1, unit: 'kg', grossMass: 2, receptacleCapacity: 1, receptacleUnit: 'kg' })], '49cfr');
    expect(r.placards.map((x) => [x.placard, x.required, x.citation])).toEqual([[placard, true, '49 CFR 172.504(e) Table 1']]);
  });

  it('Table 2 below 454 kg: 1 L of gasoline needs no placard, where 1 kg of chlorine (Table 1) does', () => {
    const r = determinePlacards([gasoline(2)], '49cfr');
    expect([r.placardLoad, r.placards]).toEqual([false, []]);
  });

  it.each([
    [453, false],
    [453.9, false],
    [454, true],
    [455, true],
  ])('Table 2 at %s kg aggregate gross weight: FLAMMABLE required = %s (172.504(c): 454 kg / 1,001 lb)', (gross, expected) => {
    const r = determinePlacards([gasoline(gross)], '49cfr');
    expect(met(r, '49cfr-table-2-454kg')).toBe(expected);
    expect(r.placards).toEqual(expected ? [{ placard: 'FLAMMABLE', hazardClass: '3', items: [0], required: true, citation: '49 CFR 172.504(e) Table 2' }] : []);
  });

  it('Table 2 aggregate is across classes: 300 kg gasoline + 200 kg acid needs FLAMMABLE and CORROSIVE, or DANGEROUS (172.504(b))', () => {
    const r = determinePlacards([gasoline(300), p('UN1830', { packingGroup: 'II', quantity: 180, unit: 'L', grossMass: 200, receptacleCapacity: 20 })], '49cfr');
    expect(r.placards.map((x) => x.placard)).toEqual(['FLAMMABLE', 'CORROSIVE']);
    expect(r.alternatives).toEqual([{ placard: 'DANGEROUS', replaces: ['FLAMMABLE', 'CORROSIVE'], citation: '49 CFR 172.504(b)' }]);
  });

  it('DANGEROUS may not replace a category of 1,000 kg or more', () => {
    const r = determinePlacards([gasoline(300), p('UN1830', { packingGroup: 'II', quantity: 900, unit: 'L', grossMass: 1000, receptacleCapacity: 200 })], '49cfr');
    expect(r.alternatives).toEqual([{ placard: 'DANGEROUS', replaces: ['FLAMMABLE'], citation: '49 CFR 172.504(b)' }]);
  });

  it('net kg is a lower bound on gross weight: 460 kg net decides; 300 kg net without gross weight cannot', () => {
    expect(determinePlacards([p('UN1830', { packingGroup: 'II', quantity: 460, unit: 'kg', receptacleCapacity: 200 })], '49cfr').placardLoad).toBe(true);
    const open = determinePlacards([p('UN1830', { packingGroup: 'II', quantity: 300, unit: 'kg', receptacleCapacity: 200 })], '49cfr');
    expect(open.placardLoad).toBeNull();
    expect(reason(open, '49cfr-table-2-454kg')?.missing).toEqual(['items[0].grossMass']);
  });

  it('bulk packagings are placarded at any quantity: 100 L of gasoline in a 1,000 L IBC', () => {
    const r = determinePlacards([p('UN1203', { quantity: 100, unit: 'L', grossMass: 150, receptacleCapacity: 1000 })], '49cfr');
    expect(r.placards).toEqual([{ placard: 'FLAMMABLE', hazardClass: '3', items: [0], required: true, citation: '49 CFR 172.504(a), (c) (bulk packaging)' }]);
  });

  it('Class 9 is not required domestically (172.504(f)(9)); required internationally', () => {
    const item = p('UN3082', { quantity: 500, unit: 'L', grossMass: 520, receptacleCapacity: 20 });
    expect(determinePlacards([item], '49cfr').placards).toEqual([{ placard: 'CLASS 9', hazardClass: '9', items: [0], required: false, citation: '49 CFR 172.504(f)(9)' }]);
    expect(determinePlacards([item], '49cfr').placardLoad).toBe(false);
    expect(determinePlacards([item], '49cfr', { domestic: false }).placards).toEqual([{ placard: 'CLASS 9', hazardClass: '9', items: [0], required: true, citation: '49 CFR 172.504(e) Table 2' }]);
  });

  it('6.1 PG III: POISON, which may show "PG III" (172.504(f)(10))', () => {
    const r = determinePlacards([p('UN2810', { packingGroup: 'III', quantity: 500, unit: 'L', grossMass: 520, receptacleCapacity: 20 })], '49cfr');
    expect(r.placards.map((x) => x.placard)).toEqual(['POISON']);
    expect(reason(r, '49cfr-6.1-pg-iii')).toMatchObject({ kind: 'note', citation: '49 CFR 172.504(f)(10)' });
  });

  it('combustible liquid: not placarded in non-bulk (172.500(b)(5)); COMBUSTIBLE in bulk', () => {
    const nonBulk = determinePlacards([p('NA1993', { properShippingName: 'Combustible liquid, n.o.s.', quantity: 900, unit: 'L', grossMass: 900, receptacleCapacity: 200 })], '49cfr');
    expect([nonBulk.placardLoad, reason(nonBulk, '49cfr-not-placarded')?.citation]).toEqual([false, '49 CFR 172.500(b)(5)']);
    const bulk = determinePlacards([p('NA1993', { properShippingName: 'Combustible liquid, n.o.s.', quantity: 900, unit: 'L', grossMass: 900, receptacleCapacity: 1000 })], '49cfr');
    expect(bulk.placards.map((x) => [x.placard, x.required])).toEqual([['COMBUSTIBLE', true]]);
  });

  it('infectious substances and limited quantities are outside the placarding subpart (172.500(b)(1), (b)(2))', () => {
    const r = determinePlacards(
      [p('UN3373', { quantity: 10, unit: 'kg', grossMass: 12, receptacleCapacity: 1, receptacleUnit: 'kg' }), p('UN1090', { quantity: 900, unit: 'L', grossMass: 1000, limitedQuantity: true })],
      '49cfr',
    );
    expect(r.placardLoad).toBe(false);
    expect(r.reasons.map((x) => x.citation)).toEqual(['49 CFR 172.500(b)(1)', '49 CFR 172.500(b)(2)']);
  });

  it('PIH in another class: bromine needs CORROSIVE at any quantity and POISON INHALATION HAZARD (172.505(a))', () => {
    const r = determinePlacards([p('UN1744', { properShippingName: 'Bromine', quantity: 1, unit: 'kg', grossMass: 3, receptacleCapacity: 1, receptacleUnit: 'L' })], '49cfr');
    expect(r.placards).toEqual([
      { placard: 'POISON INHALATION HAZARD', hazardClass: '8', items: [0], required: true, citation: '49 CFR 172.505(a)' },
      { placard: 'CORROSIVE', hazardClass: '8', items: [0], required: true, citation: '49 CFR 172.504(e) Table 2' },
    ]);
  });

  it('subsidiary dangerous when wet: DANGEROUS WHEN WET in addition (172.505(c))', () => {
    const r = determinePlacards([p('UN3094', { packingGroup: 'II', quantity: 10, unit: 'L', grossMass: 12, receptacleCapacity: 10 })], '49cfr');
    expect(r.placards.map((x) => [x.placard, x.citation])).toEqual([
      ['DANGEROUS WHEN WET', '49 CFR 172.505(c)'],
      ['CORROSIVE', '49 CFR 172.504(e) Table 2'],
    ]);
  });

  it('172.504(f)(3): NON-FLAMMABLE GAS may be omitted when FLAMMABLE GAS is displayed', () => {
    const r = determinePlacards(
      [p('UN1978', { quantity: 300, unit: 'kg', grossMass: 400, receptacleCapacity: 45, receptacleUnit: 'L' }), p('UN1066', { quantity: 50, unit: 'kg', grossMass: 100, receptacleCapacity: 50, receptacleUnit: 'L' })],
      '49cfr',
    );
    expect(r.placards.map((x) => [x.placard, x.required, x.citation])).toEqual([
      ['FLAMMABLE GAS', true, '49 CFR 172.504(e) Table 2'],
      ['NON-FLAMMABLE GAS', false, '49 CFR 172.504(f)(3)'],
    ]);
  });

  it('172.504(f)(1): only the lowest Class 1 division is required', () => {
    const r = determinePlacards([p('UN0081', { quantity: 10, unit: 'kg', grossMass: 12, bulk: false }), p('UN0327', { quantity: 10, unit: 'kg', grossMass: 12, bulk: false })], '49cfr');
    expect(r.placards.map((x) => [x.placard, x.required, x.citation])).toEqual([
      ['EXPLOSIVES 1.1', true, '49 CFR 172.504(e) Table 1'],
      ['EXPLOSIVES 1.3', false, '49 CFR 172.504(f)(1)'],
    ]);
  });

  it('172.504(f)(11): POISON may be omitted when POISON GAS is displayed (domestic)', () => {
    const r = determinePlacards([p('UN1017', { quantity: 50, unit: 'kg', grossMass: 120, bulk: false }), p('UN1689', { quantity: 450, unit: 'kg', grossMass: 480, receptacleCapacity: 50, receptacleUnit: 'kg' })], '49cfr');
    expect(r.placards.map((x) => [x.placard, x.required, x.citation])).toEqual([
      ['POISON GAS', true, '49 CFR 172.504(e) Table 1'],
      ['POISON', false, '49 CFR 172.504(f)(11)'],
    ]);
  });

  it('Class 7: RADIOACTIVE only for the Yellow-III label; an undeclared label is reported, not assumed', () => {
    const item = (radioactiveLabel?: 'II-YELLOW' | 'III-YELLOW'): PlacardItem => p('UN2915', { quantity: 5, unit: 'kg', grossMass: 20, bulk: false, radioactiveLabel });
    expect(determinePlacards([item('III-YELLOW')], '49cfr').placards.map((x) => x.placard)).toEqual(['RADIOACTIVE']);
    expect(determinePlacards([item('II-YELLOW')], '49cfr').placardLoad).toBe(false);
    const open = determinePlacards([item()], '49cfr');
    expect(open.placardLoad).toBeNull();
    expect(reason(open, '49cfr-radioactive-label')?.missing).toEqual(['items[0].radioactiveLabel']);
  });
});
