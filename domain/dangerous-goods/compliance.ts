// Compliance status of a shipment: a list of checks, each pass/fail/warn with its citation.
// A failed check makes the shipment NON_COMPLIANT; otherwise a check that lacks data makes it
// INCOMPLETE; otherwise it is COMPLIANT (warnings, such as "separate these packages", allowed).
// The caller supplies `asOf`: the domain never reads the clock.
import { z } from 'zod';
import { normalizeName, resolveItem, splitTechnicalName } from './catalogue.js';
import type { Catalogue, CatalogueEntry, QuantityLimit } from './catalogue.js';
import { itemQuery, loadSchema } from './load.js';
import type { Load, LoadItem } from './load.js';
import { checkCompatibility } from './segregation.js';
import type { SegregationItem, SegregationRules } from './segregation.js';
import { determinePlacards } from './placards.js';
import type { PlacardItem, PlacardResult } from './placards.js';
import { REGIMES } from './regime.js';
import type { Regime } from './regime.js';

export const MODES = ['road', 'rail', 'passenger-rail', 'passenger-aircraft', 'cargo-aircraft'] as const;
export type Mode = (typeof MODES)[number];

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, { error: 'must be a date YYYY-MM-DD' }).refine((s) => parseDate(s) !== null, { error: 'is not a calendar date' });

export const complianceInputSchema = z.strictObject({
  regime: z.enum(REGIMES),
  mode: z.enum(MODES).default('road'),
  asOf: isoDate,
  load: loadSchema,
  placardsDisplayed: z.array(z.string().trim().min(1).max(60)).max(50).optional(),
  driver: z
    .strictObject({
      dgLicence: z.strictObject({ number: z.string().trim().min(1).max(60).optional(), expiresOn: isoDate.optional() }).optional(),
      training: z.strictObject({ completedOn: isoDate.optional(), expiresOn: isoDate.optional() }).optional(),
    })
    .optional(),
  vehicle: z.strictObject({ inspection: z.strictObject({ inspectedOn: isoDate.optional(), expiresOn: isoDate.optional() }).optional() }).optional(),
  emergency: z
    .strictObject({
      responseInformation: z.boolean().optional(),
      // What carries it: a safety data sheet alone does not count (see SDS_ALONE below).
      responseInformationSource: z.enum(['emergency-response-document', 'safety-data-sheet']).optional(),
      contactPhone: z.string().trim().min(1).max(40).optional(),
    })
    .optional(),
});
export type ComplianceInput = z.input<typeof complianceInputSchema>;

export type CheckStatus = 'pass' | 'fail' | 'warn';
export type OverallStatus = 'COMPLIANT' | 'NON_COMPLIANT' | 'INCOMPLETE';

export interface ComplianceCheck {
  readonly id: string;
  readonly status: CheckStatus;
  readonly message: string;
  readonly citation: string;
  /** Data that would let the check decide; any entry makes the shipment INCOMPLETE unless something failed. */
  readonly missing?: readonly string[];
  readonly items?: readonly number[];
}

export interface ComplianceReport {
  readonly status: OverallStatus;
  readonly regime: Regime;
  readonly asOf: string;
  readonly checks: readonly ComplianceCheck[];
}

/**
 * A safety data sheet alone is not acceptable emergency information. 49 CFR 172.602(a) lists what
 * the emergency response information must give (hazards, immediate precautions, fire and spill
 * handling, first aid): an SDS counts only when it holds every item, so the engine does not take one
 * as such; ADG 7.x 11.2 wants emergency information for the load (an emergency procedure guide),
 * written for transport emergencies, which an SDS is not.
 */
export const SDS_ALONE = {
  '49cfr': {
    message: 'a safety data sheet alone is not accepted as emergency response information: it counts only when it holds every item 172.602(a) lists; carry the emergency response information itself',
    citation: '49 CFR 172.602(a)',
  },
  adg: {
    message: 'a safety data sheet alone is not emergency information: carry the emergency information (an emergency procedure guide) for the load',
    citation: 'ADG 7.x 11.2 (emergency information)',
  },
} as const satisfies Record<Regime, { message: string; citation: string }>;

/** How close to an expiry date a still-valid licence or inspection is reported as a warning. */
export const EXPIRY_WARNING_DAYS = 30;

// ---------------------------------------------------------------------------------------------
// Dates (UTC calendar days; no clock)
// ---------------------------------------------------------------------------------------------

function parseDate(s: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return null;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  const t = Date.UTC(y, mo - 1, d);
  const back = new Date(t);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) return null;
  return t;
}

