import Koa from 'koa';
import { Client, type Connection } from '@temporalio/client';
import { taskQueues } from '../config/env.js';
import { shipmentLifecycleRoutes } from './routes/shipment-lifecycle.js';
import { incidentRoutes } from './routes/incidents.js';
import { alarmRoutes } from './routes/alarms.js';
import { sensorRuleRoutes } from './routes/sensor-rules.js';
import { inspectionRoutes } from './routes/inspections.js';
import { INSPECTION_TASK_QUEUE } from '../workflows/contracts/inspection.js';
import { siblingTaskQueue } from '../workflows/contracts/incident.js';
import { SHIPMENT_TASK_QUEUE } from '../workflows/contracts/shipment.js';
import type { Config } from '../config/env.js';
import type { Logger } from '../config/logger.js';
import type { Database } from '../db/orm.js';
import { tokenVerifier } from './auth.js';
import { problemDetails } from './middleware/errors.js';
import { requestId } from './middleware/request-id.js';
import { allowedMethods } from './middleware/allowed-methods.js';
import { healthRoutes } from './routes/health.js';
import { platformRoutes } from './routes/platform.js';
import { dangerousGoodsRoutes } from './routes/dangerous-goods.js';
import { companyRoutes } from './routes/company.js';
import { adminRoutes } from './routes/admin.js';
import { userRoutes } from './routes/users.js';
import { keycloakAdminFromConfig, type KeycloakAdmin } from '../identity/keycloak-admin.js';
import { resourceRoutes } from './resource.js';
import { vehicles } from './resources/vehicles.js';
import { drivers, trainingRecords } from './resources/drivers.js';
import { geofences } from './resources/geofences.js';
import { emergencyContacts } from './resources/emergency-contacts.js';
import { consignmentItems, shipments } from './resources/shipments.js';
import { deviceRoutes } from './resources/devices.js';
import { fieldEncryptionFromConfig } from '../security/field-encryption.js';
import { AuditCheckpointSeal } from '../security/audit-checkpoint.js';
import Router from '@koa/router';
import { databaseRules, type RulesSource } from '../db/dangerous-goods-rules.js';
import { authFailureLimit, limitsFromConfig, perUserLimit, rateLimiter, type RateLimiter } from './middleware/rate-limit.js';
import type { ApiState, RouteDeps } from './routing.js';
import { docsRoutes } from './routes/docs.js';
import { integrationRoutes } from './routes/integrations.js';
import { outboundPolicyFor, type OutboundPolicy } from '../integrations/outbound-url.js';
import { searchRoutes } from './routes/search.js';
import { createSearchEngine, type SearchEngine } from '../search/index.js';
import { postgresSearchEngine } from '../search/postgres.js';
import { documentRoutes } from './routes/documents.js';
import { sdsRoutes } from './routes/sds.js';
import { shipmentComplianceRoutes } from './routes/shipment-compliance.js';
import { documentStoreFromConfig, type DocumentStore } from '../documents/store.js';
import { DOCUMENT_TASK_QUEUE } from '../workflows/contracts/document.js';
import { telemetryRoutes } from './routes/telemetry.js';
import { LiveHub } from './live/hub.js';
import { listenLive } from '../db/live-feed.js';

export interface ApiDependencies {
  config: Config;
  db: Database;
  temporal: Connection;
  log: Logger;
  /** Only tests move the verifier's clock (to present a real token after its expiry). */
  clock?: () => Date;
  /** startApi passes the Redis-backed limiter and closes it; by default a fresh in-memory one, so tests never share budgets. */
  limiter?: RateLimiter;
  /** The Keycloak admin client for /users; by default built from the configuration (tests put a slow or failing one in). */
  identity?: KeycloakAdmin | undefined;
  /** Aborted when the server stops: live streams end at once instead of holding its close open. */
  stopping?: AbortSignal;
}

