// The 49 CFR 172.101 Hazardous Materials Table as typed catalogue entries, and the resolution of a
// declared item to exactly one entry. Pure: callers load and parse the rows (cli/, db layer) and
// hand them in as plain data.
import { z } from 'zod';

export const HMT_CITATION = '49 CFR 172.101';

// ---------------------------------------------------------------------------------------------
// Raw rows, exactly as shipped in data/hmt-49cfr-172.101.jsonl
// ---------------------------------------------------------------------------------------------

export const hmtRowSchema = z.object({
  idNumber: z.string().regex(/^(UN|NA|ID)\d{4}$/).optional(),
  properShippingName: z.string().min(1),
  hazardClass: z.string(),
  forbidden: z.boolean(),
  symbols: z.array(z.string()),
  packingGroup: z.enum(['I', 'II', 'III']).optional(),
  subsidiaryRisks: z.array(z.string()),
  labels: z.array(z.string()),
  specialProvisions: z.array(z.string()),
  packaging: z.object({ exceptions: z.string().optional(), nonBulk: z.string().optional(), bulk: z.string().optional() }),
  quantityLimitations: z.object({ passengerAircraftRail: z.string().optional(), cargoAircraftOnly: z.string().optional() }),
  vesselStowage: z.object({ location: z.string().optional(), other: z.string().optional() }),
});
export type HmtRow = z.infer<typeof hmtRowSchema>;

// ---------------------------------------------------------------------------------------------
// Derived entry
// ---------------------------------------------------------------------------------------------

export type PackingGroup = 'I' | 'II' | 'III';
export type HazardZone = 'A' | 'B' | 'C' | 'D';
export type PhysicalState = 'solid' | 'liquid' | 'gas';
export type CompatibilityGroup = 'A' | 'B' | 'C' | 'D' | 'E' | 'F' | 'G' | 'H' | 'J' | 'K' | 'L' | 'N' | 'S';

export interface InhalationHazard {
  /** Poisonous by inhalation (49 CFR 171.8) per special provision 1, 2, 3, 4 or 6. */
  readonly pih: boolean;
  /** Hazard zone per SP1–SP4; null when not PIH or when SP6 gives no zone. */
  readonly zone: HazardZone | null;
  readonly specialProvision: '1' | '2' | '3' | '4' | '6' | null;
  readonly citation: string;
}

export interface DerivedFact<T> {
  readonly value: T;
  /** What in the table the value was derived from, with the paragraph that gives it meaning. */
  readonly basis: string;
}

export type QuantityLimit =
  | { readonly kind: 'forbidden' }
  | { readonly kind: 'unlimited' }
  | {
      readonly kind: 'max';
      /** Alternatives ("4 L or 4 kg"): the package complies if it is within any one that fits its unit. */
      readonly amounts: readonly { readonly value: number; readonly unit: 'kg' | 'L' }[];
      readonly gross: boolean;
      readonly exclusive: boolean;
    }
  | { readonly kind: 'reference'; readonly text: string };

export interface EntryFlags {
  /** 177.848(c): cyanides, cyanide mixtures or solutions. */
  readonly cyanide: boolean;
  /** 177.848(c): corrosive (Class 8 primary or subsidiary) acids. */
  readonly acid: boolean;
  /** 177.848(e)(5) note A: ammonium nitrate UN1942 and ammonium nitrate fertilizer. */
  readonly ammoniumNitrateNoteA: boolean;
  readonly fireworks: boolean;
  readonly detonator: boolean;
  readonly aerosol: boolean;
  readonly infectiousCategoryA: boolean;
  readonly organicPeroxideTypeBTemperatureControlled: boolean;
  readonly uraniumHexafluoride: boolean;
  readonly consumerCommodity: boolean;
}