function addMonths(s: string, months: number): string | null {
  const t = parseDate(s);
  if (t === null) return null;
  const d = new Date(t);
  const target = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + months, d.getUTCDate()));
  // 29 Feb + 12 months: the anniversary is 28 Feb, not 1 Mar.
  if (target.getUTCDate() !== d.getUTCDate()) target.setUTCDate(0);
  return target.toISOString().slice(0, 10);
}

const DAY = 86_400_000;

/** Valid through `until` inclusive. */
function currency(until: string, asOf: string): { status: CheckStatus; daysLeft: number } | null {
  const u = parseDate(until);
  const a = parseDate(asOf);
  if (u === null || a === null) return null;
  const daysLeft = Math.round((u - a) / DAY);
  if (daysLeft < 0) return { status: 'fail', daysLeft };
  return { status: daysLeft <= EXPIRY_WARNING_DAYS ? 'warn' : 'pass', daysLeft };
}

// ---------------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------------

interface Resolved {
  readonly item: LoadItem;
  readonly index: number;
  readonly entry: CatalogueEntry | null;
}

function descriptionsCheck(load: Load, catalogue: Catalogue, regime: Regime): { check: ComplianceCheck; resolved: Resolved[]; unresolved: boolean } {
  const citation = regime === 'adg' ? 'ADG 7.x 5.4.1 (dangerous goods description)' : '49 CFR 172.202(a), 172.203(k)';
  const failures: string[] = [];
  const missing: string[] = [];
  const resolved: Resolved[] = [];
  let unresolved = false;
  load.items.forEach((item, index) => {
    const ref = `items[${index}]`;
    if (item.unNumber === undefined) {
      resolved.push({ item, index, entry: null });
      return;
    }
    const r = resolveItem(catalogue, itemQuery(item, item.unNumber));
    if (!r.ok) {
      unresolved = true;
      if (r.problem.kind === 'ambiguous') {
        missing.push(`${ref}: ${r.problem.message}`);
      } else failures.push(`${ref}: ${r.problem.message}`);
      return;
    }
    const e = r.entry;
    resolved.push({ item, index, entry: e });
    if (item.properShippingName === undefined) missing.push(`${ref}.properShippingName`);
    if (e.packingGroup !== null && item.packingGroup === undefined) missing.push(`${ref}.packingGroup`);
    if (item.quantity === undefined) missing.push(`${ref}.quantity`);
    if (e.technicalNameRequired) {
      const inName = item.properShippingName !== undefined ? splitTechnicalName(item.properShippingName).technicalName : null;
      if (item.technicalName === undefined && inName === null) missing.push(`${ref}.technicalName (entry marked "G": 172.203(k))`);
    }
  });
  if (failures.length > 0) {
    return { check: { id: 'dg-descriptions', status: 'fail', message: failures.join('; '), citation }, resolved, unresolved };
  }
  if (missing.length > 0) {
    return { check: { id: 'dg-descriptions', status: 'warn', message: 'dangerous goods descriptions are incomplete', citation, missing }, resolved, unresolved };
  }
  return { check: { id: 'dg-descriptions', status: 'pass', message: 'every dangerous goods description resolves to one 172.101 entry and is complete', citation }, resolved, unresolved };
}

function forbiddenCheck(load: Load, catalogue: Catalogue, resolved: readonly Resolved[]): ComplianceCheck {
  const citation = '49 CFR 173.21; 172.101 column (3) "Forbidden"';
  const hits: number[] = [];
  load.items.forEach((item, index) => {
    if (item.properShippingName === undefined) return;
    const name = normalizeName(splitTechnicalName(item.properShippingName).properShippingName);
    if (catalogue.forbiddenByName.has(name)) hits.push(index);
  });
  for (const r of resolved) if (r.entry?.forbidden === true && !hits.includes(r.index)) hits.push(r.index);
  if (hits.length > 0) {
    return { id: 'forbidden', status: 'fail', message: `forbidden for transportation: ${hits.map((i) => `items[${i}]`).join(', ')}`, citation, items: hits };
  }
  return { id: 'forbidden', status: 'pass', message: 'no item is a forbidden material', citation };
}

