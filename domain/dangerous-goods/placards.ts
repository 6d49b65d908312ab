// Placarding of a load under two regimes: the ADG 7.x "placard load" test (Australia) and
// 49 CFR 172.504/172.505 (United States). Each criterion is reported with whether it was met,
// and a criterion the data cannot settle is reported as unknown (met: null), never assumed.
import type { CatalogueEntry, PhysicalState } from './catalogue.js';
import type { Unit } from './load.js';
import { limitedQuantitySource } from './regime.js';
import type { Regime } from './regime.js';

export interface PlacardItem {
  readonly entry: CatalogueEntry | null;
  readonly quantity?: number | undefined;
  readonly unit?: Unit | undefined;
  /** kg; 49 CFR 172.504(c) counts aggregate gross weight. */
  readonly grossMass?: number | undefined;
  readonly receptacleCapacity?: number | undefined;
  readonly receptacleUnit?: Unit | undefined;
  readonly receptacleCount?: number | undefined;
  readonly limitedQuantity?: boolean | undefined;
  readonly bulk?: boolean | undefined;
  readonly state?: PhysicalState | undefined;
  readonly radioactiveLabel?: 'I-WHITE' | 'II-YELLOW' | 'III-YELLOW' | undefined;
}

export interface Placard {
  readonly placard: string;
  readonly hazardClass: string;
  readonly items: readonly number[];
  /** false: an exception lets the carrier omit it (the citation names the exception). */
  readonly required: boolean;
  readonly citation: string;
}

export interface PlacardAlternative {
  readonly placard: string;
  readonly replaces: readonly string[];
  readonly citation: string;
}

export interface PlacardReason {
  /** criterion: a test of the regime; exception: a rule that takes a line or placard out; note: context. */
  readonly kind: 'criterion' | 'exception' | 'note';
  readonly criterion: string;
  /** null: the data given cannot settle it (see missing). */
  readonly met: boolean | null;
  readonly message: string;
  readonly citation: string;
  readonly items?: readonly number[];
  readonly missing?: readonly string[];
}

export interface PlacardResult {
  readonly regime: Regime;
  /** ADG: the load is a placard load; 49 CFR: at least one placard is required. null: cannot be decided. */
  readonly placardLoad: boolean | null;
  readonly placards: readonly Placard[];
  readonly alternatives: readonly PlacardAlternative[];
  readonly reasons: readonly PlacardReason[];
}

export interface PlacardOptions {
  /** 49 CFR: domestic (US-only) transportation, where 172.504(f)(8), (f)(9) and (f)(11) apply. Default true. */
  readonly domestic?: boolean;
}

export function determinePlacards(items: readonly PlacardItem[], regime: Regime, options: PlacardOptions = {}): PlacardResult {
  const r = regime === 'adg' ? adg(items) : cfr49(items, options.domestic ?? true);
  return { ...r, reasons: r.reasons.map((x) => ({ kind: REASON_KIND[x.criterion] ?? 'criterion', ...x })) };
}

type Draft = Omit<PlacardReason, 'kind'>;
type DraftResult = Omit<PlacardResult, 'reasons'> & { reasons: Draft[] };

const REASON_KIND: Readonly<Record<string, PlacardReason['kind']>> = {
  'adg-scope': 'exception',
  'limited-quantity-claim': 'note',
  'limited-quantity-source': 'note',
  'adg-gas-capacity': 'note',
  '49cfr-not-placarded': 'exception',
  '49cfr-gross-weight': 'note',
  '49cfr-6.1-pg-iii': 'note',
  '49cfr-undecided': 'note',
};

function lqClaimNote(indexes: number[], regime: Regime): Draft {
  return {
    criterion: 'limited-quantity-claim',
    met: null,
    message: 'declared limited quantity, but 172.101 does not confirm the entry is eligible: treated as fully regulated',
    citation: limitedQuantitySource(regime),
    items: indexes,
  };
}

