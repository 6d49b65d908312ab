import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import type { RouterContext } from '@koa/router';
import { z } from 'zod';
import { WebhookSubscriptionSchema, type WebhookSubscription } from '../../db/entities.js';
import { fieldBinding } from '../../db/encrypted-fields.js';
import { deleteErpConnection, findErpConnection, insertErpConnection, listDeliveries, listErpCalls, updateErpConnection, type ErpConnectionRow, type ErpConnectionWrite } from '../../db/integrations.js';
import { ERP_CALL_STATUSES, ERP_CREDENTIAL_TYPES, ERP_KINDS, ERP_STAGES, SHIPMENT_WEBHOOK_EVENTS, WEBHOOK_DELIVERY_STATUSES } from '../../domain/integrations.js';
import { erpCredentialsSchema } from '../../integrations/erp/adapter.js';
import { restSettingsSchema } from '../../integrations/erp/rest.js';
import { sapODataSettingsSchema } from '../../integrations/erp/sap-odata.js';
import { endpointUrlProblem, MAX_URL_LENGTH, type OutboundPolicy } from '../../integrations/outbound-url.js';
import { newWebhookSecret } from '../../integrations/webhooks/signature.js';
import type { FieldEncryption } from '../../security/field-encryption.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { notFound, Problem, validationFailed } from '../problem.js';
import { etag, resourceRoutes, routeParams, type ResourceDefinition } from '../resource.js';
import { securedRoute, type ApiState, type RequestContext, type RouteDeps } from '../routing.js';
import { parse, text } from '../validation.js';

// ---------------------------------------------------------------------------------------------
// The company's ERP connection: GET / PUT / DELETE /integrations/erp, and what was sent
// ---------------------------------------------------------------------------------------------

const url = z.string().min(1).max(MAX_URL_LENGTH);
const connectionFields = {
  baseUrl: url,
  enabled: z.boolean().default(true),
  /** Write-only. Omitted on a replacement: the stored credentials stay. */
  credentials: erpCredentialsSchema.optional(),
};

/** The body of PUT /integrations/erp: the whole connection; `settings` are the kind's own (defaults filled in). */
export const putErpConnection = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('sap-odata'), ...connectionFields, settings: sapODataSettingsSchema.prefault({}) }),
  z.strictObject({ kind: z.literal('rest'), ...connectionFields, settings: restSettingsSchema.prefault({}) }),
]);

export const erpConnectionView = z.object({
  id: z.uuid(),
  kind: z.enum(ERP_KINDS),
  baseUrl: z.string(),
  enabled: z.boolean(),
  settings: z.record(z.string(), z.unknown()),
  credentials: z.object({ type: z.enum(ERP_CREDENTIAL_TYPES) }),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

const connectionView = (row: ErpConnectionRow) => ({
  id: row.id,
  kind: row.kind,
  baseUrl: row.baseUrl,
  enabled: row.enabled,
  settings: row.settings,
  credentials: { type: row.credentialsType },
  createdAt: row.createdAt,
  updatedAt: row.updatedAt,
});

const cursorOf = z.strictObject({ t: z.string().max(40), id: z.uuid() });
export const erpCallsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(25),
  cursor: z.string().max(500).optional(),
  shipmentId: z.uuid().optional(),
  stage: z.enum(ERP_STAGES).optional(),
  status: z.enum(ERP_CALL_STATUSES).optional(),
});

