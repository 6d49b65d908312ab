import { ActivityFailure, ApplicationFailure, allHandlersFinished, condition, continueAsNew, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { oneAtATime } from './one-at-a-time.js';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import type { Activities } from '../activities/index.js';
import {
  FINAL_INCIDENT_STATUSES,
  FIRST_NOTICE_AUDIENCE,
  UNACKNOWLEDGED,
  incidentRefusal,
  nextEscalation,
  nextIncidentStatus,
  raisedSeverity,
  type IncidentEvent,
  type NotificationAudience,
} from '../domain/incident-lifecycle.js';
import {
  acknowledgeUpdate,
  closeIncidentUpdate,
  incidentStateQuery,
  incidentTimelineQuery,
  IncidentSearchAttributes,
  INCIDENT_TRANSITION_REFUSED,
  resolveUpdate,
  startResponseUpdate,
  type Actor,
  type IncidentInput,
  type IncidentState,
} from './contracts/incident.js';

const { recordIncident, enrichIncident, recordIncidentTransition, recordIncidentEscalation } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});
// Many recipients over slow channels: a heartbeat per delivery shows it is still sending.
const { notifyCompany } = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});
// The authority must hear of it eventually: retried until it answers (the same idempotency key every time).
const { fileGovernmentIncidentReport } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});

const DEFAULT_CONTINUE_AS_NEW_AFTER = 2_000;

/**
 * One incident's response, from the report to CLOSED (domain/incident-lifecycle.ts). The first
 * activity makes sure the incident's row exists; the workflow then finds the dangerous goods on
 * board and the vehicle's last position, notifies the emergency contacts and, when the incident
 * is serious, files it with the authority. While nobody acknowledges it, escalation timers bring in
 * the managers and then everyone, raising the severity. People acknowledge, start the response,
 * resolve and close it by updates, each validated against the transition table and recorded with
 * who and when. State carries over `continueAsNew`, so a long response keeps a short history.
 */
