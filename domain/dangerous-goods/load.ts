// The load a caller declares (API body, CLI stdin): validation with field-level errors, then
// resolution of every item against the catalogue.
import { z } from 'zod';
import { normalizeUnNumber, resolveItem } from './catalogue.js';
import type { Catalogue, CatalogueEntry, ItemQuery, ResolutionProblem, ResolutionPurpose } from './catalogue.js';
import { REGIMES } from './regime.js';

export const MAX_ITEMS = 1000;
/**
 * Per line and per receptacle, in kg or L. A rail tank car, the largest single land transport
 * unit, holds about 130,000 L; anything above 200,000 is a typo or a unit mix-up.
 */
export const MAX_QUANTITY = 200_000;
export const MAX_RECEPTACLES = 1_000_000;

/**
 * Units: quantities are kg or L only (the ADG and 49 CFR thresholds are written in kg/L).
 * Liquids may be declared in L or kg; solids in kg (a volume says nothing about a solid's mass);
 * gases in kg (net mass) or L (water capacity, how ADG counts Class 2). A receptacle's capacity
 * may be given in the other unit from the quantity (kg of gas in a cylinder of so many L, a solid in
 * a 1,000 L bin), so it carries its own unit, defaulting to the quantity's.
 */
export const UNITS = ['kg', 'L'] as const;
export type Unit = (typeof UNITS)[number];

export const UN_PATTERN = /^\s*(UN|NA|ID)\s?\d{4}\s*$/i;
const CLASS_PATTERN = /^(1\.[1-6][ABCDEFGHJKLNS]?|2\.[1-3]|3|4\.[1-3]|5\.[12]|6\.[12]|7|8|9|comb liq|combustible liquid)$/i;

const DG_ONLY_FIELDS = [
  'packingGroup',
  'properShippingName',
  'technicalName',
  'hazardClass',
  'inhalationHazardZone',
  'variant',
  'limitedQuantity',
  'radioactiveLabel',
  'bulk',
] as const;

export const loadItemSchema = z
  .strictObject({
    unNumber: z
      .string()
      .regex(UN_PATTERN, { error: 'must be an identification number such as UN1203, NA1993 or ID8000' })
      .transform((s) => normalizeUnNumber(s) ?? s)
      .optional(),
    packingGroup: z.enum(['I', 'II', 'III']).optional(),
    properShippingName: z.string().trim().min(1).max(500).optional(),
    technicalName: z.string().trim().min(1).max(300).optional(),
    hazardClass: z.string().trim().regex(CLASS_PATTERN, { error: 'must be a 49 CFR hazard class or division, e.g. "3", "2.3", "1.1D"' }).optional(),
    inhalationHazardZone: z.enum(['A', 'B', 'C', 'D']).optional(),
    variant: z.enum(['domestic', 'international']).optional(),
    quantity: z.number().positive().max(MAX_QUANTITY).optional(),
    unit: z.enum(UNITS).optional(),
    state: z.enum(['solid', 'liquid', 'gas']).optional(),
    food: z.boolean().optional(),
    limitedQuantity: z.boolean().optional(),
    receptacleCapacity: z.number().positive().max(MAX_QUANTITY).optional(),
    receptacleUnit: z.enum(UNITS).optional(),
    receptacleCount: z.number().int().positive().max(MAX_RECEPTACLES).optional(),
    bulk: z.boolean().optional(),
    /** Gross mass of the line in kg (49 CFR 172.504(c) counts aggregate gross weight). */
    grossMass: z.number().positive().max(MAX_QUANTITY).optional(),
    radioactiveLabel: z.enum(['I-WHITE', 'II-YELLOW', 'III-YELLOW']).optional(),
    /** Lines with the same id share one overpack (ADG 7.x: incompatible goods never in one overpack). */
    overpack: z.string().trim().min(1).max(60).optional(),
    /** This food line is the driver's own food: outside the ADG food rule. */
    driversOwnFood: z.boolean().optional(),
  })
  .superRefine((item, ctx) => {
    const issue = (path: string, message: string): void => {
      ctx.addIssue({ code: 'custom', message, path: [path] });
    };
    if (item.unNumber === undefined) {
      // A line without a UN number is only meaningful as food or food packaging sharing the load.
      if (item.food !== true) issue('unNumber', 'is required (only food/food packaging lines, "food": true, may omit it)');
      else for (const f of DG_ONLY_FIELDS) if (item[f] !== undefined) issue(f, 'applies to dangerous goods only; this line has no unNumber');
    }
    if (item.driversOwnFood !== undefined && item.food !== true) issue('driversOwnFood', 'applies to food lines only ("food": true)');
    if (item.quantity !== undefined && item.unit === undefined) issue('unit', 'is required with quantity (kg or L)');
    if (item.unit !== undefined && item.quantity === undefined) issue('quantity', 'is required with unit');
    if (item.state === 'solid' && item.unit === 'L') issue('unit', 'a solid is declared by mass: use kg');
    if (item.receptacleCapacity !== undefined && item.receptacleUnit === undefined && item.unit === undefined) {
      issue('receptacleUnit', 'is required with receptacleCapacity when no unit is given');
    }
    if (item.receptacleUnit !== undefined && item.receptacleCapacity === undefined) issue('receptacleCapacity', 'is required with receptacleUnit');
    if (item.receptacleCount !== undefined && item.receptacleCapacity === undefined) issue('receptacleCapacity', 'is required with receptacleCount');
    if (item.grossMass !== undefined && item.unit === 'kg' && item.quantity !== undefined && item.grossMass < item.quantity) {
      issue('grossMass', 'is less than the net quantity in kg');
    }
    const capUnit = item.receptacleUnit ?? item.unit;
    if (
      item.quantity !== undefined &&
      item.receptacleCapacity !== undefined &&
      item.receptacleCount !== undefined &&
      capUnit === item.unit &&
      item.quantity > item.receptacleCapacity * item.receptacleCount
    ) {
      issue('quantity', `exceeds receptacleCount × receptacleCapacity (${item.receptacleCount} × ${item.receptacleCapacity} ${capUnit})`);
    }
  });

