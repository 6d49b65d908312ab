/**
 * An incident's life, from the first report (a driver, an alarm, the shipment workflow) to its
 * closing, as plain data: kinds, severities, statuses, the transitions the incident workflow's
 * update validators ask, the escalation policy its timers follow, and which incidents the
 * regulator must hear about at once. The database CHECKs hold the same lists (written out in the
 * migration), and the API takes its value lists from here.
 */
import type { Regime } from './dangerous-goods/regime.js';

export const INCIDENT_KINDS = ['SPILL', 'LEAK', 'FIRE', 'EXPLOSION', 'COLLISION', 'ROLLOVER', 'INJURY', 'SECURITY', 'BREAKDOWN', 'ROUTE_VIOLATION', 'SENSOR_ALARM', 'OTHER'] as const;
export type IncidentKind = (typeof INCIDENT_KINDS)[number];

/** Lowest first: an escalation raises a severity to the next one. */
export const INCIDENT_SEVERITIES = ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;
export type IncidentSeverity = (typeof INCIDENT_SEVERITIES)[number];

export const INCIDENT_STATUSES = ['REPORTED', 'ACKNOWLEDGED', 'RESPONDING', 'RESOLVED', 'CLOSED'] as const;
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];

/** Where a report came from: a person through the API, a device alarm (ingest), or the shipment workflow (e.g. a restricted geofence entered). */
export const INCIDENT_SOURCES = ['api', 'alarm', 'shipment'] as const;
export type IncidentSource = (typeof INCIDENT_SOURCES)[number];

/** What people ask of an incident; each is an update of its workflow and a route of the API. */
export type IncidentEvent = 'acknowledge' | 'start-response' | 'resolve' | 'close';

/** Event → the states it may leave from → the state it reaches. */
export const INCIDENT_TRANSITIONS: Readonly<Record<IncidentEvent, { readonly from: readonly IncidentStatus[]; readonly to: IncidentStatus }>> = {
  acknowledge: { from: ['REPORTED'], to: 'ACKNOWLEDGED' },
  // A crew already on the scene starts the response without a separate acknowledgement: that is one.
  'start-response': { from: ['REPORTED', 'ACKNOWLEDGED'], to: 'RESPONDING' },
  // Somebody has to have owned an incident before it can be called resolved.
  resolve: { from: ['ACKNOWLEDGED', 'RESPONDING'], to: 'RESOLVED' },
  close: { from: ['RESOLVED'], to: 'CLOSED' },
};

/** No event leaves CLOSED: the workflow ends there. */
export const FINAL_INCIDENT_STATUSES: readonly IncidentStatus[] = ['CLOSED'];

/** Why `event` cannot happen to an incident in `status`, or null when it can. */
export function incidentRefusal(status: IncidentStatus, event: IncidentEvent): string | null {
  const { from } = INCIDENT_TRANSITIONS[event];
  if (from.includes(status)) return null;
  return `cannot ${event} an incident that is ${status}; ${event} is allowed only from ${from.join(', ')}`;
}

/** The state `event` leads to; throws when the transition is not allowed (callers ask `incidentRefusal` first). */
export function nextIncidentStatus(status: IncidentStatus, event: IncidentEvent): IncidentStatus {
  const reason = incidentRefusal(status, event);
  if (reason) throw new Error(reason);
  return INCIDENT_TRANSITIONS[event].to;
}

/** Who a notification goes to: the company's emergency contacts, its managers (MANAGER and ADMIN users), or every contact and user. */
export const NOTIFICATION_AUDIENCES = ['emergency-contacts', 'managers', 'everyone'] as const;
export type NotificationAudience = (typeof NOTIFICATION_AUDIENCES)[number];

export interface EscalationStep {
  /** Minutes after the report, while nobody has acknowledged it. */
  afterMinutes: number;
  audience: NotificationAudience;
  /** Whether the incident's severity goes up one level at this step. */
  raiseSeverity: boolean;
}

/**
 * The first notice goes to the emergency contacts when the incident is reported; nobody
 * acknowledging it within 5 minutes brings in the managers, within 15 minutes every contact and
 * user, and the severity goes up a level. Acknowledging (or starting the response) stops it.
 */