// A running total where some lines may be unknown: a lower bound plus the lines that are missing.
class Total {
  sum = 0;
  readonly missing: string[] = [];
  readonly items: number[] = [];
  /** exact=false: value is only a lower bound (net kg standing in for gross weight). */
  add(index: number, value: number | undefined, field: string, exact = true): void {
    this.items.push(index);
    if (value !== undefined) this.sum += value;
    if (value === undefined || !exact) this.missing.push(`items[${index}].${field}`);
  }
  /** true/false when decided, null when the known part is below the threshold and lines are missing. */
  atLeast(threshold: number): boolean | null {
    if (this.sum >= threshold) return true;
    return this.missing.length > 0 ? null : false;
  }
}

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Math.round(n * 1000) / 1000);
}

function honouredLimitedQuantity(item: PlacardItem, e: CatalogueEntry): boolean {
  return item.limitedQuantity === true && e.limitedQuantityEligible.value === true;
}

// ---------------------------------------------------------------------------------------------
// ADG 7.x
// ---------------------------------------------------------------------------------------------

const ADG_PL = 'ADG 7.x 5.3.1 (placard load)';

function adg(items: readonly PlacardItem[]): DraftResult {
  const reasons: Draft[] = [];
  const otherCodes: number[] = [];
  const lqNotHonoured: number[] = [];
  const regulated: number[] = [];
  const limited = new Total();
  const limitedByTable: number[] = [];
  const aggregate = new Total();
  const categoryB = new Total();
  const categoryA: number[] = [];
  const highHazard: number[] = [];
  const overFiveHundred: number[] = [];
  const receptacleUnknown: string[] = [];
  const gasInKg: number[] = [];

  items.forEach((item, i) => {
    const e = item.entry;
    if (e === null) return;
    if (e.classNumber === 1 || e.classNumber === 7) {
      otherCodes.push(i);
      return;
    }
    if (honouredLimitedQuantity(item, e) || e.flags.consumerCommodity) {
      if (!e.flags.consumerCommodity) limitedByTable.push(i);
      limited.add(i, item.quantity, 'quantity');
      return;
    }
    if (item.limitedQuantity === true) lqNotHonoured.push(i);
    regulated.push(i);
    // Aggregate quantity counts kg of solids and articles, kg or L of liquids as documented, and
    // the water capacity in L of Class 2 receptacles other than aerosols.
    let amount = item.quantity;
    if (e.classNumber === 2 && !e.flags.aerosol) {
      if (item.receptacleCapacity !== undefined && item.receptacleCount !== undefined && (item.receptacleUnit ?? item.unit) === 'L') {
        amount = item.receptacleCapacity * item.receptacleCount;
      } else if (item.unit === 'kg') gasInKg.push(i);
    }
    aggregate.add(i, amount, 'quantity');
    if ((e.hazardClass === '2.1' && !e.flags.aerosol) || e.hazardClass === '2.3' || e.packingGroup === 'I') highHazard.push(i);
    if (e.hazardClass === '6.2') {
      if (e.flags.infectiousCategoryA) categoryA.push(i);
      else categoryB.add(i, item.quantity, 'quantity');
    }
    if (item.receptacleCapacity === undefined) receptacleUnknown.push(`items[${i}].receptacleCapacity`);
    else if (item.receptacleCapacity > 500) overFiveHundred.push(i);
  });

  if (otherCodes.length > 0) {
    reasons.push({
      criterion: 'adg-scope',
      met: null,
      message: 'Class 1 and Class 7 goods are placarded under the Australian Explosives Code and the radioactive material transport code, not the ADG placard-load test; they are left out of it',
      citation: 'ADG 7.x 1.1 (scope)',
      items: otherCodes,
    });
  }
  if (lqNotHonoured.length > 0) reasons.push(lqClaimNote(lqNotHonoured, 'adg'));
  if (limitedByTable.length > 0) {
    reasons.push({
      criterion: 'limited-quantity-source',
      met: true,
      message: 'limited-quantity eligibility is read from 49 CFR 172.101 column (8A)',
      citation: limitedQuantitySource('adg'),
      items: limitedByTable,
    });
  }
  if (gasInKg.length > 0) {
    reasons.push({
      criterion: 'adg-gas-capacity',
      met: null,
      message: 'Class 2 goods declared in kg: the aggregate counts receptacle water capacity in L, so the declared kg are used as given; declare receptacleCapacity (L) and receptacleCount for an exact figure',
      citation: 'ADG 7.x 1.2.1 (aggregate quantity)',
      items: gasInKg,
    });
  }

  const a: boolean | null = overFiveHundred.length > 0 ? true : receptacleUnknown.length > 0 ? null : false;
  reasons.push({
    criterion: 'adg-receptacle-over-500',
    met: a,
    message:
      a === true
        ? 'a receptacle has a capacity of more than 500 L or holds more than 500 kg'
        : a === false
          ? 'no receptacle exceeds 500 L or 500 kg'
          : 'receptacle capacities are not all known',
    citation: `${ADG_PL} (a)`,
    items: a === true ? overFiveHundred : regulated,
    ...(a === null ? { missing: receptacleUnknown } : {}),
  });

  const b: boolean | null = highHazard.length === 0 ? false : aggregate.atLeast(250);
  reasons.push({
    criterion: 'adg-250-with-2.1-2.3-pg-i',
    met: b,
    message:
      highHazard.length === 0
        ? 'no Division 2.1 (other than aerosols), Division 2.3 or Packing Group I goods'
        : `Division 2.1 (not aerosols), 2.3 or PG I goods with an aggregate of ${fmt(aggregate.sum)} kg/L${aggregate.missing.length > 0 ? ' known so far' : ''} (placard load at 250 or more)`,
    citation: `${ADG_PL} (b)`,
    items: highHazard,
    ...(b === null ? { missing: aggregate.missing } : {}),
  });

  const c = categoryA.length > 0;
  reasons.push({
    criterion: 'adg-6.2-category-a',
    met: c,
    message: c ? 'Division 6.2 Category A infectious substances are in the load (any quantity)' : 'no Division 6.2 Category A infectious substances',
    citation: `${ADG_PL} (c)`,
    items: categoryA,
  });

  const d: boolean | null = categoryB.items.length === 0 ? false : categoryB.atLeast(10);
  reasons.push({
    criterion: 'adg-6.2-category-b-10',
    met: d,
    message:
      categoryB.items.length === 0
        ? 'no Division 6.2 Category B goods'
        : `${fmt(categoryB.sum)} kg/L of Division 6.2 Category B goods (placard load at 10 or more)`,
    citation: `${ADG_PL} (d)`,
    items: categoryB.items,
    ...(d === null ? { missing: categoryB.missing } : {}),
  });

  const lqMet: boolean | null = limited.items.length === 0 ? false : limited.atLeast(2000);
  reasons.push({
    criterion: 'adg-limited-quantity-2000',
    met: lqMet,
    message:
      limited.items.length === 0
        ? 'no limited quantities or consumer commodities'
        : `${fmt(limited.sum)} kg/L of limited quantities and consumer commodities, counted separately (placard load at 2,000 or more)`,
    citation: `${ADG_PL} (e)`,
    items: limited.items,
    ...(lqMet === null ? { missing: limited.missing } : {}),
  });

  const f: boolean | null = regulated.length === 0 ? false : aggregate.atLeast(1000);
  reasons.push({
    criterion: 'adg-aggregate-1000',
    met: f,
    message: `aggregate quantity of ${fmt(aggregate.sum)} kg/L${aggregate.missing.length > 0 ? ' known so far' : ''} (placard load at 1,000 or more)`,
    citation: `${ADG_PL} (f)`,
    items: regulated,
    ...(f === null ? { missing: aggregate.missing } : {}),
  });

  const results = [a, b, c, d, lqMet, f];
  const placardLoad = results.includes(true) ? true : results.includes(null) ? null : false;

  const placards: Placard[] = [];
  if (placardLoad === true) {
    const byClass = new Map<string, number[]>();
    for (const i of regulated) {
      const e = (items[i] as PlacardItem).entry as CatalogueEntry;
      const cls = e.hazardClass ?? e.hazardClassRaw;
      const list = byClass.get(cls);
      if (list) list.push(i);
      else byClass.set(cls, [i]);
    }
    for (const [cls, idx] of [...byClass].sort(([x], [y]) => classOrder(x) - classOrder(y))) {
      placards.push({ placard: `CLASS ${cls} LABEL`, hazardClass: cls, items: idx, required: true, citation: 'ADG 7.x 5.3 (placarding of placard loads)' });
    }
    if (overFiveHundred.length > 0) {
      placards.push({ placard: 'EMERGENCY INFORMATION PANEL', hazardClass: '', items: overFiveHundred, required: true, citation: 'ADG 7.x 5.3 (receptacles over 500 L or 500 kg)' });
    }
    if (lqMet === true) {
      placards.push({ placard: 'LIMITED QUANTITY MARK', hazardClass: '', items: limited.items, required: true, citation: 'ADG 7.x 3.4 (limited quantity loads)' });
    }
  }
  return { regime: 'adg', placardLoad, placards, alternatives: [], reasons };
}

