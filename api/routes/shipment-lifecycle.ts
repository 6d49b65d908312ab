import Router from '@koa/router';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure, TypedSearchAttributes, type UpdateDefinition } from '@temporalio/common';
import { z } from 'zod';
import { erpAttemptMs } from '../../domain/integrations.js';
import { shipmentLifecycleRowSql } from '../../db/shipments.js';
import { readInTenant } from '../../db/tenant-read.js';
import { FINAL_STATUSES, refusal, SHIPMENT_STATUSES, type ShipmentEvent, type ShipmentStatus } from '../../domain/shipment-lifecycle.js';
import {
  arriveUpdate,
  assignUpdate,
  bookUpdate,
  cancelUpdate,
  closeUpdate,
  deliverUpdate,
  departUpdate,
  SHIPMENT_WORKFLOW_TYPE,
  ShipmentSearchAttributes,
  shipmentWorkflowId,
  timelineQuery,
  TRANSITION_REFUSED,
  type Actor,
  type ShipmentInput,
  type ShipmentState,
} from '../../workflows/contracts/shipment.js';
import { Problem, notFound } from '../problem.js';
import { routeParams } from '../resource.js';
import { securedRouteWithoutTenantData, type ApiState, type Caller, type RouteDeps } from '../routing.js';
import { parse, text } from '../validation.js';

/** Request bodies of the transitions; a transition that needs nothing takes no body (or `{}`). */
export const transitionBodies = {
  none: z.strictObject({}).optional(),
  assign: z.strictObject({ vehicleId: z.uuid({ error: 'must be a UUID' }), driverId: z.uuid({ error: 'must be a UUID' }) }),
  deliver: z.strictObject({ signedBy: text(200), signedAt: z.iso.datetime({ offset: true }), documentId: text(200) }),
  cancel: z.strictObject({ reason: text(500) }),
};

/** What a transition answers and `GET …/timeline` lists: the workflow's state (contract `ShipmentState`). */
const timelineEntry = z.object({ at: z.iso.datetime(), event: z.string(), status: z.enum(SHIPMENT_STATUSES), by: z.string().nullable(), detail: z.string().nullable() });
export const lifecycleViews = {
  timelineEntry,
  state: z.object({
    status: z.enum(SHIPMENT_STATUSES),
    vehicleId: z.uuid().nullable(),
    driverId: z.uuid().nullable(),
    compliance: z.object({ status: z.enum(['COMPLIANT', 'NON_COMPLIANT']), regime: z.string(), asOf: z.string(), failures: z.array(z.string()), placardLoad: z.boolean().nullable() }).nullable(),
    proofOfDelivery: z.object({ signedBy: z.string(), signedAt: z.string(), documentId: z.string() }).nullable(),
    alerts: z.object({ pickupMissed: z.boolean(), deliveryLate: z.boolean(), noPositionSince: z.iso.datetime().nullable().describe('the last position (or departure) of a silence already alerted') }),
    lastPositionAt: z.string().nullable(),
    incidents: z.array(z.object({ incidentId: z.uuid(), kind: z.string(), at: z.string(), detail: z.string() })),
    erp: z.array(z.object({ stage: z.string(), erpReference: z.string().nullable(), at: z.iso.datetime(), failure: z.string().nullable() })).describe('what the ERP answered each stage (a null reference: the company has no ERP)'),
    timeline: z.array(timelineEntry),
  }),
};

const conflict = (detail: string) => new Problem(409, 'Conflict', detail);

/** The transitions a person makes through the API (the others come from the workflow itself). */
type TransitionVerb = Extract<ShipmentEvent, 'book' | 'assign' | 'depart' | 'arrive' | 'deliver' | 'close' | 'cancel'>;

interface Lifecycle {
  client: Client;
  db: RouteDeps['db'];
  /** The shipments task queue, with the deployment's prefix (config/env.ts `taskQueues`). */
  taskQueue: string;
  /** One ERP call attempt's deadline for the workflows this API starts (`erpCallTimeout`). */
  erpCallTimeoutMs: number | undefined;
}


interface ShipmentRow {
  shipment_number: string;
  status: ShipmentStatus;
  /** ISO instants (UTC). */
  pickup_at: string;
  deliver_by: string;
}

interface OwnShipment {
  shipmentId: string;
  row: ShipmentRow;
}

/** The caller's shipment named by the route, looked up before the body is read: another company's is a 404 whatever the body. */
async function ownShipment(db: RouteDeps['db'], caller: Caller, ctx: Parameters<typeof routeParams>[0]): Promise<OwnShipment> {
  const shipmentId = routeParams(ctx).id!;
  const [row] = await readInTenant<ShipmentRow>(db, caller.companyId, (uuid) => shipmentLifecycleRowSql({ companyId: uuid(caller.companyId), id: uuid(shipmentId) }));
  if (!row) throw notFound('No such shipment in your company');
  return { shipmentId, row };
}