export interface CatalogueEntry {
  /** Position of the row in the source table: a stable identity for "identical explosive" etc. */
  readonly rowIndex: number;
  readonly idNumber: string | null;
  readonly properShippingName: string;
  /** Column (3) as printed, e.g. "1.1D", "6.1", "Comb liq", "Forbidden". */
  readonly hazardClassRaw: string;
  /** Class or division without compatibility group ("1.1", "2.3", "3", "Comb liq"); null if none is assigned. */
  readonly hazardClass: string | null;
  readonly classNumber: number | null;
  readonly compatibilityGroup: CompatibilityGroup | null;
  readonly combustibleLiquid: boolean;
  readonly forbidden: boolean;
  readonly packingGroup: PackingGroup | null;
  /** Column (6) subsidiary hazards: "1" is the explosive subsidiary label (172.402), which carries no division. */
  readonly subsidiaryRisks: readonly string[];
  readonly labels: readonly string[];
  readonly specialProvisions: readonly string[];
  readonly symbols: readonly string[];
  readonly technicalNameRequired: boolean;
  readonly inhalationHazard: InhalationHazard;
  readonly physicalState: DerivedFact<PhysicalState | null>;
  readonly limitedQuantityEligible: DerivedFact<boolean | null>;
  readonly quantityLimits: {
    readonly passengerAircraftRail: QuantityLimit | null;
    readonly cargoAircraftOnly: QuantityLimit | null;
  };
  /** 172.101(b)(2)/(3): "A" aircraft-only and "W" vessel-only entries. */
  readonly onlyRegulatedFor: readonly ('aircraft' | 'vessel')[];
  readonly flags: EntryFlags;
  /** Equivalence keys: rows with the same key answer the same for that purpose (see resolveItem). */
  readonly equivalence: { readonly segregation: string; readonly placards: string; readonly all: string };
}

const CLASS1 = /^1\.([1-6])([ABCDEFGHJKLNS])$/;
const DIVISION = /^([2456])\.([1-3])$/;
const CLASS_ONLY = /^[3789]$/;
const HAZARD_TOKEN = /1\.[1-6][ABCDEFGHJKLNS]?|[2]\.[1-3]|4\.[1-3]|5\.[12]|6\.[12]|[1-9]/g;

interface Classification {
  hazardClass: string | null;
  classNumber: number | null;
  compatibilityGroup: CompatibilityGroup | null;
  combustibleLiquid: boolean;
}

export function parseHazardClass(raw: string): Classification {
  const none = { hazardClass: null, classNumber: null, compatibilityGroup: null, combustibleLiquid: false };
  const s = raw.trim();
  if (s === 'Comb liq') return { hazardClass: 'Comb liq', classNumber: null, compatibilityGroup: null, combustibleLiquid: true };
  const c1 = CLASS1.exec(s);
  if (c1) return { hazardClass: `1.${c1[1]}`, classNumber: 1, compatibilityGroup: c1[2] as CompatibilityGroup, combustibleLiquid: false };
  const div = DIVISION.exec(s);
  if (div) return { hazardClass: s, classNumber: Number(div[1]), compatibilityGroup: null, combustibleLiquid: false };
  if (CLASS_ONLY.test(s)) return { hazardClass: s, classNumber: Number(s), compatibilityGroup: null, combustibleLiquid: false };
  return none;
}

/** Hazard codes out of a label/subsidiary cell; tolerates the two mangled cells in the source ("8.6.1", "6.1."). */
function hazardTokens(cell: string): string[] {
  return cell.match(HAZARD_TOKEN) ?? [];
}

// 49 CFR 172.102(c)(1): SP1–SP4 name Hazard Zones A–D of a material poisonous by inhalation;
// SP6 says PIH without a zone. The texts are checked against the shipped 172.102 file in tests.
const PIH_PROVISIONS: Readonly<Record<string, HazardZone | null>> = { '1': 'A', '2': 'B', '3': 'C', '4': 'D', '6': null };

function deriveInhalationHazard(sps: readonly string[]): InhalationHazard {
  for (const sp of ['1', '2', '3', '4', '6'] as const) {
    if (sps.includes(sp)) {
      return { pih: true, zone: PIH_PROVISIONS[sp] ?? null, specialProvision: sp, citation: `49 CFR 172.102(c)(1) special provision ${sp}` };
    }
  }
  return { pih: false, zone: null, specialProvision: null, citation: '49 CFR 172.102(c)(1)' };
}

// Column (8B) names the non-bulk packaging section, and those sections are written for one state:
// 173.201–.203 liquids PG I–III, 173.211–.213 solids PG I–III, 173.226/.227 PIH materials in zones
// A/B (zones are vapour criteria, 173.133(a)), 173.158 nitric acid, 173.206 chlorosilanes.
const LIQUID_PACKAGING = new Set(['201', '202', '203', '226', '227', '158', '206']);
const SOLID_PACKAGING = new Set(['211', '212', '213']);

function sectionTokens(cell: string | undefined): string[] {
  if (!cell || cell === 'None') return [];
  return cell.match(/\d{2,3}[a-z]?/g) ?? [];
}

