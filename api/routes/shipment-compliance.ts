import Router from '@koa/router';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { z } from 'zod';
import { companyRegime } from '../../db/company-regime.js';
import { attachmentExists, shipmentFindings } from '../../db/documents.js';
import { inTenant } from '../../db/orm.js';
import { sdsListing } from '../../db/sds.js';
import { shipmentLoadLines } from '../../db/shipments.js';
import { SDS_ALONE } from '../../domain/dangerous-goods/compliance.js';
import { DOCUMENT_KINDS, FINDING_KINDS } from '../../domain/documents.js';
import { complianceQuery, shipmentWorkflowId } from '../../workflows/contracts/shipment.js';
import { notFound } from '../problem.js';
import { routeParams } from '../resource.js';
import { securedRouteWithoutTenantData, type ApiState, type RouteDeps } from '../routing.js';
import { lifecycleViews } from './shipment-lifecycle.js';
import { currentAmong, sdsView, today, viewSds } from './sds.js';

const finding = z.object({
  documentId: z.uuid(),
  documentTitle: z.string(),
  documentKind: z.enum(DOCUMENT_KINDS),
  kind: z.enum(FINDING_KINDS),
  page: z.number().int().nullable(),
  unNumber: z.string().nullable(),
  properShippingName: z.string().nullable(),
  hazardClass: z.string().nullable(),
  packingGroup: z.enum(['I', 'II', 'III']).nullable(),
  quantity: z.number().nullable(),
  unit: z.enum(['kg', 'L']).nullable(),
  detail: z.string(),
});

/** What `GET /shipments/{id}/compliance` answers: the OpenAPI contract's schema. */
export const complianceView = z.object({
  shipmentId: z.uuid(),
  compliance: lifecycleViews.state.shape.compliance,
  manifestFindings: z.array(finding),
  safetyDataSheets: z.array(z.object({ unNumber: z.string(), current: z.array(sdsView) })),
  emergencyInformation: z.object({ sdsAcceptedAlone: z.literal(false), rule: z.string(), citation: z.string() }),
});

/**
 * A shipment's compliance view: the lifecycle's verdict on the load (its workflow's compliance
 * query; null before booking), the findings of the manifests and DG declarations attached to it,
 * and the current SDS of each UN number it carries (flagged when past its five-year review),
 * with the rule that an SDS alone is not emergency information.
 */
export function shipmentComplianceRoutes(deps: RouteDeps, client: Client): Router<ApiState> {
  const router = new Router<ApiState>({ prefix: '/api/v1' });

  securedRouteWithoutTenantData(router, deps, 'GET /api/v1/shipments/:id/compliance', async (ctx, caller) => {
    const shipmentId = routeParams(ctx).id!;
    const { companyId } = caller;
    const found = await inTenant(deps.db, companyId, async (em) => {
      if (!(await attachmentExists(em, companyId, { type: 'shipment', id: shipmentId }))) return undefined;
      const unNumbers = [...new Set((await shipmentLoadLines(em, shipmentId)).flatMap((line) => (line.unNumber ? [line.unNumber] : [])))];
      const sds = await sdsListing(em, companyId, unNumbers);
      return { unNumbers, findings: await shipmentFindings(em, companyId, shipmentId), sds, current: await currentAmong(em, companyId, sds) };
    });
    if (!found) throw notFound('No such shipment in your company');
    // No database transaction is open while Temporal answers; a shipment nobody has booked has no workflow, and no verdict yet.
    const compliance = await client.workflow
      .getHandle(shipmentWorkflowId(shipmentId))
      .query(complianceQuery)
      .catch((error: unknown) => {
        if (error instanceof WorkflowNotFoundError) return null;
        throw error;
      });
    const regime = await companyRegime(deps.db, companyId);
    const asOf = today();
    ctx.body = {
      shipmentId,
      compliance,
      manifestFindings: found.findings,
      safetyDataSheets: found.unNumbers.map((unNumber) => ({
        unNumber,
        current: found.sds.filter((sds) => sds.unNumbers.includes(unNumber) && found.current.has(sds.id)).map((sds) => viewSds(sds, found.current, asOf)),
      })),
      emergencyInformation: { sdsAcceptedAlone: false, rule: SDS_ALONE[regime].message, citation: SDS_ALONE[regime].citation },
    };
  });

  return router;
}
