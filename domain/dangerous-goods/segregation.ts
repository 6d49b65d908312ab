// Segregation of a load under one regime. 49 CFR: every pair against 177.848 (the (d) table on
// primary and subsidiary hazards, the (c) rules, the (f) Class 1 compatibility table, note A) and
// the food rule of 177.841(e). ADG 7.x: class segregation only for placard loads (decided by the
// placard engine on the same items), the food and food-packaging rule and the overpack rule at any
// quantity; the ADG segregation tables are not in the shipped data, so 177.848 stands in for them
// and every answer built on it says so. The 177.848 tables arrive as data
// (segregation-49cfr-177.848.json) and are compiled once into bit masks; a load is then prepared
// item by item and the pair loop works on small integers, building objects only for the pairs
// that have something to say.
import { z } from 'zod';
import type { CatalogueEntry, HazardZone, PhysicalState } from './catalogue.js';
import { determinePlacards } from './placards.js';
import type { PlacardItem } from './placards.js';
import { limitedQuantitySource } from './regime.js';
import type { Regime } from './regime.js';

export const C_TABLE = '49 CFR 177.848(d)';
export const C_SUBSIDIARY = '49 CFR 177.848(d), (e)(6)';
export const C_SAME_CLASS = '49 CFR 177.848(e)(6)';
export const C_SPECIAL = '49 CFR 177.848(c)';
export const C_NOTE_A = '49 CFR 177.848(e)(5)';
export const C_APPLICABILITY = '49 CFR 177.848(a)';
export const C_CLASS1 = '49 CFR 177.848(f)';
export const C_MIXED_DIVISIONS = '49 CFR 177.848(h)';
export const C_1_5D_WITH_1_2D = '49 CFR 177.848(i)';
export const C_CFR_FOOD = '49 CFR 177.841(e)';
export const C_CFR_FOOD_POISON = '49 CFR 177.841(e)(1)';
export const C_CFR_FOOD_PG_III = '49 CFR 177.841(e)(3)';
export const C_ADG_FOOD = 'ADG 7.x 9.1 (dangerous goods with food or food packaging)';
export const C_ADG_PLACARD_LOADS = 'ADG 7.x 9.1 (segregation of placard loads), 5.3.1 (placard load)';
export const C_ADG_OVERPACK = 'ADG 7.x 9.1 (overpacks)';

/** A 49 CFR citation used for an ADG answer, marked as the stand-in it is. */
export function adgStandIn(citation: string): string {
  return `${citation} (stand-in: the ADG 7.x segregation tables are not in the shipped data)`;
}

// ---------------------------------------------------------------------------------------------
// Table data and compilation
// ---------------------------------------------------------------------------------------------

export const segregationTableSchema = z.object({
  columns: z.array(z.string()),
  rows: z.record(z.string(), z.object({ note: z.string().optional(), cells: z.array(z.string()) })),
  class1Compatibility: z.object({
    groups: z.array(z.string()),
    rows: z.record(z.string(), z.array(z.string())),
  }),
});
export type SegregationTableData = z.infer<typeof segregationTableSchema>;

/** The column order the key mapping below is written against; compile refuses any other table. */
export const TABLE_COLUMNS = ['1.1/1.2', '1.3', '1.4', '1.5', '1.6', '2.1', '2.2', '2.3A', '2.3B', '3', '4.1', '4.2', '4.3', '5.1', '5.2', '6.1A', '7', '8L'] as const;
export type TableKey = (typeof TABLE_COLUMNS)[number];
const K = Object.fromEntries(TABLE_COLUMNS.map((c, i) => [c, i])) as Record<TableKey, number>;
const NKEYS = TABLE_COLUMNS.length;
const CLASS1_KEYS = [K['1.1/1.2'], K['1.3'], K['1.4'], K['1.5'], K['1.6']] as const;
const CLASS1_MASK = CLASS1_KEYS.reduce((m, k) => m | (1 << k), 0);
const GROUPS = ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'J', 'K', 'L', 'N', 'S'] as const;
const CELL_CODES = new Set(['', 'X', 'O', '*']);
const CLASS1_CODES = new Set(['', 'X', '1', '2', '3', '4', '5', '6', 'X(4)', '4/5']);