export const FIRST_NOTICE_AUDIENCE: NotificationAudience = 'emergency-contacts';
export const ESCALATION_POLICY: readonly EscalationStep[] = [
  { afterMinutes: 5, audience: 'managers', raiseSeverity: false },
  { afterMinutes: 15, audience: 'everyone', raiseSeverity: true },
];

/** Statuses in which nobody has taken the incident on yet: the escalation timers run only here. */
export const UNACKNOWLEDGED: readonly IncidentStatus[] = ['REPORTED'];

/** One level up, CRITICAL staying CRITICAL. */
export function raisedSeverity(severity: IncidentSeverity): IncidentSeverity {
  return INCIDENT_SEVERITIES[Math.min(INCIDENT_SEVERITIES.indexOf(severity) + 1, INCIDENT_SEVERITIES.length - 1)]!;
}

/** The escalation still to come after `done` steps have run, with the instant (ms) it is due; null when the policy is exhausted. */
export function nextEscalation(reportedAtMs: number, done: number): (EscalationStep & { index: number; dueAtMs: number }) | null {
  const step = ESCALATION_POLICY[done];
  return step ? { ...step, index: done, dueAtMs: reportedAtMs + step.afterMinutes * 60_000 } : null;
}

// ---------------------------------------------------------------------------------------------
// Which incidents the regulator must be told about at once
// ---------------------------------------------------------------------------------------------

/** What the reporter knows of the consequences; every field optional (unknown is not zero, but cannot trigger a criterion). */
export interface IncidentConsequences {
  fatalities?: number;
  /** People admitted to hospital (49 CFR), or needing a hospital stay or intensive treatment (ADR). */
  hospitalised?: number;
  /** How long the public was evacuated, in minutes. */
  evacuationMinutes?: number;
  /** How long a major road, rail line or facility was closed, in minutes. */
  transportClosureMinutes?: number;
  /** How much dangerous goods escaped. */
  released?: { quantity: number; unit: 'kg' | 'L' };
}

/** A dangerous good on board, as the catalogue describes it. */
export interface GoodsOnBoard {
  unNumber: string | null;
  /** Class or division, e.g. "3", "6.2", "7", "2.3". */
  hazardClass: string | null;
  packingGroup: 'I' | 'II' | 'III' | null;
  quantity: number;
  unit: 'kg' | 'L';
}

export interface ReportabilityFacts {
  regime: Regime;
  kind: IncidentKind;
  /** The severity the reporter gave (an escalation's raise is the timer's doing, not anybody's judgement). */
  reportedSeverity: IncidentSeverity;
  consequences: IncidentConsequences;
  goods: readonly GoodsOnBoard[];
}

export interface ReportingCriterion {
  criterion: string;
  detail: string;
  citation: string;
}

/** Kinds in which goods escape, burn or break open: what 49 CFR 171.15(b)(2)–(3) calls "fire, breakage, spillage". */
export const RELEASE_KINDS: readonly IncidentKind[] = ['SPILL', 'LEAK', 'FIRE', 'EXPLOSION'];

const classOf = (good: GoodsOnBoard) => good.hazardClass ?? '';
const isClass7 = (good: GoodsOnBoard) => classOf(good) === '7';
const isInfectious = (good: GoodsOnBoard) => classOf(good) === '6.2';
const unNumbers = (goods: readonly GoodsOnBoard[]) => goods.map((g) => g.unNumber ?? 'unnumbered').join(', ');

/**
 * ADR 1.8.5.3 names release thresholds by transport category (1.1.3.6), which the ADG Dangerous
 * Goods List would give and the shipped 49 CFR data does not: approximated from packing group
 * and class (PG I, 2.3 and 6.2 as category 1; PG II and other gases as category 2; the rest 3).
 */
function adrReleaseThreshold(good: GoodsOnBoard): number {
  const cls = classOf(good);
  if (good.packingGroup === 'I' || cls === '2.3' || cls === '6.2') return 50;
  if (good.packingGroup === 'II' || cls.startsWith('2')) return 333;
  return 1000;
}