function classOrder(cls: string): number {
  const n = Number.parseFloat(cls);
  return Number.isNaN(n) ? 99 : n;
}

// ---------------------------------------------------------------------------------------------
// 49 CFR 172.504 / 172.505
// ---------------------------------------------------------------------------------------------

const TABLE_2_NAMES: Readonly<Record<string, string>> = {
  '1.4': 'EXPLOSIVES 1.4',
  '1.5': 'EXPLOSIVES 1.5',
  '1.6': 'EXPLOSIVES 1.6',
  '2.1': 'FLAMMABLE GAS',
  '2.2': 'NON-FLAMMABLE GAS',
  '3': 'FLAMMABLE',
  'Comb liq': 'COMBUSTIBLE',
  '4.1': 'FLAMMABLE SOLID',
  '4.2': 'SPONTANEOUSLY COMBUSTIBLE',
  '5.1': 'OXIDIZER',
  '5.2': 'ORGANIC PEROXIDE',
  '6.1': 'POISON',
  '8': 'CORROSIVE',
  '9': 'CLASS 9',
};

const PLACARD_ORDER = [
  'EXPLOSIVES 1.1', 'EXPLOSIVES 1.2', 'EXPLOSIVES 1.3', 'POISON GAS', 'DANGEROUS WHEN WET', 'ORGANIC PEROXIDE', 'POISON INHALATION HAZARD', 'RADIOACTIVE',
  'EXPLOSIVES 1.4', 'EXPLOSIVES 1.5', 'EXPLOSIVES 1.6', 'FLAMMABLE GAS', 'NON-FLAMMABLE GAS', 'FLAMMABLE', 'COMBUSTIBLE', 'FLAMMABLE SOLID',
  'SPONTANEOUSLY COMBUSTIBLE', 'OXIDIZER', 'POISON', 'CORROSIVE', 'CLASS 9',
];

