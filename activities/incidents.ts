import { ApplicationFailure } from '@temporalio/activity';
import { appendAudit } from '../db/audit.js';
import { companyRegime } from '../db/company-regime.js';
import { ensureIncident, goodsOnBoard, lastKnownPosition, writeIncidentEnrichment, writeIncidentSeverity, writeIncidentTransition, type IncidentSummary } from '../db/incidents.js';
import { inTenant, type Database } from '../db/orm.js';
import { emergencyGuidance, reportability, type IncidentConsequences, type IncidentEvent, type IncidentKind, type IncidentSeverity, type IncidentStatus, type NotificationAudience, type ReportingCriterion } from '../domain/incident-lifecycle.js';
import type { Actor, Enrichment, IncidentInput } from '../workflows/contracts/incident.js';

/** The workflow itself, when a change is the system's doing rather than a person's. */
const WORKFLOW_ACTOR: Actor = { subject: 'workflow:incident', username: null };

const gone = (incidentId: string) => ApplicationFailure.nonRetryable(`incident ${incidentId} no longer exists`, 'IncidentGone');

/** Activities of the incident lifecycle that talk to PostgreSQL; the only writers of an incident's status and severity. */
export function incidentActivities(db: Database) {
  return {
    /** The workflow's first step: makes sure the incident's row exists (idempotent on its id), audited when this call wrote it. */
    async recordIncident(input: IncidentInput): Promise<IncidentSummary> {
      return inTenant(db, input.companyId, async (em) => {
        const incident = await ensureIncident(em, {
          id: input.incidentId,
          companyId: input.companyId,
          kind: input.kind,
          severity: input.severity,
          source: input.source,
          shipmentId: input.shipmentId,
          vehicleId: input.vehicleId,
          description: input.description,
          location: input.location,
          consequences: input.consequences ?? {},
          occurredAt: input.occurredAt,
          reportedBy: input.reportedBy,
        });
        if (incident.created) {
          const by = input.reportedBy ?? WORKFLOW_ACTOR;
          await appendAudit(em, { companyId: input.companyId, actorSubject: by.subject, actorUsername: by.username, action: 'incident.report', entityType: 'incident', entityId: input.incidentId, after: { incidentNumber: incident.incidentNumber, kind: input.kind, severity: input.severity, source: input.source } });
        }
        return incident;
      });
    },

    /**
     * What responders need: the dangerous goods on board (the shipment's, or those loaded on the
     * vehicle) with guidance from the catalogue, and the vehicle's last position; and whether the
     * incident must be reported at once under the company's regime. Kept on the incident's row.
     */
    async enrichIncident(request: { companyId: string; incidentId: string; shipmentId: string | null; vehicleId: string | null; kind: IncidentKind; reportedSeverity: IncidentSeverity; consequences: IncidentConsequences }): Promise<{ enrichment: Enrichment; serious: boolean; criteria: ReportingCriterion[] }> {
      const regime = await companyRegime(db, request.companyId);
      return inTenant(db, request.companyId, async (em) => {
        const { vehicleId, lines } = await goodsOnBoard(em, request);
        const enrichment: Enrichment = {
          regime,
          vehicleId,
          shipmentNumbers: [...new Set(lines.map((l) => l.shipmentNumber))],
          dangerousGoods: lines.map((line) => ({
            shipmentNumber: line.shipmentNumber,
            unNumber: line.unNumber,
            properShippingName: line.technicalName ? `${line.properShippingName} (${line.technicalName})` : line.properShippingName,
            hazardClass: line.hazardClass,
            packingGroup: line.packingGroup,
            subsidiaryRisks: line.subsidiaryRisks,
            quantity: line.quantity,
            unit: line.unit,
            ...emergencyGuidance(line),
          })),
          lastPosition: vehicleId ? await lastKnownPosition(em, vehicleId) : null,
        };
        const { serious, criteria } = reportability({ regime, kind: request.kind, reportedSeverity: request.reportedSeverity, consequences: request.consequences, goods: lines });
        await writeIncidentEnrichment(em, request.incidentId, { enrichment, serious, criteria });
        return { enrichment, serious, criteria };
      });
    },

    /** Writes a transition the workflow made (status, who, when) and audits it in the same transaction. */
    async recordIncidentTransition(change: { companyId: string; incidentId: string; event: IncidentEvent; status: IncidentStatus; by: Actor; at: string; resolution?: string }): Promise<void> {
      await inTenant(db, change.companyId, async (em) => {
        const before = await writeIncidentTransition(em, change);
        if (!before) throw gone(change.incidentId);
        await appendAudit(em, {
          companyId: change.companyId,
          actorSubject: change.by.subject,
          actorUsername: change.by.username,
          action: `incident.${change.event}`,
          entityType: 'incident',
          entityId: change.incidentId,
          before: { status: before },
          after: { status: change.status, at: change.at, ...(change.resolution ? { resolution: change.resolution } : {}) },
        });
      });
    },

    /** Nobody acknowledged in time: the escalation step is audited, and a raised severity written. */
    async recordIncidentEscalation(escalation: { companyId: string; incidentId: string; step: number; afterMinutes: number; audience: NotificationAudience; severity: IncidentSeverity }): Promise<void> {
      await inTenant(db, escalation.companyId, async (em) => {
        const before = await writeIncidentSeverity(em, escalation.incidentId, escalation.severity);
        if (!before) throw gone(escalation.incidentId);
        await appendAudit(em, {
          companyId: escalation.companyId,
          actorSubject: WORKFLOW_ACTOR.subject,
          actorUsername: null,
          action: 'incident.escalate',
          entityType: 'incident',
          entityId: escalation.incidentId,
          before: { severity: before },
          after: { severity: escalation.severity, step: escalation.step, afterMinutes: escalation.afterMinutes, audience: escalation.audience },
        });
      });
    },
  };
}