function segregationCheck(resolved: readonly Resolved[], rules: SegregationRules, regime: Regime): ComplianceCheck {
  const items: SegregationItem[] = resolved.map((r) => ({ ...r.item, entry: r.entry }));
  const c = checkCompatibility(items, rules, regime);
  const idx = (n: number): number => (resolved[n] as Resolved).index;
  // The regime's rules as the answer applied them: class segregation, food and (ADG) overpacks.
  const citation = c.basis.map((b) => b.citation).join('; ');
  const prohibited = c.conflicts.filter((x) => x.severity === 'prohibited');
  if (prohibited.length > 0) {
    return {
      id: 'segregation',
      status: 'fail',
      message: prohibited.map((x) => `items[${idx(x.items[0])}] with items[${idx(x.items[1])}]: ${x.rule}`).join('; '),
      citation,
      items: [...new Set(prohibited.flatMap((x) => [idx(x.items[0]), idx(x.items[1])]))].sort((a, b) => a - b),
    };
  }
  if (c.indeterminate.length > 0) {
    return {
      id: 'segregation',
      status: 'warn',
      message: c.indeterminate.map((x) => `items[${idx(x.items[0])}] with items[${idx(x.items[1])}]: ${x.rule}`).join('; '),
      citation,
      missing: [...new Set(c.indeterminate.flatMap((x) => x.missing))],
    };
  }
  if (c.conflicts.length > 0) {
    return {
      id: 'segregation',
      status: 'warn',
      message: `allowed only with separation or conditions: ${c.conflicts.map((x) => `items[${idx(x.items[0])}] with items[${idx(x.items[1])}]: ${x.rule}`).join('; ')}`,
      citation,
    };
  }
  return { id: 'segregation', status: 'pass', message: 'no segregation restriction applies between the items', citation };
}

function placardItems(resolved: readonly Resolved[]): PlacardItem[] {
  return resolved.map((r) => ({ ...r.item, entry: r.entry }));
}

function normalizePlacard(s: string): string {
  return s.trim().toUpperCase().replace(/\s+/g, ' ');
}

function placardsCheck(p: PlacardResult, displayed: readonly string[] | undefined, regime: Regime): ComplianceCheck {
  const citation = regime === 'adg' ? 'ADG 7.x 5.3' : '49 CFR 172.504, 172.505';
  if (p.placardLoad === null) {
    return {
      id: 'placards',
      status: 'warn',
      message: 'whether placards are required cannot be decided from the data given',
      citation,
      missing: [...new Set(p.reasons.flatMap((r) => r.missing ?? []))],
    };
  }
  const required = p.placards.filter((x) => x.required);
  if (required.length === 0) return { id: 'placards', status: 'pass', message: regime === 'adg' ? 'not a placard load' : 'no placard is required', citation };
  const names = required.map((x) => x.placard);
  if (displayed === undefined) {
    return { id: 'placards', status: 'warn', message: `required: ${names.join(', ')}; the placards displayed are not recorded`, citation, missing: ['placardsDisplayed'] };
  }
  const shown = new Set(displayed.map(normalizePlacard));
  const dangerous = p.alternatives.find((a) => a.placard === 'DANGEROUS');
  const absent = required.filter((x) => {
    if (shown.has(normalizePlacard(x.placard))) return false;
    if (regime === 'adg' && x.hazardClass !== '' && (shown.has(x.hazardClass) || shown.has(`CLASS ${x.hazardClass}`))) return false;
    if (dangerous && shown.has('DANGEROUS') && dangerous.replaces.includes(x.placard)) return false;
    return true;
  });
  if (absent.length > 0) {
    return { id: 'placards', status: 'fail', message: `required placards not displayed: ${absent.map((x) => x.placard).join(', ')}`, citation: absent.map((x) => x.citation).join('; ') };
  }
  return { id: 'placards', status: 'pass', message: `required placards displayed: ${names.join(', ')}`, citation };
}

function withinLimit(limit: QuantityLimit, perPackage: number, unit: 'kg' | 'L'): boolean | null {
  if (limit.kind !== 'max') return null;
  const amount = limit.amounts.find((a) => a.unit === unit);
  if (!amount) return null;
  return limit.exclusive ? perPackage < amount.value : perPackage <= amount.value;
}