function nameState(name: string): PhysicalState | null {
  // "Solids containing flammable liquid", "Lighters ... containing flammable liquid", "Vehicle,
  // flammable liquid powered": the state word there describes a component, not the material.
  const stripped = name
    .toLowerCase()
    .replace(/\b(containing|with)\b[^,]*/g, '')
    .replace(/\b\w+ (liquid|solid)s? (powered|fueled|fuelled)\b/g, '');
  const liquid = /\bliquids?\b/.test(stripped);
  const solid = /\bsolids?\b/.test(stripped);
  if (liquid === solid) return null;
  return liquid ? 'liquid' : 'solid';
}

function derivePhysicalState(row: HmtRow, cls: Classification): DerivedFact<PhysicalState | null> {
  if (cls.classNumber === 2) return { value: 'gas', basis: 'Class 2 (gases), 49 CFR 173.115' };
  for (const sec of sectionTokens(row.packaging.nonBulk)) {
    if (LIQUID_PACKAGING.has(sec)) return { value: 'liquid', basis: `172.101 column (8B): non-bulk packaging 49 CFR 173.${sec} is for liquids` };
    if (SOLID_PACKAGING.has(sec)) return { value: 'solid', basis: `172.101 column (8B): non-bulk packaging 49 CFR 173.${sec} is for solids` };
  }
  const byName = nameState(row.properShippingName);
  if (byName) return { value: byName, basis: `proper shipping name says "${byName}" (172.101 column (2))` };
  return { value: null, basis: 'the 172.101 entry does not state liquid or solid' };
}

const PG_II_III: readonly (PackingGroup | null)[] = ['II', 'III'];

// Column (8A) names the exceptions section; a limited-quantity paragraph exists in 173.150(b)
// (Class 3 and combustible liquids), 173.151(b) (4.1, 4.3 PG II/III), 173.152(b) (5.1 PG II/III,
// 5.2), 173.153(b) (6.1 PG II/III), 173.154(b) (8 PG II/III), 173.155(b) (9) and 173.306(a)
// (compressed gases). "None" means no exceptions at all. Anything else is left undecided (null).
function deriveLimitedQuantity(row: HmtRow, cls: Classification, pg: PackingGroup | null): DerivedFact<boolean | null> {
  const exc = row.packaging.exceptions;
  if (row.forbidden) return { value: false, basis: '"Forbidden" in 172.101 column (3)' };
  if (exc === undefined || exc.trim() === 'None' || exc.trim() === '') {
    return { value: false, basis: '172.101 column (8A) lists no exceptions' };
  }
  const secs = new Set(sectionTokens(exc));
  const div = cls.hazardClass;
  if (secs.has('150') && (cls.classNumber === 3 || cls.combustibleLiquid)) return { value: true, basis: '172.101 column (8A) → 49 CFR 173.150(b)' };
  if (secs.has('151') && (div === '4.1' || div === '4.3') && PG_II_III.includes(pg)) return { value: true, basis: '172.101 column (8A) → 49 CFR 173.151(b)' };
  if (secs.has('152') && ((div === '5.1' && PG_II_III.includes(pg)) || div === '5.2')) return { value: true, basis: '172.101 column (8A) → 49 CFR 173.152(b)' };
  if (secs.has('153') && div === '6.1' && PG_II_III.includes(pg)) return { value: true, basis: '172.101 column (8A) → 49 CFR 173.153(b)' };
  if (secs.has('154') && cls.classNumber === 8 && PG_II_III.includes(pg)) return { value: true, basis: '172.101 column (8A) → 49 CFR 173.154(b)' };
  if (secs.has('155') && cls.classNumber === 9) return { value: true, basis: '172.101 column (8A) → 49 CFR 173.155(b)' };
  if (secs.has('306') && (div === '2.1' || div === '2.2')) return { value: true, basis: '172.101 column (8A) → 49 CFR 173.306(a)' };
  return { value: null, basis: `172.101 column (8A) names 49 CFR 173.${[...secs].join(', 173.')}; limited-quantity eligibility not derived from it` };
}

