/**
 * A vehicle's inspections as plain data: the inspection types (interval, reminder lead times,
 * checklist, who may record one), the rule that turns a checklist into a result, due-date
 * arithmetic, and the grounding rule. The inspection workflow's validators and timers, the API's
 * body checks and the database CHECKs (written out in the Inspections migration) follow this file.
 *
 * Dates are calendar days (YYYY-MM-DD) in UTC: an inspection due on D may be done on D, and is
 * overdue from the first instant of the day after D. That is also how the assignment check reads
 * `vehicles.inspection_expires_on` (expired when before today), so a due date and an expiry date
 * mean the same day.
 */
import type { Permission } from './rbac.js';

export const INSPECTION_TYPES = ['PRE_TRIP', 'PERIODIC_DG', 'BRAKES', 'TANK_EXTERNAL_VISUAL', 'TANK_LEAKAGE', 'TANK_INTERNAL_VISUAL', 'TANK_PRESSURE'] as const;
export type InspectionType = (typeof INSPECTION_TYPES)[number];

/** CURRENT → DUE_SOON (first reminder sent) → OVERDUE (due date passed: grounded); FAILED (grounded) until a PASS; RETIRED ends the program. */
export const PROGRAM_STATUSES = ['CURRENT', 'DUE_SOON', 'OVERDUE', 'FAILED', 'RETIRED'] as const;
export type ProgramStatus = (typeof PROGRAM_STATUSES)[number];

export const INSPECTION_RESULTS = ['PASS', 'FAIL'] as const;
export type InspectionResult = (typeof INSPECTION_RESULTS)[number];

export const VEHICLE_STATUSES = ['ACTIVE', 'GROUNDED'] as const;
export type VehicleStatus = (typeof VEHICLE_STATUSES)[number];

export interface Interval {
  count: number;
  unit: 'day' | 'month' | 'year';
}

export interface ChecklistItem {
  /** Stable key a result names the item by. */
  id: string;
  label: string;
  /** A failed critical item fails the inspection (and grounds the vehicle); a failed other item is recorded as a defect to repair. */
  critical: boolean;
}

export interface InspectionTypeDefinition {
  /** In words, as reasons and notifications name it. */
  label: string;
  interval: Interval;
  /** Days before the due date on which the company's managers are reminded, largest first. */
  reminderDays: readonly number[];
  /** Whether the type's next due date is the vehicle's DG inspection expiry (`vehicles.inspection_expires_on`, read by the assignment check and the compliance engine). */
  dgRelevant: boolean;
  /** Managers are told when the vehicle is grounded because this inspection is overdue (not for the daily pre-trip of an idle vehicle: that is routine, not news). */
  noticeWhenOverdue: boolean;
  /** The permission recording a result needs: a driver records the daily pre-trip, the fleet manager's people everything else. */
  recordPermission: Permission;
  citation: string;
  checklist: readonly ChecklistItem[];
}

const item = (id: string, label: string, critical = true): ChecklistItem => ({ id, label, critical });

/**
 * The inspection types. Cargo tank tests follow 49 CFR 180.407(c)'s table for the general case
 * (an unlined, uninsulated tank in non-corrosive service); the service-dependent tests (lining,
 * thickness, the shorter intervals for corrosive lading) are types to add here when a fleet needs them.
 */
