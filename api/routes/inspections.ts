import Router from '@koa/router';
import type { RouterContext } from '@koa/router';
import { WithStartWorkflowOperation, WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure, TypedSearchAttributes } from '@temporalio/common';
import { z } from 'zod';
import { listInspections, listPrograms, programOfVehicle, vehicleExists, type ProgramRow } from '../../db/inspections.js';
import { inTenant } from '../../db/orm.js';
import { checklistErrors, INSPECTION_RESULTS, INSPECTION_TYPE_DEFINITIONS, INSPECTION_TYPES, PERFORMED_AT_SKEW_MS, PROGRAM_STATUSES, VEHICLE_STATUSES, type InspectionType } from '../../domain/inspection-lifecycle.js';
import { allows } from '../../domain/rbac.js';
import {
  INSPECTION_REFUSED,
  INSPECTION_WORKFLOW_TYPE,
  InspectionSearchAttributes,
  inspectionWorkflowId,
  openProgramUpdate,
  recordResultUpdate,
  retireUpdate,
  type Actor,
  type InspectionInput,
  type InspectionRecord,
} from '../../workflows/contracts/inspection.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { forbidden, notFound, Problem, validationFailed } from '../problem.js';
import { routeParams } from '../resource.js';
import { securedRoute, securedRouteWithoutTenantData, type ApiState, type Caller, type RouteDeps } from '../routing.js';
import { parse, text } from '../validation.js';

const EARLIEST_DAY = '2000-01-01';
const LATEST_DAY = '2100-12-31';

/** Request bodies and the history's query (the OpenAPI contract is built from these). */
export const inspectionBodies = {
  program: z.strictObject({
    inspectionType: z.enum(INSPECTION_TYPES),
    firstDueOn: z.iso.date().refine((day) => day >= EARLIEST_DAY && day <= LATEST_DAY, `must be between ${EARLIEST_DAY} and ${LATEST_DAY}`),
  }),
  result: z.strictObject({
    inspectionType: z.enum(INSPECTION_TYPES),
    inspector: text(200),
    performedAt: z.iso
      .datetime({ offset: true })
      .refine((at) => Date.parse(at) <= Date.now() + PERFORMED_AT_SKEW_MS, 'must not be in the future')
      .refine((at) => at.slice(0, 10) >= EARLIEST_DAY, `must not be before ${EARLIEST_DAY}`),
    items: z.array(z.strictObject({ item: z.string().min(1).max(64), result: z.enum(INSPECTION_RESULTS), notes: text(1000).optional() })).min(1).max(64),
    photoDocumentIds: z
      .array(z.uuid({ error: 'must be a UUID' }))
      .max(20)
      .refine((ids) => new Set(ids.map((id) => id.toLowerCase())).size === ids.length, 'must not name a document twice')
      .default([]),
  }),
  retire: z.strictObject({ reason: text(500) }),
};

export const inspectionHistoryQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(25),
  cursor: z.string().max(500).optional(),
  inspectionType: z.enum(INSPECTION_TYPES).optional(),
});

