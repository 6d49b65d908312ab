import { describe, expect, it } from 'vitest';
import { MAX_ITEMS, parseCompatibilityRequest, parseLoad, resolveLoad } from '../../../domain/dangerous-goods/load.js';
import { catalogue } from './helpers.js';

const EXAMPLE = { items: [{ unNumber: 'UN1203', packingGroup: 'II', quantity: 200, unit: 'L', state: 'liquid', food: false, limitedQuantity: false, receptacleCapacity: 20 }] };

const errorsOf = (input: unknown): unknown => {
  const r = parseLoad(input);
  return r.ok ? 'accepted' : r.errors;
};

describe('load input validation', () => {
  it('accepts the documented example as given', () => {
    expect(parseLoad(EXAMPLE)).toEqual({ ok: true, value: EXAMPLE });
  });

  it('needs only unNumber, and normalises its spelling', () => {
    expect(parseLoad({ items: [{ unNumber: ' un 1203 ' }] })).toEqual({ ok: true, value: { items: [{ unNumber: 'UN1203' }] } });
  });

  it('accepts a food line without a UN number', () => {
    expect(parseLoad({ items: [{ food: true, quantity: 300, unit: 'kg' }] }).ok).toBe(true);
  });

  it.each([
    ['negative quantity', { unNumber: 'UN1203', quantity: -5, unit: 'L' }, 'items[0].quantity', 'Too small: expected number to be >0'],
    ['zero quantity', { unNumber: 'UN1203', quantity: 0, unit: 'L' }, 'items[0].quantity', 'Too small: expected number to be >0'],
    ['absurd quantity', { unNumber: 'UN1203', quantity: 200_001, unit: 'L' }, 'items[0].quantity', 'Too big: expected number to be <=200000'],
    ['quantity as text', { unNumber: 'UN1203', quantity: '5', unit: 'L' }, 'items[0].quantity', 'Invalid input: expected number, received string'],
    ['unit not kg or L', { unNumber: 'UN1203', quantity: 5, unit: 'lb' }, 'items[0].unit', 'Invalid option: expected one of "kg"|"L"'],
    ['a solid in litres', { unNumber: 'UN1689', quantity: 5, unit: 'L', state: 'solid' }, 'items[0].unit', 'a solid is declared by mass: use kg'],
    ['quantity without unit', { unNumber: 'UN1203', quantity: 5 }, 'items[0].unit', 'is required with quantity (kg or L)'],
    ['unit without quantity', { unNumber: 'UN1203', unit: 'L' }, 'items[0].quantity', 'is required with unit'],
    ['more than the receptacles hold', { unNumber: 'UN1203', quantity: 50, unit: 'L', receptacleCapacity: 20, receptacleCount: 2 }, 'items[0].quantity', 'exceeds receptacleCount × receptacleCapacity (2 × 20 L)'],
    ['gross below net', { unNumber: 'UN1830', quantity: 50, unit: 'kg', grossMass: 40 }, 'items[0].grossMass', 'is less than the net quantity in kg'],
    ['fractional receptacle count', { unNumber: 'UN1203', quantity: 5, unit: 'L', receptacleCapacity: 20, receptacleCount: 1.5 }, 'items[0].receptacleCount', 'Invalid input: expected int, received number'],
    ['capacity with no unit anywhere', { unNumber: 'UN1203', receptacleCapacity: 20 }, 'items[0].receptacleUnit', 'is required with receptacleCapacity when no unit is given'],
    ['bad UN number', { unNumber: '1203' }, 'items[0].unNumber', 'must be an identification number such as UN1203, NA1993 or ID8000'],
    ['missing UN number', { quantity: 5, unit: 'kg' }, 'items[0].unNumber', 'is required (only food/food packaging lines, "food": true, may omit it)'],
    ['DG field on a food line', { food: true, packingGroup: 'II' }, 'items[0].packingGroup', 'applies to dangerous goods only; this line has no unNumber'],
    ['unknown field', { unNumber: 'UN1203', colour: 'red' }, 'items[0].colour', 'is not a recognised field'],
    ["driver's own food on a DG line", { unNumber: 'UN1203', driversOwnFood: true }, 'items[0].driversOwnFood', 'applies to food lines only ("food": true)'],
    ['empty overpack id', { unNumber: 'UN1203', overpack: ' ' }, 'items[0].overpack', 'Too small: expected string to have >=1 characters'],
    ['bad packing group', { unNumber: 'UN1203', packingGroup: 'IV' }, 'items[0].packingGroup', 'Invalid option: expected one of "I"|"II"|"III"'],
  ])('rejects %s with a field-level error', (_, item, field, message) => {
    expect(errorsOf({ items: [item] })).toEqual([{ path: field.replace(/\[(\d+)\]/g, '.$1').split('.').map((x) => (/^\d+$/.test(x) ? Number(x) : x)), field, message }]);
  });

  it("accepts overpack ids and the driver's own food", () => {
    const load = { items: [{ unNumber: 'UN1203', overpack: 'P1' }, { unNumber: 'UN1090', overpack: 'P1' }, { food: true, driversOwnFood: true }] };
    expect(parseLoad(load)).toEqual({ ok: true, value: load });
  });

  it('a compatibility request may name its regime; a load for placards may not', () => {
    expect(parseCompatibilityRequest({ regime: '49cfr', ...EXAMPLE })).toEqual({ ok: true, value: { regime: '49cfr', ...EXAMPLE } });
    expect(parseCompatibilityRequest({ regime: 'uk', ...EXAMPLE })).toEqual({ ok: false, errors: [{ path: ['regime'], field: 'regime', message: 'Invalid option: expected one of "adg"|"49cfr"' }] });
    expect(errorsOf({ regime: 'adg', ...EXAMPLE })).toEqual([{ path: ['regime'], field: 'regime', message: 'is not a recognised field' }]);
  });

  it('points at the right item in a longer list', () => {
    const items = [{ unNumber: 'UN1203' }, { unNumber: 'UN1090' }, { unNumber: 'UN1830', quantity: -1, unit: 'L' }];
    expect(errorsOf({ items })).toEqual([{ path: ['items', 2, 'quantity'], field: 'items[2].quantity', message: 'Too small: expected number to be >0' }]);
  });

  it('rejects unknown top-level fields', () => {
    expect(errorsOf({ ...EXAMPLE, vehicle: 'T-1' })).toEqual([{ path: ['vehicle'], field: 'vehicle', message: 'is not a recognised field' }]);
  });

  it.each([
    [{}, [{ path: ['items'], field: 'items', message: 'is required' }]],
    [{ items: [] }, [{ path: ['items'], field: 'items', message: 'must hold at least one item' }]],
    [{ items: {} }, [{ path: ['items'], field: 'items', message: 'must be an array of items' }]],
    [[1, 2], [{ path: [], field: '(root)', message: 'Invalid input: expected object, received array' }]],
  ])('rejects a malformed load %j', (input, expected) => {
    expect(errorsOf(input)).toEqual(expected);
  });

  it(`accepts ${MAX_ITEMS} items and rejects ${MAX_ITEMS + 1}`, () => {
    expect(parseLoad({ items: Array.from({ length: MAX_ITEMS }, () => ({ unNumber: 'UN1203' })) }).ok).toBe(true);
    expect(errorsOf({ items: Array.from({ length: MAX_ITEMS + 1 }, () => ({ unNumber: 'UN1203' })) })).toEqual([
      { path: ['items'], field: 'items', message: 'must hold at most 1000 items (got 1001)' },
    ]);
  });

  it('rejects 10,000 items with one error, before looking at any item', () => {
    const items = Array.from({ length: 10_000 }, () => ({ unNumber: 'not a UN number', quantity: -1 }));
    expect(errorsOf({ items })).toEqual([{ path: ['items'], field: 'items', message: 'must hold at most 1000 items (got 10000)' }]);
  });
});