export const INSPECTION_TYPE_DEFINITIONS: Readonly<Record<InspectionType, InspectionTypeDefinition>> = {
  PRE_TRIP: {
    label: 'pre-trip inspection',
    interval: { count: 1, unit: 'day' },
    reminderDays: [],
    dgRelevant: false,
    noticeWhenOverdue: false,
    recordPermission: 'report_incidents',
    citation: '49 CFR 396.13 (driver inspection before driving), the items of 396.11(a)(2), and the placards and emergency information the load needs (172.504, 172.602)',
    checklist: [
      item('service-brakes', 'Service brakes, including trailer brake connections'),
      item('parking-brake', 'Parking brake'),
      item('steering', 'Steering mechanism'),
      item('lights-reflectors', 'Lighting devices and reflectors'),
      item('tyres', 'Tyres'),
      item('wheels-rims', 'Wheels and rims'),
      item('coupling', 'Coupling devices'),
      item('horn', 'Horn', false),
      item('wipers', 'Windscreen wipers', false),
      item('mirrors', 'Rear-vision mirrors', false),
      item('emergency-equipment', 'Emergency equipment: fire extinguisher, warning triangles'),
      item('placards', 'Placards displayed for the load'),
      item('emergency-information', 'Emergency information on board'),
    ],
  },
  PERIODIC_DG: {
    label: 'annual DG vehicle inspection',
    interval: { count: 1, unit: 'year' },
    reminderDays: [30, 7],
    dgRelevant: true,
    noticeWhenOverdue: true,
    recordPermission: 'manage_fleet',
    citation: '49 CFR 396.17 (periodic inspection at least every 12 months, Appendix G); ADG model law: dangerous goods vehicle licence (annual)',
    checklist: [
      item('brake-system', 'Brake system'),
      item('steering-suspension', 'Steering and suspension'),
      item('tyres-wheels', 'Tyres, wheels and rims'),
      item('lighting', 'Lighting and reflectors'),
      item('exhaust', 'Exhaust system, shielded from the load'),
      item('fuel-system', 'Fuel system'),
      item('electrical', 'Electrical wiring and battery isolation switch'),
      item('coupling', 'Coupling devices and fifth wheel'),
      item('frame', 'Frame and chassis'),
      item('placard-holders', 'Placard holders'),
      item('fire-extinguishers', 'Fire extinguishers: fitted, charged, in date'),
      item('emergency-information-holder', 'Emergency information holder in the cab'),
      item('load-restraint', 'Load restraint anchor points'),
      item('cab-body', 'Cab and body panels, doors, windows', false),
    ],
  },
  BRAKES: {
    label: 'brake inspection',
    interval: { count: 6, unit: 'month' },
    reminderDays: [14],
    dgRelevant: false,
    noticeWhenOverdue: true,
    recordPermission: 'manage_fleet',
    citation: "49 CFR 396.3(a) (the operator's systematic inspection programme), inspector qualified under 396.25",
    checklist: [
      item('brake-adjustment', 'Brake adjustment (push-rod stroke within limits)'),
      item('linings-drums', 'Linings, pads, drums and rotors'),
      item('air-system', 'Air system leakage and compressor build-up'),
      item('parking-brake', 'Parking brake'),
      item('trailer-connections', 'Trailer brake connections and breakaway'),
      item('abs', 'ABS warning lamp and fault codes', false),
    ],
  },
  TANK_EXTERNAL_VISUAL: {
    label: 'cargo tank external visual inspection',
    interval: { count: 1, unit: 'year' },
    reminderDays: [30, 7],
    dgRelevant: true,
    noticeWhenOverdue: true,
    recordPermission: 'manage_fleet',
    citation: '49 CFR 180.407(c) (every year), (d) (what it covers)',
    checklist: [
      item('shell-heads', 'Tank shell and heads: corroded or abraded areas, dents, distortions, weld defects'),
      item('piping-valves-gaskets', 'Piping, valves and gaskets: corrosion, defects, leakage'),
      item('bolts-nuts', 'Bolts and nuts: none missing or loose'),
      item('emergency-devices', 'Emergency devices and self-closing valves: operate, free of corrosion'),
      item('manhole-covers', 'Manhole assemblies and covers'),
      item('relief-devices', 'Pressure relief devices: undamaged, not painted over'),
      item('markings', 'Specification plate and test markings (180.415) legible', false),
    ],
  },
  TANK_LEAKAGE: {
    label: 'cargo tank leakage test',
    interval: { count: 1, unit: 'year' },
    reminderDays: [30, 7],
    dgRelevant: true,
    noticeWhenOverdue: true,
    recordPermission: 'manage_fleet',
    citation: '49 CFR 180.407(c) (every year), (h) (how it is done)',
    checklist: [
      item('test-pressure-held', 'Held at leakage test pressure for at least 5 minutes without leakage'),
      item('valves-fittings', 'Product piping, valves and fittings tight under test'),
      item('vapour-recovery', 'Vapour recovery system, where fitted', false),
    ],
  },
  TANK_INTERNAL_VISUAL: {
    label: 'cargo tank internal visual inspection',
    interval: { count: 5, unit: 'year' },
    reminderDays: [60, 30],
    dgRelevant: true,
    noticeWhenOverdue: true,
    recordPermission: 'manage_fleet',
    citation: '49 CFR 180.407(c) (every 5 years), (e) (what it covers)',
    checklist: [
      item('shell-heads-inside', 'Tank shell and heads, inside: corroded or abraded areas, dents, distortions, weld defects'),
      item('lining', 'Lining, where lined (180.407(f))'),
      item('thickness-of-corroded-areas', 'Corroded or abraded areas thickness-tested (180.407(i))'),
    ],
  },
  TANK_PRESSURE: {
    label: 'cargo tank pressure test',
    interval: { count: 5, unit: 'year' },
    reminderDays: [60, 30],
    dgRelevant: true,
    noticeWhenOverdue: true,
    recordPermission: 'manage_fleet',
    citation: '49 CFR 180.407(c) (every 5 years), (g) (hydrostatic or pneumatic)',
    checklist: [
      item('test-pressure-held', 'Held at test pressure for at least 10 minutes without leakage or distortion'),
      item('relief-valves', 'Reclosing pressure relief valves tested or replaced'),
      item('visual-inspections', 'External and internal visual inspections done with the test'),
      item('test-marking', 'Test date marked on the tank (180.415)', false),
    ],
  },
};

