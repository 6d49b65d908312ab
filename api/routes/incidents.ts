import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import type { RouterContext } from '@koa/router';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure, TypedSearchAttributes, type SearchAttributePair, type UpdateDefinition } from '@temporalio/common';
import { z } from 'zod';
import { ensureIncident, incidentReferences, incidentView, listIncidents } from '../../db/incidents.js';
import { inTenant } from '../../db/orm.js';
import { readInTenant } from '../../db/tenant-read.js';
import { FINAL_INCIDENT_STATUSES, INCIDENT_KINDS, INCIDENT_SEVERITIES, INCIDENT_SOURCES, INCIDENT_STATUSES, incidentRefusal, NOTIFICATION_AUDIENCES, type IncidentEvent, type IncidentStatus } from '../../domain/incident-lifecycle.js';
import {
  acknowledgeUpdate,
  closeIncidentUpdate,
  INCIDENT_TRANSITION_REFUSED,
  INCIDENT_WORKFLOW_TYPE,
  IncidentSearchAttributes,
  incidentStateQuery,
  incidentWorkflowId,
  resolveUpdate,
  startResponseUpdate,
  type Actor,
  type IncidentInput,
  type IncidentState,
} from '../../workflows/contracts/incident.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { claimIdempotencyKey } from '../idempotency.js';
import { notFound, Problem, validationFailed } from '../problem.js';
import { routeParams } from '../resource.js';
import { securedRoute, securedRouteWithoutTenantData, type ApiState, type Caller, type RouteDeps } from '../routing.js';
import { parse, text } from '../validation.js';

const count = (max: number) => z.number().int().min(0).max(max);
/** A report may be a few minutes ahead of the server's clock (a phone's), never later. */
const CLOCK_SKEW_MS = 5 * 60_000;

/** Request bodies and the list's query (the OpenAPI contract is built from these). */
export const incidentBodies = {
  report: z.strictObject({
    kind: z.enum(INCIDENT_KINDS),
    severity: z.enum(INCIDENT_SEVERITIES),
    description: text(4000),
    shipmentId: z.uuid({ error: 'must be a UUID' }).nullable().optional(),
    vehicleId: z.uuid({ error: 'must be a UUID' }).nullable().optional(),
    location: z.strictObject({ lat: z.number().min(-90).max(90), lon: z.number().min(-180).max(180) }).nullable().optional(),
    occurredAt: z.iso.datetime({ offset: true }).refine((at) => Date.parse(at) <= Date.now() + CLOCK_SKEW_MS, 'must not be in the future').optional(),
    consequences: z
      .strictObject({
        fatalities: count(100_000).optional(),
        hospitalised: count(100_000).optional(),
        evacuationMinutes: count(525_600).optional(),
        transportClosureMinutes: count(525_600).optional(),
        released: z.strictObject({ quantity: z.number().positive().max(1_000_000), unit: z.enum(['kg', 'L']) }).optional(),
      })
      .optional(),
  }),
  none: z.strictObject({}).optional(),
  resolve: z.strictObject({ resolution: text(4000) }),
};

export const incidentListQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(25),
  cursor: z.string().max(500).optional(),
  status: z.enum(INCIDENT_STATUSES).optional(),
  severity: z.enum(INCIDENT_SEVERITIES).optional(),
  kind: z.enum(INCIDENT_KINDS).optional(),
  shipmentId: z.uuid({ error: 'must be a UUID' }).optional(),
  vehicleId: z.uuid({ error: 'must be a UUID' }).optional(),
});