export const erpCallView = z.object({
  id: z.uuid(),
  shipmentId: z.uuid(),
  stage: z.enum(ERP_STAGES),
  idempotencyKey: z.string(),
  kind: z.enum(ERP_KINDS),
  status: z.enum(ERP_CALL_STATUSES),
  attempts: z.number().int(),
  erpReference: z.string().nullable(),
  lastError: z.string().nullable(),
  request: z.unknown(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  completedAt: z.iso.datetime().nullable(),
});

/** The version If-Match names (undefined without one); malformed is 400, like the collections' (api/resource.ts). */
function ifMatchVersion(ctx: RouterContext<ApiState>): number | undefined {
  if (!Object.hasOwn(ctx.headers, 'if-match')) return undefined;
  const match = /^"v(\d+)"$/.exec(ctx.get('If-Match'));
  if (!match) throw validationFailed([{ path: 'If-Match', message: 'must be the ETag this API returned, e.g. "v3"' }], 400);
  return Number(match[1]);
}

const stale = () => new Problem(412, 'Precondition Failed', 'The ERP connection changed since you read it; fetch it again and reapply your change');

function erpRoutes(router: Router<ApiState>, deps: RouteDeps, policy: OutboundPolicy): void {
  const seal = (fields: FieldEncryption, row: { id: string; companyId: string }, credentials: z.infer<typeof erpCredentialsSchema>) =>
    credentials.type === 'none' ? null : fields.encrypt(JSON.stringify(credentials), fieldBinding('erp_connections', 'credentials', row));

  securedRoute(router, deps, 'GET /api/v1/integrations/erp', async (ctx, { em }) => {
    const row = await findErpConnection(em);
    if (!row) throw notFound('Your company has no ERP connection');
    ctx.set('ETag', etag(row));
    ctx.body = connectionView(row);
  });

  securedRoute(router, deps, 'PUT /api/v1/integrations/erp', async (ctx, rc) => {
    const input = parse(putErpConnection, ctx.request.body);
    const problem = endpointUrlProblem(input.baseUrl, policy, { allowQuery: false });
    if (problem) throw validationFailed([{ path: 'baseUrl', message: problem }]);
    const existing = await findErpConnection(rc.em, { forUpdate: true });
    const version = ifMatchVersion(ctx);
    if (version !== undefined && version !== existing?.version) throw stale();
    const id = existing?.id ?? randomUUID();
    const row = { id, companyId: rc.caller.companyId };
    const credentials = input.credentials === undefined ? undefined : { type: input.credentials.type, sealed: seal(deps.fields, row, input.credentials) };
    const write: ErpConnectionWrite = {
      kind: input.kind,
      baseUrl: input.baseUrl,
      enabled: input.enabled,
      settings: input.settings,
      credentialsType: credentials?.type ?? existing?.credentialsType ?? 'none',
      credentials: credentials ? credentials.sealed : (existing?.credentials ?? null),
    };
    const saved = existing ? await updateErpConnection(rc.em, id, write) : await insertErpConnection(rc.em, rc.caller.companyId, id, write);
    // The audit entry says whether the credentials changed, never what they are.
    await rc.audit({
      action: existing ? 'update' : 'create',
      entityType: 'erp_connection',
      entityId: id,
      ...(existing ? { before: connectionView(existing) } : {}),
      after: { ...connectionView(saved), credentialsChanged: credentials !== undefined },
    });
    ctx.status = existing ? 200 : 201;
    ctx.set('ETag', etag(saved));
    ctx.body = connectionView(saved);
  });

  securedRoute(router, deps, 'DELETE /api/v1/integrations/erp', async (ctx, rc) => {
    const existing = await findErpConnection(rc.em, { forUpdate: true });
    if (!existing) throw notFound('Your company has no ERP connection');
    const version = ifMatchVersion(ctx);
    if (version !== undefined && version !== existing.version) throw stale();
    await deleteErpConnection(rc.em);
    await rc.audit({ action: 'delete', entityType: 'erp_connection', entityId: existing.id, before: connectionView(existing) });
    ctx.status = 204;
  });

  securedRoute(router, deps, 'GET /api/v1/integrations/erp/calls', async (ctx, { em }) => {
    const query = parse(erpCallsQuery, ctx.query, 400);
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, cursorOf);
    const page = await listErpCalls(em, { limit: query.limit, after: after && { createdAt: after.t, id: after.id }, shipmentId: query.shipmentId, stage: query.stage, status: query.status });
    ctx.body = { items: page.items, nextCursor: page.next ? encodeCursor({ t: page.next.createdAt, id: page.next.id }) : null };
  });
}

// ---------------------------------------------------------------------------------------------
// Webhook subscriptions: /webhooks (the secret shown once, at creation), their deliveries
// ---------------------------------------------------------------------------------------------

const events = z
  .array(z.enum(SHIPMENT_WEBHOOK_EVENTS))
  .min(1)
  .max(SHIPMENT_WEBHOOK_EVENTS.length)
  .refine((list) => new Set(list).size === list.length, 'must not repeat an event');
export const createWebhook = z.strictObject({ url, events, description: text(500).nullable().default(null), enabled: z.boolean().default(true) });
const updateWebhook = z.strictObject({ url, events, description: text(500).nullable(), enabled: z.boolean() }).partial();