/** The types whose due dates are the vehicle's DG inspection expiry. */
export const DG_RELEVANT_TYPES: readonly InspectionType[] = INSPECTION_TYPES.filter((type) => INSPECTION_TYPE_DEFINITIONS[type].dgRelevant);

/** ISO 8601 duration of an interval (`P1Y`, `P6M`, `P1D`), as the programs table keeps it. */
export function intervalText({ count, unit }: Interval): string {
  return `P${count}${{ day: 'D', month: 'M', year: 'Y' }[unit]}`;
}

const DAY_MS = 86_400_000;
const dayStart = (date: string) => Date.parse(`${date}T00:00:00.000Z`);
const isoDate = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** `date` + `interval`, in calendar days, months or years; a day the target month lacks becomes its last (31 January + 1 month = 28 or 29 February). */
export function addInterval(date: string, { count, unit }: Interval): string {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  if (unit === 'day') return isoDate(Date.UTC(year, month - 1, day + count));
  const months = month - 1 + count * (unit === 'year' ? 12 : 1);
  const lastDay = new Date(Date.UTC(year, months + 1, 0)).getUTCDate();
  return isoDate(Date.UTC(year, months, Math.min(day, lastDay)));
}

/** The calendar day (UTC) of an instant. */
export const dayOf = (instant: string | number) => isoDate(typeof instant === 'number' ? instant : Date.parse(instant));

/** A passing inspection's next due date: the interval from the day it was done (49 CFR 180.407(c): "from the most recent inspection"). */
export function nextDueAfter(type: InspectionType, performedAt: string): string {
  return addInterval(dayOf(performedAt), INSPECTION_TYPE_DEFINITIONS[type].interval);
}

/** The first instant an inspection due on `dueOn` is overdue: the start of the next day. */
export const overdueAt = (dueOn: string) => dayStart(dueOn) + DAY_MS;

/** Whole days from the day of `now` to `dueOn` (0 on the day itself). */
export const daysUntil = (dueOn: string, now: number) => Math.round((dayStart(dueOn) - dayStart(dayOf(now))) / DAY_MS);

/** The first instant of `dueOn`, as the InspectionDueOn search attribute holds it. */
export const dueInstant = (dueOn: string) => new Date(dayStart(dueOn));