const actor = z.object({ subject: z.string(), username: z.string().nullable() });
const step = z.object({ by: actor, at: z.iso.datetime() });
const criterion = z.object({ criterion: z.string(), detail: z.string(), citation: z.string() });
const enrichment = z.object({
  regime: z.enum(['adg', '49cfr']),
  vehicleId: z.uuid().nullable(),
  shipmentNumbers: z.array(z.string()),
  dangerousGoods: z.array(
    z.object({
      shipmentNumber: z.string(),
      unNumber: z.string().nullable(),
      properShippingName: z.string(),
      hazardClass: z.string().nullable(),
      packingGroup: z.enum(['I', 'II', 'III']).nullable(),
      subsidiaryRisks: z.array(z.string()),
      quantity: z.number(),
      unit: z.enum(['kg', 'L']),
      guidance: z.string(),
      ergGuide: z.string().nullable(),
      citation: z.string(),
    }),
  ),
  lastPosition: z.object({ lat: z.number(), lon: z.number(), recordedAt: z.iso.datetime() }).nullable(),
});
const timelineEntry = z.object({ at: z.iso.datetime(), event: z.string(), status: z.enum(INCIDENT_STATUSES), severity: z.enum(INCIDENT_SEVERITIES), by: z.string().nullable(), detail: z.string().nullable() });
const state = z.object({
  incidentNumber: z.string().nullable(),
  status: z.enum(INCIDENT_STATUSES),
  severity: z.enum(INCIDENT_SEVERITIES),
  reportedAt: z.iso.datetime().nullable(),
  enrichment: enrichment.nullable(),
  escalations: z.number().int(),
  notified: z.array(z.object({ audience: z.enum(NOTIFICATION_AUDIENCES), sent: z.number().int(), at: z.iso.datetime() })),
  governmentReport: z.object({ serious: z.boolean(), criteria: z.array(criterion), reference: z.string().nullable(), filedAt: z.iso.datetime().nullable(), problem: z.string().nullable() }).nullable(),
  timeline: z.array(timelineEntry),
});
const view = z.object({
  id: z.uuid(),
  incidentNumber: z.string(),
  kind: z.enum(INCIDENT_KINDS),
  severity: z.enum(INCIDENT_SEVERITIES),
  reportedSeverity: z.enum(INCIDENT_SEVERITIES),
  status: z.enum(INCIDENT_STATUSES),
  source: z.enum(INCIDENT_SOURCES),
  shipmentId: z.uuid().nullable(),
  vehicleId: z.uuid().nullable(),
  description: z.string(),
  location: z.object({ lat: z.number(), lon: z.number() }).nullable(),
  consequences: incidentBodies.report.shape.consequences.unwrap(),
  occurredAt: z.iso.datetime(),
  reportedBy: actor.nullable(),
  acknowledged: step.nullable(),
  responding: step.nullable(),
  resolved: step.extend({ resolution: z.string().nullable() }).nullable(),
  closed: step.nullable(),
  enrichment: enrichment.nullable(),
  serious: z.boolean().nullable(),
  reportingCriteria: z.array(criterion).nullable(),
  governmentReport: z.object({ reference: z.string(), reportedAt: z.iso.datetime() }).nullable(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

/** What the routes answer (the OpenAPI contract's response schemas). */
export const incidentViews = { view, detail: view.extend({ workflow: state.nullable() }), state, timelineEntry, page: z.object({ items: z.array(view), nextCursor: z.string().nullable() }) };

const conflict = (detail: string) => new Problem(409, 'Conflict', detail);
const cursorSchema = z.strictObject({ c: z.string().regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/), id: z.uuid() });
/** How long a read waits for the workflow's state before answering the row alone. */
const QUERY_DEADLINE_MS = 3_000;

/** The caller's incident named by the route (404 before anything else: another company's is not there). */
async function ownIncident(deps: RouteDeps, caller: Caller, ctx: RouterContext<ApiState>): Promise<{ incidentId: string; status: IncidentStatus }> {
  const incidentId = routeParams(ctx).id!;
  const [row] = await readInTenant<{ status: IncidentStatus }>(deps.db, caller.companyId, (uuid) => `SELECT status FROM incidents WHERE company_id = ${uuid(caller.companyId)} AND id = ${uuid(incidentId)}`);
  if (!row) throw notFound('No such incident in your company');
  return { incidentId, status: row.status };
}

/**
 * Incident response: a driver (or anyone from DRIVER up) reports one — the row is written and the
 * incident's workflow started in the request's transaction, so a 201 means both; emergency
 * coordination (MANAGER) acknowledges, starts the response, resolves and closes it, each an update
 * of the workflow answered with its state, a refusal a 409 with the reason.
 */
export function incidentRoutes(deps: RouteDeps, client: Client, taskQueue: string): Router<ApiState> {
  const router = new Router<ApiState>({ prefix: '/api/v1' });
  const asActor = (caller: Caller): Actor => ({ subject: caller.subject, username: caller.username ?? null });

  securedRoute(router, deps, 'POST /api/v1/incidents', async (ctx, rc) => {
    const body: unknown = ctx.request.body;
    const key = Object.hasOwn(ctx.headers, 'idempotency-key') ? ctx.get('Idempotency-Key') : undefined;
    const idempotency = await claimIdempotencyKey(rc.em, deps.fields, { companyId: rc.caller.companyId, subject: rc.caller.subject, key, method: 'POST', path: ctx.path, body });
    if (idempotency && 'replay' in idempotency) {
      ctx.status = idempotency.replay.status;
      ctx.set({ ...idempotency.replay.headers, 'Idempotent-Replayed': 'true' });
      ctx.body = idempotency.replay.body;
      return;
    }
    const report = parse(incidentBodies.report, body);
    const shipmentId = report.shipmentId ?? null;
    const vehicleId = report.vehicleId ?? null;
    const refs = await incidentReferences(rc.em, { shipmentId, vehicleId });
    const unknown = [...(shipmentId && !refs.shipment ? [{ path: 'shipmentId', message: 'no such shipment in your company' }] : []), ...(vehicleId && !refs.vehicle ? [{ path: 'vehicleId', message: 'no such vehicle in your company' }] : [])];
    if (unknown.length) throw validationFailed(unknown);

    const input: IncidentInput = {
      companyId: rc.caller.companyId,
      incidentId: randomUUID(),
      kind: report.kind,
      severity: report.severity,
      shipmentId,
      vehicleId,
      description: report.description,
      reportedBy: asActor(rc.caller),
      occurredAt: new Date(report.occurredAt ?? Date.now()).toISOString(),
      location: report.location ?? null,
      source: 'api',
      consequences: report.consequences ?? {},
    };
    const incident = await ensureIncident(rc.em, { id: input.incidentId, companyId: input.companyId, kind: input.kind, severity: input.severity, source: 'api', shipmentId, vehicleId, description: input.description, location: input.location, consequences: input.consequences!, occurredAt: input.occurredAt, reportedBy: input.reportedBy });
    const stored = (await incidentView(rc.em, input.incidentId))!;
    await rc.audit({ action: 'create', entityType: 'incident', entityId: input.incidentId, after: stored.view });
    const attributes: SearchAttributePair[] = [
      { key: IncidentSearchAttributes.CompanyId, value: input.companyId },
      { key: IncidentSearchAttributes.IncidentNumber, value: incident.incidentNumber },
      { key: IncidentSearchAttributes.IncidentStatus, value: incident.status },
      { key: IncidentSearchAttributes.IncidentSeverity, value: incident.severity },
    ];
    if (refs.shipment) attributes.push({ key: IncidentSearchAttributes.ShipmentNumber, value: refs.shipment.number });
    const vehicle = vehicleId ?? refs.shipment?.vehicleId;
    if (vehicle) attributes.push({ key: IncidentSearchAttributes.VehicleId, value: vehicle });
    // Started before the row commits: if the start fails, nothing is recorded; if the commit fails, the workflow's first activity writes the row.
    await client.workflow.start(INCIDENT_WORKFLOW_TYPE, { workflowId: incidentWorkflowId(input.incidentId), taskQueue, args: [input], typedSearchAttributes: new TypedSearchAttributes(attributes) });
    const headers = { Location: `${ctx.path}/${input.incidentId}`, ETag: `"v${stored.version}"` };
    ctx.status = 201;
    ctx.set(headers);
    ctx.body = stored.view;
    await idempotency?.store({ status: 201, headers, body: ctx.body });
  });

  securedRoute(router, deps, 'GET /api/v1/incidents', async (ctx, rc) => {
    const query = parse(incidentListQuery, ctx.query, 400);
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, cursorSchema);
    const { cursor: _cursor, limit, ...filters } = query;
    const page = await listIncidents(rc.em, { limit, ...filters, ...(after ? { after: { createdAt: after.c, id: after.id } } : {}) });
    ctx.body = { items: page.items, nextCursor: page.more && page.last ? encodeCursor({ c: page.last.createdAt, id: page.last.id }) : null };
  });

  securedRouteWithoutTenantData(router, deps, 'GET /api/v1/incidents/:id', async (ctx, caller) => {
    const incidentId = routeParams(ctx).id!;
    const stored = await inTenant(deps.db, caller.companyId, (em) => incidentView(em, incidentId));
    if (!stored) throw notFound('No such incident in your company');
    // The row answers alone when the workflow cannot (its history is gone after retention, or no worker answers in time).
    const workflow = await client.connection
      .withDeadline(Date.now() + QUERY_DEADLINE_MS, () => client.workflow.getHandle(incidentWorkflowId(incidentId)).query(incidentStateQuery))
      .catch(() => null);
    ctx.set('ETag', `"v${stored.version}"`);
    ctx.body = { ...stored.view, workflow };
  });

  const route = <Body extends z.ZodType, Arg>(event: IncidentEvent, update: UpdateDefinition<IncidentState, [Arg]>, body: Body, toArg: (input: z.infer<Body>, by: Actor) => Arg) =>
    securedRouteWithoutTenantData(router, deps, `POST /api/v1/incidents/:id/${event}`, async (ctx, caller) => {
      const { incidentId, status } = await ownIncident(deps, caller, ctx);
      const arg = toArg(parse(body, ctx.request.body), asActor(caller));
      // A CLOSED incident's workflow has completed: answered from the row, nothing is run again.
      if (FINAL_INCIDENT_STATUSES.includes(status)) throw conflict(incidentRefusal(status, event) ?? `the incident is ${status}`);
      try {
        ctx.body = await client.workflow.getHandle(incidentWorkflowId(incidentId)).executeUpdate(update, { args: [arg] });
      } catch (error) {
        if (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure && error.cause.type === INCIDENT_TRANSITION_REFUSED) throw conflict(error.cause.message);
        if (error instanceof WorkflowNotFoundError) throw conflict(`the incident's workflow is not running; it is ${status}`);
        throw error;
      }
    });
  route('acknowledge', acknowledgeUpdate, incidentBodies.none, (_, by) => by);
  route('start-response', startResponseUpdate, incidentBodies.none, (_, by) => by);
  route('resolve', resolveUpdate, incidentBodies.resolve, (input, by) => ({ resolution: input.resolution, by }));
  route('close', closeIncidentUpdate, incidentBodies.none, (_, by) => by);
  return router;
}