/** The composition root of the HTTP edge. */
export function createApp({
  config,
  db,
  temporal,
  log,
  clock,
  stopping,
  limiter = rateLimiter({ limits: limitsFromConfig(config) }),
  identity = config.KEYCLOAK_ADMIN_CLIENT_SECRET ? keycloakAdminFromConfig(config) : undefined,
}: ApiDependencies): Koa<ApiState> {
  const app = new Koa<ApiState>();
  app.proxy = config.TRUST_PROXY;
  app.maxIpsCount = 1;
  const verify = tokenVerifier({ issuer: config.OIDC_ISSUER, audience: config.OIDC_AUDIENCE, allowedClients: config.OIDC_ALLOWED_CLIENTS, ...(clock ? { now: clock } : {}) });
  const jwksUrl = `${config.OIDC_ISSUER}/protocol/openid-connect/certs`;

  const health = healthRoutes({
    postgres: async () => {
      await db.em.fork().execute('SELECT 1');
    },
    temporal: async () => {
      await temporal.healthService.check({});
    },
    keycloak: async () => {
      const response = await fetch(jwksUrl, { signal: AbortSignal.timeout(2500) });
      if (!response.ok) throw new Error(`JWKS answered ${response.status}`);
      await response.arrayBuffer();
    },
  }, log);

  app.use(requestId(log));
  app.use(problemDetails(log));
  const limited = config.API_RATE_LIMITS === 'on';
  // Bodies are read by the route wrappers, after authentication (api/routing.ts).
  const deps: RouteDeps = {
    db,
    verify,
    fields: fieldEncryptionFromConfig(config),
    auditSeal: new AuditCheckpointSeal(config.AUDIT_CHECKPOINT_KEY),
    recentCallers: new Map(),
    ...(limited ? { beforeHandler: perUserLimit(limiter) } : {}),
  };
  const lifecycle = { client: new Client({ connection: temporal, namespace: config.TEMPORAL_NAMESPACE }), shipmentsTaskQueue: taskQueues(config).shipments, erpRequestTimeoutMs: config.ERP_REQUEST_TIMEOUT_MS };
  // One LISTEN per API process, opened with its first live stream (api/live/hub.ts).
  const live = new LiveHub({ listen: (handlers) => listenLive(db, handlers), heartbeatMs: config.LIVE_HEARTBEAT_SECONDS * 1000, clientBufferBytes: config.LIVE_CLIENT_BUFFER_BYTES, maxStreams: config.LIVE_MAX_STREAMS, log, ...(stopping ? { stopping } : {}) });
  const api = apiRouters(deps, databaseRules(db), identity, lifecycle, { store: documentStoreFromConfig(config), maxBytes: config.DOCUMENT_MAX_BYTES }, createSearchEngine(config, db), outboundPolicyFor(config.NODE_ENV), live);
  const docs = docsRoutes({ oidcIssuer: config.OIDC_ISSUER }); // public, outside the policy table: the OpenAPI contract and its docs page
  app.use(allowedMethods([health, ...api, docs]));
  app.use(health.routes());
  if (limited) app.use(authFailureLimit(limiter));
  for (const router of api) app.use(router.routes());
  app.use(docs.routes());
  // A client that hangs up mid-request (an aborted upload) is not a fault of ours: logged quietly, instead of Koa's stderr print.
  app.on('error', (error: Error & { code?: string; status?: number }) => {
    const clientGone = error.code === 'ECONNRESET' || error.code === 'ECONNABORTED' || error.code === 'ERR_STREAM_PREMATURE_CLOSE' || error.message === 'Parse Error' || (error.status ?? 500) < 500;
    if (clientGone) log.debug({ err: error }, 'request ended by the client');
    else log.error({ err: error }, 'error outside a request handler');
  });
  return app;
}

/** Every `/api/v1` router; each route in them is registered through the policy table. */
export function apiRouters(
  deps: RouteDeps,
  rules: RulesSource,
  identity: KeycloakAdmin | undefined,
  lifecycle: { client: Client; shipmentsTaskQueue: string; erpRequestTimeoutMs?: number },
  // Without a store (a router built only to list its routes), uploads and downloads answer 503.
  documents: { store: DocumentStore | undefined; maxBytes: number } = { store: undefined, maxBytes: 0 },
  search: SearchEngine = postgresSearchEngine(deps.db),
  // Which ERP and webhook URLs may be configured: loopback only outside production (integrations/outbound-url.ts).
  outbound: OutboundPolicy = outboundPolicyFor('production'),
  // Without a hub (a router built only to list its routes), the live stream answers 503.
  live: LiveHub | undefined = undefined,
): Array<Router<ApiState>> {
  const masterData = new Router<ApiState>({ prefix: '/api/v1' });
  resourceRoutes(masterData, deps, vehicles);
  resourceRoutes(masterData, deps, drivers);
  resourceRoutes(masterData, deps, trainingRecords);
  resourceRoutes(masterData, deps, geofences);
  resourceRoutes(masterData, deps, emergencyContacts(deps.fields));
  resourceRoutes(masterData, deps, shipments);
  resourceRoutes(masterData, deps, consignmentItems(lifecycle.client));
  deviceRoutes(masterData, deps);
  // Fixed paths before their parameterised siblings (/geofences/nearby before /geofences/:id).
  return [
    platformRoutes(deps),
    companyRoutes(deps),
    userRoutes(deps, identity),
    dangerousGoodsRoutes(deps, rules),
    masterData,
    shipmentLifecycleRoutes(deps, lifecycle.client, lifecycle.shipmentsTaskQueue, { erpRequestTimeoutMs: lifecycle.erpRequestTimeoutMs }),
    // The incidents queue carries the same deployment prefix as the shipments one.
    incidentRoutes(deps, lifecycle.client, siblingTaskQueue(lifecycle.shipmentsTaskQueue, SHIPMENT_TASK_QUEUE)),
    alarmRoutes(deps),
    sensorRuleRoutes(deps),
    inspectionRoutes(deps, lifecycle.client, siblingTaskQueue(lifecycle.shipmentsTaskQueue, SHIPMENT_TASK_QUEUE, INSPECTION_TASK_QUEUE)),
    documentRoutes(deps, { ...documents, client: lifecycle.client, taskQueue: siblingTaskQueue(lifecycle.shipmentsTaskQueue, SHIPMENT_TASK_QUEUE, DOCUMENT_TASK_QUEUE) }),
    sdsRoutes(deps, rules),
    shipmentComplianceRoutes(deps, lifecycle.client),
    searchRoutes(deps, search),
    telemetryRoutes(deps, live),
    integrationRoutes(deps, outbound),
    adminRoutes(deps),
  ];
}