/** When the reminder `leadDays` before `dueOn` goes out: the start of that day. */
export const reminderAt = (dueOn: string, leadDays: number) => dayStart(dueOn) - leadDays * DAY_MS;

export type ProgramTimer = { kind: 'reminder'; leadDays: number; at: number } | { kind: 'overdue'; at: number };

/**
 * What the program waits for next, given what it has already sent: a reminder, then the due date.
 * Reminders whose day has already come (a program started close to its due date, or a worker that
 * was down) collapse into one, the most urgent, sent at once; none goes out once the due date has
 * passed. A FAILED, OVERDUE or RETIRED program waits for nothing: it is already grounded or ended.
 */
export function nextTimer(program: { status: ProgramStatus; nextDueOn: string; remindersSent: readonly number[] }, type: InspectionType, now: number): ProgramTimer | null {
  if (program.status !== 'CURRENT' && program.status !== 'DUE_SOON') return null;
  const overdue = overdueAt(program.nextDueOn);
  if (now >= overdue) return { kind: 'overdue', at: now };
  const pending = INSPECTION_TYPE_DEFINITIONS[type].reminderDays.filter((lead) => !program.remindersSent.includes(lead)).map((leadDays) => ({ leadDays, at: reminderAt(program.nextDueOn, leadDays) }));
  const come = pending.filter((r) => r.at <= now);
  if (come.length > 0) return { kind: 'reminder', leadDays: Math.min(...come.map((r) => r.leadDays)), at: now };
  const upcoming = pending.sort((a, b) => a.at - b.at)[0];
  return upcoming ? { kind: 'reminder', ...upcoming } : { kind: 'overdue', at: overdue };
}

/** The reminders a reminder sent `leadDays` before the due date makes moot: itself and every earlier one. */
export const remindersCovered = (type: InspectionType, leadDays: number) => INSPECTION_TYPE_DEFINITIONS[type].reminderDays.filter((lead) => lead >= leadDays);

export interface ItemResult {
  item: string;
  result: InspectionResult;
  notes?: string | undefined;
}

/** Why a checklist does not fit the type, each as a field error (path under `items`); empty when it does. Every item once, no other. */
export function checklistErrors(type: InspectionType, items: readonly ItemResult[]): Array<{ path: string; message: string }> {
  const checklist = INSPECTION_TYPE_DEFINITIONS[type].checklist;
  const known = new Set(checklist.map((c) => c.id));
  const errors: Array<{ path: string; message: string }> = [];
  const seen = new Set<string>();
  items.forEach(({ item: id }, index) => {
    if (!known.has(id)) errors.push({ path: `items.${index}.item`, message: `is not an item of the ${type} checklist` });
    else if (seen.has(id)) errors.push({ path: `items.${index}.item`, message: `"${id}" is listed twice` });
    seen.add(id);
  });
  const missing = checklist.filter((c) => !seen.has(c.id)).map((c) => c.id);
  if (missing.length > 0) errors.push({ path: 'items', message: `misses ${missing.join(', ')} of the ${type} checklist` });
  return errors;
}

/** Any failed critical item fails the inspection; failed other items are defects noted on a PASS. */
export function inspectionResult(type: InspectionType, items: readonly ItemResult[]): InspectionResult {
  return failedCriticalItems(type, items).length > 0 ? 'FAIL' : 'PASS';
}

export function failedCriticalItems(type: InspectionType, items: readonly ItemResult[]): ItemResult[] {
  const critical = new Set(INSPECTION_TYPE_DEFINITIONS[type].checklist.filter((c) => c.critical).map((c) => c.id));
  return items.filter((i) => i.result === 'FAIL' && critical.has(i.item));
}

/** The grounding reason of a failed inspection: which critical items failed, with the inspector's notes. */
export function failureReason(type: InspectionType, performedAt: string, items: readonly ItemResult[]): string {
  const { label, checklist } = INSPECTION_TYPE_DEFINITIONS[type];
  const failed = failedCriticalItems(type, items).map((i) => `${checklist.find((c) => c.id === i.item)!.label}${i.notes ? ` (${i.notes})` : ''}`);
  return `${label} failed on ${dayOf(performedAt)}: ${failed.join('; ')}`;
}