function quantityLimitsCheck(resolved: readonly Resolved[], mode: Mode): ComplianceCheck {
  const citation = '49 CFR 172.101(j)';
  if (mode === 'road' || mode === 'rail') {
    return { id: 'quantity-limits', status: 'pass', message: 'columns (9A)/(9B) limit packages on passenger aircraft or rail cars and cargo aircraft: not applicable to this mode', citation };
  }
  const column = mode === 'cargo-aircraft' ? 'cargoAircraftOnly' : 'passengerAircraftRail';
  const label = mode === 'cargo-aircraft' ? '(9B) cargo aircraft only' : '(9A) passenger aircraft/rail';
  const fails: string[] = [];
  const missing: string[] = [];
  for (const r of resolved) {
    const e = r.entry;
    if (e === null) continue;
    const ref = `items[${r.index}]`;
    const limit = e.quantityLimits[column];
    if (limit === null) {
      missing.push(`${ref}: 172.101 gives no column ${label} limit for ${e.idNumber}`);
      continue;
    }
    if (limit.kind === 'forbidden') {
      fails.push(`${ref} (${e.idNumber}) is forbidden in column ${label}`);
      continue;
    }
    if (limit.kind === 'unlimited') continue;
    if (limit.kind === 'reference') {
      missing.push(`${ref}: column ${label} says "${limit.text}"`);
      continue;
    }
    const { quantity, unit, receptacleCount, grossMass } = r.item;
    if (receptacleCount === undefined || (limit.gross ? grossMass === undefined : quantity === undefined || unit === undefined)) {
      missing.push(`${ref}.${receptacleCount === undefined ? 'receptacleCount' : limit.gross ? 'grossMass' : 'quantity'}`);
      continue;
    }
    const perPackage = limit.gross ? (grossMass as number) / receptacleCount : (quantity as number) / receptacleCount;
    const ok = withinLimit(limit, perPackage, limit.gross ? 'kg' : (unit as 'kg' | 'L'));
    if (ok === null) missing.push(`${ref}.quantity in ${limit.amounts.map((a) => a.unit).join(' or ')}`);
    else if (!ok) fails.push(`${ref} (${e.idNumber}): ${perPackage} ${limit.gross ? 'kg gross' : unit} per package exceeds the column ${label} limit`);
  }
  if (fails.length > 0) return { id: 'quantity-limits', status: 'fail', message: fails.join('; '), citation };
  if (missing.length > 0) return { id: 'quantity-limits', status: 'warn', message: `package quantities cannot be checked against column ${label}`, citation, missing };
  return { id: 'quantity-limits', status: 'pass', message: `every package is within column ${label}`, citation };
}

function expiryCheck(id: string, what: string, until: string | null | undefined, asOf: string, citation: string, missingField: string): ComplianceCheck {
  if (until === undefined || until === null) return { id, status: 'warn', message: `${what}: not recorded`, citation, missing: [missingField] };
  const c = currency(until, asOf);
  if (c === null) return { id, status: 'fail', message: `${what}: "${until}" is not a date`, citation };
  if (c.status === 'fail') return { id, status: 'fail', message: `${what} expired on ${until}`, citation };
  if (c.status === 'warn') return { id, status: 'warn', message: `${what} is current but expires on ${until} (${c.daysLeft} days)`, citation };
  return { id, status: 'pass', message: `${what} is current until ${until}`, citation };
}

/**
 * The compliance status of a shipment. The load is re-resolved for 'all' purposes: a shipment's
 * descriptions must name one 172.101 entry, not just a hazard.
 */