export function parseQuantityLimit(text: string | undefined): QuantityLimit | null {
  if (text === undefined) return null;
  const t = text.trim();
  if (/^forbidden$/i.test(t)) return { kind: 'forbidden' };
  if (/^no limit$/i.test(t)) return { kind: 'unlimited' };
  const exclusive = /^less than\s+/i.test(t);
  const body = t.replace(/^less than\s+/i, '');
  const gross = /\bgross\b/i.test(body);
  const parts = body.replace(/\bgross\b/i, '').split(/\s+or\s+/i);
  const amounts: { value: number; unit: 'kg' | 'L' }[] = [];
  for (const p of parts) {
    const m = /^(\d*\.?\d+)\s*(kg|g|L|mL)$/i.exec(p.trim());
    if (!m || m[1] === undefined || m[2] === undefined) return { kind: 'reference', text: t };
    const v = Number(m[1]);
    const u = m[2].toLowerCase();
    if (u === 'kg') amounts.push({ value: v, unit: 'kg' });
    else if (u === 'g') amounts.push({ value: v / 1000, unit: 'kg' });
    else if (u === 'l') amounts.push({ value: v, unit: 'L' });
    else amounts.push({ value: v / 1000, unit: 'L' });
  }
  return { kind: 'max', amounts, gross, exclusive };
}

function deriveFlags(row: HmtRow, cls: Classification, subs: readonly string[]): EntryFlags {
  const name = row.properShippingName;
  const id = row.idNumber ?? '';
  const corrosive = cls.classNumber === 8 || subs.includes('8');
  return {
    cyanide: /\bcyanides?\b/i.test(name),
    acid: corrosive && /\bacids?\b/i.test(name) && !/\bcyanides?\b/i.test(name),
    ammoniumNitrateNoteA: id === 'UN1942' || (cls.hazardClass === '5.1' && /ammonium nitrate based fertilizer/i.test(name)),
    fireworks: cls.classNumber === 1 && /^fireworks\b/i.test(name),
    detonator: cls.classNumber === 1 && /\bdetonators?\b/i.test(name) && !/\bwithout detonators?\b/i.test(name),
    aerosol: id === 'UN1950',
    infectiousCategoryA: id === 'UN2814' || id === 'UN2900' || id === 'UN3549',
    organicPeroxideTypeBTemperatureControlled: cls.hazardClass === '5.2' && /type B\b.*temperature controlled/i.test(name),
    uraniumHexafluoride: id === 'UN2977' || id === 'UN2978',
    consumerCommodity: id === 'ID8000',
  };
}

export function deriveEntry(row: HmtRow, rowIndex: number): CatalogueEntry {
  const cls = parseHazardClass(row.hazardClass);
  const pg = row.packingGroup ?? null;
  const primaryTokens = new Set(hazardTokens(row.hazardClass));
  const subs: string[] = [];
  const addSub = (s: string): void => {
    if (!subs.includes(s) && !primaryTokens.has(s) && s !== cls.hazardClass) subs.push(s);
  };
  for (const s of row.subsidiaryRisks) for (const t of hazardTokens(s)) addSub(t);
  // Column (6) labels are what 177.848(e)(6) keys on; one source row lost its 6.1 subsidiary
  // into a mangled label cell ("8.6.1"), so the labels are read too.
  for (const l of row.labels) for (const t of hazardTokens(l)) addSub(t);

  const inhalationHazard = deriveInhalationHazard(row.specialProvisions);
  const physicalState = derivePhysicalState(row, cls);
  const limitedQuantityEligible = deriveLimitedQuantity(row, cls, pg);
  const flags = deriveFlags(row, cls, subs);
  const onlyRegulatedFor: ('aircraft' | 'vessel')[] = [];
  if (row.symbols.includes('A')) onlyRegulatedFor.push('aircraft');
  if (row.symbols.includes('W')) onlyRegulatedFor.push('vessel');
  const quantityLimits = {
    passengerAircraftRail: parseQuantityLimit(row.quantityLimitations.passengerAircraftRail),
    cargoAircraftOnly: parseQuantityLimit(row.quantityLimitations.cargoAircraftOnly),
  };

  const sortedSubs = [...subs].sort().join('+');
  const isSixOneA = cls.hazardClass === '6.1' && pg === 'I' && inhalationHazard.zone === 'A';
  const foodRelevant = ['2.3', '6.1', '6.2'].includes(cls.hazardClass ?? '') || cls.classNumber === 8 || subs.includes('6.1') || subs.includes('8');
  const segregationKey = [
    row.hazardClass,
    sortedSubs,
    inhalationHazard.pih ? `pih:${inhalationHazard.zone ?? '?'}` : '',
    isSixOneA || (subs.includes('6.1') && pg === 'I' && inhalationHazard.zone === 'A') ? 'zoneA-PGI' : '',
    physicalState.value ?? '?',
    flags.cyanide, flags.acid, flags.ammoniumNitrateNoteA, flags.fireworks, flags.detonator,
    foodRelevant,
    String(limitedQuantityEligible.value),
    onlyRegulatedFor.join('+'),
  ].join('|');
  const placardKey = [
    segregationKey,
    pg ?? '-',
    flags.aerosol, flags.infectiousCategoryA, flags.organicPeroxideTypeBTemperatureControlled, flags.uraniumHexafluoride, flags.consumerCommodity,
    row.labels.join('+'),
  ].join('|');
  const allKey = [
    placardKey,
    row.symbols.includes('G'),
    row.quantityLimitations.passengerAircraftRail ?? '-',
    row.quantityLimitations.cargoAircraftOnly ?? '-',
    row.forbidden,
  ].join('|');

  return {
    rowIndex,
    idNumber: row.idNumber ?? null,
    properShippingName: row.properShippingName,
    hazardClassRaw: row.hazardClass,
    hazardClass: cls.hazardClass,
    classNumber: cls.classNumber,
    compatibilityGroup: cls.compatibilityGroup,
    combustibleLiquid: cls.combustibleLiquid,
    forbidden: row.forbidden,
    packingGroup: pg,
    subsidiaryRisks: subs,
    labels: row.labels,
    specialProvisions: row.specialProvisions,
    symbols: row.symbols,
    technicalNameRequired: row.symbols.includes('G'),
    inhalationHazard,
    physicalState,
    limitedQuantityEligible,
    quantityLimits,
    onlyRegulatedFor,
    flags,
    equivalence: { segregation: segregationKey, placards: placardKey, all: allKey },
  };
}

