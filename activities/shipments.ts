import { ApplicationFailure } from '@temporalio/activity';
import { appendAudit } from '../db/audit.js';
import { companyRegime } from '../db/company-regime.js';
import type { RulesSource } from '../db/dangerous-goods-rules.js';
import { inTenant, type Database } from '../db/orm.js';
import { assignmentFacts, shipmentLoadLines, writeShipmentStatus } from '../db/shipments.js';
import { assessCompliance, complianceInputSchema } from '../domain/dangerous-goods/compliance.js';
import { assignmentRefusals, type ShipmentStatus } from '../domain/shipment-lifecycle.js';
import { TRANSITION_REFUSED, type Actor, type ComplianceSummary } from '../workflows/contracts/shipment.js';

/** The workflow itself, when a transition or alert is the system's doing rather than a person's. */
const WORKFLOW_ACTOR: Actor = { subject: 'workflow:shipment', username: null };

/** The checks about the load itself: driver, vehicle and emergency details are settled at assignment, not booking. */
const LOAD_CHECKS = new Set(['dg-descriptions', 'forbidden', 'segregation', 'placards', 'quantity-limits']);

/** Activities of the shipment lifecycle that talk to PostgreSQL; the only writers of a shipment's status. */
export function shipmentActivities(db: Database, rules: RulesSource) {
  return {
    /** Writes the status the workflow reached (with vehicle and driver on assignment) and audits it in the same transaction. */
    async recordShipmentStatus(change: { companyId: string; shipmentId: string; status: ShipmentStatus; event: string; by: Actor | null; vehicleId?: string; driverId?: string }): Promise<void> {
      await inTenant(db, change.companyId, async (em) => {
        const before = await writeShipmentStatus(em, change);
        if (!before) throw ApplicationFailure.nonRetryable(`shipment ${change.shipmentId} no longer exists`, 'ShipmentGone');
        const by = change.by ?? WORKFLOW_ACTOR;
        await appendAudit(em, {
          companyId: change.companyId,
          actorSubject: by.subject,
          actorUsername: by.username,
          action: `shipment.${change.event}`,
          entityType: 'shipment',
          entityId: change.shipmentId,
          before,
          after: { status: change.status, vehicleId: change.vehicleId ?? before.vehicleId, driverId: change.driverId ?? before.driverId },
        });
      });
    },

    /** An alert on a shipment (pickup missed, delivery late), kept in the company's audit log. */
    async recordShipmentAlert(alert: { companyId: string; shipmentId: string; kind: string; detail: string }): Promise<void> {
      await inTenant(db, alert.companyId, (em) =>
        appendAudit(em, { companyId: alert.companyId, actorSubject: WORKFLOW_ACTOR.subject, actorUsername: null, action: `shipment.alert.${alert.kind}`, entityType: 'shipment', entityId: alert.shipmentId, after: { detail: alert.detail } }),
      );
    },

    /** Runs the compliance engine on the shipment's consignment items under the company's regime; returns the verdict and its UN numbers. */
    async checkShipmentCompliance(request: { companyId: string; shipmentId: string; asOf: string }): Promise<ComplianceSummary & { unNumbers: string[] }> {
      const [regime, lines, current] = await Promise.all([companyRegime(db, request.companyId), inTenant(db, request.companyId, (em) => shipmentLoadLines(em, request.shipmentId)), rules.current()]);
      const unNumbers = [...new Set(lines.flatMap((l) => (l.unNumber ? [l.unNumber] : [])))];
      if (lines.length === 0) return { status: 'NON_COMPLIANT', regime, asOf: request.asOf, failures: ['the shipment has no consignment items'], unNumbers };
      const input = complianceInputSchema.parse({
        regime,
        asOf: request.asOf,
        load: {
          items: lines.map((l) => ({
            ...(l.unNumber ? { unNumber: l.unNumber } : {}),
            ...(l.packingGroup ? { packingGroup: l.packingGroup } : {}),
            properShippingName: l.properShippingName,
            ...(l.technicalName ? { technicalName: l.technicalName } : {}),
            quantity: l.quantity,
            unit: l.unit,
          })),
        },
      });
      const report = assessCompliance(input, current.catalogue, current.segregation);
      const failures = report.checks.filter((c) => LOAD_CHECKS.has(c.id) && c.status === 'fail').map((c) => `${c.id}: ${c.message} (${c.citation})`);
      return { status: failures.length ? 'NON_COMPLIANT' : 'COMPLIANT', regime, asOf: request.asOf, failures, unNumbers };
    },

    /** Refuses (non-retryable, with every reason) a driver or vehicle that may not take the load on `asOf`. */
    async checkAssignment(request: { companyId: string; driverId: string; vehicleId: string; asOf: string }): Promise<void> {
      const { driver, vehicle } = await inTenant(db, request.companyId, (em) => assignmentFacts(em, request.driverId, request.vehicleId));
      const reasons = [...(driver ? [] : ['no such driver in your company']), ...(vehicle ? [] : ['no such vehicle in your company'])];
      if (driver && vehicle) reasons.push(...assignmentRefusals(request.asOf, driver, vehicle));
      if (reasons.length) throw ApplicationFailure.nonRetryable(reasons.join('; '), TRANSITION_REFUSED);
    },
  };
}
