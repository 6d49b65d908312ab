import { ApplicationFailure } from '@temporalio/activity';
import { appendAudit } from '../db/audit.js';
import { companyRegime } from '../db/company-regime.js';
import type { RulesSource } from '../db/dangerous-goods-rules.js';
import { inTenant, type Database } from '../db/orm.js';
import { assignmentFacts, shipmentLoadLines, vehiclePlacardHolders, writeShipmentStatus } from '../db/shipments.js';
import { assessCompliance, complianceInputSchema } from '../domain/dangerous-goods/compliance.js';
import { resolveLoad } from '../domain/dangerous-goods/load.js';
import { determinePlacards } from '../domain/dangerous-goods/placards.js';
import { assignmentRefusals, placardsToHold, type ShipmentStatus } from '../domain/shipment-lifecycle.js';
import { TRANSITION_REFUSED, type Actor, type ComplianceSummary } from '../workflows/contracts/shipment.js';

/** The workflow itself, when a transition or alert is the system's doing rather than a person's. */
const WORKFLOW_ACTOR: Actor = { subject: 'workflow:shipment', username: null };

/** The checks about the load itself: driver, vehicle and emergency details are settled at assignment, not booking. */
const LOAD_CHECKS = new Set(['dg-descriptions', 'forbidden', 'segregation', 'placards', 'quantity-limits']);

type LoadLine = Awaited<ReturnType<typeof shipmentLoadLines>>[number];

/**
 * The consignment lines as the DG engine's load. An item records the net content of its packages, not their capacity: the content
 * per package stands in for the receptacle size (a lower bound, so "a receptacle over 500 L or kg" is never invented, only missed
 * for a part-filled one). The count is left out: the content split over the packages is exact only in real arithmetic.
 */
const asLoad = (lines: readonly LoadLine[]) => ({
  items: lines.map((l) => ({
    ...(l.unNumber ? { unNumber: l.unNumber } : {}),
    ...(l.packingGroup ? { packingGroup: l.packingGroup } : {}),
    properShippingName: l.properShippingName,
    ...(l.technicalName ? { technicalName: l.technicalName } : {}),
    quantity: l.quantity,
    unit: l.unit,
    receptacleCapacity: l.quantity / l.packages,
  })),
});

/** Activities of the shipment lifecycle that talk to PostgreSQL; the only writers of a shipment's status. */
export function shipmentActivities(db: Database, rules: RulesSource) {
  return {
    /** Writes the status the workflow reached (with vehicle and driver on assignment, released on cancellation) and audits it in the same transaction. */
    async recordShipmentStatus(change: { companyId: string; shipmentId: string; status: ShipmentStatus; event: string; by: Actor | null; vehicleId?: string; driverId?: string; release?: boolean }): Promise<void> {
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
          after: change.release ? { status: change.status, vehicleId: null, driverId: null } : { status: change.status, vehicleId: change.vehicleId ?? before.vehicleId, driverId: change.driverId ?? before.driverId },
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
      if (lines.length === 0) return { status: 'NON_COMPLIANT', regime, asOf: request.asOf, failures: ['the shipment has no consignment items'], placardLoad: false, unNumbers };
      const input = complianceInputSchema.parse({ regime, asOf: request.asOf, load: asLoad(lines) });
      const report = assessCompliance(input, current.catalogue, current.segregation);
      const failures = report.checks.filter((c) => LOAD_CHECKS.has(c.id) && c.status === 'fail').map((c) => `${c.id}: ${c.message} (${c.citation})`);
      const resolution = resolveLoad(current.catalogue, input.load, 'placards');
      const placardLoad = resolution.ok ? determinePlacards(resolution.items, regime).placardLoad : null;
      return { status: failures.length ? 'NON_COMPLIANT' : 'COMPLIANT', regime, asOf: request.asOf, failures, placardLoad, unNumbers };
    },

    /** Refuses (non-retryable, with every reason) a driver or vehicle that may not take the load on `asOf`. */
    async checkAssignment(request: { companyId: string; shipmentId: string; driverId: string; vehicleId: string; asOf: string }): Promise<void> {
      const [regime, current, { driver, vehicle, holders, lines }] = await Promise.all([
        companyRegime(db, request.companyId),
        rules.current(),
        inTenant(db, request.companyId, async (em) => ({
          ...(await assignmentFacts(em, request.driverId, request.vehicleId)),
          holders: await vehiclePlacardHolders(em, request.vehicleId),
          lines: await shipmentLoadLines(em, request.shipmentId),
        })),
      ]);
      const reasons = [...(driver ? [] : ['no such driver in your company']), ...(vehicle ? [] : ['no such vehicle in your company'])];
      // The load was validated at booking and cannot have changed since; a catalogue sync in between could still unsettle it.
      const resolution = resolveLoad(current.catalogue, asLoad(lines), 'placards');
      if (!resolution.ok) reasons.push(`the load no longer resolves in the DG catalogue: ${resolution.problems.map((p) => p.message).join('; ')}`);
      if (driver && vehicle && resolution.ok) reasons.push(...assignmentRefusals(request.asOf, driver, vehicle, { regime, holders: holders ?? 0, needed: placardsToHold(determinePlacards(resolution.items, regime)) }));
      if (reasons.length) throw ApplicationFailure.nonRetryable(reasons.join('; '), TRANSITION_REFUSED);
    },
  };
}