const webhookView = (s: WebhookSubscription) => ({ id: s.id, url: s.url, description: s.description, events: s.events, enabled: s.enabled, createdAt: s.createdAt, updatedAt: s.updatedAt });

export const webhookSubscriptionView = z.object({
  id: z.uuid(),
  url: z.string(),
  description: z.string().nullable(),
  events: z.array(z.enum(SHIPMENT_WEBHOOK_EVENTS)),
  enabled: z.boolean(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export const webhookSubscriptionIssuedView = webhookSubscriptionView.extend({
  secret: z.string().describe('The signing secret (whsec_…): shown in this response only, never again. Verify each delivery\'s SafeShipper-Signature with it.'),
});

export const deliveriesQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(25),
  cursor: z.string().max(500).optional(),
  status: z.enum(WEBHOOK_DELIVERY_STATUSES).optional(),
});
export const webhookDeliveryView = z.object({
  id: z.uuid(),
  event: z.enum(SHIPMENT_WEBHOOK_EVENTS),
  idempotencyKey: z.string(),
  shipmentId: z.uuid().nullable(),
  status: z.enum(WEBHOOK_DELIVERY_STATUSES),
  attempts: z.number().int(),
  responseCode: z.number().int().nullable(),
  lastError: z.string().nullable(),
  payload: z.unknown(),
  createdAt: z.iso.datetime(),
  lastAttemptAt: z.iso.datetime().nullable(),
  completedAt: z.iso.datetime().nullable(),
});

const checkUrl = (policy: OutboundPolicy, value: string | undefined) => {
  const problem = value === undefined ? undefined : endpointUrlProblem(value, policy);
  if (problem) throw validationFailed([{ path: 'url', message: problem }]);
};

/** The generic routes of /webhooks (list, read, update, delete); the create is its own, as it hands out the secret. */
export function webhookSubscriptions(policy: OutboundPolicy): ResourceDefinition<WebhookSubscription, never, z.infer<typeof updateWebhook>, unknown> {
  return {
    type: 'webhook_subscription',
    path: '/api/v1/webhooks',
    entity: WebhookSubscriptionSchema,
    createSchema: z.never(),
    updateSchema: updateWebhook,
    creatable: false,
    build: async () => {
      throw new Error('webhook subscriptions are created by their own route');
    },
    apply: async (subscription, input) => {
      checkUrl(policy, input.url);
      Object.assign(subscription, input);
    },
    view: webhookView,
    filters: z.object({ enabled: z.enum(['true', 'false']).optional() }),
    where: (f) => (f.enabled ? { enabled: f.enabled === 'true' } : {}),
    orders: { url: 'url' },
  };
}

function webhookRoutes(router: Router<ApiState>, deps: RouteDeps, policy: OutboundPolicy): void {
  resourceRoutes(router, deps, webhookSubscriptions(policy));

  securedRoute(router, deps, 'POST /api/v1/webhooks', async (ctx, rc) => {
    const input = parse(createWebhook, ctx.request.body);
    checkUrl(policy, input.url);
    const id = randomUUID();
    const secret = newWebhookSecret();
    const subscription = rc.em.create(WebhookSubscriptionSchema, { ...input, id, companyId: rc.caller.companyId, secret: deps.fields.encrypt(secret, fieldBinding('webhook_subscriptions', 'secret', { id, companyId: rc.caller.companyId })) });
    await rc.em.flush();
    await rc.em.refresh(subscription);
    await rc.audit({ action: 'create', entityType: 'webhook_subscription', entityId: id, after: webhookView(subscription) });
    await rc.audit({ action: 'security.webhook_secret_issued', entityType: 'webhook_subscription', entityId: id });
    ctx.status = 201;
    ctx.set({ Location: `${ctx.path}/${id}`, ETag: etag(subscription), 'Cache-Control': 'no-store' });
    ctx.body = { ...webhookView(subscription), secret };
  });

  const load = async (rc: RequestContext, id: string) => {
    const subscription = await rc.em.findOne(WebhookSubscriptionSchema, { id });
    if (!subscription) throw notFound('No such webhook subscription in your company');
    return subscription;
  };

  securedRoute(router, deps, 'GET /api/v1/webhooks/:id/deliveries', async (ctx, rc) => {
    const subscription = await load(rc, routeParams(ctx).id!);
    const query = parse(deliveriesQuery, ctx.query, 400);
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, cursorOf);
    const page = await listDeliveries(rc.em, subscription.id, { limit: query.limit, after: after && { createdAt: after.t, id: after.id }, status: query.status });
    ctx.body = { items: page.items, nextCursor: page.next ? encodeCursor({ t: page.next.createdAt, id: page.next.id }) : null };
  });
}