const ADR_STAND_IN = 'ADR 1.8.5.3 (ADG 7.x reporting of dangerous goods occurrences; transport categories approximated from class and packing group, the ADG Dangerous Goods List not being in the shipped data)';

/**
 * Whether the incident must be reported to the authority at once ("serious"), with every
 * criterion met. Under 49 CFR: the immediate notice criteria of 171.15(b) (a death, a hospital
 * admission, an evacuation or a closure of an hour or more, fire/breakage/spillage involving
 * Class 7 or Division 6.2, or the reporter's judgement that it must be reported — here, a report
 * made CRITICAL). Under ADG: the occurrence criteria of ADR 1.8.5.3 that ADG 7.x follows (a
 * death or hospitalisation, an evacuation or a closure of public routes of 3 hours or more, a
 * release over the transport category's quantity, any release involving Class 7 or 6.2).
 */
export function reportability(facts: ReportabilityFacts): { serious: boolean; criteria: ReportingCriterion[] } {
  const { consequences: c, goods } = facts;
  const criteria: ReportingCriterion[] = [];
  const release = RELEASE_KINDS.includes(facts.kind);
  const class7 = goods.filter(isClass7);
  const infectious = goods.filter(isInfectious);
  if (facts.regime === '49cfr') {
    if ((c.fatalities ?? 0) > 0) criteria.push({ criterion: 'fatality', detail: `${c.fatalities} person(s) killed`, citation: '49 CFR 171.15(b)(1)(i)' });
    if ((c.hospitalised ?? 0) > 0) criteria.push({ criterion: 'hospitalisation', detail: `${c.hospitalised} person(s) admitted to hospital`, citation: '49 CFR 171.15(b)(1)(ii)' });
    if ((c.evacuationMinutes ?? 0) >= 60) criteria.push({ criterion: 'evacuation', detail: `the public evacuated for ${c.evacuationMinutes} minutes (1 hour or more)`, citation: '49 CFR 171.15(b)(1)(iii)' });
    if ((c.transportClosureMinutes ?? 0) >= 60) criteria.push({ criterion: 'closure', detail: `a major transportation artery or facility closed for ${c.transportClosureMinutes} minutes (1 hour or more)`, citation: '49 CFR 171.15(b)(1)(iv)' });
    if (release && class7.length) criteria.push({ criterion: 'radioactive', detail: `${facts.kind.toLowerCase()} involving radioactive material (${unNumbers(class7)})`, citation: '49 CFR 171.15(b)(2)' });
    if (release && infectious.length) criteria.push({ criterion: 'infectious', detail: `${facts.kind.toLowerCase()} involving an infectious substance (${unNumbers(infectious)})`, citation: '49 CFR 171.15(b)(3)' });
    if (facts.reportedSeverity === 'CRITICAL') criteria.push({ criterion: 'judgement', detail: 'reported CRITICAL: in the judgement of the person in possession it must be reported', citation: '49 CFR 171.15(b)(5)' });
  } else {
    if ((c.fatalities ?? 0) > 0) criteria.push({ criterion: 'fatality', detail: `${c.fatalities} person(s) killed`, citation: ADR_STAND_IN });
    if ((c.hospitalised ?? 0) > 0) criteria.push({ criterion: 'hospitalisation', detail: `${c.hospitalised} person(s) needing a hospital stay or intensive treatment`, citation: ADR_STAND_IN });
    if ((c.evacuationMinutes ?? 0) >= 180) criteria.push({ criterion: 'evacuation', detail: `persons evacuated for ${c.evacuationMinutes} minutes (3 hours or more)`, citation: ADR_STAND_IN });
    if ((c.transportClosureMinutes ?? 0) >= 180) criteria.push({ criterion: 'closure', detail: `public traffic routes closed for ${c.transportClosureMinutes} minutes (3 hours or more)`, citation: ADR_STAND_IN });
    if (release && (class7.length || infectious.length)) criteria.push({ criterion: 'radioactive-or-infectious', detail: `${facts.kind.toLowerCase()} involving ${unNumbers([...class7, ...infectious])}`, citation: ADR_STAND_IN });
    const released = c.released;
    if (release && released && goods.length) {
      const threshold = Math.min(...goods.map(adrReleaseThreshold));
      if (released.quantity >= threshold) criteria.push({ criterion: 'release', detail: `${released.quantity} ${released.unit} released (at least ${threshold} ${released.unit} for the goods on board)`, citation: ADR_STAND_IN });
    }
    if (facts.reportedSeverity === 'CRITICAL') criteria.push({ criterion: 'judgement', detail: 'reported CRITICAL: the carrier judges it a serious occurrence', citation: 'ADR 1.8.5.1 (ADG 7.x stand-in)' });
  }
  return { serious: criteria.length > 0, criteria };
}