describe('resolveLoad', () => {
  const load = (items: unknown[]) => {
    const r = parseLoad({ items });
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    return r.value;
  };

  it('resolves each item to its entry and keeps the declared fields', () => {
    const r = resolveLoad(catalogue, load(EXAMPLE.items));
    expect(r.ok && r.items.map((i) => [i.index, i.entry?.idNumber, i.entry?.properShippingName, i.quantity, i.exact])).toEqual([
      [0, 'UN1203', 'Gasoline includes gasoline mixed with ethyl alcohol, with not more than 10% alcohol', 200, true],
    ]);
  });

  it('reports every unresolvable item with its field', () => {
    const r = resolveLoad(catalogue, load([{ unNumber: 'UN9999' }, { unNumber: 'UN1203', packingGroup: 'I' }, { unNumber: 'UN1203' }]));
    expect(r.ok ? null : r.problems.map((p) => [p.index, p.field, p.message])).toEqual([
      [0, 'items[0].unNumber', 'UN9999 is not in the 49 CFR 172.101 Hazardous Materials Table'],
      [1, 'items[1].packingGroup', 'UN1203: packing group I is not assigned to this entry (172.101 column (5): II)'],
    ]);
  });

  it('refuses litres for an entry the catalogue knows to be a solid', () => {
    const r = resolveLoad(catalogue, load([{ unNumber: 'UN1689', quantity: 5, unit: 'L' }]));
    expect(r.ok ? null : r.problems.map((p) => [p.field, p.message])).toEqual([
      ['items[0].unit', 'UN1689 Sodium cyanide, solid is a solid (172.101 column (8B): non-bulk packaging 49 CFR 173.211 is for solids): declare it in kg'],
    ]);
  });

  it('a food line resolves to no entry', () => {
    const r = resolveLoad(catalogue, load([{ food: true }]));
    expect(r.ok && r.items[0]?.entry).toBeNull();
  });
});