// ---------------------------------------------------------------------------------------------
// Catalogue and item resolution
// ---------------------------------------------------------------------------------------------

export interface Catalogue {
  readonly entries: readonly CatalogueEntry[];
  readonly byIdNumber: ReadonlyMap<string, readonly CatalogueEntry[]>;
  /** Forbidden rows have no identification number: they are found by name. */
  readonly forbiddenByName: ReadonlyMap<string, CatalogueEntry>;
}

export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[\s\u00a0]+/g, ' ').replace(/\s*,\s*/g, ', ').replace(/[.\s]+$/, '').trim();
}

export function buildCatalogue(rows: readonly HmtRow[]): Catalogue {
  const entries = rows.map((r, i) => deriveEntry(r, i));
  const byIdNumber = new Map<string, CatalogueEntry[]>();
  const forbiddenByName = new Map<string, CatalogueEntry>();
  for (const e of entries) {
    if (e.idNumber) {
      const list = byIdNumber.get(e.idNumber);
      if (list) list.push(e);
      else byIdNumber.set(e.idNumber, [e]);
    }
    if (e.forbidden) forbiddenByName.set(normalizeName(e.properShippingName), e);
  }
  return { entries, byIdNumber, forbiddenByName };
}

export type ResolutionPurpose = 'segregation' | 'placards' | 'all';

export interface ItemQuery {
  readonly unNumber: string;
  readonly packingGroup?: PackingGroup | undefined;
  readonly properShippingName?: string | undefined;
  readonly hazardClass?: string | undefined;
  readonly inhalationHazardZone?: HazardZone | undefined;
  /** Picks between the "D" (domestic) and "I" (international) rows of one UN number (172.101(b)(4)/(5)). */
  readonly variant?: 'domestic' | 'international' | undefined;
}

export interface CandidateSummary {
  readonly properShippingName: string;
  readonly hazardClass: string;
  readonly packingGroup: PackingGroup | null;
  readonly subsidiaryRisks: readonly string[];
  readonly inhalationHazardZone: HazardZone | null;
  readonly symbols: readonly string[];
}

export type ResolutionProblem =
  | { readonly kind: 'invalid-un-number'; readonly unNumber: string; readonly message: string }
  | { readonly kind: 'unknown-un-number'; readonly unNumber: string; readonly message: string }
  | {
      readonly kind: 'packing-group-mismatch';
      readonly unNumber: string;
      readonly given: PackingGroup;
      readonly allowed: readonly (PackingGroup | null)[];
      readonly message: string;
    }
  | {
      readonly kind: 'no-matching-entry';
      readonly unNumber: string;
      readonly field: 'properShippingName' | 'hazardClass' | 'inhalationHazardZone' | 'variant';
      readonly given: string;
      readonly candidates: readonly CandidateSummary[];
      readonly message: string;
    }
  | {
      readonly kind: 'ambiguous';
      readonly unNumber: string;
      readonly differsIn: readonly string[];
      readonly candidates: readonly CandidateSummary[];
      readonly message: string;
    };