export function assessCompliance(input: z.output<typeof complianceInputSchema>, catalogue: Catalogue, rules: SegregationRules): ComplianceReport {
  const { regime, mode, asOf, load } = input;
  const checks: ComplianceCheck[] = [];
  const d = descriptionsCheck(load, catalogue, regime);
  checks.push(d.check);
  checks.push(forbiddenCheck(load, catalogue, d.resolved));

  const resolved = d.resolved;
  const unresolvedNote = d.unresolved ? ' (items that did not resolve are left out)' : '';
  const seg = segregationCheck(resolved, rules, regime);
  checks.push(d.unresolved && seg.status === 'pass' ? { ...seg, status: 'warn', message: seg.message + unresolvedNote, missing: ['items that did not resolve'] } : seg);

  const placards = determinePlacards(placardItems(resolved), regime);
  checks.push(placardsCheck(placards, input.placardsDisplayed, regime));
  checks.push(quantityLimitsCheck(resolved, mode));

  const regulated = resolved.filter((r) => r.entry !== null && !(r.item.limitedQuantity === true && r.entry.limitedQuantityEligible.value === true));

  // Driver licence
  if (regime === '49cfr') {
    const needed = placards.placardLoad;
    const citation = '49 CFR 383.93(b)(4)';
    if (needed === false) checks.push({ id: 'driver-licence', status: 'pass', message: 'no placards required: a hazardous materials endorsement is not required', citation });
    else if (needed === null) checks.push({ id: 'driver-licence', status: 'warn', message: 'whether a hazardous materials endorsement is required depends on placarding, which is undecided', citation, missing: ['placard determination'] });
    else checks.push(expiryCheck('driver-licence', 'CDL hazardous materials endorsement', input.driver?.dgLicence?.expiresOn, asOf, citation, 'driver.dgLicence.expiresOn'));
  } else {
    const a = placards.reasons.find((r) => r.criterion === 'adg-receptacle-over-500');
    const citation = 'ADG model law, Dangerous Goods (Road and Rail Transport) Regulations: dangerous goods driver licence (receptacles over 500 L or 500 kg)';
    if (a?.met === false) checks.push({ id: 'driver-licence', status: 'pass', message: 'no receptacle over 500 L or 500 kg: a dangerous goods driver licence is not required', citation });
    else if (a === undefined || a.met === null) checks.push({ id: 'driver-licence', status: 'warn', message: 'whether a dangerous goods driver licence is required depends on receptacle sizes not given', citation, missing: [...(a?.missing ?? ['receptacleCapacity'])] });
    else checks.push(expiryCheck('driver-licence', 'dangerous goods driver licence', input.driver?.dgLicence?.expiresOn, asOf, citation, 'driver.dgLicence.expiresOn'));
  }

  // Training
  if (regulated.length === 0) {
    checks.push({ id: 'driver-training', status: 'pass', message: 'no fully regulated dangerous goods in the load', citation: regime === 'adg' ? 'ADG 7.x 1.3' : '49 CFR 172.704' });
  } else if (regime === '49cfr') {
    const t = input.driver?.training;
    const until = t?.expiresOn ?? (t?.completedOn !== undefined ? addMonths(t.completedOn, 36) : undefined);
    checks.push(expiryCheck('driver-training', 'hazmat employee training (recurrent at least every three years)', until, asOf, '49 CFR 172.704(c)(2)', 'driver.training.completedOn'));
  } else {
    checks.push(expiryCheck('driver-training', 'dangerous goods training', input.driver?.training?.expiresOn, asOf, 'ADG 7.x 1.3 (training)', 'driver.training.expiresOn'));
  }

  // Vehicle inspection
  {
    const i = input.vehicle?.inspection;
    const until = i?.expiresOn ?? (i?.inspectedOn !== undefined ? addMonths(i.inspectedOn, 12) : undefined);
    const citation = regime === '49cfr' ? '49 CFR 396.17(c)' : 'ADG model law: dangerous goods vehicle licence (annual)';
    checks.push(expiryCheck('vehicle-inspection', 'vehicle periodic inspection (at least every 12 months)', until, asOf, citation, 'vehicle.inspection.inspectedOn'));
  }

  // Emergency information and 24-hour contact
  const emergencyNeeded = regime === '49cfr' ? regulated.length > 0 : placards.placardLoad;
  const eiCitation = regime === '49cfr' ? '49 CFR 172.602' : 'ADG 7.x 11.2 (emergency information)';
  const ecCitation = regime === '49cfr' ? '49 CFR 172.604' : 'ADG 7.x 5.4.1 (emergency contact on transport documents)';
  if (emergencyNeeded === false) {
    checks.push({ id: 'emergency-information', status: 'pass', message: 'not required for this load', citation: eiCitation });
    checks.push({ id: 'emergency-contact', status: 'pass', message: 'not required for this load', citation: ecCitation });
  } else {
    const ri = input.emergency?.responseInformation;
    if (ri !== false && input.emergency?.responseInformationSource === 'safety-data-sheet') checks.push({ id: 'emergency-information', status: 'fail', message: SDS_ALONE[regime].message, citation: SDS_ALONE[regime].citation });
    else if (ri === true) checks.push({ id: 'emergency-information', status: 'pass', message: 'emergency response information is carried', citation: eiCitation });
    else if (ri === false) checks.push({ id: 'emergency-information', status: 'fail', message: 'emergency response information is not carried', citation: eiCitation });
    else checks.push({ id: 'emergency-information', status: 'warn', message: 'emergency response information: not recorded', citation: eiCitation, missing: ['emergency.responseInformation'] });
    const phone = input.emergency?.contactPhone;
    if (phone === undefined) checks.push({ id: 'emergency-contact', status: 'warn', message: '24-hour emergency contact: not recorded', citation: ecCitation, missing: ['emergency.contactPhone'] });
    else if (!/^\+?\d[\d ()-]{5,24}$/.test(phone) || phone.replace(/\D/g, '').length < 6) checks.push({ id: 'emergency-contact', status: 'fail', message: `"${phone}" is not a telephone number`, citation: ecCitation });
    else checks.push({ id: 'emergency-contact', status: 'pass', message: `24-hour emergency contact ${phone}`, citation: ecCitation });
  }

  const status: OverallStatus = checks.some((c) => c.status === 'fail')
    ? 'NON_COMPLIANT'
    : checks.some((c) => (c.missing?.length ?? 0) > 0)
      ? 'INCOMPLETE'
      : 'COMPLIANT';
  return { status, regime, asOf, checks };
}