export const loadSchema = z.strictObject({
  items: z
    .array(loadItemSchema, { error: (iss) => (iss.input === undefined ? 'is required' : 'must be an array of items') })
    .min(1, { error: 'must hold at least one item' }).max(MAX_ITEMS, { error: `must hold at most ${MAX_ITEMS} items` }),
});

/** A load to check for compatibility, optionally naming the regime (otherwise the caller's default applies). */
export const compatibilityRequestSchema = loadSchema.extend({ regime: z.enum(REGIMES).optional() });

export type LoadItem = z.infer<typeof loadItemSchema>;
export type Load = z.infer<typeof loadSchema>;
export type CompatibilityRequest = z.infer<typeof compatibilityRequestSchema>;

export interface FieldError {
  /** Path into the input, e.g. ["items", 3, "quantity"]. */
  readonly path: readonly (string | number)[];
  /** The same path as text, e.g. "items[3].quantity". */
  readonly field: string;
  readonly message: string;
}

export function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? p : `.${p}`;
  return out === '' ? '(root)' : out;
}

export type ParseResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly errors: readonly FieldError[] };

function toFieldErrors(issues: readonly z.core.$ZodIssue[]): FieldError[] {
  const out: FieldError[] = [];
  for (const i of issues) {
    const base = i.path.filter((p): p is string | number => typeof p === 'string' || typeof p === 'number');
    if (i.code === 'unrecognized_keys') {
      for (const k of i.keys) out.push({ path: [...base, k], field: formatPath([...base, k]), message: 'is not a recognised field' });
    } else {
      out.push({ path: base, field: formatPath(base), message: i.message });
    }
  }
  return out;
}

/** Validates a declared load. A list that is too long is refused before any item is looked at. */
export function parseLoad(input: unknown): ParseResult<Load> {
  return parseWith(loadSchema, input);
}

/** Validates a load with its optional regime, as parseLoad does. */
export function parseCompatibilityRequest(input: unknown): ParseResult<CompatibilityRequest> {
  return parseWith(compatibilityRequestSchema, input);
}

function parseWith<T>(schema: z.ZodType<T>, input: unknown): ParseResult<T> {
  if (typeof input === 'object' && input !== null && !Array.isArray(input)) {
    const items = (input as Record<string, unknown>)['items'];
    if (Array.isArray(items) && items.length > MAX_ITEMS) {
      return { ok: false, errors: [{ path: ['items'], field: 'items', message: `must hold at most ${MAX_ITEMS} items (got ${items.length})` }] };
    }
  }
  const r = schema.safeParse(input);
  if (r.success) return { ok: true, value: r.data };
  return { ok: false, errors: toFieldErrors(r.error.issues) };
}

export interface ResolvedItem extends LoadItem {
  readonly index: number;
  /** null for a food/food-packaging line that carries no dangerous goods. */
  readonly entry: CatalogueEntry | null;
  /** False when several interchangeable rows matched and entry is the first of them. */
  readonly exact: boolean;
}

export interface LoadProblem {
  readonly index: number;
  readonly field: string;
  readonly message: string;
  readonly problem?: ResolutionProblem;
}

export type LoadResolution = { readonly ok: true; readonly items: readonly ResolvedItem[] } | { readonly ok: false; readonly problems: readonly LoadProblem[] };

/** What of a declared item picks its catalogue row. */
export function itemQuery(item: LoadItem, unNumber: string): ItemQuery {
  return {
    unNumber,
    packingGroup: item.packingGroup,
    properShippingName: item.properShippingName,
    hazardClass: item.hazardClass,
    inhalationHazardZone: item.inhalationHazardZone,
    variant: item.variant,
  };
}

/** Resolves every item; any item that cannot be resolved to exactly one entry fails the whole load. */
export function resolveLoad(catalogue: Catalogue, load: Load, purpose: ResolutionPurpose = 'all'): LoadResolution {
  const items: ResolvedItem[] = [];
  const problems: LoadProblem[] = [];
  load.items.forEach((item, index) => {
    if (item.unNumber === undefined) {
      items.push({ ...item, index, entry: null, exact: true });
      return;
    }
    const r = resolveItem(catalogue, itemQuery(item, item.unNumber), purpose);
    if (!r.ok) {
      const field =
        r.problem.kind === 'packing-group-mismatch' ? 'packingGroup' : r.problem.kind === 'no-matching-entry' ? r.problem.field : 'unNumber';
      problems.push({ index, field: `items[${index}].${field}`, message: r.problem.message, problem: r.problem });
      return;
    }
    if (r.entry.physicalState.value === 'solid' && item.unit === 'L') {
      problems.push({
        index,
        field: `items[${index}].unit`,
        message: `${r.entry.idNumber ?? ''} ${r.entry.properShippingName} is a solid (${r.entry.physicalState.basis}): declare it in kg`,
      });
      return;
    }
    items.push({ ...item, index, entry: r.entry, exact: r.exact });
  });
  return problems.length > 0 ? { ok: false, problems } : { ok: true, items };
}