/**
 * The one use case behind every transition route: starts its workflow when the event may start it (book, cancel), runs the update and
 * answers with the workflow's state. A refusal — by the transition table or by the data — is a 409
 * with the reason. No database transaction is held while Temporal answers.
 */
async function transition<Arg>({ client, taskQueue, erpCallTimeoutMs: erpCallTimeout }: Lifecycle, caller: Caller, { shipmentId, row }: OwnShipment, event: ShipmentEvent, update: UpdateDefinition<ShipmentState, [Arg]>, arg: Arg): Promise<ShipmentState> {
  const workflowId = shipmentWorkflowId(shipmentId);
  // A CLOSED or CANCELLED shipment's workflow has completed: nothing may start a new one for it.
  if (FINAL_STATUSES.includes(row.status)) throw conflict(refusal(row.status, event) ?? `the shipment is ${row.status}`);
  try {
    if (event === 'book' || event === 'cancel') {
      const input: ShipmentInput = { shipmentId, companyId: caller.companyId, shipmentNumber: row.shipment_number, pickupAt: row.pickup_at, deliverBy: row.deliver_by, ...(erpCallTimeout ? { erpCallTimeout } : {}) };
      await client.workflow.start(SHIPMENT_WORKFLOW_TYPE, {
        workflowId,
        taskQueue,
        args: [input],
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        typedSearchAttributes: new TypedSearchAttributes([
          { key: ShipmentSearchAttributes.CompanyId, value: caller.companyId },
          { key: ShipmentSearchAttributes.ShipmentNumber, value: row.shipment_number },
          { key: ShipmentSearchAttributes.ShipmentStatus, value: row.status },
        ]),
      });
    }
    return await client.workflow.getHandle(workflowId).executeUpdate(update, { args: [arg] });
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) throw conflict(refusal(row.status, event) ?? `the shipment's lifecycle has not started; book it first`);
    if (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure && error.cause.type === TRANSITION_REFUSED) throw conflict(error.cause.message);
    throw error;
  }
}

/** `POST /shipments/{id}/<verb>` for every transition a person makes, and the shipment's timeline. */
export function shipmentLifecycleRoutes(deps: RouteDeps, client: Client, taskQueue: string, options: { erpRequestTimeoutMs?: number } = {}): Router<ApiState> {
  const lifecycle: Lifecycle = { client, db: deps.db, taskQueue, erpCallTimeoutMs: options.erpRequestTimeoutMs === undefined ? undefined : erpAttemptMs(options.erpRequestTimeoutMs) };
  const router = new Router<ApiState>({ prefix: '/api/v1' });
  const actor = (caller: Caller): Actor => ({ subject: caller.subject, username: caller.username ?? null });
  const own = (ctx: Parameters<typeof routeParams>[0], caller: Caller) => ownShipment(deps.db, caller, ctx);

  /** One route per transition: the caller's shipment (404 first), its body, then the update. */
  const route = <Verb extends TransitionVerb, Body extends z.ZodType, Arg>(verb: Verb, update: UpdateDefinition<ShipmentState, [Arg]>, body: Body, toArg: (input: z.infer<Body>, by: Actor) => Arg) =>
    securedRouteWithoutTenantData(router, deps, `POST /api/v1/shipments/:id/${verb}`, async (ctx, caller) => {
      const shipment = await own(ctx, caller);
      const input = parse(body, ctx.request.body);
      ctx.body = await transition(lifecycle, caller, shipment, verb, update, toArg(input, actor(caller)));
    });
  route('book', bookUpdate, transitionBodies.none, (_, by) => by);
  route('assign', assignUpdate, transitionBodies.assign, (input, by) => ({ ...input, by }));
  route('depart', departUpdate, transitionBodies.none, (_, by) => by);
  route('arrive', arriveUpdate, transitionBodies.none, (_, by) => by);
  route('deliver', deliverUpdate, transitionBodies.deliver, (input, by) => ({ ...input, signedAt: new Date(input.signedAt).toISOString(), by }));
  route('close', closeUpdate, transitionBodies.none, (_, by) => by);
  route('cancel', cancelUpdate, transitionBodies.cancel, (input, by) => ({ reason: input.reason, by }));
  securedRouteWithoutTenantData(router, deps, 'GET /api/v1/shipments/:id/timeline', async (ctx, caller) => {
    const { shipmentId } = await own(ctx, caller);
    // A shipment nobody has booked or cancelled has no workflow yet, and so nothing on its timeline.
    ctx.body = { items: await client.workflow.getHandle(shipmentWorkflowId(shipmentId)).query(timelineQuery).catch((error: unknown) => {
      if (error instanceof WorkflowNotFoundError) return [];
      throw error;
    }) };
  });
  return router;
}