const program = z.object({
  id: z.uuid(),
  vehicleId: z.uuid(),
  inspectionType: z.enum(INSPECTION_TYPES),
  interval: z.string(),
  reminderDays: z.array(z.number().int()),
  nextDueOn: z.iso.date(),
  status: z.enum(PROGRAM_STATUSES),
  groundedReason: z.string().nullable(),
  workflowId: z.string(),
  retiredAt: z.iso.datetime().nullable(),
  retiredReason: z.string().nullable(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
const inspection = z.object({
  id: z.uuid(),
  inspectionType: z.enum(INSPECTION_TYPES),
  result: z.enum(INSPECTION_RESULTS),
  items: z.array(z.object({ item: z.string(), result: z.enum(INSPECTION_RESULTS), notes: z.string().optional() })),
  inspector: z.string(),
  performedAt: z.iso.datetime(),
  photoDocumentIds: z.array(z.uuid()),
  nextDueOn: z.iso.date(),
  recordedBy: z.string().nullable(),
});
const outcome = z.object({
  inspection,
  program: z.object({ id: z.uuid(), status: z.enum(PROGRAM_STATUSES), nextDueOn: z.iso.date(), groundedReason: z.string().nullable() }),
  vehicle: z.object({ id: z.uuid(), registration: z.string(), status: z.enum(VEHICLE_STATUSES), groundedReason: z.string().nullable(), inspectionExpiresOn: z.iso.date().nullable() }),
});

/** What the routes answer (the OpenAPI contract's response schemas). */
export const inspectionViews = { program, programs: z.object({ items: z.array(program) }), inspection, outcome, page: z.object({ items: z.array(inspection), nextCursor: z.string().nullable() }) };

const programView = (row: ProgramRow): z.infer<typeof program> => ({ ...row, reminderDays: [...INSPECTION_TYPE_DEFINITIONS[row.inspectionType].reminderDays] });
const inspectionView = (record: Omit<InspectionRecord, 'inspectionId'> & { id: string }): z.infer<typeof inspection> => ({
  id: record.id,
  inspectionType: record.inspectionType,
  result: record.result,
  items: record.items.map(({ item, result, notes }) => ({ item, result, ...(notes ? { notes } : {}) })),
  inspector: record.inspector,
  performedAt: record.performedAt,
  photoDocumentIds: record.photoDocumentIds,
  nextDueOn: record.nextDueOn,
  recordedBy: record.recordedBy,
});

const conflict = (detail: string) => new Problem(409, 'Conflict', detail);
const cursorSchema = z.strictObject({ p: z.iso.datetime(), id: z.uuid() });

/** A refusal by the programme (its validator, or its handler in turn) is the caller's 409, with the reason. */
function refusalOf(error: unknown): Problem | null {
  if (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure && error.cause.type === INSPECTION_REFUSED) return conflict(error.cause.message);
  return null;
}

/**
 * A vehicle's inspection programmes and inspections. Each programme is a workflow per vehicle and
 * type (workflows/contracts/inspection.ts): the routes start it, feed it results and retire it by
 * update and answer with what it wrote; its activity audits every change with who asked. The
 * vehicle comes first: another company's is a 404 whatever the body.
 */
export function inspectionRoutes(deps: RouteDeps, client: Client, taskQueue: string): Router<ApiState> {
  const router = new Router<ApiState>({ prefix: '/api/v1' });
  const asActor = (caller: Caller): Actor => ({ subject: caller.subject, username: caller.username ?? null });
  const ownVehicle = async (ctx: RouterContext<ApiState>, caller: Caller) => {
    const vehicleId = routeParams(ctx).vehicleId!;
    if (!(await inTenant(deps.db, caller.companyId, (em) => vehicleExists(em, vehicleId)))) throw notFound('No such vehicle in your company');
    return vehicleId;
  };
  const ownProgram = async (ctx: RouterContext<ApiState>, caller: Caller) => {
    const { vehicleId, id } = routeParams(ctx) as { vehicleId: string; id: string };
    const row = await inTenant(deps.db, caller.companyId, (em) => programOfVehicle(em, vehicleId, id));
    if (!row) throw notFound('No such inspection programme of this vehicle in your company');
    return row;
  };

  securedRouteWithoutTenantData(router, deps, 'POST /api/v1/vehicles/:vehicleId/inspection-programs', async (ctx, caller) => {
    const vehicleId = await ownVehicle(ctx, caller);
    const { inspectionType, firstDueOn } = parse(inspectionBodies.program, ctx.request.body);
    const input: InspectionInput = { companyId: caller.companyId, vehicleId, inspectionType };
    // Started and opened in one call: a programme already running refuses the open (409), a retired one's workflow id starts afresh.
    const start = new WithStartWorkflowOperation(INSPECTION_WORKFLOW_TYPE, {
      workflowId: inspectionWorkflowId(vehicleId, inspectionType),
      taskQueue,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      typedSearchAttributes: new TypedSearchAttributes([
        { key: InspectionSearchAttributes.CompanyId, value: caller.companyId },
        { key: InspectionSearchAttributes.VehicleId, value: vehicleId },
        { key: InspectionSearchAttributes.InspectionType, value: inspectionType },
      ]),
    });
    const opened = await client.workflow.executeUpdateWithStart(openProgramUpdate, { args: [{ firstDueOn, by: asActor(caller) }], startWorkflowOperation: start }).catch((error: unknown) => {
      throw refusalOf(error) ?? error;
    });
    const row = (await inTenant(deps.db, caller.companyId, (em) => programOfVehicle(em, vehicleId, opened.programId!)))!;
    ctx.status = 201;
    ctx.set('Location', `${ctx.path}/${row.id}`);
    ctx.body = programView(row);
  });

  securedRoute(router, deps, 'GET /api/v1/vehicles/:vehicleId/inspection-programs', async (ctx, rc) => {
    const vehicleId = routeParams(ctx).vehicleId!;
    if (!(await vehicleExists(rc.em, vehicleId))) throw notFound('No such vehicle in your company');
    parse(z.strictObject({}), ctx.query, 400);
    ctx.body = { items: (await listPrograms(rc.em, vehicleId)).map(programView) };
  });

  securedRouteWithoutTenantData(router, deps, 'GET /api/v1/vehicles/:vehicleId/inspection-programs/:id', async (ctx, caller) => {
    ctx.body = programView(await ownProgram(ctx, caller));
  });

  securedRouteWithoutTenantData(router, deps, 'POST /api/v1/vehicles/:vehicleId/inspection-programs/:id/retire', async (ctx, caller) => {
    const row = await ownProgram(ctx, caller);
    const { reason } = parse(inspectionBodies.retire, ctx.request.body);
    if (row.status === 'RETIRED') throw conflict(`the ${row.inspectionType} inspection programme is already retired`);
    try {
      await client.workflow.getHandle(inspectionWorkflowId(row.vehicleId, row.inspectionType)).executeUpdate(retireUpdate, { args: [{ reason, by: asActor(caller) }] });
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) throw conflict(`the ${row.inspectionType} programme's workflow is not running: start the programme again (it adopts this one), then retire it`);
      throw refusalOf(error) ?? error;
    }
    ctx.body = programView((await inTenant(deps.db, caller.companyId, (em) => programOfVehicle(em, row.vehicleId, row.id)))!);
  });

  securedRouteWithoutTenantData(router, deps, 'POST /api/v1/vehicles/:vehicleId/inspections', async (ctx, caller) => {
    const vehicleId = await ownVehicle(ctx, caller);
    const body = parse(inspectionBodies.result, ctx.request.body);
    const type: InspectionType = body.inspectionType;
    const { recordPermission } = INSPECTION_TYPE_DEFINITIONS[type];
    if (!allows(caller.role, recordPermission)) throw forbidden(`Recording a ${type} inspection needs the "${recordPermission}" permission, which your role does not have`);
    const checklist = checklistErrors(type, body.items);
    if (checklist.length > 0) throw validationFailed(checklist);
    try {
      const result = await client.workflow.getHandle(inspectionWorkflowId(vehicleId, type)).executeUpdate(recordResultUpdate, {
        args: [{ items: body.items, inspector: body.inspector, performedAt: new Date(body.performedAt).toISOString(), photoDocumentIds: body.photoDocumentIds.map((id) => id.toLowerCase()), by: asActor(caller) }],
      });
      const { inspectionId, ...recorded } = result.inspection;
      ctx.body = {
        inspection: inspectionView({ ...recorded, id: inspectionId }),
        program: { id: result.program.programId!, status: result.program.status!, nextDueOn: result.program.nextDueOn!, groundedReason: result.program.groundedReason },
        vehicle: { id: vehicleId, ...result.vehicle },
      } satisfies z.infer<typeof outcome>;
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) throw conflict(`no ${type} inspection programme runs for this vehicle; start one first`);
      throw refusalOf(error) ?? error;
    }
  });

  securedRoute(router, deps, 'GET /api/v1/vehicles/:vehicleId/inspections', async (ctx, rc) => {
    const vehicleId = routeParams(ctx).vehicleId!;
    if (!(await vehicleExists(rc.em, vehicleId))) throw notFound('No such vehicle in your company');
    const query = parse(inspectionHistoryQuery, ctx.query, 400);
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, cursorSchema);
    const rows = await listInspections(rc.em, vehicleId, { limit: query.limit + 1, inspectionType: query.inspectionType, ...(after ? { after: { performedAt: after.p, id: after.id } } : {}) });
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    ctx.body = { items: page.map(({ createdAt: _, ...row }) => inspectionView(row)), nextCursor: rows.length > query.limit && last ? encodeCursor({ p: last.performedAt, id: last.id }) : null };
  });

  return router;
}