/**
 * Integrations with the company's own systems, managed by its ADMIN (`manage_company`): the ERP
 * connection (credentials write-only, sealed at rest), the record of every ERP call, webhook
 * subscriptions and their deliveries. `policy` decides which URLs may be configured
 * (integrations/outbound-url.ts: loopback only outside production).
 */
export function integrationRoutes(deps: RouteDeps, policy: OutboundPolicy): Router<ApiState> {
  const router = new Router<ApiState>({ prefix: '/api/v1' });
  erpRoutes(router, deps, policy);
  webhookRoutes(router, deps, policy);
  return router;
}

/** The OpenAPI operations of the routes above, other than the generic /webhooks collection (api/openapi.ts documents that one from its definition). */
export function integrationOperations() {
  const connection = erpConnectionView.clone().openapi('ErpConnection', { description: 'The ERP connection; its credentials are write-only (only their type is answered).' });
  const put = putErpConnection.clone().openapi('ErpConnectionPut', {
    description:
      '`sap-odata`: an SAP Gateway-style OData service; `baseUrl` is the service root (https; http only to a loopback host outside production; no query: `settings.sapClient` sets sap-client). `rest`: a generic JSON endpoint; each stage is POSTed to `settings.paths[stage]` under `baseUrl`, with Idempotency-Key, and the endpoint must answer the same key with the same answer. Omit `credentials` to keep the stored ones.',
  });
  const call = erpCallView.clone().openapi('ErpCall', { description: 'One ERP call of a shipment (one idempotency key): what was sent (`request`, never credentials), what the ERP answered, how many attempts.' });
  const delivery = webhookDeliveryView.clone().openapi('WebhookDelivery', { description: 'One event delivered (or being delivered) to the subscription, with its attempts and the receiver\'s last answer.' });
  const subscriptionIssued = webhookSubscriptionIssuedView.clone().openapi('WebhookSubscriptionWithSecret');
  const pageOf = (name: string, item: z.ZodType) => z.object({ items: z.array(item), nextCursor: z.string().nullable().openapi({ description: 'Pass as `cursor` for the next page; null on the last page.' }) }).openapi(name);
  const id = z.object({ id: z.uuid().openapi({ description: 'A UUID; one that is malformed or not in your company is 404.' }) });
  const noConnection = 'Your company has no ERP connection.';
  const bodyErrors = { 400: 'The body is not well-formed JSON.', 413: 'The body exceeds 2 MB.', 415: 'The body is not `application/json`.' } as const;
  return {
    'GET /api/v1/integrations/erp': {
      operationId: 'getErpConnection',
      summary: "Your company's ERP connection",
      tag: 'Integrations' as const,
      success: { status: 200 as const, description: 'The connection (credentials never answered), with its ETag.', schema: connection, headers: ['ETag' as const] },
      errors: { 404: noConnection },
    },
    'PUT /api/v1/integrations/erp': {
      operationId: 'putErpConnection',
      summary: 'Connect (or reconnect) your ERP',
      description:
        "Creates or replaces the company's one ERP connection. The shipment workflow then tells the ERP about each shipment at booking (order), departure (dispatch notice), delivery (confirmation) and cancellation, each call carrying an idempotency key, so a retry never creates a second order. Credentials are sealed at rest (AES-256-GCM) and never answered. With If-Match, only if it is still the version you read. Audited (without the credentials).",
      tag: 'Integrations' as const,
      headers: ['IfMatchOptional' as const],
      body: put,
      success: { status: 200 as const, description: 'The connection as replaced (201 when it was created).', schema: connection, headers: ['ETag' as const] },
      errors: {
        ...bodyErrors,
        400: 'The body is not well-formed JSON, or If-Match is malformed.',
        412: 'The connection changed since you read it.',
        422: 'The body did not pass validation (`errors` names each field): an unknown kind or setting, credentials of the wrong shape, or a base URL that is not https, points at a private or loopback address, or carries credentials, a query or a fragment.',
      },
    },
    'DELETE /api/v1/integrations/erp': {
      operationId: 'deleteErpConnection',
      summary: 'Disconnect your ERP',
      description: 'Shipments are no longer reported to the ERP; the record of the calls made stays. With If-Match, only if it is still the version you read. Audited.',
      tag: 'Integrations' as const,
      headers: ['IfMatchOptional' as const],
      success: { status: 204 as const, description: 'The connection is deleted.' },
      errors: { 400: 'If-Match is malformed.', 404: noConnection, 412: 'The connection changed since you read it.' },
    },
    'GET /api/v1/integrations/erp/calls': {
      operationId: 'listErpCalls',
      summary: 'What was sent to your ERP',
      description: 'Every ERP call made for your shipments, newest first: the stage, the idempotency key, what was sent, the ERP\'s reference or its last error, the attempts; follow `nextCursor` for the next page.',
      tag: 'Integrations' as const,
      query: z.object({
        limit: erpCallsQuery.shape.limit.clone().openapi({ description: 'Page size' }),
        cursor: erpCallsQuery.shape.cursor.clone().openapi({ description: '`nextCursor` of the previous page' }),
        shipmentId: erpCallsQuery.shape.shipmentId.clone().openapi({ description: 'Only the calls of this shipment' }),
        stage: erpCallsQuery.shape.stage.clone().openapi({ description: 'Only calls of this stage' }),
        status: erpCallsQuery.shape.status.clone().openapi({ description: 'pending: attempts going on; succeeded; failed: the last attempt may be retried; rejected: the ERP refused it' }),
      }),
      success: { status: 200 as const, description: 'A page of ERP calls.', schema: pageOf('ErpCallPage', call) },
      errors: { 400: 'A query parameter is unknown or invalid (`errors` names it), or the cursor is not one this API issued.' },
    },
    'POST /api/v1/webhooks': {
      operationId: 'createWebhookSubscription',
      summary: 'Subscribe a URL to shipment events',
      description:
        'Each event is POSTed as JSON, signed: `SafeShipper-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" under the secret>`, with `SafeShipper-Event`, `SafeShipper-Delivery` (the same on every attempt) and `Idempotency-Key`. A 2xx answer takes it; other answers are retried with back-off until the delivery is given up, except a 4xx other than 408 and 429, which refuses it for good. The secret is shown in this answer only. The URL must be https and public (http and loopback only outside production). Idempotency-Key is not supported here: a replay would have to store the secret. Audited.',
      tag: 'Webhooks' as const,
      body: createWebhook.clone().openapi('WebhookSubscriptionCreate'),
      success: {
        status: 201 as const,
        description: 'The subscription, with its signing secret.',
        schema: subscriptionIssued,
        headers: ['Location' as const, 'ETag' as const, 'CacheControlNoStore' as const],
        links: {
          getWebhookSubscription: { operationId: 'getWebhookSubscription', description: 'Read the subscription created.', parameters: { id: '$response.body#/id' } },
          updateWebhookSubscription: { operationId: 'updateWebhookSubscription', description: 'Change the subscription created, at the version created.', parameters: { id: '$response.body#/id', 'header.If-Match': '$response.header.ETag' } },
          deleteWebhookSubscription: { operationId: 'deleteWebhookSubscription', description: 'Delete the subscription created.', parameters: { id: '$response.body#/id' } },
          listWebhookDeliveries: { operationId: 'listWebhookDeliveries', description: "List the created subscription's deliveries.", parameters: { id: '$response.body#/id' } },
        },
      },
      errors: { ...bodyErrors, 422: 'The body did not pass validation (`errors` names each field), or the URL is not one the platform calls.' },
    },
    'GET /api/v1/webhooks/:id/deliveries': {
      operationId: 'listWebhookDeliveries',
      summary: "A subscription's deliveries",
      description: 'Every event delivered (or being delivered) to the subscription, newest first, with attempts, the last answer and the payload sent.',
      tag: 'Webhooks' as const,
      params: id,
      query: z.object({
        limit: deliveriesQuery.shape.limit.clone().openapi({ description: 'Page size' }),
        cursor: deliveriesQuery.shape.cursor.clone().openapi({ description: '`nextCursor` of the previous page' }),
        status: deliveriesQuery.shape.status.clone().openapi({ description: 'Only deliveries in this status' }),
      }),
      success: { status: 200 as const, description: 'A page of deliveries.', schema: pageOf('WebhookDeliveryPage', delivery) },
      errors: { 400: 'A query parameter is unknown or invalid, or the cursor is not one this API issued.', 404: 'No such subscription in your company.' },
    },
  };
}