export async function incidentWorkflow(input: IncidentInput, carried?: IncidentState): Promise<IncidentState> {
  const state: IncidentState = carried ?? {
    incidentNumber: null,
    status: 'REPORTED',
    severity: input.severity,
    reportedAt: null,
    enrichment: null,
    escalations: 0,
    notified: [],
    governmentReport: null,
    timeline: [],
  };
  const now = () => new Date(Date.now()).toISOString();
  /** Work started beside the main loop (first notice, government report): finished before the run ends or continues as new. */
  const background: Array<Promise<void>> = [];
  const transitions = oneAtATime();
  const exclusive = transitions.run;
  const note = (event: string, by: Actor | null, detail: string | null = null) => {
    state.timeline.push({ at: now(), event, status: state.status, severity: state.severity, by: by?.username ?? by?.subject ?? null, detail });
  };
  const shouldContinueAsNew = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength >= (input.continueAsNewAfterEvents ?? DEFAULT_CONTINUE_AS_NEW_AFTER);

  const move = async (event: IncidentEvent, by: Actor, resolution?: string) => {
    // An update that arrives before the first activity has written the row waits for it.
    await condition(() => state.incidentNumber !== null);
    const status = nextIncidentStatus(state.status, event);
    await recordIncidentTransition({ companyId: input.companyId, incidentId: input.incidentId, event, status, by, at: now(), ...(resolution ? { resolution } : {}) });
    state.status = status;
    upsertSearchAttributes([{ key: IncidentSearchAttributes.IncidentStatus, value: status }]);
    note(event, by, resolution ?? null);
    return state;
  };
  const allowed = <Args extends unknown[]>(event: IncidentEvent) => (..._args: Args) => {
    const reason = transitions.busy ? `another transition of this incident is in progress; try ${event} again` : incidentRefusal(state.status, event);
    if (reason) throw ApplicationFailure.nonRetryable(reason, INCIDENT_TRANSITION_REFUSED);
  };

  setHandler(incidentStateQuery, () => state);
  setHandler(incidentTimelineQuery, () => state.timeline);
  setHandler(acknowledgeUpdate, (by) => exclusive(() => move('acknowledge', by)), { validator: allowed('acknowledge') });
  setHandler(startResponseUpdate, (by) => exclusive(() => move('start-response', by)), { validator: allowed('start-response') });
  setHandler(resolveUpdate, ({ resolution, by }) => exclusive(() => move('resolve', by, resolution)), { validator: allowed('resolve') });
  setHandler(closeIncidentUpdate, (by) => exclusive(() => move('close', by)), { validator: allowed('close') });

  const notify = async (audience: NotificationAudience, key: string, why: string) => {
    const { enrichment } = state;
    const goods = enrichment?.dangerousGoods.length ? enrichment.dangerousGoods.map((g) => `- ${g.quantity} ${g.unit} ${g.guidance}`).join('\n') : '- none recorded on board';
    const where = input.location ? `${input.location.lat}, ${input.location.lon} (reported)` : enrichment?.lastPosition ? `${enrichment.lastPosition.lat}, ${enrichment.lastPosition.lon} (vehicle's last position at ${enrichment.lastPosition.recordedAt})` : 'unknown';
    const { sent } = await notifyCompany({
      companyId: input.companyId,
      audience,
      idempotencyKey: key,
      subject: `[${state.severity}] ${state.incidentNumber} ${input.kind}${why ? `: ${why}` : ''}`,
      text: [
        `${state.incidentNumber}: ${input.kind}, severity ${state.severity}, status ${state.status}.`,
        input.description,
        `Occurred at ${input.occurredAt}; location ${where}.`,
        `Dangerous goods on board:\n${goods}`,
        ...(state.governmentReport?.serious ? [`Reportable at once: ${state.governmentReport.criteria.map((c) => `${c.detail} (${c.citation})`).join('; ')}.`] : []),
        `Acknowledge: POST /api/v1/incidents/${input.incidentId}/acknowledge`,
      ].join('\n\n'),
    });
    state.notified.push({ audience, sent, at: now() });
    note('notify', null, `${audience}: ${sent} deliveries`);
  };

  const fileReport = async () => {
    const outcome = await fileGovernmentIncidentReport({ companyId: input.companyId, incidentId: input.incidentId }).catch((error: unknown) => {
      // A refusal by the authority is an answer to record, not an outage to retry.
      if (error instanceof ActivityFailure && error.cause instanceof ApplicationFailure && error.cause.nonRetryable) return { reference: null, filedAt: null, problem: error.cause.message };
      throw error;
    });
    state.governmentReport = { ...state.governmentReport!, ...outcome };
    note('government-report', null, outcome.reference ? `filed, reference ${outcome.reference}` : `not filed: ${outcome.problem}`);
  };

  if (state.reportedAt === null) {
    state.reportedAt = now();
    const row = await recordIncident(input);
    state.status = row.status;
    state.severity = row.severity;
    state.incidentNumber = row.incidentNumber;
    const attributes: SearchAttributeUpdatePair[] = [
      { key: IncidentSearchAttributes.CompanyId, value: input.companyId },
      { key: IncidentSearchAttributes.IncidentNumber, value: row.incidentNumber },
      { key: IncidentSearchAttributes.IncidentStatus, value: row.status },
      { key: IncidentSearchAttributes.IncidentSeverity, value: row.severity },
    ];
    if (row.shipmentNumber) attributes.push({ key: IncidentSearchAttributes.ShipmentNumber, value: row.shipmentNumber });
    if (row.vehicleId) attributes.push({ key: IncidentSearchAttributes.VehicleId, value: row.vehicleId });
    upsertSearchAttributes(attributes);
    note('report', input.reportedBy, `${input.kind} reported (${input.source}): ${input.description}`);
  }
  if (state.enrichment === null) {
    const { enrichment, serious, criteria } = await enrichIncident({
      companyId: input.companyId,
      incidentId: input.incidentId,
      shipmentId: input.shipmentId,
      vehicleId: input.vehicleId,
      kind: input.kind,
      reportedSeverity: input.severity,
      consequences: input.consequences ?? {},
    });
    state.enrichment = enrichment;
    state.governmentReport = { serious, criteria, reference: null, filedAt: null, problem: null };
    if (enrichment.vehicleId && !input.vehicleId) upsertSearchAttributes([{ key: IncidentSearchAttributes.VehicleId, value: enrichment.vehicleId }]);
    const goods = enrichment.dangerousGoods.map((g) => g.unNumber ?? g.properShippingName);
    note('enrich', null, `${goods.length ? `on board: ${goods.join(', ')}` : 'no dangerous goods on record'}; ${enrichment.lastPosition ? `last position ${enrichment.lastPosition.lat}, ${enrichment.lastPosition.lon} at ${enrichment.lastPosition.recordedAt}` : 'no position on record'}${serious ? `; reportable at once (${criteria.map((c) => c.citation).join(', ')})` : ''}`);
  }
  // The first notice and the report to the authority go out beside the escalation timers, never holding them up.
  if (!state.notified.some((n) => n.audience === FIRST_NOTICE_AUDIENCE)) background.push(notify(FIRST_NOTICE_AUDIENCE, `incident-${input.incidentId}:reported`, 'reported'));
  if (state.governmentReport?.serious && !state.governmentReport.reference && !state.governmentReport.problem) background.push(fileReport());

  while (!FINAL_INCIDENT_STATUSES.includes(state.status)) {
    if (shouldContinueAsNew()) {
      // Updates in flight and the background work finish in this run; the next starts from the state they left.
      await Promise.all(background);
      await condition(allHandlersFinished);
      return continueAsNew<typeof incidentWorkflow>(input, state);
    }
    const seen = state.status;
    const step = UNACKNOWLEDGED.includes(state.status) ? nextEscalation(Date.parse(state.reportedAt), state.escalations) : null;
    const woken = () => state.status !== seen || shouldContinueAsNew();
    if (!step) {
      await condition(woken);
      continue;
    }
    if (await condition(woken, Math.max(step.dueAtMs - Date.now(), 1))) continue;
    state.escalations += 1;
    const severity = step.raiseSeverity ? raisedSeverity(state.severity) : state.severity;
    await recordIncidentEscalation({ companyId: input.companyId, incidentId: input.incidentId, step: step.index + 1, afterMinutes: step.afterMinutes, audience: step.audience, severity });
    state.severity = severity;
    upsertSearchAttributes([{ key: IncidentSearchAttributes.IncidentSeverity, value: severity }]);
    note('escalate', null, `not acknowledged within ${step.afterMinutes} minutes: ${step.audience} notified${step.raiseSeverity ? `, severity raised to ${severity}` : ''}`);
    await notify(step.audience, `incident-${input.incidentId}:escalation-${step.index + 1}`, `not acknowledged after ${step.afterMinutes} minutes`);
  }
  await Promise.all(background);
  await condition(allHandlersFinished);
  return state;
}