// ---------------------------------------------------------------------------------------------
// Emergency response guidance from the catalogue
// ---------------------------------------------------------------------------------------------

/** The hazard each class or division stands for (49 CFR 173.50–173.403, the UN Model Regulations' class names). */
export const HAZARD_CLASS_NAMES: Readonly<Record<string, string>> = {
  '1': 'explosive',
  '1.1': 'explosive, mass explosion hazard',
  '1.2': 'explosive, projection hazard',
  '1.3': 'explosive, fire hazard with minor blast or projection',
  '1.4': 'explosive, minor explosion hazard',
  '1.5': 'very insensitive explosive, mass explosion hazard',
  '1.6': 'extremely insensitive article',
  '2.1': 'flammable gas',
  '2.2': 'non-flammable, non-toxic gas',
  '2.3': 'toxic gas',
  '3': 'flammable liquid',
  '4.1': 'flammable solid',
  '4.2': 'spontaneously combustible',
  '4.3': 'dangerous when wet (gives off flammable gas)',
  '5.1': 'oxidizer',
  '5.2': 'organic peroxide',
  '6.1': 'toxic',
  '6.2': 'infectious substance',
  '7': 'radioactive',
  '8': 'corrosive',
  '9': 'miscellaneous dangerous goods',
};

/** What the catalogue says of one entry that matters to a responder. */
export interface CatalogueHazard {
  unNumber: string | null;
  properShippingName: string;
  hazardClass: string | null;
  packingGroup: 'I' | 'II' | 'III' | null;
  subsidiaryRisks: readonly string[];
  poisonInhalationHazard: boolean;
  inhalationHazardZone: string | null;
}

/**
 * A responder's summary of one entry, in words, from the Hazardous Materials Table: class and
 * its hazard, packing group, subsidiary hazards, an inhalation hazard. The table carries no
 * Emergency Response Guidebook guide numbers, so the summary says where to look instead.
 */
export function emergencyGuidance(entry: CatalogueHazard): { guidance: string; ergGuide: null; citation: string } {
  const name = (cls: string) => `${cls} (${HAZARD_CLASS_NAMES[cls] ?? HAZARD_CLASS_NAMES[cls.split('.')[0]!] ?? 'unclassified'})`;
  const parts = [`${entry.unNumber ?? 'no UN number'} ${entry.properShippingName}: class ${entry.hazardClass ? name(entry.hazardClass) : 'not stated'}`];
  if (entry.packingGroup) parts.push(`packing group ${entry.packingGroup} (${{ I: 'great', II: 'medium', III: 'minor' }[entry.packingGroup]} danger)`);
  if (entry.subsidiaryRisks.length) parts.push(`subsidiary hazard ${entry.subsidiaryRisks.map(name).join(', ')}`);
  if (entry.poisonInhalationHazard) parts.push(`POISON INHALATION HAZARD${entry.inhalationHazardZone ? `, hazard zone ${entry.inhalationHazardZone}` : ''}: isolate and evacuate downwind`);
  parts.push(`emergency response guide: look up ${entry.unNumber ?? 'the proper shipping name'} in the Emergency Response Guidebook (guide numbers are not in the catalogue data)`);
  return { guidance: parts.join('; '), ergGuide: null, citation: '49 CFR 172.101' };
}