export const overdueReason = (type: InspectionType, dueOn: string) => `${INSPECTION_TYPE_DEFINITIONS[type].label} overdue (was due on ${dueOn})`;

/** How far ahead of the server's clock a `performedAt` may be: a phone's clock a little ahead is not an inspection from the future. */
export const PERFORMED_AT_SKEW_MS = 2 * 60_000;

/**
 * Why a result may not be recorded on the program now, or null: the program must be running,
 * the checklist complete, the inspection not in the future and after the last one recorded (an
 * older PASS arriving late must not lift a later FAIL's grounding; a retried request must not
 * record the same inspection twice).
 */
export function resultRefusal(
  program: { status: ProgramStatus | null; lastPerformedAt: string | null },
  type: InspectionType,
  submission: { items: readonly ItemResult[]; performedAt: string },
  now: number,
): string | null {
  if (program.status === null) return `no ${type} inspection programme runs for this vehicle; start one first`;
  if (program.status === 'RETIRED') return `the ${type} inspection programme of this vehicle is retired`;
  const errors = checklistErrors(type, submission.items);
  if (errors.length > 0) return errors.map((e) => `${e.path} ${e.message}`).join('; ');
  const performed = Date.parse(submission.performedAt);
  if (Number.isNaN(performed)) return 'performedAt is not an instant';
  if (performed > now + PERFORMED_AT_SKEW_MS) return `performedAt ${submission.performedAt} is in the future`;
  if (program.lastPerformedAt && performed <= Date.parse(program.lastPerformedAt)) return `performedAt ${submission.performedAt} is not after the last ${type} inspection recorded (${program.lastPerformedAt})`;
  return null;
}

export interface ProgramStanding {
  status: ProgramStatus;
  nextDueOn: string;
  /** Why this type grounds the vehicle, or null when it does not. */
  groundedReason: string | null;
}

/** A recorded result's effect: a PASS starts a new cycle and lifts this type's grounding; a FAIL grounds with the failed items and keeps the due date. */
export function afterResult(type: InspectionType, program: ProgramStanding, performedAt: string, items: readonly ItemResult[]): ProgramStanding {
  if (inspectionResult(type, items) === 'PASS') return { status: 'CURRENT', nextDueOn: nextDueAfter(type, performedAt), groundedReason: null };
  return { status: 'FAILED', nextDueOn: program.nextDueOn, groundedReason: failureReason(type, performedAt, items) };
}

/** The due date passed: grounded as overdue, unless a failure already grounds it (its reason, naming the items to repair, says more). */
export function afterOverdue(type: InspectionType, program: ProgramStanding): ProgramStanding {
  if (program.status === 'FAILED') return program;
  return { ...program, status: 'OVERDUE', groundedReason: overdueReason(type, program.nextDueOn) };
}

/** The vehicle as its programs leave it: grounded while any type gives a reason, the reasons in type order. */
export function vehicleGrounding(reasons: ReadonlyArray<{ type: InspectionType; reason: string | null }>): { status: VehicleStatus; groundedReason: string | null } {
  const given = INSPECTION_TYPES.flatMap((type) => reasons.filter((r) => r.type === type && r.reason).map((r) => r.reason!));
  return given.length > 0 ? { status: 'GROUNDED', groundedReason: given.join('; ') } : { status: 'ACTIVE', groundedReason: null };
}

/** The vehicle's DG inspection expiry as its programs keep it: the earliest next due date of its running DG-relevant programs (null: none runs, the date is left as recorded). */
export function inspectionExpiry(programs: ReadonlyArray<{ type: InspectionType; status: ProgramStatus; nextDueOn: string }>): string | null {
  const dates = programs.filter((p) => p.status !== 'RETIRED' && INSPECTION_TYPE_DEFINITIONS[p.type].dgRelevant).map((p) => p.nextDueOn).sort();
  return dates[0] ?? null;
}