const KEY_LABEL: Record<TableKey, string> = {
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

const CELL_MEANING: Record<string, string> = {
  X: 'may not be loaded, transported or stored together in the same transport vehicle (177.848(e)(2))',
  O: 'may not be loaded together unless separated so that leaking packages could not commingle (177.848(e)(3))',
};
const CLASS8_ABOVE = '; Class 8 liquids may never be loaded above or adjacent to Class 4 or Class 5 materials (177.848(e)(3))';
const CLASS_4_5 = new Set(['4.1', '4.2', '4.3', '5.1', '5.2']);

export interface SegregationRules {
  /** cells[a * 18 + b]: 0 blank, 1 "O", 2 "X", 3 "*". */
  readonly cells: Uint8Array;
  /** nonBlank[a]: bit b set when cells[a][b] is not blank. */
  readonly nonBlank: Uint32Array;
  /** class1[ga * 13 + gb]: the (f) code. */
  readonly class1: readonly string[];
  /** Rule text per (a, b, a-is-subsidiary, b-is-subsidiary), built once. */
  readonly ruleText: readonly string[];
  readonly hazardPair: readonly (readonly [string, string])[];
}

const BLANK = 0;
const O_CELL = 1;
const X_CELL = 2;
const STAR = 3;

/** Checks the shipped table's shape and symmetry and compiles it. Throws on anything unexpected. */
export function compileSegregationRules(data: SegregationTableData): SegregationRules {
  const parsed = segregationTableSchema.parse(data);
  if (parsed.columns.length !== NKEYS || parsed.columns.some((c, i) => c !== TABLE_COLUMNS[i])) {
    throw new Error(`177.848(d) table columns ${JSON.stringify(parsed.columns)} are not the expected ${JSON.stringify(TABLE_COLUMNS)}`);
  }
  const cells = new Uint8Array(NKEYS * NKEYS);
  for (let a = 0; a < NKEYS; a++) {
    const name = TABLE_COLUMNS[a] as TableKey;
    const row = parsed.rows[name];
    if (!row || row.cells.length !== NKEYS) throw new Error(`177.848(d) row ${name} is missing or not ${NKEYS} cells wide`);
    row.cells.forEach((c, b) => {
      if (!CELL_CODES.has(c)) throw new Error(`177.848(d) cell ${name}/${TABLE_COLUMNS[b]} has unknown code "${c}"`);
      cells[a * NKEYS + b] = c === 'X' ? X_CELL : c === 'O' ? O_CELL : c === '*' ? STAR : BLANK;
    });
  }
  for (let a = 0; a < NKEYS; a++) {
    for (let b = 0; b < NKEYS; b++) {
      if (cells[a * NKEYS + b] !== cells[b * NKEYS + a]) throw new Error(`177.848(d) table is not symmetric at ${TABLE_COLUMNS[a]}/${TABLE_COLUMNS[b]}`);
      const starred = cells[a * NKEYS + b] === STAR;
      const bothClass1 = (CLASS1_MASK >> a) & 1 && (CLASS1_MASK >> b) & 1;
      if (starred !== Boolean(bothClass1)) throw new Error(`177.848(d) "*" must mark exactly the Class 1 × Class 1 cells (${TABLE_COLUMNS[a]}/${TABLE_COLUMNS[b]})`);
    }
  }
  const nonBlank = new Uint32Array(NKEYS);
  for (let a = 0; a < NKEYS; a++) for (let b = 0; b < NKEYS; b++) if (cells[a * NKEYS + b] !== BLANK) nonBlank[a] = (nonBlank[a] ?? 0) | (1 << b);

  const g = parsed.class1Compatibility;
  if (g.groups.length !== GROUPS.length || g.groups.some((x, i) => x !== GROUPS[i])) throw new Error('177.848(f) compatibility groups are not A–S as expected');
  const class1: string[] = [];
  for (const ga of GROUPS) {
    const row = g.rows[ga];
    if (!row || row.length !== GROUPS.length) throw new Error(`177.848(f) row ${ga} is missing or malformed`);
    for (const c of row) {
      if (!CLASS1_CODES.has(c)) throw new Error(`177.848(f) row ${ga} has unknown code "${c}"`);
      class1.push(c);
    }
  }
  for (let a = 0; a < GROUPS.length; a++) {
    for (let b = 0; b < GROUPS.length; b++) {
      if (class1[a * GROUPS.length + b] !== class1[b * GROUPS.length + a]) throw new Error(`177.848(f) table is not symmetric at ${GROUPS[a]}/${GROUPS[b]}`);
    }
  }

  const ruleText: string[] = [];
  const hazardPair: (readonly [string, string])[] = [];
  for (let a = 0; a < NKEYS; a++) {
    for (let b = 0; b < NKEYS; b++) {
      for (let s = 0; s < 4; s++) {
        const subA = (s & 2) !== 0;
        const subB = (s & 1) !== 0;
        const la = `${subA ? 'subsidiary ' : ''}${KEY_LABEL[TABLE_COLUMNS[a] as TableKey]}`;
        const lb = `${subB ? 'subsidiary ' : ''}${KEY_LABEL[TABLE_COLUMNS[b] as TableKey]}`;
        const code = cells[a * NKEYS + b] === X_CELL ? 'X' : 'O';
        const sub = subA || subB ? ' (subsidiary hazard segregation applies where stricter, 177.848(e)(6))' : '';
        const ta = TABLE_COLUMNS[a] as string;
        const tb = TABLE_COLUMNS[b] as string;
        const above = code === 'O' && ((ta === '8L' && CLASS_4_5.has(tb)) || (tb === '8L' && CLASS_4_5.has(ta))) ? CLASS8_ABOVE : '';
        ruleText.push(`177.848(d): ${la} with ${lb} is "${code}": ${CELL_MEANING[code]}${above}${sub}`);
        hazardPair.push(Object.freeze([la, lb] as const));
      }
    }
  }
  return { cells, nonBlank, class1, ruleText, hazardPair };
}

// ---------------------------------------------------------------------------------------------
// Items and results
// ---------------------------------------------------------------------------------------------

/** A line of the load: its entry and declared facts, with the quantities the ADG placard-load test reads. */
export interface SegregationItem extends PlacardItem {
  /** null: a food or food-packaging line without dangerous goods. */
  readonly entry: CatalogueEntry | null;
  /** Declared state; used only where the catalogue entry does not state one. */
  readonly state?: PhysicalState | undefined;
  /** Declared hazard zone; used only where the entry is PIH without a zone (special provision 6). */
  readonly inhalationHazardZone?: HazardZone | undefined;
  readonly food?: boolean | undefined;
  /** A food line that is the driver's own food (outside the ADG food rule). */
  readonly driversOwnFood?: boolean | undefined;
  readonly limitedQuantity?: boolean | undefined;
  /** Lines with the same id share one overpack. */
  readonly overpack?: string | undefined;
}

export type Severity = 'prohibited' | 'conditional';

export interface Conflict {
  readonly items: readonly [number, number];
  /** "X" or "O" from the (d) table or a (c), food or overpack rule, or the (f) Class 1 code ("X", "1", "4/5", "6", "X(4)"). */
  readonly code: string;
  /** prohibited: never on one vehicle (or in one overpack); conditional: only with the separation or conditions the rule names. */
  readonly severity: Severity;
  readonly hazards: readonly [string, string];
  readonly rule: string;
  readonly citation: string;
}

export interface Indeterminate {
  readonly items: readonly [number, number];
  /** What would settle it: an item field ("items[3].state") or, where no field can, what is unknown. */
  readonly missing: readonly string[];
  readonly rule: string;
  readonly citation: string;
}

export interface Note {
  readonly items: readonly number[];
  readonly message: string;
  readonly citation: string;
}

/** One rule of the regime and whether it reached this load. */
export interface RuleApplication {
  readonly rule: 'class-segregation' | 'food' | 'overpack';
  /** true: applied to the load; false: does not reach it (the message says why); null: the data cannot decide (see missing). */
  readonly applies: boolean | null;
  readonly message: string;
  readonly citation: string;
  readonly missing?: readonly string[];
}

export type Verdict = 'COMPATIBLE' | 'CONDITIONAL' | 'INCOMPATIBLE' | 'INDETERMINATE';

export interface CompatibilityResult {
  readonly regime: Regime;
  /** True only when no pair is restricted or undecided (verdict COMPATIBLE). */
  readonly compatible: boolean;
  /** INCOMPATIBLE: some pair is prohibited; INDETERMINATE: none is, but some pair needs data; CONDITIONAL: only separation/conditions. */
  readonly verdict: Verdict;
  readonly conflicts: readonly Conflict[];
  readonly indeterminate: readonly Indeterminate[];
  readonly notes: readonly Note[];
  /** The regime's rules, each with whether it reached this load and its source. */
  readonly basis: readonly RuleApplication[];
}

// Partner flags: an item with need-bit n must be checked in detail against any item carrying flag n.
const F_CYANIDE = 1;
const F_ACID = 2;
const F_FOOD = 4;
const F_FOOD_HAZARD = 8;
const F_TOX_A = 16;
const F_C_TARGET = 32;

interface Prepared {
  readonly index: number;
  readonly inTable: boolean;
  /** Division (or class) for the 177.848(e)(6) same-class rule; null when none. */
  readonly cls: string | null;
  readonly keys: number[];
  readonly keySub: boolean[];
  /** Keys the item may have but the data does not say (state, zone, explosive division). */
  readonly maybeKeys: number[];
  readonly maybeSub: boolean[];
  readonly maybeWhy: string[];
  readonly possMask: number;
  readonly nbPoss: number;
  readonly flags: number;
  readonly need: number;
  readonly explosive: { readonly division: string; readonly group: number } | null;
  readonly explosiveUnknown: string | null;
  readonly noteA: boolean;
  readonly fireworks: boolean;
  readonly detonator: boolean;
  readonly rowIndex: number;
  readonly tox61A: boolean;
  readonly cTarget: 'yes' | 'maybe' | 'no';
  readonly cTargetWhy: string | null;
  readonly overpack: string | null;
  /** Division 6.1 PG III: 177.841(e)(3) may apply to it instead of (e)(1). */
  readonly poisonPgIII: boolean;
}

function explosiveKey(division: string): number {
  return division === '1.1' || division === '1.2' ? K['1.1/1.2'] : division === '1.3' ? K['1.3'] : division === '1.4' ? K['1.4'] : division === '1.5' ? K['1.5'] : K['1.6'];
}

const SIMPLE_KEY: Readonly<Record<string, number>> = {
  '2.1': K['2.1'],
  '2.2': K['2.2'],
  '3': K['3'],
  '4.1': K['4.1'],
  '4.2': K['4.2'],
  '4.3': K['4.3'],
  '5.1': K['5.1'],
  '5.2': K['5.2'],
  '7': K['7'],
};

// Collects an item's table keys. A class, not closures: helpers built per call are costly under
// tsx/esbuild keepNames, and this runs for every item of every load.
class KeyCollector {
  readonly keys: number[] = [];
  readonly keySub: boolean[] = [];
  readonly maybeKeys: number[] = [];
  readonly maybeSub: boolean[] = [];
  readonly maybeWhy: string[] = [];
  add(k: number, sub: boolean): void {
    if (!this.keys.includes(k)) {
      this.keys.push(k);
      this.keySub.push(sub);
    }
  }
  maybe(k: number, sub: boolean, why: string): void {
    if (!this.keys.includes(k) && !this.maybeKeys.includes(k)) {
      this.maybeKeys.push(k);
      this.maybeSub.push(sub);
      this.maybeWhy.push(why);
    }
  }
}

/** What the regime needs to know of the whole load before the items are prepared. */
interface LoadFacts {
  readonly regime: Regime;
  /** ADG: every dangerous goods line is an honoured limited quantity (outside the food rule). */
  readonly allLimited: boolean;
}

/** A limited quantity is honoured only where 172.101 makes the entry eligible. */
function honouredLimited(item: SegregationItem): boolean {
  return item.limitedQuantity === true && item.entry?.limitedQuantityEligible.value === true;
}

/** 177.841(e)(1): bears or must bear a POISON (primary or subsidiary 6.1) or POISON INHALATION HAZARD label; a 2.3 gas bears POISON GAS. */
function poisonLabelled(e: CatalogueEntry): boolean {
  return e.hazardClass === '6.1' || e.subsidiaryRisks.includes('6.1') || e.labels.includes('6.1') || (e.inhalationHazard.pih && e.hazardClass !== '2.3');
}

/** ADG food rule: Division 2.3, Class 6, Class 8, or a subsidiary risk of 6.1 or 8. */
function adgFoodHazard(e: CatalogueEntry): boolean {
  return e.hazardClass === '2.3' || e.hazardClass === '6.1' || e.hazardClass === '6.2' || e.classNumber === 8 || e.subsidiaryRisks.includes('6.1') || e.subsidiaryRisks.includes('8');
}

function prepare(item: SegregationItem, index: number, rules: SegregationRules, notes: Note[], load: LoadFacts): Prepared {
  const e = item.entry;
  const kc = new KeyCollector();
  const { keys, keySub, maybeKeys, maybeSub, maybeWhy } = kc;
  let flags = 0;
  let need = 0;
  const ref = `items[${index}]`;
  const adg = load.regime === 'adg';
  // The driver's own food is outside the ADG food rule; 177.841(e) names no such exception.
  if (item.food === true && !(adg && item.driversOwnFood === true)) {
    flags |= F_FOOD;
    need |= F_FOOD_HAZARD;
  }
  const overpack = item.overpack ?? null;
  const none: Prepared = {
    index, inTable: false, cls: null, keys, keySub, maybeKeys, maybeSub, maybeWhy, possMask: 0, nbPoss: 0, flags, need,
    explosive: null, explosiveUnknown: null, noteA: false, fireworks: false, detonator: false, rowIndex: -1, tox61A: false, cTarget: 'no', cTargetWhy: null,
    overpack, poisonPgIII: false,
  };
  if (e === null) return none;

  // A limited-quantity claim the table does not back is segregated as fully regulated.
  const lq = honouredLimited(item);
  if (item.limitedQuantity === true && !lq) {
    notes.push({
      items: [index],
      message: `${ref} is declared a limited quantity, but ${e.idNumber} ${e.limitedQuantityEligible.value === false ? 'is not eligible' : 'could not be confirmed eligible'} (${e.limitedQuantityEligible.basis}): segregated as fully regulated`,
      citation: limitedQuantitySource(load.regime),
    });
  }
  // 49 CFR: a limited quantity needs no label, so 177.841(e) cannot reach it. ADG: the food rule
  // reaches every line unless the whole load is limited quantities.
  const foodHazard = adg ? !load.allLimited && adgFoodHazard(e) : !lq && poisonLabelled(e);
  if (foodHazard) {
    flags |= F_FOOD_HAZARD;
    need |= F_FOOD;
  }
  if (lq) {
    notes.push(
      adg
        ? { items: [index], message: `${ref} (${e.idNumber}) is a limited quantity: class segregation does not apply to it`, citation: limitedQuantitySource('adg') }
        : {
            items: [index],
            message: `${ref} (${e.idNumber}) is a limited quantity: its packages need no hazard labels, so neither 177.848 segregation nor the 177.841(e) food rule reaches it`,
            citation: `${C_APPLICABILITY}, 177.841(e)`,
          },
    );
    return { ...none, flags, need };
  }
  if (e.combustibleLiquid) {
    notes.push({ items: [index], message: `${ref} (${e.idNumber}) is a combustible liquid: it bears no hazard label and is not in the 177.848(d) table`, citation: C_APPLICABILITY });
    return { ...none, flags, need };
  }
  if (e.onlyRegulatedFor.length > 0) {
    notes.push({
      items: [index],
      message: `${ref} (${e.idNumber}) is marked "${e.onlyRegulatedFor.map((m) => (m === 'aircraft' ? 'A' : 'W')).join('", "')}" in 172.101: by highway it is regulated only as a hazardous substance or waste; segregated as regulated to be safe`,
      citation: '49 CFR 172.101(b)(2), (b)(3)',
    });
  }

  // State: the catalogue's word wins; the declared state fills a gap; otherwise it stays unknown.
  let state: PhysicalState | null = e.physicalState.value;
  if (state === null && item.state !== undefined) state = item.state;
  else if (state !== null && item.state !== undefined && item.state !== state) {
    notes.push({ items: [index], message: `${ref} declares state "${item.state}" but ${e.idNumber} is ${state} (${e.physicalState.basis}); the catalogue is used`, citation: '49 CFR 172.101' });
  }
  const stateWhy = `${ref}.state`;

  let zone = e.inhalationHazard.zone;
  // A declared zone completes a poison gas or PIH entry whose row names none (SP6, UN3539).
  if (zone === null && (e.inhalationHazard.pih || e.hazardClass === '2.3') && item.inhalationHazardZone !== undefined) zone = item.inhalationHazardZone;
  const zoneWhy = `${ref}.inhalationHazardZone`;

  const pg = e.packingGroup;
  let explosive: Prepared['explosive'] = null;
  let explosiveUnknown: string | null = null;
  const hc = e.hazardClass;

  // Primary hazard
  if (e.classNumber === 1 && hc !== null && e.compatibilityGroup !== null) {
    kc.add(explosiveKey(hc), false);
    explosive = { division: hc, group: GROUPS.indexOf(e.compatibilityGroup) };
  } else if (hc === null && !e.forbidden) {
    // No class assigned (e.g. UN0190 explosive samples, classed on approval under SP113).
    explosiveUnknown = `${ref}: ${e.idNumber} has no hazard class in 172.101; its division and compatibility group are set on approval`;
    for (const k of CLASS1_KEYS) kc.maybe(k, false, `${ref}: explosive division and compatibility group`);
  } else if (hc === '2.3') {
    if (zone === 'A') kc.add(K['2.3A'], false);
    else if (zone === 'B') kc.add(K['2.3B'], false);
    else if (zone === null) {
      kc.maybe(K['2.3A'], false, zoneWhy);
      kc.maybe(K['2.3B'], false, zoneWhy);
    }
  } else if (hc === '6.1') {
    // The 6.1 column is "liquids, PG I, Zone A"; hazard zones are vapour criteria (173.133(a)),
    // so a Zone A entry counts unless it is known to be a solid.
    if (pg === 'I' && zone === 'A' && state !== 'solid') kc.add(K['6.1A'], false);
  } else if (e.classNumber === 8) {
    if (state === 'liquid') kc.add(K['8L'], false);
    else if (state === null) kc.maybe(K['8L'], false, stateWhy);
  } else if (hc !== null && SIMPLE_KEY[hc] !== undefined) {
    kc.add(SIMPLE_KEY[hc], false);
  }

  // Subsidiary hazards (177.848(e)(6))
  for (const s of e.subsidiaryRisks) {
    if (s === '1') {
      explosiveUnknown ??= `${ref}: ${e.idNumber} bears an explosive subsidiary label (172.402), which has no division or compatibility group`;
      for (const k of CLASS1_KEYS) kc.maybe(k, true, `${ref}: explosive division and compatibility group`);
    } else if (s === '8') {
      if (state === 'liquid') kc.add(K['8L'], true);
      else if (state === null) kc.maybe(K['8L'], true, stateWhy);
    } else if (s === '6.1') {
      if (pg === 'I' && zone === 'A' && state !== 'solid') kc.add(K['6.1A'], true);
    } else if (SIMPLE_KEY[s] !== undefined) {
      kc.add(SIMPLE_KEY[s], true);
    }
  }

  // 177.848(c)
  if (e.flags.cyanide) {
    flags |= F_CYANIDE;
    need |= F_ACID;
  }
  if (e.flags.acid) {
    flags |= F_ACID;
    need |= F_CYANIDE;
  }
  const tox61A = hc === '6.1' && pg === 'I' && zone === 'A';
  if (tox61A) {
    flags |= F_TOX_A;
    need |= F_C_TARGET;
  }
  let cTarget: Prepared['cTarget'] = 'no';
  let cTargetWhy: string | null = null;
  if (hc === '3' || hc === '4.1' || hc === '4.2' || hc === '4.3' || hc === '5.1' || hc === '5.2') cTarget = 'yes';
  else if (e.classNumber === 8) {
    if (state === 'liquid') cTarget = 'yes';
    else if (state === null) {
      cTarget = 'maybe';
      cTargetWhy = stateWhy;
    }
  }
  if (cTarget !== 'no') {
    flags |= F_C_TARGET;
    need |= F_TOX_A;
  }

  let possMask = 0;
  for (const k of keys) possMask |= 1 << k;
  for (const k of maybeKeys) possMask |= 1 << k;
  let nbPoss = 0;
  for (let k = 0; k < NKEYS; k++) if ((possMask >> k) & 1) nbPoss |= rules.nonBlank[k] ?? 0;

  return {
    index,
    inTable: true,
    cls: hc,
    keys,
    keySub,
    maybeKeys,
    maybeSub,
    maybeWhy,
    possMask,
    nbPoss,
    flags,
    need,
    explosive,
    explosiveUnknown,
    noteA: e.flags.ammoniumNitrateNoteA,
    fireworks: e.flags.fireworks,
    detonator: e.flags.detonator,
    rowIndex: e.rowIndex,
    tox61A,
    cTarget,
    cTargetWhy,
    overpack,
    poisonPgIII: hc === '6.1' && pg === 'III',
  };
}

// ---------------------------------------------------------------------------------------------
// Pair evaluation
// ---------------------------------------------------------------------------------------------

const RANK_NONE = 0;
const RANK_CONDITIONAL = 1;
const RANK_PROHIBITED = 3;

interface Finding {
  rank: number;
  code: string;
  rule: string;
  citation: string;
  hazards: readonly [string, string];
}

const H_CYANIDE_ACID: readonly [string, string] = Object.freeze(['cyanide', 'acid'] as const);
const H_FOOD: readonly [string, string] = Object.freeze(['food or food packaging', 'Division 2.3, Class 6, Class 8 or subsidiary 6.1/8 dangerous goods'] as const);
const H_CFR_FOOD: readonly [string, string] = Object.freeze(['foodstuffs, feed or edible material', 'POISON or POISON INHALATION HAZARD labelled material'] as const);
const TOX_A_LABEL = 'Division 6.1 PG I, Hazard Zone A';

const CLASS1_RULE: Readonly<Record<string, string>> = {
  X: 'explosives of these compatibility groups may not be carried on the same transport vehicle (177.848(g)(2))',
  'X(4)': 'explosives of these compatibility groups may not be carried on the same transport vehicle (177.848(g)(2)); see 177.835(g) for detonators (177.848(g)(3)(iv))',
  '1': 'a compatibility group L explosive may be carried only with an identical explosive (177.848(g)(3)(i))',
  '5': 'Division 1.4S fireworks may not be loaded with Division 1.1 or 1.2 explosives (177.848(g)(3)(v))',
  '4': 'detonators may be carried with other explosives only as 177.835(g) provides (177.848(g)(3)(iv))',
  '6fw': 'compatibility group G fireworks may not be carried with group C, D or E explosives (177.848(g)(3)(vi))',
  '6': 'group G articles (not fireworks, not requiring special handling) may go with group C, D and E articles only if no explosive substances are carried on the vehicle (177.848(g)(3)(vi))',
};

function pick(current: Finding | null, f: Finding): Finding {
  return current === null || f.rank > current.rank ? f : current;
}

function explosiveLabel(p: Prepared): string {
  const ex = p.explosive;
  return ex ? `Division ${ex.division}${GROUPS[ex.group]} explosive` : 'explosive';
}

/** The (f) table for two explosives of known division and group; null when no restriction. */
function class1Finding(a: Prepared, b: Prepared, rules: SegregationRules): Finding | null {
  const ea = a.explosive;
  const eb = b.explosive;
  if (!ea || !eb) return null;
  const code = rules.class1[ea.group * GROUPS.length + eb.group] ?? '';
  const hazards = [explosiveLabel(a), explosiveLabel(b)] as const;
  switch (code) {
    case 'X':
      return mk(RANK_PROHIBITED, 'X', 'X', hazards);
    case 'X(4)':
      return mk(RANK_PROHIBITED, 'X(4)', 'X(4)', hazards);
    case '1':
      return a.rowIndex === b.rowIndex ? null : mk(RANK_PROHIBITED, '1', '1', hazards);
    case '4/5': {
      const sFireworks = (a.fireworks && GROUPS[ea.group] === 'S' && (eb.division === '1.1' || eb.division === '1.2')) || (b.fireworks && GROUPS[eb.group] === 'S' && (ea.division === '1.1' || ea.division === '1.2'));
      if (sFireworks) return mk(RANK_PROHIBITED, '4/5', '5', hazards);
      if (a.detonator || b.detonator) return mk(RANK_CONDITIONAL, '4/5', '4', hazards);
      return null;
    }
    case '6': {
      const gFireworks = (GROUPS[ea.group] === 'G' && a.fireworks) || (GROUPS[eb.group] === 'G' && b.fireworks);
      return gFireworks ? mk(RANK_PROHIBITED, '6', '6fw', hazards) : mk(RANK_CONDITIONAL, '6', '6', hazards);
    }
    default:
      // "", "2", "3": allowed; the group reassignments are reported once per load.
      return null;
  }
}

function mk(rank: number, c: string, ruleKey: string, hazards: readonly [string, string]): Finding {
  return { rank, code: c, rule: `177.848(f): ${hazards[0]} with ${hazards[1]} is "${c}": ${CLASS1_RULE[ruleKey] ?? ''}`, citation: C_CLASS1, hazards };
}

// (e)(5): UN1942 / ammonium nitrate fertilizer may go with Division 1.1 or 1.5 despite the X.
function noteAOneWay(an: Prepared, kan: number, ex: Prepared, kex: number): boolean {
  return an.noteA && kan === K['5.1'] && ex.explosive !== null && ((ex.explosive.division === '1.1' && kex === K['1.1/1.2']) || (ex.explosive.division === '1.5' && kex === K['1.5']));
}

function noteAWaives(a: Prepared, b: Prepared, ka: number, kb: number): boolean {
  return noteAOneWay(a, ka, b, kb) || noteAOneWay(b, kb, a, ka);
}

interface PairOutput {
  conflicts: Conflict[];
  indeterminate: Indeterminate[];
  notes: Note[];
}

/** How the regime treats class segregation for this load. */
interface Gate {
  readonly regime: Regime;
  /** ADG: the load is a placard load (null: undecided); always true under 49 CFR. */
  readonly classApplies: boolean | null;
  /** ADG: what the placard-load test is missing when classApplies is null. */
  readonly classMissing: readonly string[];
}

/** The strictest 177.848 finding for a pair ((c), (f), (d)), with the notes that explain it. */
function classFinding(a: Prepared, b: Prepared, rules: SegregationRules, notes: Note[]): Finding | null {
  let best: Finding | null = null;
  let noteAUsed = false;
  // (c) special rules come first: they are the specific ones.
  if (((a.flags & F_CYANIDE) !== 0 && (b.flags & F_ACID) !== 0) || ((a.flags & F_ACID) !== 0 && (b.flags & F_CYANIDE) !== 0)) {
    best = pick(best, {
      rank: RANK_PROHIBITED,
      code: 'X',
      rule: '177.848(c): cyanides, cyanide mixtures or solutions may not be loaded with acids (a mixture would generate hydrogen cyanide)',
      citation: C_SPECIAL,
      hazards: (a.flags & F_CYANIDE) !== 0 ? H_CYANIDE_ACID : [H_CYANIDE_ACID[1], H_CYANIDE_ACID[0]],
    });
  }
  if (a.tox61A && b.cTarget === 'yes') best = pick(best, cToxA(TOX_A_LABEL, targetLabel(b)));
  if (b.tox61A && a.cTarget === 'yes') best = pick(best, cToxA(targetLabel(a), TOX_A_LABEL));
  if (a.cls === '4.2' && b.cTarget === 'yes' && b.cls === '8') best = pick(best, c42(a, b));
  if (b.cls === '4.2' && a.cTarget === 'yes' && a.cls === '8') best = pick(best, c42(a, b));

  // (f) Class 1 against Class 1
  const c1 = class1Finding(a, b, rules);
  if (c1) best = pick(best, c1);

  // (d) table; same class: primary hazards only ((e)(6) second sentence)
  const sameClass = a.cls !== null && a.cls === b.cls;
  const na = a.keys.length;
  const nb = b.keys.length;
  for (let i = 0; i < na; i++) {
    const ka = a.keys[i] as number;
    const sa = a.keySub[i] === true;
    if (sameClass && sa) continue;
    for (let j = 0; j < nb; j++) {
      const kb = b.keys[j] as number;
      const sb = b.keySub[j] === true;
      if (sameClass && sb) continue;
      const cell = rules.cells[ka * NKEYS + kb];
      if (cell === BLANK || cell === STAR) continue;
      if (cell === X_CELL && noteAWaives(a, b, ka, kb)) {
        noteAUsed = true;
        continue;
      }
      const rank = cell === X_CELL ? RANK_PROHIBITED : RANK_CONDITIONAL;
      if (best !== null && best.rank >= rank) continue;
      const t = (ka * NKEYS + kb) * 4 + (sa ? 2 : 0) + (sb ? 1 : 0);
      best = pick(best, {
        rank,
        code: cell === X_CELL ? 'X' : 'O',
        rule: rules.ruleText[t] ?? '',
        citation: sa || sb ? C_SUBSIDIARY : C_TABLE,
        hazards: rules.hazardPair[t] ?? ['', ''],
      });
    }
  }
  if (sameClass) sameClassNote(a, b, rules, notes);
  if (noteAUsed) {
    notes.push({
      items: [a.index, b.index],
      message: `note A: ammonium nitrate (UN1942) or ammonium nitrate fertilizer may be loaded with Division 1.1 or 1.5 explosives despite the "X", unless 177.835(c) forbids it`,
      citation: C_NOTE_A,
    });
  }
  return best;
}

function foodFinding(a: Prepared, b: Prepared, regime: Regime): Finding | null {
  const aFood = (a.flags & F_FOOD) !== 0 && (b.flags & F_FOOD_HAZARD) !== 0;
  if (!aFood && !((b.flags & F_FOOD) !== 0 && (a.flags & F_FOOD_HAZARD) !== 0)) return null;
  if (regime === 'adg') {
    return {
      rank: RANK_PROHIBITED,
      code: 'X',
      rule: 'ADG 7.x: Division 2.3, Class 6 (6.1, 6.2), Class 8 and subsidiary 6.1 or 8 dangerous goods may not be transported with food or food packaging',
      citation: C_ADG_FOOD,
      hazards: aFood ? H_FOOD : [H_FOOD[1], H_FOOD[0]],
    };
  }
  // The exceptions of (e)(1)(i)/(ii) are packaging facts the load does not carry: they are named, not presumed.
  return {
    rank: RANK_PROHIBITED,
    code: 'X',
    rule: '177.841(e)(1): a package bearing or required to bear a POISON or POISON INHALATION HAZARD label may not be transported with foodstuffs, feed or edible material, unless it is overpacked in a metal drum (173.25(c)) or the two are loaded in separate closed unit load devices ((e)(1)(i), (ii)); the load does not say so',
    citation: C_CFR_FOOD_POISON,
    hazards: aFood ? H_CFR_FOOD : [H_CFR_FOOD[1], H_CFR_FOOD[0]],
  };
}

function evaluatePair(a: Prepared, b: Prepared, rules: SegregationRules, gate: Gate, out: PairOutput): void {
  const items = [a.index, b.index] as const;
  const inTable = a.inTable && b.inTable;
  const classNotes: Note[] = [];
  const cls = inTable ? classFinding(a, b, rules, classNotes) : null;
  const clsRank = cls === null ? RANK_NONE : cls.rank;
  // Anything the data leaves open that could make the pair stricter than the table decided.
  const open = inTable && clsRank < RANK_PROHIBITED ? openQuestions(a, b, rules, clsRank) : null;
  const food = foodFinding(a, b, gate.regime);
  let best: Finding | null = food;
  let undecided: Indeterminate | null = null;

  if (gate.regime === '49cfr') {
    if (cls !== null) best = pick(best, cls);
    if (open !== null) undecided = { items, missing: open.missing, rule: open.rule, citation: open.citation };
    out.notes.push(...classNotes);
    if (food !== null && (a.poisonPgIII || b.poisonPgIII)) {
      const p = a.poisonPgIII ? a : b;
      out.notes.push({
        items,
        message: `items[${p.index}] is Division 6.1 PG III: if its POISON label displays "PG III" (or the "PG III" mark is beside it), it may go with the food when separated so that leakage could not reach the food`,
        citation: C_CFR_FOOD_PG_III,
      });
    }
  } else {
    const overpack = a.overpack !== null && a.overpack === b.overpack ? a.overpack : null;
    const shared = `items[${a.index}] and items[${b.index}] are both in overpack "${overpack ?? ''}"`;
    if (overpack !== null && cls !== null) {
      // One overpack cannot keep anything apart: an "O" pair is as incompatible in it as an "X" pair.
      best = pick(best, {
        rank: RANK_PROHIBITED,
        code: 'X',
        rule: `ADG 7.x: incompatible goods may not share an overpack: ${shared}, and ${cls.rule}`,
        citation: `${C_ADG_OVERPACK}; ${adgStandIn(cls.citation)}`,
        hazards: cls.hazards,
      });
    }
    if (gate.classApplies === true) {
      if (cls !== null) best = pick(best, { ...cls, citation: adgStandIn(cls.citation) });
      if (open !== null) undecided = { items, missing: open.missing, rule: open.rule, citation: adgStandIn(open.citation) };
    } else if (overpack !== null && cls === null && open !== null) {
      undecided = { items, missing: open.missing, rule: `ADG 7.x: incompatible goods may not share an overpack: ${shared}; ${open.rule}`, citation: `${C_ADG_OVERPACK}; ${adgStandIn(open.citation)}` };
    } else if (gate.classApplies === null && (cls !== null || open !== null)) {
      const why = cls ?? (open as OpenQuestions);
      undecided = {
        items,
        missing: [...new Set([...gate.classMissing, ...(open?.missing ?? [])])],
        rule: `ADG 7.x: class segregation applies to placard loads only, and whether this load is one cannot be decided from the data given; if it is: ${why.rule}`,
        citation: `${C_ADG_PLACARD_LOADS}; ${adgStandIn(why.citation)}`,
      };
    }
    if (gate.classApplies !== false || overpack !== null) for (const n of classNotes) out.notes.push({ ...n, citation: adgStandIn(n.citation) });
  }

  if (best !== null && best.rank >= RANK_CONDITIONAL) {
    out.conflicts.push({ items, code: best.code, severity: best.rank === RANK_PROHIBITED ? 'prohibited' : 'conditional', hazards: best.hazards, rule: best.rule, citation: best.citation });
  }
  if (undecided !== null && (best === null || best.rank < RANK_PROHIBITED)) out.indeterminate.push(undecided);
}

function targetLabel(p: Prepared): string {
  return p.cls === '8' ? KEY_LABEL['8L'] : p.cls === '3' ? KEY_LABEL['3'] : KEY_LABEL[(p.cls ?? '3') as TableKey] ?? `Division ${p.cls}`;
}

function cToxA(la: string, lb: string): Finding {
  return {
    rank: RANK_PROHIBITED,
    code: 'X',
    rule: '177.848(c): Division 6.1 PG I Hazard Zone A material may not be loaded with Class 3, Class 8 liquids, or Division 4.1, 4.2, 4.3, 5.1 or 5.2 materials',
    citation: C_SPECIAL,
    hazards: [la, lb],
  };
}

function c42(a: Prepared, b: Prepared): Finding {
  const la = a.cls === '4.2' ? KEY_LABEL['4.2'] : KEY_LABEL['8L'];
  const lb = b.cls === '4.2' ? KEY_LABEL['4.2'] : KEY_LABEL['8L'];
  return {
    rank: RANK_PROHIBITED,
    code: 'X',
    rule: '177.848(c): Division 4.2 materials may not be loaded with Class 8 liquids',
    citation: C_SPECIAL,
    hazards: [la, lb],
  };
}

function sameClassNote(a: Prepared, b: Prepared, rules: SegregationRules, notes: Note[]): void {
  // Only worth saying when a subsidiary hazard would otherwise have restricted the pair.
  for (let i = 0; i < a.keys.length; i++) {
    for (let j = 0; j < b.keys.length; j++) {
      if (a.keySub[i] !== true && b.keySub[j] !== true) continue;
      const cell = rules.cells[(a.keys[i] as number) * NKEYS + (b.keys[j] as number)];
      if (cell === X_CELL || cell === O_CELL) {
        notes.push({
          items: [a.index, b.index],
          message: `items[${a.index}] and items[${b.index}] are both ${a.cls}: segregation for their subsidiary hazards is not applied, which holds only if they cannot react dangerously with each other`,
          citation: C_SAME_CLASS,
        });
        return;
      }
    }
  }
}

class OpenQuestions {
  readonly missing: string[] = [];
  rule = '';
  citation = C_TABLE;
  push(m: string): void {
    if (!this.missing.includes(m)) this.missing.push(m);
  }
  explain(rule: string, citation: string): void {
    if (this.rule === '') {
      this.rule = rule;
      this.citation = citation;
    }
  }
}

/** Keys of x the data leaves open, against every key y has or may have. */
function openCells(x: Prepared, y: Prepared, sameClass: boolean, rules: SegregationRules, decided: number, q: OpenQuestions): void {
  for (let i = 0; i < x.maybeKeys.length; i++) {
    if (sameClass && x.maybeSub[i] === true) continue;
    const kx = x.maybeKeys[i] as number;
    const ny = y.keys.length;
    for (let j = 0; j < ny + y.maybeKeys.length; j++) {
      const ky = (j < ny ? y.keys[j] : y.maybeKeys[j - ny]) as number;
      const sy = j < ny ? y.keySub[j] === true : y.maybeSub[j - ny] === true;
      const whyY = j < ny ? null : (y.maybeWhy[j - ny] ?? null);
      if (sameClass && sy) continue;
      const cell = rules.cells[kx * NKEYS + ky];
      if (cell === BLANK || cell === STAR) continue;
      const rank = cell === X_CELL ? RANK_PROHIBITED : RANK_CONDITIONAL;
      if (rank <= decided) continue;
      if (cell === X_CELL && noteAWaives(x, y, kx, ky)) continue;
      q.push(x.maybeWhy[i] ?? '');
      if (whyY !== null) q.push(whyY);
      q.explain(
        `177.848(d): unknown ${x.maybeWhy[i]}; if it is ${KEY_LABEL[TABLE_COLUMNS[kx] as TableKey]}, the cell against ${KEY_LABEL[TABLE_COLUMNS[ky] as TableKey]} is "${cell === X_CELL ? 'X' : 'O'}"`,
        x.maybeSub[i] === true || sy ? C_SUBSIDIARY : C_TABLE,
      );
    }
  }
}

function openToxA(t: Prepared, o: Prepared, decided: number, q: OpenQuestions): void {
  if (t.tox61A && o.cTarget === 'maybe' && decided < RANK_PROHIBITED && o.cTargetWhy !== null) {
    q.push(o.cTargetWhy);
    q.explain("177.848(c): Division 6.1 PG I Hazard Zone A may not be loaded with Class 8 liquids; the Class 8 item's state is not known", C_SPECIAL);
  }
}

function openQuestions(a: Prepared, b: Prepared, rules: SegregationRules, decided: number): OpenQuestions | null {
  if (a.maybeKeys.length === 0 && b.maybeKeys.length === 0 && a.cTarget !== 'maybe' && b.cTarget !== 'maybe') return null;
  const q = new OpenQuestions();
  // Explosive with unknown division/group against any explosive: the (f) table cannot be read.
  const aEx = a.explosive !== null || a.explosiveUnknown !== null || (a.possMask & CLASS1_MASK) !== 0;
  const bEx = b.explosive !== null || b.explosiveUnknown !== null || (b.possMask & CLASS1_MASK) !== 0;
  if ((a.explosiveUnknown !== null || b.explosiveUnknown !== null) && aEx && bEx) {
    if (a.explosiveUnknown !== null) q.push(`items[${a.index}]: explosive division and compatibility group`);
    if (b.explosiveUnknown !== null) q.push(`items[${b.index}]: explosive division and compatibility group`);
    q.explain('177.848(f) needs the division and compatibility group of each explosive', C_CLASS1);
  }
  const sameClass = a.cls !== null && a.cls === b.cls;
  openCells(a, b, sameClass, rules, decided, q);
  openCells(b, a, sameClass, rules, decided, q);
  // (c): a 6.1 PG I Zone A material against a Class 8 material of unknown state.
  openToxA(a, b, decided, q);
  openToxA(b, a, decided, q);
  return q.missing.length === 0 ? null : q;
}

// ---------------------------------------------------------------------------------------------
// Load-level Class 1 notes: (g)(3)(ii)/(iii) group reassignment, (h) mixed divisions, (i) 1.5D+1.2D
// ---------------------------------------------------------------------------------------------

function class1LoadNotes(prepared: readonly Prepared[], notes: Note[]): void {
  const ex = prepared.filter((p) => p.inTable && p.explosive !== null);
  if (ex.length < 2) return;
  const groupsPresent = new Set(ex.map((p) => GROUPS[(p.explosive as { group: number }).group]));
  const cde = ['C', 'D', 'E'].filter((g) => groupsPresent.has(g as (typeof GROUPS)[number]));
  if (groupsPresent.has('N') && cde.length > 0) {
    notes.push({
      items: ex.filter((p) => ['C', 'D', 'E', 'N'].includes(GROUPS[(p.explosive as { group: number }).group] ?? '')).map((p) => p.index),
      message: 'explosives of compatibility groups C, D or E with group N are together assigned to compatibility group D',
      citation: '49 CFR 177.848(g)(3)(iii)',
    });
  } else if (cde.length > 1) {
    notes.push({
      items: ex.filter((p) => cde.includes(GROUPS[(p.explosive as { group: number }).group] ?? '')).map((p) => p.index),
      message: `explosives of compatibility groups ${cde.join(', ')} are together assigned to compatibility group E`,
      citation: '49 CFR 177.848(g)(3)(ii)',
    });
  }
  const byGroup = new Map<number, Prepared[]>();
  for (const p of ex) {
    const g = (p.explosive as { group: number }).group;
    const list = byGroup.get(g);
    if (list) list.push(p);
    else byGroup.set(g, [p]);
  }
  for (const [g, list] of byGroup) {
    const divisions = [...new Set(list.map((p) => (p.explosive as { division: string }).division))].sort();
    if (divisions.length < 2) continue;
    const letter = GROUPS[g] ?? '';
    if (letter === 'D' && divisions.includes('1.5') && divisions.includes('1.2')) {
      notes.push({
        items: list.map((p) => p.index),
        message: 'Division 1.5D with Division 1.2D in one freight container: the shipment is transported as Division 1.1D',
        citation: C_1_5D_WITH_1_2D,
      });
    } else {
      notes.push({
        items: list.map((p) => p.index),
        message: `compatibility group ${letter} in divisions ${divisions.join(', ')}: the whole shipment is transported as Division ${divisions[0]}${letter}`,
        citation: C_MIXED_DIVISIONS,
      });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Entry point
// ---------------------------------------------------------------------------------------------

/**
 * Checks every pair of a load under `regime`. Items are referred to by their position in `items`.
 * Under ADG the placard engine decides, from the same items, whether class segregation applies.
 */
export function checkCompatibility(items: readonly SegregationItem[], rules: SegregationRules, regime: Regime): CompatibilityResult {
  const dg = items.filter((it) => it.entry !== null);
  const load: LoadFacts = { regime, allLimited: dg.length > 0 && dg.every(honouredLimited) };
  const gate = classGate(items, regime);
  const itemNotes: Note[] = [];
  const prepared = items.map((it, i) => prepare(it, i, rules, itemNotes, load));
  const out: PairOutput = { conflicts: [], indeterminate: [], notes: [] };
  const n = prepared.length;
  for (let i = 0; i < n; i++) {
    const a = prepared[i] as Prepared;
    for (let j = i + 1; j < n; j++) {
      const b = prepared[j] as Prepared;
      if ((a.nbPoss & b.possMask) === 0 && (a.need & b.flags) === 0 && (b.need & a.flags) === 0) continue;
      evaluatePair(a, b, rules, gate.gate, out);
    }
  }
  // Explosive and Class 1 load notes are 177.848 class segregation: under ADG they are said only
  // where class segregation may apply, and as the stand-in they are.
  const classNotes: Note[] = [];
  for (const p of prepared) {
    if (p.explosiveUnknown !== null && out.indeterminate.some((x) => x.items.includes(p.index))) {
      classNotes.push({ items: [p.index], message: p.explosiveUnknown, citation: C_CLASS1 });
    }
  }
  class1LoadNotes(prepared, classNotes);
  const notes = [...itemNotes, ...out.notes];
  if (regime === '49cfr') notes.push(...classNotes);
  else if (gate.gate.classApplies !== false) notes.push(...classNotes.map((x) => ({ ...x, citation: adgStandIn(x.citation) })));

  const prohibited = out.conflicts.some((c) => c.severity === 'prohibited');
  const verdict: Verdict = prohibited ? 'INCOMPATIBLE' : out.indeterminate.length > 0 ? 'INDETERMINATE' : out.conflicts.length > 0 ? 'CONDITIONAL' : 'COMPATIBLE';
  return { regime, compatible: verdict === 'COMPATIBLE', verdict, conflicts: out.conflicts, indeterminate: out.indeterminate, notes, basis: basis(items, load, gate) };
}

function classGate(items: readonly SegregationItem[], regime: Regime): { gate: Gate; basis: RuleApplication } {
  if (regime === '49cfr') {
    return {
      gate: { regime, classApplies: true, classMissing: [] },
      basis: { rule: 'class-segregation', applies: true, message: 'every pair, on primary and subsidiary hazards, at any quantity', citation: '49 CFR 177.848' },
    };
  }
  const { placardLoad, reasons } = determinePlacards(items, 'adg');
  const missing = [...new Set(reasons.filter((r) => r.met === null).flatMap((r) => r.missing ?? []))];
  const message =
    placardLoad === true
      ? 'a placard load: classes are segregated, with 49 CFR 177.848 standing in for the ADG segregation tables, which are not in the shipped data'
      : placardLoad === false
        ? 'not a placard load: no class segregation is required'
        : 'whether the load is a placard load cannot be decided from the data given';
  return {
    gate: { regime, classApplies: placardLoad, classMissing: missing },
    basis: { rule: 'class-segregation', applies: placardLoad, message, citation: C_ADG_PLACARD_LOADS, ...(placardLoad === null ? { missing } : {}) },
  };
}

function basis(items: readonly SegregationItem[], load: LoadFacts, gate: { basis: RuleApplication }): RuleApplication[] {
  const anyFood = items.some((it) => it.food === true);
  if (load.regime === '49cfr') {
    const food: RuleApplication = anyFood
      ? {
          rule: 'food',
          applies: true,
          message:
            'a package bearing or required to bear a POISON or POISON INHALATION HAZARD label may not go with foodstuffs, feed or edible material; nothing else is restricted by this rule (not Class 8, not a Division 2.3 POISON GAS label, not Division 6.2)',
          citation: C_CFR_FOOD,
        }
      : { rule: 'food', applies: false, message: 'no food, feed or edible material in the load', citation: C_CFR_FOOD };
    return [gate.basis, food];
  }
  const food = (applies: boolean, message: string): RuleApplication => ({ rule: 'food', applies, message, citation: C_ADG_FOOD });
  const overpacks = new Map<string, number>();
  for (const it of items) if (it.overpack !== undefined) overpacks.set(it.overpack, (overpacks.get(it.overpack) ?? 0) + 1);
  const sharing = [...overpacks.values()].some((count) => count > 1);
  return [
    gate.basis,
    !anyFood
      ? food(false, 'no food or food packaging in the load')
      : items.every((it) => it.food !== true || it.driversOwnFood === true)
        ? food(false, "the only food in the load is the driver's own")
        : load.allLimited
          ? food(false, 'every dangerous goods line is a limited quantity')
          : food(true, 'Division 2.3, Class 6 (6.1, 6.2), Class 8 and subsidiary 6.1 or 8 dangerous goods may not be transported with food or food packaging, at any quantity'),
    sharing
      ? { rule: 'overpack', applies: true, message: 'lines sharing an overpack may not be incompatible (177.848 standing in for the ADG segregation tables), at any quantity', citation: C_ADG_OVERPACK }
      : { rule: 'overpack', applies: false, message: 'no two lines are declared to share an overpack (items[].overpack)', citation: C_ADG_OVERPACK },
  ];
}