interface Need {
  placard: string;
  hazardClass: string;
  item: number;
  /** true required, null undecided, false listed but may be omitted. */
  required: boolean | null;
  citation: string;
}

/** 49 CFR 171.8 "bulk packaging": liquid > 450 L; solid > 400 kg and > 450 L; gas > 454 kg water capacity. */
function isBulk(item: PlacardItem, e: CatalogueEntry): boolean | null {
  if (item.bulk !== undefined) return item.bulk;
  const cap = item.receptacleCapacity;
  if (cap === undefined) return null;
  if (cap <= 400) return false;
  const capUnit = item.receptacleUnit ?? item.unit;
  const state = e.physicalState.value ?? item.state ?? null;
  if (state === 'gas') return cap > 454;
  if (state === 'liquid') return capUnit === 'L' ? cap > 450 : null;
  return null;
}

function cfr49(items: readonly PlacardItem[], domestic: boolean): DraftResult {
  const reasons: Draft[] = [];
  const lqNotHonoured: number[] = [];
  const table1Items: number[] = [];
  const needs: Need[] = [];
  const table2 = new Total();
  const table2Items: { index: number; placard: string; bulk: boolean | null; subject505: boolean }[] = [];
  const perPlacardWeight = new Map<string, Total>();
  const excluded: { index: number; why: string; citation: string }[] = [];
  const uf6 = new Total();
  const pgIII: number[] = [];
  const volumeOnly: number[] = [];

  items.forEach((item, i) => {
    const e = item.entry;
    if (e === null) return;
    if (e.hazardClass === '6.2') {
      excluded.push({ index: i, why: 'infectious substances are not placarded', citation: '49 CFR 172.500(b)(1)' });
      return;
    }
    if (honouredLimitedQuantity(item, e)) {
      excluded.push({ index: i, why: 'limited quantity', citation: '49 CFR 172.500(b)(2)' });
      return;
    }
    if (item.limitedQuantity === true) lqNotHonoured.push(i);
    const bulk = isBulk(item, e);
    if (e.combustibleLiquid && bulk === false) {
      excluded.push({ index: i, why: 'combustible liquid in non-bulk packaging', citation: '49 CFR 172.500(b)(5)' });
      return;
    }
    const hc = e.hazardClass ?? e.hazardClassRaw;
    const pih = e.inhalationHazard.pih;
    // Gross weight is known when declared; kg net is a lower bound; litres say nothing about mass.
    const weight = item.grossMass ?? (item.unit === 'kg' ? item.quantity : undefined);
    const exactWeight = item.grossMass !== undefined;
    if (!exactWeight && item.unit === 'L') volumeOnly.push(i);

    // 172.505: placards in addition to 172.504, at any quantity; such materials also lose the
    // 172.504(c) 454 kg exception.
    let subject505 = false;
    if (pih && hc !== '2.3' && hc !== '6.1') {
      subject505 = true;
      needs.push({ placard: 'POISON INHALATION HAZARD', hazardClass: hc, item: i, required: true, citation: '49 CFR 172.505(a)' });
    }
    if (e.subsidiaryRisks.includes('4.3') && hc !== '4.3') {
      subject505 = true;
      needs.push({ placard: 'DANGEROUS WHEN WET', hazardClass: '4.3', item: i, required: true, citation: '49 CFR 172.505(c)' });
    }
    if (e.flags.uraniumHexafluoride) {
      subject505 = true;
      uf6.add(i, weight, 'grossMass', exactWeight);
    }

    // Table 1: any quantity.
    let table1: string | null = null;
    if (hc === '1.1' || hc === '1.2' || hc === '1.3') table1 = `EXPLOSIVES ${hc}`;
    else if (hc === '2.3') table1 = 'POISON GAS';
    else if (hc === '4.3') table1 = 'DANGEROUS WHEN WET';
    else if (hc === '5.2' && e.flags.organicPeroxideTypeBTemperatureControlled) table1 = 'ORGANIC PEROXIDE';
    else if (hc === '6.1' && pih) table1 = 'POISON INHALATION HAZARD';
    else if (e.classNumber === 7) {
      if (item.radioactiveLabel === 'III-YELLOW') table1 = 'RADIOACTIVE';
      else if (item.radioactiveLabel === undefined && e.labels.includes('7')) {
        needs.push({ placard: 'RADIOACTIVE', hazardClass: '7', item: i, required: null, citation: '49 CFR 172.504(e) Table 1' });
        reasons.push({
          criterion: '49cfr-radioactive-label',
          met: null,
          message: `items[${i}]: the RADIOACTIVE placard is required only for packages bearing the RADIOACTIVE YELLOW-III label; the label is not declared`,
          citation: '49 CFR 172.504(e) Table 1',
          items: [i],
          missing: [`items[${i}].radioactiveLabel`],
        });
        return;
      } else {
        reasons.push({
          criterion: '49cfr-radioactive-label',
          met: false,
          message: `items[${i}]: ${item.radioactiveLabel ?? 'excepted package, no label'}: no RADIOACTIVE placard (Yellow-III label only)`,
          citation: '49 CFR 172.504(e) Table 1',
          items: [i],
        });
        return;
      }
    }
    if (table1 !== null) {
      needs.push({ placard: table1, hazardClass: hc, item: i, required: true, citation: '49 CFR 172.504(e) Table 1' });
      table1Items.push(i);
      return;
    }

    const name = TABLE_2_NAMES[hc];
    if (name === undefined) {
      reasons.push({ criterion: '49cfr-class', met: null, message: `items[${i}]: ${e.idNumber} has no hazard class in 172.101 to placard by`, citation: '49 CFR 172.504(e)', items: [i] });
      return;
    }
    if (hc === '6.1' && e.packingGroup === 'III') pgIII.push(i);
    table2.add(i, weight, 'grossMass', exactWeight);
    let per = perPlacardWeight.get(name);
    if (!per) {
      per = new Total();
      perPlacardWeight.set(name, per);
    }
    per.add(i, weight, 'grossMass', exactWeight);
    table2Items.push({ index: i, placard: name, bulk, subject505 });
  });

  if (lqNotHonoured.length > 0) reasons.push(lqClaimNote(lqNotHonoured, '49cfr'));
  if (table1Items.length > 0) {
    reasons.push({ criterion: '49cfr-table-1', met: true, message: 'Table 1 materials are placarded at any quantity', citation: '49 CFR 172.504(a), (e) Table 1', items: table1Items });
  }
  for (const x of excluded) {
    reasons.push({ criterion: '49cfr-not-placarded', met: false, message: `items[${x.index}]: ${x.why}: the placarding subpart does not apply`, citation: x.citation, items: [x.index] });
  }
  if (volumeOnly.length > 0) {
    reasons.push({
      criterion: '49cfr-gross-weight',
      met: null,
      message: 'declared by volume without grossMass: the line cannot count toward the 454 kg gross weight',
      citation: '49 CFR 172.504(c)',
      items: volumeOnly,
    });
  }

  // 172.504(c): Table 2 placards are not required under 454 kg aggregate gross weight, except
  // for bulk packagings and materials subject to 172.505.
  let aggregateMet: boolean | null = false;
  if (table2Items.length > 0) {
    aggregateMet = table2.atLeast(454);
    const partial = table2.missing.length > 0 && aggregateMet !== true;
    reasons.push({
      criterion: '49cfr-table-2-454kg',
      met: aggregateMet,
      message: `Table 2 materials: ${fmt(table2.sum)} kg aggregate gross weight${partial ? ' known (some lines give no gross weight)' : ''}; Table 2 placards are required at 454 kg (1,001 lb) or more`,
      citation: '49 CFR 172.504(c)',
      items: table2.items,
      ...(aggregateMet === null ? { missing: table2.missing } : {}),
    });
    for (const t of table2Items) {
      const e = (items[t.index] as PlacardItem).entry as CatalogueEntry;
      const hc = e.hazardClass ?? e.hazardClassRaw;
      let required: boolean | null;
      let citation = '49 CFR 172.504(e) Table 2';
      if (t.bulk === true) {
        required = true;
        citation = '49 CFR 172.504(a), (c) (bulk packaging)';
      } else if (t.subject505) required = true;
      else if (aggregateMet === true) required = true;
      else if (aggregateMet === null || t.bulk === null) required = null;
      else required = false;
      if (required === false) continue;
      if (hc === '9' && domestic) {
        needs.push({ placard: t.placard, hazardClass: hc, item: t.index, required: false, citation: '49 CFR 172.504(f)(9)' });
        continue;
      }
      if (hc === 'Comb liq' && t.bulk !== true) {
        // Only a bulk combustible liquid is placarded (172.500(b)(5)); undecided bulk stays undecided.
        needs.push({ placard: t.placard, hazardClass: hc, item: t.index, required: null, citation: '49 CFR 172.500(b)(5)' });
        continue;
      }
      needs.push({ placard: t.placard, hazardClass: hc, item: t.index, required, citation });
    }
    const bulkUnknown = table2Items.filter((t) => t.bulk === null && aggregateMet !== true && !t.subject505);
    if (bulkUnknown.length > 0) {
      reasons.push({
        criterion: '49cfr-bulk',
        met: null,
        message: 'whether these lines are in bulk packagings (49 CFR 171.8) is not known: a bulk packaging is placarded at any quantity',
        citation: '49 CFR 172.504(c)',
        items: bulkUnknown.map((t) => t.index),
        missing: bulkUnknown.map((t) => `items[${t.index}].bulk`),
      });
    }
  }

  if (uf6.items.length > 0) {
    const met = uf6.atLeast(454);
    reasons.push({
      criterion: '49cfr-uranium-hexafluoride',
      met,
      message: `uranium hexafluoride: ${fmt(uf6.sum)} kg gross; CORROSIVE and POISON placards at 454 kg or more`,
      citation: '49 CFR 172.505(b)',
      items: uf6.items,
      ...(met === null ? { missing: uf6.missing } : {}),
    });
    if (met !== false) {
      for (const i of uf6.items) {
        needs.push({ placard: 'CORROSIVE', hazardClass: '8', item: i, required: met, citation: '49 CFR 172.505(b)' });
        needs.push({ placard: 'POISON', hazardClass: '6.1', item: i, required: met, citation: '49 CFR 172.505(b)' });
      }
    }
  }

  // Merge per placard name; a placard is as required as its most-required line.
  const merged = new Map<string, { hazardClass: string; items: number[]; required: boolean | null; citation: string }>();
  for (const n of needs) {
    const m = merged.get(n.placard);
    if (!m) merged.set(n.placard, { hazardClass: n.hazardClass, items: [n.item], required: n.required, citation: n.citation });
    else {
      if (!m.items.includes(n.item)) m.items.push(n.item);
      if (rankRequired(n.required) > rankRequired(m.required)) {
        m.required = n.required;
        m.citation = n.citation;
      }
    }
  }
  const isRequired = (name: string): boolean => merged.get(name)?.required === true;

  // 172.504(f) exceptions: the placard may be omitted.
  const exempt = (name: string, citation: string): void => {
    const m = merged.get(name);
    if (m && m.required === true) {
      m.required = false;
      m.citation = citation;
    }
  };
  const explosives = [...merged.keys()].filter((k) => k.startsWith('EXPLOSIVES ') && merged.get(k)?.required === true).sort();
  for (const k of explosives.slice(1)) exempt(k, '49 CFR 172.504(f)(1)');
  if (isRequired('FLAMMABLE GAS')) exempt('NON-FLAMMABLE GAS', '49 CFR 172.504(f)(3)');
  if (isRequired('EXPLOSIVES 1.1') || isRequired('EXPLOSIVES 1.2')) exempt('OXIDIZER', '49 CFR 172.504(f)(4)');
  else if (isRequired('EXPLOSIVES 1.5')) exempt('OXIDIZER', '49 CFR 172.504(f)(5)');
  if (domestic) {
    if (isRequired('POISON GAS')) exempt('POISON INHALATION HAZARD', '49 CFR 172.504(f)(8)');
    if (isRequired('POISON GAS') || merged.has('POISON INHALATION HAZARD')) exempt('POISON', '49 CFR 172.504(f)(11)');
  }
  if (pgIII.length > 0 && merged.has('POISON')) {
    reasons.push({ criterion: '49cfr-6.1-pg-iii', met: true, message: 'the POISON placard for Division 6.1 PG III material may show "PG III" below its mid line', citation: '49 CFR 172.504(f)(10)', items: pgIII });
  }

  const placards: Placard[] = [];
  const undecided: string[] = [];
  for (const name of [...merged.keys()].sort((x, y) => PLACARD_ORDER.indexOf(x) - PLACARD_ORDER.indexOf(y))) {
    const m = merged.get(name);
    if (!m) continue;
    if (m.required === null) {
      undecided.push(name);
      continue;
    }
    placards.push({ placard: name, hazardClass: m.hazardClass, items: m.items, required: m.required, citation: m.citation });
  }
  if (undecided.length > 0) {
    reasons.push({ criterion: '49cfr-undecided', met: null, message: `cannot decide with the data given: ${undecided.join(', ')}`, citation: '49 CFR 172.504', items: [] });
  }

  // 172.504(b): DANGEROUS may replace two or more Table 2 placards for non-bulk packages, except a
  // category of which 1,000 kg (2,205 lb) or more is loaded at one facility.
  const alternatives: PlacardAlternative[] = [];
  const t2Required = placards.filter((p) => p.required && Object.values(TABLE_2_NAMES).includes(p.placard));
  const nonBulkCategories = t2Required.filter((p) => p.items.every((i) => table2Items.some((t) => t.index === i && t.bulk === false && !t.subject505)));
  if (nonBulkCategories.length >= 2) {
    const replaceable = nonBulkCategories.filter((p) => perPlacardWeight.get(p.placard)?.atLeast(1000) === false).map((p) => p.placard);
    if (replaceable.length > 0) alternatives.push({ placard: 'DANGEROUS', replaces: replaceable, citation: '49 CFR 172.504(b)' });
  }

  const anyRequired = placards.some((p) => p.required);
  const placardLoad = anyRequired ? true : undecided.length > 0 ? null : false;
  return { regime: '49cfr', placardLoad, placards, alternatives, reasons };
}

function rankRequired(r: boolean | null): number {
  return r === true ? 2 : r === null ? 1 : 0;
}