export type Resolution =
  | {
      readonly ok: true;
      readonly entry: CatalogueEntry;
      /** True when exactly one row matched; false when several equivalent rows matched (entry is the first). */
      readonly exact: boolean;
      readonly equivalentRows: number;
    }
  | { readonly ok: false; readonly problem: ResolutionProblem };

export function normalizeUnNumber(raw: string): string | null {
  const m = /^\s*(UN|NA|ID)\s?(\d{4})\s*$/i.exec(raw);
  if (!m || m[1] === undefined || m[2] === undefined) return null;
  return `${m[1].toUpperCase()}${m[2]}`;
}

function summarize(e: CatalogueEntry): CandidateSummary {
  return {
    properShippingName: e.properShippingName,
    hazardClass: e.hazardClassRaw,
    packingGroup: e.packingGroup,
    subsidiaryRisks: e.subsidiaryRisks,
    inhalationHazardZone: e.inhalationHazard.zone,
    symbols: e.symbols,
  };
}

function classMatches(e: CatalogueEntry, given: string): boolean {
  const g = given.trim().toLowerCase();
  if (e.hazardClassRaw.toLowerCase() === g) return true;
  if (g === 'combustible liquid' && e.combustibleLiquid) return true;
  // "1.4" names the division of "1.4S": a division-level match still picks only 1.4 rows.
  return e.hazardClass !== null && e.hazardClass.toLowerCase() === g;
}

/** Splits a declared name into the proper shipping name and a trailing "(technical name)". */
export function splitTechnicalName(name: string): { properShippingName: string; technicalName: string | null } {
  const m = /^(.*\S)\s*\(([^()]+)\)\s*$/.exec(name.trim());
  if (!m || m[1] === undefined || m[2] === undefined) return { properShippingName: name.trim(), technicalName: null };
  return { properShippingName: m[1], technicalName: m[2].trim() };
}

function alternatives(psn: string): string[] {
  return psn.split(/\s+or\s+/i).map(normalizeName);
}

function matchByName(rows: readonly CatalogueEntry[], given: string): CatalogueEntry[] {
  const full = normalizeName(given);
  const stripped = normalizeName(splitTechnicalName(given).properShippingName);
  for (const g of full === stripped ? [full] : [full, stripped]) {
    const exact = rows.filter((e) => normalizeName(e.properShippingName) === g);
    if (exact.length > 0) return exact;
    const alt = rows.filter((e) => alternatives(e.properShippingName).includes(g));
    if (alt.length > 0) return alt;
    // Descriptive text follows the name in the table ("Compressed gas, toxic, n.o.s. Inhalation Hazard Zone A").
    const prefix = rows.filter((e) => alternatives(e.properShippingName).some((a) => a.startsWith(g) && /^($|[\s,(])/.test(a.slice(g.length))));
    if (prefix.length > 0) return prefix;
  }
  return [];
}

const DIFF_FIELDS: readonly [string, (e: CatalogueEntry) => string][] = [
  ['hazardClass', (e) => e.hazardClassRaw],
  ['packingGroup', (e) => e.packingGroup ?? '-'],
  ['subsidiaryRisks', (e) => [...e.subsidiaryRisks].sort().join('+')],
  ['inhalationHazardZone', (e) => `${e.inhalationHazard.pih}:${e.inhalationHazard.zone ?? '-'}`],
  ['physicalState', (e) => e.physicalState.value ?? '-'],
  ['limitedQuantityEligible', (e) => String(e.limitedQuantityEligible.value)],
  ['technicalNameRequired', (e) => String(e.technicalNameRequired)],
  ['quantityLimits', (e) => JSON.stringify(e.quantityLimits)],
  ['properShippingName', (e) => e.properShippingName],
];

/**
 * Resolves a declared item to one 172.101 row or says why it cannot. Rows that answer the same for
 * `purpose` (same hazards for segregation; plus packing group, labels and the placard flags for
 * placards; everything regulatory for 'all') are interchangeable, so matching several of them is
 * not ambiguous; rows that differ are never picked between by guessing.
 */
export function resolveItem(catalogue: Catalogue, query: ItemQuery, purpose: ResolutionPurpose = 'all'): Resolution {
  const un = normalizeUnNumber(query.unNumber);
  if (un === null) {
    return { ok: false, problem: { kind: 'invalid-un-number', unNumber: query.unNumber, message: `"${query.unNumber}" is not an identification number (UNnnnn, NAnnnn or IDnnnn)` } };
  }
  const rows = catalogue.byIdNumber.get(un);
  if (!rows || rows.length === 0) {
    return { ok: false, problem: { kind: 'unknown-un-number', unNumber: un, message: `${un} is not in the 49 CFR 172.101 Hazardous Materials Table` } };
  }
  let cands: readonly CatalogueEntry[] = rows;
  const noMatch = (field: 'properShippingName' | 'hazardClass' | 'inhalationHazardZone' | 'variant', given: string, before: readonly CatalogueEntry[]): Resolution => ({
    ok: false,
    problem: {
      kind: 'no-matching-entry',
      unNumber: un,
      field,
      given,
      candidates: before.map(summarize),
      message: `${un}: no 172.101 entry matches ${field} "${given}"`,
    },
  });

  if (query.properShippingName !== undefined) {
    const next = matchByName(cands, query.properShippingName);
    if (next.length === 0) return noMatch('properShippingName', query.properShippingName, cands);
    cands = next;
  }
  if (query.hazardClass !== undefined) {
    const given = query.hazardClass;
    const next = cands.filter((e) => classMatches(e, given));
    if (next.length === 0) return noMatch('hazardClass', given, cands);
    cands = next;
  }
  if (query.inhalationHazardZone !== undefined) {
    const z = query.inhalationHazardZone;
    // A declared zone selects among zoned rows, and completes a PIH or 2.3 row that gives none (SP6, UN3539).
    const next = cands.filter((e) => e.inhalationHazard.zone === z || ((e.inhalationHazard.pih || e.hazardClass === '2.3') && e.inhalationHazard.zone === null));
    if (next.length === 0) return noMatch('inhalationHazardZone', z, cands);
    cands = next;
  }
  if (query.variant !== undefined) {
    const excluded = query.variant === 'domestic' ? 'I' : 'D';
    const next = cands.filter((e) => !e.symbols.includes(excluded));
    if (next.length === 0) return noMatch('variant', query.variant, cands);
    cands = next;
  }
  if (query.packingGroup !== undefined) {
    const pg = query.packingGroup;
    const next = cands.filter((e) => e.packingGroup === pg);
    if (next.length === 0) {
      const allowed = [...new Set(cands.map((e) => e.packingGroup))];
      const shown = allowed.map((a) => a ?? 'none').join(', ');
      return {
        ok: false,
        problem: { kind: 'packing-group-mismatch', unNumber: un, given: pg, allowed, message: `${un}: packing group ${pg} is not assigned to this entry (172.101 column (5): ${shown})` },
      };
    }
    cands = next;
  }

  const first = cands[0];
  if (first === undefined) return { ok: false, problem: { kind: 'unknown-un-number', unNumber: un, message: `${un} is not in the 49 CFR 172.101 Hazardous Materials Table` } };
  if (cands.length === 1) return { ok: true, entry: first, exact: true, equivalentRows: 1 };
  const key = first.equivalence[purpose];
  if (cands.every((e) => e.equivalence[purpose] === key)) return { ok: true, entry: first, exact: false, equivalentRows: cands.length };

  const differsIn = DIFF_FIELDS.filter(([, f]) => new Set(cands.map(f)).size > 1).map(([n]) => n);
  return {
    ok: false,
    problem: {
      kind: 'ambiguous',
      unNumber: un,
      differsIn,
      candidates: cands.map(summarize),
      message: `${un} has ${cands.length} 172.101 entries that differ in ${differsIn.join(', ')}; give ${suggest(differsIn)} to pick one`,
    },
  };
}

function suggest(differsIn: readonly string[]): string {
  const s: string[] = [];
  if (differsIn.includes('hazardClass')) s.push('hazardClass or variant');
  else {
    if (differsIn.includes('packingGroup')) s.push('packingGroup');
    if (differsIn.includes('inhalationHazardZone')) s.push('inhalationHazardZone');
  }
  if (s.length === 0) s.push('properShippingName');
  return s.join(' and ');
}
