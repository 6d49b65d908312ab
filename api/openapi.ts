import { randomBytes } from 'node:crypto';
import { extendZodWithOpenApi, OpenAPIRegistry, OpenApiGeneratorV31, type ResponseConfig, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import { Client } from '@temporalio/client';
import { z } from 'zod';
import { ROUTE_POLICY, type PolicyRoute } from '../domain/policy.js';
import { allows, PLATFORM_STAFF_ROLE, ROLES, type Requirement } from '../domain/rbac.js';
import { compatibilityRequestSchema, loadSchema } from '../domain/dangerous-goods/load.js';
import { REGIMES } from '../domain/dangerous-goods/regime.js';
import { hmtRowSchema } from '../domain/dangerous-goods/catalogue.js';
import { FieldEncryption } from '../security/field-encryption.js';
import { listQuery as resourceListQuery } from './resource.js';
import { vehicles, vehicleView } from './resources/vehicles.js';
import { drivers, driverView, trainingRecords, trainingRecordView } from './resources/drivers.js';
import { geofences, geofenceView } from './resources/geofences.js';
import { emergencyContacts, emergencyContactView } from './resources/emergency-contacts.js';
import { consignmentItems, consignmentItemView, shipments, shipmentView } from './resources/shipments.js';
import { createDevice, deviceIssuedView, deviceResource, deviceView } from './resources/devices.js';
import { createUser, listQuery as userListQuery, updateUser, userView } from './routes/users.js';
import { auditQuery, updateCompany } from './routes/company.js';
import { nearbyQuery } from './routes/platform.js';
import { byUnParams, compatibilityQuery, listQuery as dangerousGoodsListQuery, placardQuery } from './routes/dangerous-goods.js';
import { createCompany, reason as adminShipmentsQuery } from './routes/admin.js';
import { lifecycleViews, transitionBodies } from './routes/shipment-lifecycle.js';
import { searchOperations } from './routes/search.js';
import { telemetryOperations } from './routes/telemetry.js';
import { integrationOperations, webhookSubscriptions, webhookSubscriptionView } from './routes/integrations.js';
import { outboundPolicyFor } from '../integrations/outbound-url.js';
import { incidentBodies, incidentListQuery, incidentViews } from './routes/incidents.js';
import { alarmListQuery, alarmTransitionBody, alarmViews } from './routes/alarms.js';
import { sensorRulesBody, sensorRulesView } from './routes/sensor-rules.js';
import { inspectionBodies, inspectionHistoryQuery, inspectionViews } from './routes/inspections.js';
import { documentListQuery, documentView, uploadForm, UPLOAD_FILE_FIELD } from './routes/documents.js';
import { createSds, sdsListQuery, sdsView } from './routes/sds.js';
import { complianceView } from './routes/shipment-compliance.js';
import { DOCUMENT_MEDIA_TYPES } from '../domain/documents.js';

/**
 * The OpenAPI 3.1 contract of `/api/v1`, built from the same zod schemas the handlers parse with
 * (bodies, queries, resource filters and orders) and the policy table (each operation's
 * permission). Every route of domain/policy.ts has exactly one operation here: the hand-written
 * ones are typed against the table, the collection ones come from their ResourceDefinition, and
 * `buildOpenApiDocument` refuses to build a document that differs from the table.
 */

// Adds `.openapi()` to zod's prototype (names and metadata for the generator); parsing is untouched.
extendZodWithOpenApi(z);

/**
 * zod 4 copies prototype members onto each schema as it is made, so the schemas of the modules
 * imported above (made before extendZodWithOpenApi ran) have no `.openapi()`; a clone made now
 * does, and carries the same definition and metadata.
 */
const fresh = <T extends z.ZodType>(schema: T): T => schema.clone() as T;

export interface OpenApiOptions {
  /** The Keycloak realm URL (config.OIDC_ISSUER): the tokens' `iss`, and where clients get them. */
  oidcIssuer: string;
}

export type OpenApiDocument = ReturnType<OpenApiGeneratorV31['generateDocument']>;

type Method = 'get' | 'post' | 'patch' | 'delete';

/** One error answer of an operation: its status and, for this operation, what causes it. */
type ErrorCases = Partial<Record<ErrorStatus, string>>;
type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 412 | 413 | 415 | 416 | 422 | 428 | 429 | 502 | 503;

interface Success {
  status: 200 | 201 | 204 | 206;
  description: string;
  schema?: z.ZodType;
  /** Instead of a JSON schema: the media types of a body of bytes (a document download). */
  binary?: readonly string[];
  /** A second media type of the same answer, a stream of text (Server-Sent Events) the client asks for by Accept. */
  stream?: 'text/event-stream';
  /** Names of header components (ETag, Location, …) the answer carries. */
  headers?: HeaderName[];
  /** What a client (or a stateful fuzzer) can do next with this answer: OpenAPI links by name. */
  links?: Record<string, Link>;
}

/** An OpenAPI link: the operation to call next, and where its parameters come from (`$response.body#/id`, `$request.path.driverId`, …). */
interface Link {
  operationId: string;
  description: string;
  parameters: Record<string, string>;
}

interface OperationSpec {
  operationId: string;
  summary: string;
  description?: string;
  tag: Tag;
  params?: z.ZodObject;
  query?: z.ZodObject;
  /** Names of parameter components (If-Match, Idempotency-Key). */
  headers?: ParameterName[];
  body?: z.ZodType;
  /** How the body is sent, when not as JSON (a file upload). */
  bodyMediaType?: 'multipart/form-data';
  success: Success;
  /** A second success answer (206 Partial Content beside 200). */
  partial?: Success;
  errors?: ErrorCases;
}

const TAGS = {
  Me: 'Who the caller is.',
  Company: "The caller's own company.",
  'Audit log': "The company's tamper-evident audit chain (read and verified; written only by the API itself).",
  Users: "The company's users, managed in Keycloak through its admin API.",
  'Dangerous goods': 'The 49 CFR 172.101 catalogue, and the compatibility and placarding rules over a load under the ADG Code or 49 CFR.',
  Vehicles: 'Fleet vehicles.',
  Drivers: 'Drivers and their DG licences.',
  'Training records': "A driver's DG training (nested under the driver).",
  Geofences: 'Depots, customers and restricted areas, as polygons or circles.',
  'Emergency contacts': 'Emergency contacts for shipments (encrypted at rest).',
  Devices: 'IoT devices (GPS trackers, tank sensors) and their MQTT credentials.',
  Shipments: 'Shipments (created as DRAFT; status changes are lifecycle transitions, not field updates).',
  'Consignment items': 'The dangerous goods a shipment carries (nested under the shipment).',
  Inspections: "A vehicle's inspection programmes (one per inspection type: reminders, due dates, grounding) and the inspections recorded on them.",
  Alarms: "Alarms raised by ingest's sensor rules (temperature band, leak, tilt, door in transit): one active alarm per device and rule, ACTIVE_UNACK → ACTIVE_ACK → CLEARED.",
  Incidents: 'Incident response: a report starts the incident\'s workflow (notifications, escalation, the authority\'s report); emergency coordination moves it to CLOSED.',
  Documents: 'Uploaded files (SDS, DG declarations, manifests, proof of delivery, inspection photos), their download, and the processing of manifests and DG declarations.',
  'Safety data sheets': "The company's SDS library: each product's revisions, the current one, and those past their five-year review.",
  Telemetry: 'Where your vehicles are and have been (last known positions, tracks downsampled for long ranges), and the live stream of your company’s positions and alarms.',
  Search: 'One search over the DG catalogue and your company’s shipments, vehicles, drivers, documents and SDS: typo-tolerant, ranked, faceted, highlighted; suggestions as you type.',
  Integrations: "Your company's ERP connection (SAP-style OData or a generic REST endpoint), told about each shipment at booking, departure, delivery and cancellation, and the record of every call.",
  Webhooks: 'Signed HTTP callbacks to your own systems on shipment events, and their deliveries.',
  'Platform administration': "SafeShipper's own staff (realm role PLATFORM_STAFF): the only way across companies, audited in the company looked into.",
} as const;
type Tag = keyof typeof TAGS;

const HEADERS = {
  ETag: { required: true, description: 'The version of the resource, e.g. `"v3"`: send it back as If-Match to change or delete it.', schema: { type: 'string', example: '"v3"' } },
  Location: { required: true, description: 'The URL of the resource created.', schema: { type: 'string', format: 'uri-reference' } },
  IdempotentReplayed: { description: '`true` when this is the stored answer to an earlier request with the same Idempotency-Key.', schema: { type: 'string', enum: ['true'] } },
  CacheControlNoStore: { required: true, description: '`no-store`: the answer holds a secret.', schema: { type: 'string', enum: ['no-store'] } },
  WWWAuthenticate: { required: true, description: 'The Bearer challenge (RFC 6750).', schema: { type: 'string', example: 'Bearer realm="safeshipper", error="invalid_token"' } },
  RetryAfter: { required: true, description: 'Seconds to wait before trying again.', schema: { type: 'integer', minimum: 0 } },
  // Not required: a deployment may turn rate limiting off (API_RATE_LIMITS=off), and then no answer carries them.
  RateLimitLimit: { description: 'Requests allowed in the window for this route class (on every answer past authentication, unless rate limiting is off).', schema: { type: 'integer', minimum: 0 } },
  RateLimitRemaining: { description: 'Requests left in the window.', schema: { type: 'integer', minimum: 0 } },
  RateLimitReset: { description: 'Seconds until the window ends.', schema: { type: 'integer', minimum: 0 } },
  ContentETag: { required: true, description: "The document's SHA-256 in quotes: the same bytes have the same tag (send it as If-Range).", schema: { type: 'string', pattern: '^"[0-9a-f]{64}"$' } },
  AcceptRanges: { required: true, description: '`bytes`: a single byte range may be asked for with Range.', schema: { type: 'string', enum: ['bytes'] } },
  ContentRange: { required: true, description: 'The part sent and the whole size, e.g. `bytes 0-1023/40960`.', schema: { type: 'string', pattern: '^bytes \\d+-\\d+/\\d+$' } },
  ContentDisposition: { required: true, description: 'Always `attachment`, with the stored file name (its extension matching the type the bytes are).', schema: { type: 'string' } },
} satisfies Record<string, { required?: boolean; description: string; schema: { type: 'string' | 'integer'; [keyword: string]: unknown } }>;
type HeaderName = keyof typeof HEADERS;
/** Every answer past authentication carries the caller's standing in its rate-limit window. */
const RATE_LIMIT_HEADERS = ['RateLimitLimit', 'RateLimitRemaining', 'RateLimitReset'] as const satisfies readonly HeaderName[];
/** The header names on the wire, where they differ from the component names. */
const HEADER_WIRE_NAMES: Partial<Record<HeaderName, string>> = {
  IdempotentReplayed: 'Idempotent-Replayed',
  CacheControlNoStore: 'Cache-Control',
  WWWAuthenticate: 'WWW-Authenticate',
  RetryAfter: 'Retry-After',
  RateLimitLimit: 'RateLimit-Limit',
  RateLimitRemaining: 'RateLimit-Remaining',
  RateLimitReset: 'RateLimit-Reset',
  ContentETag: 'ETag',
  AcceptRanges: 'Accept-Ranges',
  ContentRange: 'Content-Range',
  ContentDisposition: 'Content-Disposition',
};

const PARAMETERS = {
  IfMatch: {
    name: 'If-Match',
    in: 'header',
    required: true,
    description: 'The ETag you read (e.g. `"v3"`). Without it the answer is 428, malformed 400; when the resource has changed since, 412 — fetch it again and reapply your change.',
    schema: { type: 'string', pattern: '^"v\\d+"$', example: '"v3"' },
  },
  IfMatchOptional: {
    name: 'If-Match',
    in: 'header',
    required: false,
    description: 'Optional: the ETag you read. When given and the resource has changed since, the answer is 412 and nothing is deleted; malformed, 400.',
    schema: { type: 'string', pattern: '^"v\\d+"$', example: '"v3"' },
  },
  IdempotencyKey: {
    name: 'Idempotency-Key',
    in: 'header',
    required: false,
    description:
      'Makes the create safe to retry (1–255 visible ASCII characters, kept 24 hours per user): the same key with the same body replays the first answer (with `Idempotent-Replayed: true`); with a different body it is 422; while the first is still in progress, 409.',
    schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7e]+$' },
  },
  Range: {
    name: 'Range',
    in: 'header',
    required: false,
    description: 'One byte range (`bytes=0-1023`, `bytes=1024-`, `bytes=-512`): answered 206 with that part, 416 when it starts beyond the end. Anything else (several ranges, another unit, a malformed value) is ignored, as RFC 9110 allows: the whole document (200).',
    schema: { type: 'string' },
  },
  IfRange: {
    name: 'If-Range',
    in: 'header',
    required: false,
    description: 'The ETag you have part of: the Range is honoured only while the document is still those bytes; otherwise (any other value) the whole document is sent.',
    schema: { type: 'string' },
  },
} as const;
type ParameterName = keyof typeof PARAMETERS;

/** Every body-taking operation can be refused before its handler runs. */
const BODY_ERRORS: ErrorCases = {
  400: 'The body is not well-formed JSON.',
  413: 'The body exceeds 2 MB.',
  415: 'The body is not `application/json`.',
};

const uuid = z.uuid();
const idParams = (...names: string[]) => z.object(Object.fromEntries(names.map((name) => [name, uuid.openapi({ description: 'A UUID; one that is malformed or not in your company is 404.' })])));
const page = (name: string, item: z.ZodType) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable().openapi({ description: 'Pass as `cursor` for the next page; null on the last page.' }) }).openapi(name);

/** The tuple a collection's path template yields, e.g. ['driverId'] for /drivers/:driverId/training-records. */
const pathParamNames = (path: string) => [...path.matchAll(/:(\w+)/g)].map((m) => m[1]!);
const openApiPath = (path: string) => path.replace(/:(\w+)/g, '{$1}');

// ---------------------------------------------------------------------------------------------
// Response schemas of the routes that are not generic collections
// ---------------------------------------------------------------------------------------------

const meView = z.object({
  userId: z.uuid().nullable().openapi({ description: "The caller's user row in SafeShipper (null until first recorded)" }),
  subject: z.string().openapi({ description: "The token's `sub`" }),
  username: z.string().optional(),
  role: z.enum(ROLES).optional().openapi({ description: 'The highest SafeShipper role in the token' }),
  platformStaff: z.boolean(),
  company: z.object({ id: z.uuid(), name: z.string().nullable() }),
});

const regime = z.enum(REGIMES).openapi({ description: 'adg: Australian Dangerous Goods Code 7.x; 49cfr: US Hazardous Materials Regulations' });
const companyView = z.object({
  id: z.uuid(),
  name: z.string(),
  dgRegime: fresh(regime).openapi({ description: 'The regime DG compatibility answers default to when a request names none' }),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

const nearbyView = z.object({
  items: z.array(z.object({ id: z.uuid(), name: z.string(), kind: z.enum(['DEPOT', 'CUSTOMER', 'RESTRICTED_DG']), distanceM: z.number().openapi({ description: 'Metres from the point to the geofence (0 inside it)' }) })),
});

const auditEntry = z.object({
  id: z.number().int(),
  actor: z.object({ subject: z.string(), username: z.string().nullable() }),
  action: z.string().openapi({ example: 'update' }),
  entityType: z.string().openapi({ example: 'vehicle' }),
  entityId: z.string().nullable(),
  before: z.unknown().openapi({ description: 'The entity before the change (redacted for sensitive resources), or null' }),
  after: z.unknown().openapi({ description: 'The entity after the change (redacted for sensitive resources), or null' }),
  requestId: z.string().nullable(),
  occurredAt: z.iso.datetime(),
  hash: z.string().openapi({ description: "This entry's link in the company's hash chain" }),
});

const chainVerification = z.object({
  valid: z.boolean(),
  entries: z.number().int(),
  firstBreak: z
    .object({ id: z.number().int(), reason: z.enum(['hash-mismatch', 'broken-link', 'checkpoint-mismatch', 'checkpoint-forged']) })
    .nullable()
    .openapi({
      description:
        'The first problem: an entry whose hash or link does not match; an entry a checkpoint sealed that no longer has the sealed hash or is gone (checkpoint-mismatch: rewritten and re-hashed, or truncated); a checkpoint whose seal does not verify (checkpoint-forged)',
    }),
  checkpointedThrough: z.number().int().nullable().openapi({ description: 'The last entry sealed by a verified checkpoint (sealed every 5 minutes with a key the database does not hold); later entries are protected by the chain only' }),
});

const dangerousGood = z.object({
  id: z.uuid(),
  unNumber: z.string().nullable().openapi({ example: 'UN1203' }),
  properShippingName: z.string(),
  hazardClass: z.string().openapi({ description: 'Column (3) as published, e.g. "3" or "Forbidden"' }),
  division: z.string().nullable().openapi({ description: 'Class or division, e.g. "6.1"' }),
  compatibilityGroup: z.string().nullable(),
  packingGroup: z.string().nullable(),
  subsidiaryRisks: z.array(z.string()),
  labels: z.array(z.string()),
  specialProvisions: z.array(z.string()),
  symbols: z.array(z.string()),
  forbidden: z.boolean(),
  technicalNameRequired: z.boolean(),
  poisonInhalationHazard: z.boolean(),
  inhalationHazardZone: z.string().nullable(),
  physicalState: z.string().nullable(),
  limitedQuantityEligible: z.boolean().nullable(),
  packaging: hmtRowSchema.shape.packaging,
  quantityLimitations: hmtRowSchema.shape.quantityLimitations,
  vesselStowage: hmtRowSchema.shape.vesselStowage,
  citation: z.string().openapi({ example: '49 CFR 172.101' }),
});

const pair = z.tuple([z.number().int(), z.number().int()]).openapi({ description: 'Indexes of the two items in the load' });
const compatibilityResult = z.object({
  regime,
  compatible: z.boolean().openapi({ description: 'True only when no pair is restricted or undecided (verdict COMPATIBLE)' }),
  verdict: z.enum(['COMPATIBLE', 'CONDITIONAL', 'INCOMPATIBLE', 'INDETERMINATE']),
  conflicts: z.array(
    z.object({
      items: pair,
      code: z.string().openapi({ description: '"X" or "O" from the 177.848(d) table or a (c), food or overpack rule, or the (f) Class 1 code' }),
      severity: z.enum(['prohibited', 'conditional']),
      hazards: z.tuple([z.string(), z.string()]),
      rule: z.string(),
      citation: z.string(),
    }),
  ),
  indeterminate: z.array(z.object({ items: pair, missing: z.array(z.string()).openapi({ description: 'What would settle it, e.g. "items[3].state"' }), rule: z.string(), citation: z.string() })),
  notes: z.array(z.object({ items: z.array(z.number().int()), message: z.string(), citation: z.string() })),
  basis: z
    .array(
      z.object({
        rule: z.enum(['class-segregation', 'food', 'overpack']),
        applies: z.boolean().nullable().openapi({ description: 'true: applied to this load; false: does not reach it (message says why); null: the data cannot decide (missing)' }),
        message: z.string(),
        citation: z.string(),
        missing: z.array(z.string()).optional(),
      }),
    )
    .openapi({ description: "The regime's rules, each with whether it reached the load and its source" }),
});

const placardResult = z.object({
  regime,
  placardLoad: z.boolean().nullable().openapi({ description: 'ADG: a placard load; 49 CFR: at least one placard is required; null: the data cannot decide' }),
  placards: z.array(z.object({ placard: z.string(), hazardClass: z.string(), items: z.array(z.number().int()), required: z.boolean(), citation: z.string() })),
  alternatives: z.array(z.object({ placard: z.string(), replaces: z.array(z.string()), citation: z.string() })),
  reasons: z.array(
    z.object({
      kind: z.enum(['criterion', 'exception', 'note']),
      criterion: z.string(),
      met: z.boolean().nullable(),
      message: z.string(),
      citation: z.string(),
      items: z.array(z.number().int()).optional(),
      missing: z.array(z.string()).optional(),
    }),
  ),
});

const adminCompany = z.object({ id: z.uuid(), name: z.string(), createdAt: z.iso.datetime() });

// ---------------------------------------------------------------------------------------------
// The generic collections (api/resource.ts): five routes each, from their ResourceDefinition
// ---------------------------------------------------------------------------------------------

/** What the document needs of a ResourceDefinition: its static parts, never its functions. */
interface DocumentedDefinition {
  path: string;
  createSchema: z.ZodType;
  updateSchema: z.ZodType;
  filters?: z.ZodObject;
  orders?: Record<string, string>;
  deletable?: boolean;
  creatable?: boolean;
}

interface CollectionSpec {
  definition: DocumentedDefinition;
  /** Component and operation names: singular and plural, e.g. Vehicle / Vehicles. */
  name: string;
  plural: string;
  tag: Tag;
  view: z.ZodType;
  /** What the collection's list filters mean. */
  filterDescriptions?: Record<string, string>;
  /** Said of every operation of the collection (e.g. the parent that must exist). */
  note?: string;
  /** Operations outside the collections on an item created (a vehicle's inspection programmes), each given the item's id as this path parameter. */
  itemOperations?: { param: string; operations: Record<string, string> };
}

type Collection<P extends string> = `${'GET' | 'POST'} ${P}` | `${'GET' | 'PATCH' | 'DELETE'} ${P}/:id`;
/** Routes the collections below answer; every other route of the policy table is written out in `handWritten`. */
type FromCollections =
  | Collection<'/api/v1/vehicles'>
  | Collection<'/api/v1/drivers'>
  | Collection<'/api/v1/drivers/:driverId/training-records'>
  | Collection<'/api/v1/geofences'>
  | Collection<'/api/v1/emergency-contacts'>
  | Exclude<Collection<'/api/v1/devices'>, 'POST /api/v1/devices'>
  | Collection<'/api/v1/shipments'>
  | Collection<'/api/v1/shipments/:shipmentId/consignment-items'>
  | Exclude<Collection<'/api/v1/webhooks'>, 'POST /api/v1/webhooks'>;

function collections(): CollectionSpec[] {
  // Only the definition's static parts are read: the key encrypts nothing.
  const contacts = emergencyContacts(new FieldEncryption(randomBytes(32).toString('base64')));
  return [
    {
      definition: vehicles,
      name: 'Vehicle',
      plural: 'Vehicles',
      tag: 'Vehicles',
      view: vehicleView,
      filterDescriptions: { status: 'Only vehicles with this status', vehicleType: 'Only vehicles of this type' },
      itemOperations: {
        param: 'vehicleId',
        operations: {
          startInspectionProgram: 'Start an inspection programme for the vehicle created.',
          listInspectionPrograms: "The vehicle's inspection programmes.",
          recordInspection: 'Record an inspection on the vehicle created.',
          listInspections: "The vehicle's inspections.",
        },
      },
    },
    { definition: drivers, name: 'Driver', plural: 'Drivers', tag: 'Drivers', view: driverView, filterDescriptions: { licenceExpiresBefore: 'Only drivers whose DG licence expires before this date' } },
    { definition: trainingRecords, name: 'TrainingRecord', plural: 'TrainingRecords', tag: 'Training records', view: trainingRecordView, note: 'The driver must exist in your company (otherwise 404).' },
    { definition: geofences, name: 'Geofence', plural: 'Geofences', tag: 'Geofences', view: geofenceView, filterDescriptions: { kind: 'Only geofences of this kind' } },
    { definition: contacts, name: 'EmergencyContact', plural: 'EmergencyContacts', tag: 'Emergency contacts', view: emergencyContactView, filterDescriptions: { available24h: 'Only contacts that are (true) or are not (false) available around the clock' } },
    { definition: deviceResource, name: 'Device', plural: 'Devices', tag: 'Devices', view: deviceView, filterDescriptions: { vehicleId: 'Only devices fitted to this vehicle' } },
    {
      definition: shipments,
      name: 'Shipment',
      plural: 'Shipments',
      tag: 'Shipments',
      view: shipmentView,
      filterDescriptions: { status: 'Only shipments in this status', shipmentNumber: 'Only the shipment with this number (case-insensitive)', vehicleId: 'Only shipments assigned to this vehicle' },
    },
    {
      // Only the definition's static parts are read: the client (connecting lazily) signals nothing.
      definition: consignmentItems(new Client()),
      name: 'ConsignmentItem',
      plural: 'ConsignmentItems',
      tag: 'Consignment items',
      view: consignmentItemView,
      note: "The shipment must exist in your company (otherwise 404). Items change only while the shipment is DRAFT or NON_COMPLIANT (otherwise 409); a change to a NON_COMPLIANT shipment has its load checked again.",
    },
    {
      // Only the definition's static parts are read: production's URL policy is what the document promises.
      definition: webhookSubscriptions(outboundPolicyFor('production')),
      name: 'WebhookSubscription',
      plural: 'WebhookSubscriptions',
      tag: 'Webhooks',
      view: webhookSubscriptionView,
      filterDescriptions: { enabled: 'Only subscriptions that are (true) or are not (false) enabled' },
      note: 'Subscriptions are created with POST /webhooks (the signing secret is shown once); changing the URL checks it as the create does (422).',
    },
  ];
}

const words = (name: string) => name.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
const article = (noun: string) => `${/^[aeiou]/.test(noun) ? 'an' : 'a'} ${noun}`;

/**
 * Links from an answer that names a resource (`$response.body#/id`) to the operations on it, with
 * the path parameters of the request that led there and, where the answer carries one, its ETag.
 */
function itemLinks(names: Record<string, string>, idFrom: string, parentParams: string[], etag: boolean): Record<string, Link> {
  const ids = { ...Object.fromEntries(parentParams.map((param) => [param, `$request.path.${param}`])), id: idFrom };
  return Object.fromEntries(
    Object.entries(names).map(([operationId, description]) => {
      const ifMatch: Record<string, string> = etag && /^(update|delete)/.test(operationId) ? { 'header.If-Match': '$response.header.ETag' } : {};
      return [operationId, { operationId, description, parameters: { ...ids, ...ifMatch } }];
    }),
  );
}

function collectionOperations(spec: CollectionSpec, all: CollectionSpec[]): Array<[string, OperationSpec]> {
  const { definition: def, name, plural, tag, view } = spec;
  const one = words(name);
  const many = words(plural);
  const item = `${def.path}/:id`;
  const parentParams = pathParamNames(def.path);
  const listParams = parentParams.length ? idParams(...parentParams) : undefined;
  const itemParams = idParams(...parentParams, 'id');
  const note = spec.note ? ` ${spec.note}` : '';
  const parentMissing: ErrorCases = parentParams.length ? { 404: `The parent does not exist in your company.` } : {};
  const viewSchema = fresh(view).openapi(name);

  const orderNames = ['createdAt', ...Object.keys(def.orders ?? {})];
  const orderValues = orderNames.flatMap((o) => [o, `-${o}`]) as [string, ...string[]];
  const filters = Object.fromEntries(
    Object.entries(def.filters?.shape ?? {}).map(([key, schema]) => [key, spec.filterDescriptions?.[key] ? fresh(schema as z.ZodType).openapi({ description: spec.filterDescriptions[key] }) : schema]),
  );
  const query = z.object({
    limit: fresh(resourceListQuery.shape.limit).openapi({ description: 'Page size' }),
    cursor: fresh(resourceListQuery.shape.cursor).openapi({ description: '`nextCursor` of the previous page (opaque; only valid with the same `order`)' }),
    order: z.enum(orderValues).default('-createdAt').openapi({ description: 'Field to order by; a leading `-` orders descending. Ties are broken by id.' }),
    ...filters,
  });

  const operations: Array<[string, OperationSpec]> = [
    [
      `GET ${def.path}`,
      {
        operationId: `list${plural}`,
        summary: `List ${many}`,
        description: `A page of ${many}, filtered and ordered; follow \`nextCursor\` for the next page.${note}`,
        tag,
        ...(listParams ? { params: listParams } : {}),
        query,
        success: { status: 200, description: `A page of ${many}.`, schema: page(`${name}Page`, viewSchema) },
        errors: { 400: 'A query parameter is unknown or invalid (`errors` names it), or the cursor is not one this API issued.', ...parentMissing },
      },
    ],
  ];
  // The collections nested under this one's items (a driver's training records, a shipment's items).
  const children = all.filter((child) => pathParamNames(child.definition.path).length === parentParams.length + 1 && child.definition.path.startsWith(`${def.path}/:`));
  const created = {
    ...itemLinks(
      { [`get${name}`]: `Read the ${one} created.`, [`update${name}`]: `Change the ${one} created, at the version created.`, ...(def.deletable !== false ? { [`delete${name}`]: `Delete the ${one} created.` } : {}) },
      '$response.body#/id',
      parentParams,
      true,
    ),
    ...Object.fromEntries(
      children.flatMap((child) => {
        const param = pathParamNames(child.definition.path).at(-1)!;
        const parameters = { ...Object.fromEntries(parentParams.map((p) => [p, `$request.path.${p}`])), [param]: '$response.body#/id' };
        return [
          [`create${child.name}`, { operationId: `create${child.name}`, description: `Add ${article(words(child.name))} to the ${one} created.`, parameters }],
          [`list${child.plural}`, { operationId: `list${child.plural}`, description: `List the ${words(child.plural)} of the ${one} created.`, parameters }],
        ];
      }),
    ),
    ...Object.fromEntries(
      Object.entries(spec.itemOperations?.operations ?? {}).map(([operationId, description]) => [operationId, { operationId, description, parameters: { [spec.itemOperations!.param]: '$response.body#/id' } }]),
    ),
  };
  if (def.creatable !== false) {
    operations.push([
      `POST ${def.path}`,
      {
        operationId: `create${name}`,
        summary: `Create ${article(one)}`,
        description: `Creates ${article(one)} and answers it with its ETag and Location. Send an Idempotency-Key to make retries safe.${note}`,
        tag,
        ...(listParams ? { params: listParams } : {}),
        headers: ['IdempotencyKey'],
        body: fresh(def.createSchema).openapi(`${name}Create`),
        success: { status: 201, description: `The ${one} created.`, schema: viewSchema, headers: ['Location', 'ETag', 'IdempotentReplayed'], links: created },
        errors: {
          ...BODY_ERRORS,
          400: 'The body is not well-formed JSON, or the Idempotency-Key is malformed.',
          ...parentMissing,
          409: 'A resource with these unique values already exists, a reference does not exist, or a request with this Idempotency-Key is still in progress.',
          422: 'The body did not pass validation (`errors` names each field), a referenced record is not in your company, or the Idempotency-Key was used for a different request.',
        },
      },
    ]);
  }
  operations.push(
    [
      `GET ${item}`,
      {
        operationId: `get${name}`,
        summary: `Get ${article(one)}`,
        description: `One ${one}, with its ETag.${note}`,
        tag,
        params: itemParams,
        success: { status: 200, description: `The ${one}.`, schema: viewSchema, headers: ['ETag'] },
        errors: { 404: `No such ${one} in your company.` },
      },
    ],
    [
      `PATCH ${item}`,
      {
        operationId: `update${name}`,
        summary: `Update ${article(one)}`,
        description: `Changes the fields sent (all optional) and answers the ${one} with its new ETag. If-Match is required: the change applies only to the version you read.${note}`,
        tag,
        params: itemParams,
        headers: ['IfMatch'],
        body: fresh(def.updateSchema).openapi(`${name}Update`),
        success: { status: 200, description: `The ${one} as changed.`, schema: viewSchema, headers: ['ETag'] },
        errors: {
          ...BODY_ERRORS,
          400: 'The body is not well-formed JSON, or If-Match is malformed (`errors` names it).',
          404: `No such ${one} in your company.`,
          409: 'The change collides with a unique value or a reference of another resource.',
          412: 'The resource changed since you read it: fetch it again and reapply your change.',
          422: 'The body did not pass validation (`errors` names each field), or a referenced record is not in your company.',
          428: 'If-Match is missing.',
        },
      },
    ],
  );
  if (def.deletable !== false) {
    operations.push([
      `DELETE ${item}`,
      {
        operationId: `delete${name}`,
        summary: `Delete ${article(one)}`,
        description: `Deletes the ${one}; with If-Match, only if it is still the version you read.${note}`,
        tag,
        params: itemParams,
        headers: ['IfMatchOptional'],
        success: { status: 204, description: `The ${one} is deleted.` },
        errors: { 400: 'If-Match is malformed (`errors` names it).', 404: `No such ${one} in your company.`, 409: `The ${one} is still referenced by other resources.`, 412: 'The resource changed since you read it.' },
      },
    ]);
  }
  return operations;
}

/** The shipment lifecycle's transitions (api/routes/shipment-lifecycle.ts): each runs one update on the shipment's workflow. */
function lifecycleOperations() {
  const state = fresh(lifecycleViews.state).openapi('ShipmentLifecycleState', { description: "The shipment workflow's state after the transition, its timeline included." });
  const params = idParams('id');
  const op = (verb: string, summary: string, description: string, body: z.ZodType | undefined, refusedWhen: string): OperationSpec => ({
    operationId: `${verb}Shipment`,
    summary,
    description: `${description} Runs as an update on the shipment's workflow (\`shipment-{id}\`); the answer is its state once the transition is recorded.`,
    tag: 'Shipments',
    params,
    ...(body ? { body } : {}),
    success: { status: 200, description: 'The shipment lifecycle state after the transition.', schema: state },
    errors: { ...BODY_ERRORS, 404: 'No such shipment in your company.', 409: `The transition is refused, with the reason: ${refusedWhen}`, 422: 'The body did not pass validation (`errors` names each field).' },
  });
  const notAllowed = 'the shipment is not in a state this transition may leave from';
  return {
    'POST /api/v1/shipments/:id/book': op('book', 'Book a shipment', 'DRAFT → BOOKED; starts the shipment\'s workflow, which then runs the compliance engine on its consignment items (→ DG_VALIDATED or NON_COMPLIANT).', undefined, `${notAllowed} (DRAFT).`),
    'POST /api/v1/shipments/:id/assign': op(
      'assign',
      'Assign a vehicle and driver',
      'DG_VALIDATED or READY → READY. Refused when the driver\'s DG licence or training is not current, or the vehicle is grounded or its inspection is not current.',
      fresh(transitionBodies.assign).openapi('ShipmentAssignment'),
      `${notAllowed} (DG_VALIDATED, READY), or the driver or vehicle may not take the load (each reason named).`,
    ),
    'POST /api/v1/shipments/:id/depart': op('depart', 'Record departure', 'READY → IN_TRANSIT.', undefined, `${notAllowed} (READY).`),
    'POST /api/v1/shipments/:id/arrive': op('arrive', 'Record arrival', 'IN_TRANSIT → ARRIVED.', undefined, `${notAllowed} (IN_TRANSIT).`),
    'POST /api/v1/shipments/:id/deliver': op('deliver', 'Record proof of delivery', 'ARRIVED → DELIVERED, with who signed, when, and the proof-of-delivery document id.', fresh(transitionBodies.deliver).openapi('ProofOfDelivery'), `${notAllowed} (ARRIVED).`),
    'POST /api/v1/shipments/:id/close': op('close', 'Close a shipment', 'DELIVERED → CLOSED; the workflow completes.', undefined, `${notAllowed} (DELIVERED).`),
    'POST /api/v1/shipments/:id/cancel': op('cancel', 'Cancel a shipment', 'Any state before IN_TRANSIT → CANCELLED; the workflow completes.', fresh(transitionBodies.cancel).openapi('ShipmentCancellation'), `${notAllowed} (before IN_TRANSIT).`),
    'GET /api/v1/shipments/:id/timeline': {
      operationId: 'getShipmentTimeline',
      summary: "A shipment's timeline",
      description: 'Every transition, compliance verdict and alert of the shipment\'s lifecycle, oldest first, with who and when; empty until the shipment is booked or cancelled.',
      tag: 'Shipments',
      params,
      success: { status: 200, description: 'The timeline.', schema: z.object({ items: z.array(fresh(lifecycleViews.timelineEntry).openapi('ShipmentTimelineEntry')) }).openapi('ShipmentTimeline') },
      errors: { 404: 'No such shipment in your company.' },
    },
  } satisfies Record<string, OperationSpec>;
}

/** Incident response (api/routes/incidents.ts): the report starts the incident's workflow, each transition is one of its updates. */
function incidentOperations() {
  const params = idParams('id');
  const incident = fresh(incidentViews.view).openapi('Incident');
  const state = fresh(incidentViews.state).openapi('IncidentWorkflowState', { description: "The incident workflow's state: status, severity, enrichment, notifications, the authority's report, and the timeline with who and when." });
  const op = (event: string, operationId: string, summary: string, description: string, body: z.ZodType | undefined, from: string): OperationSpec => ({
    operationId,
    summary,
    description: `${description} Runs as an update on the incident's workflow (\`incident-{id}\`), recorded with who and when; the answer is the workflow's state.`,
    tag: 'Incidents',
    params,
    ...(body ? { body } : {}),
    success: { status: 200, description: "The incident workflow's state after the transition.", schema: state },
    errors: { ...BODY_ERRORS, 404: 'No such incident in your company.', 409: `The transition is refused, with the reason: ${event} is allowed only from ${from}, or another transition is in progress.`, 422: 'The body did not pass validation (`errors` names each field).' },
  });
  const links = {
    getIncident: { operationId: 'getIncident', description: 'Read the incident reported.', parameters: { id: '$response.body#/id' } },
    acknowledgeIncident: { operationId: 'acknowledgeIncident', description: 'Acknowledge the incident reported.', parameters: { id: '$response.body#/id' } },
    startIncidentResponse: { operationId: 'startIncidentResponse', description: 'Start the response to the incident reported.', parameters: { id: '$response.body#/id' } },
    resolveIncident: { operationId: 'resolveIncident', description: 'Resolve the incident reported.', parameters: { id: '$response.body#/id' } },
    closeIncident: { operationId: 'closeIncident', description: 'Close the incident reported.', parameters: { id: '$response.body#/id' } },
  };
  return {
    'GET /api/v1/incidents': {
      operationId: 'listIncidents',
      summary: 'List incidents',
      description: "Your company's incidents, newest first; follow `nextCursor` for the next page.",
      tag: 'Incidents',
      query: incidentListQuery.extend({
        limit: fresh(incidentListQuery.shape.limit).openapi({ description: 'Page size' }),
        cursor: fresh(incidentListQuery.shape.cursor).openapi({ description: '`nextCursor` of the previous page (opaque)' }),
      }),
      success: { status: 200, description: 'A page of incidents.', schema: page('IncidentPage', incident) },
      errors: { 400: 'A query parameter is unknown or invalid (`errors` names it), or the cursor is not one this API issued.' },
    },
    'POST /api/v1/incidents': {
      operationId: 'reportIncident',
      summary: 'Report an incident',
      description:
        "Records the incident (numbered `INC-…` in your company) and starts its workflow in one step: the answer 201 means both. The workflow adds the dangerous goods on board and the vehicle's last position, notifies the emergency contacts, escalates to managers after 5 minutes and to everyone (severity up) after 15 unless acknowledged, and files a serious incident (49 CFR 171.15(b) or ADR 1.8.5.3 criteria, by the company's regime) with the authority. Send an Idempotency-Key to make retries safe.",
      tag: 'Incidents',
      headers: ['IdempotencyKey'],
      body: fresh(incidentBodies.report).openapi('IncidentReport'),
      success: { status: 201, description: 'The incident recorded.', schema: incident, headers: ['Location', 'ETag', 'IdempotentReplayed'], links },
      errors: {
        ...BODY_ERRORS,
        400: 'The body is not well-formed JSON, or the Idempotency-Key is malformed.',
        409: 'A request with this Idempotency-Key is still in progress.',
        422: 'The body did not pass validation (`errors` names each field), the shipment or vehicle is not in your company, or the Idempotency-Key was used for a different request.',
      },
    },
    'GET /api/v1/incidents/:id': {
      operationId: 'getIncident',
      summary: 'Get an incident',
      description: "The incident as recorded, and its workflow's state and timeline (`workflow` is null when the workflow cannot answer).",
      tag: 'Incidents',
      params,
      success: { status: 200, description: 'The incident.', schema: fresh(incidentViews.detail).openapi('IncidentDetail'), headers: ['ETag'] },
      errors: { 404: 'No such incident in your company.' },
    },
    'POST /api/v1/incidents/:id/acknowledge': op('acknowledge', 'acknowledgeIncident', 'Acknowledge an incident', 'REPORTED → ACKNOWLEDGED; the escalation timers stop.', undefined, 'REPORTED'),
    'POST /api/v1/incidents/:id/start-response': op('start-response', 'startIncidentResponse', 'Start the response', 'REPORTED or ACKNOWLEDGED → RESPONDING.', undefined, 'REPORTED, ACKNOWLEDGED'),
    'POST /api/v1/incidents/:id/resolve': op('resolve', 'resolveIncident', 'Resolve an incident', 'ACKNOWLEDGED or RESPONDING → RESOLVED, with the resolution.', fresh(incidentBodies.resolve).openapi('IncidentResolution'), 'ACKNOWLEDGED, RESPONDING'),
    'POST /api/v1/incidents/:id/close': op('close', 'closeIncident', 'Close an incident', 'RESOLVED → CLOSED; the workflow completes.', undefined, 'RESOLVED'),
  } satisfies Record<string, OperationSpec>;
}

/** Alarms (api/routes/alarms.ts): raised by ingest, acknowledged and cleared here, each change audited. */
function alarmOperations() {
  const params = idParams('id');
  const alarm = fresh(alarmViews.view).openapi('Alarm');
  const sensorRules = fresh(sensorRulesView).openapi('SensorRules');
  const op = (event: 'acknowledge' | 'clear', summary: string, description: string, from: string): OperationSpec => ({
    operationId: `${event}Alarm`,
    summary,
    description: `${description} Audited, and published on the live stream.`,
    tag: 'Alarms',
    params,
    body: fresh(alarmTransitionBody.unwrap()).openapi(`Alarm${event === 'clear' ? 'Clearing' : 'Acknowledgement'}`),
    success: { status: 200, description: 'The alarm after the change.', schema: alarm, headers: ['ETag'] },
    errors: { ...BODY_ERRORS, 404: 'No such alarm in your company.', 409: `The alarm is not in a state ${event} may leave from (${from}).`, 422: 'The body is not an empty object.' },
  });
  return {
    'GET /api/v1/alarms': {
      operationId: 'listAlarms',
      summary: 'List alarms',
      description: "Your company's alarms, newest first; `active=true` for those not yet cleared. Follow `nextCursor` for the next page.",
      tag: 'Alarms',
      query: alarmListQuery.extend({
        limit: fresh(alarmListQuery.shape.limit).openapi({ description: 'Page size' }),
        cursor: fresh(alarmListQuery.shape.cursor).openapi({ description: '`nextCursor` of the previous page (opaque)' }),
      }),
      success: { status: 200, description: 'A page of alarms.', schema: page('AlarmPage', alarm) },
      errors: { 400: 'A query parameter is unknown or invalid (`errors` names it), or the cursor is not one this API issued.' },
    },
    'GET /api/v1/alarms/:id': {
      operationId: 'getAlarm',
      summary: 'Get an alarm',
      description: 'The alarm: its rule, severity, state, the reading that raised it, how often it was seen since, and the incident it raised, if any.',
      tag: 'Alarms',
      params,
      success: { status: 200, description: 'The alarm.', schema: alarm, headers: ['ETag'] },
      errors: { 404: 'No such alarm in your company.' },
    },
    'GET /api/v1/devices/:id/sensor-rules': {
      operationId: 'getDeviceSensorRules',
      summary: "A device's sensor limits",
      description: 'The temperature band and tilt limit the alarms apply to this device; null is no band, or the default tilt.',
      tag: 'Devices',
      params,
      success: { status: 200, description: 'The limits.', schema: sensorRules },
      errors: { 404: 'No such device in your company.' },
    },
    'PUT /api/v1/devices/:id/sensor-rules': {
      operationId: 'setDeviceSensorRules',
      summary: "Set a device's sensor limits",
      description:
        'Sets all three limits (null: none, or the default tilt). For a self-reactive substance or organic peroxide that travels temperature controlled, the maximum is its control temperature (49 CFR 173.21(f)): above it the alarm is CRITICAL and starts an incident. Audited.',
      tag: 'Devices',
      params,
      body: fresh(sensorRulesBody).openapi('SensorRulesUpdate'),
      success: { status: 200, description: 'The limits as set.', schema: sensorRules },
      errors: { ...BODY_ERRORS, 404: 'No such device in your company.', 422: 'The body did not pass validation (`errors` names each field), or the band is empty.' },
    },
    'POST /api/v1/alarms/:id/acknowledge': op('acknowledge', 'Acknowledge an alarm', 'ACTIVE_UNACK → ACTIVE_ACK: someone is on it.', 'ACTIVE_UNACK'),
    'POST /api/v1/alarms/:id/clear': op('clear', 'Clear an alarm', 'ACTIVE_UNACK or ACTIVE_ACK → CLEARED: the condition is dealt with; the next breach of the rule raises a new alarm.', 'ACTIVE_UNACK, ACTIVE_ACK'),
  } satisfies Record<string, OperationSpec>;
}

/** A vehicle's inspection programmes and inspections (api/routes/inspections.ts): each programme is a workflow per vehicle and type. */
function inspectionOperations() {
  const vehicle = idParams('vehicleId');
  const programParams = idParams('vehicleId', 'id');
  const program = fresh(inspectionViews.program).openapi('InspectionProgram');
  const inspection = fresh(inspectionViews.inspection).openapi('Inspection');
  const vehicle404 = 'No such vehicle in your company.';
  const programLinks = {
    getInspectionProgram: { operationId: 'getInspectionProgram', description: 'Read the programme started.', parameters: { vehicleId: '$request.path.vehicleId', id: '$response.body#/id' } },
    retireInspectionProgram: { operationId: 'retireInspectionProgram', description: 'Retire the programme started.', parameters: { vehicleId: '$request.path.vehicleId', id: '$response.body#/id' } },
    recordInspection: { operationId: 'recordInspection', description: 'Record an inspection on the vehicle.', parameters: { vehicleId: '$request.path.vehicleId' } },
    listInspections: { operationId: 'listInspections', description: "The vehicle's inspections.", parameters: { vehicleId: '$request.path.vehicleId' } },
  };
  return {
    'GET /api/v1/vehicles/:vehicleId/inspection-programs': {
      operationId: 'listInspectionPrograms',
      summary: "A vehicle's inspection programmes",
      description: 'Running programmes first, then retired ones; each with its next due date, standing, and why it grounds the vehicle.',
      tag: 'Inspections',
      params: vehicle,
      success: { status: 200, description: 'The programmes.', schema: fresh(inspectionViews.programs).openapi('InspectionPrograms') },
      errors: { 400: 'The query names a parameter (this list takes none).', 404: vehicle404 },
    },
    'POST /api/v1/vehicles/:vehicleId/inspection-programs': {
      operationId: 'startInspectionProgram',
      summary: 'Start an inspection programme',
      description:
        "Starts the vehicle's programme for one inspection type (workflow `inspection-{vehicleId}-{type}`): managers are reminded before each due date, and the vehicle is grounded when an inspection is overdue or fails, until a passing one. A first due date in the past grounds it at once. While a DG-relevant programme (the annual DG inspection, the cargo tank tests) runs, the vehicle's `inspectionExpiresOn` is the earliest of their due dates.",
      tag: 'Inspections',
      params: vehicle,
      body: fresh(inspectionBodies.program).openapi('InspectionProgramStart'),
      success: { status: 201, description: 'The programme, running.', schema: program, headers: ['Location'], links: programLinks },
      errors: { ...BODY_ERRORS, 404: vehicle404, 409: 'A programme of this type already runs for the vehicle (its next due date named).', 422: 'The body did not pass validation (`errors` names each field).' },
    },
    'GET /api/v1/vehicles/:vehicleId/inspection-programs/:id': {
      operationId: 'getInspectionProgram',
      summary: 'Get an inspection programme',
      tag: 'Inspections',
      params: programParams,
      success: { status: 200, description: 'The programme.', schema: program },
      errors: { 404: 'No such programme of this vehicle in your company.' },
    },
    'POST /api/v1/vehicles/:vehicleId/inspection-programs/:id/retire': {
      operationId: 'retireInspectionProgram',
      summary: 'Retire an inspection programme',
      description: 'Ends the programme (the vehicle is sold, the inspection no longer applies), with the reason: its reminders stop and its grounding lifts; its inspections stay. Runs as an update on the programme\'s workflow, which then completes.',
      tag: 'Inspections',
      params: programParams,
      body: fresh(inspectionBodies.retire).openapi('InspectionProgramRetirement'),
      success: { status: 200, description: 'The programme, retired.', schema: program },
      errors: { ...BODY_ERRORS, 404: 'No such programme of this vehicle in your company.', 409: 'The programme is already retired, or its workflow is not running.', 422: 'The body did not pass validation (`errors` names each field).' },
    },
    'GET /api/v1/vehicles/:vehicleId/inspections': {
      operationId: 'listInspections',
      summary: "A vehicle's inspections",
      description: 'Every inspection recorded on the vehicle, newest first (by when it was performed); follow `nextCursor` for the next page.',
      tag: 'Inspections',
      params: vehicle,
      query: inspectionHistoryQuery.extend({
        limit: fresh(inspectionHistoryQuery.shape.limit).openapi({ description: 'Page size' }),
        cursor: fresh(inspectionHistoryQuery.shape.cursor).openapi({ description: '`nextCursor` of the previous page (opaque)' }),
      }),
      success: { status: 200, description: 'A page of inspections.', schema: page('InspectionPage', inspection) },
      errors: { 400: 'A query parameter is unknown or invalid (`errors` names it), or the cursor is not one this API issued.', 404: vehicle404 },
    },
    'POST /api/v1/vehicles/:vehicleId/inspections': {
      operationId: 'recordInspection',
      summary: 'Record an inspection',
      description:
        "Records an inspection on the vehicle's running programme of its type: every item of the type's checklist once, each PASS or FAIL; any failed critical item fails it. A PASS sets the next due date (the interval from the day it was performed) and lifts this type's grounding; a FAIL grounds the vehicle, naming the failed items, until a passing one. A driver (`report_incidents`) may record the daily PRE_TRIP; every other type needs `manage_fleet`. The answer is the inspection, the programme and the vehicle as they now stand.",
      tag: 'Inspections',
      params: vehicle,
      body: fresh(inspectionBodies.result).openapi('InspectionResult'),
      success: { status: 200, description: 'The inspection recorded, and where it leaves the programme and the vehicle.', schema: fresh(inspectionViews.outcome).openapi('InspectionOutcome') },
      errors: {
        ...BODY_ERRORS,
        403: "Your role lacks this route's permission, or the one the inspection type needs (PRE_TRIP: `report_incidents`; every other type: `manage_fleet`).",
        404: vehicle404,
        409: 'No programme of this type runs for the vehicle, or the inspection was not performed after the last one recorded (a retried request included).',
        422: "The body did not pass validation (`errors` names each field): not the type's checklist, or performed in the future.",
      },
    },
  } satisfies Record<string, OperationSpec>;
}

/** Documents, the SDS library and a shipment's compliance view (api/routes/documents.ts, sds.ts, shipment-compliance.ts). */
function documentOperations() {
  const params = idParams('id');
  const document = fresh(documentView).openapi('Document');
  const sds = fresh(sdsView).openapi('SafetyDataSheet');
  const accepted = Object.keys(DOCUMENT_MEDIA_TYPES);
  // Strict like the form: a field the form does not take is refused (422).
  const upload = z
    .strictObject({
      [UPLOAD_FILE_FIELD]: z.string().openapi({ format: 'binary', description: `The file, at most the server's DOCUMENT_MAX_BYTES (25 MiB unless configured). Its type is read from its bytes, never from its name or declared type: ${accepted.join(', ')}.` }),
      ...uploadForm.shape,
    })
    .openapi('DocumentUpload', { description: 'The file, its kind and optional title; attach it to at most one of shipmentId, vehicleId, inspectionId, incidentId (each in your company). Text fields may come before or after the file.' });
  const documentLinks = {
    getDocument: { operationId: 'getDocument', description: 'Read the document uploaded.', parameters: { id: '$response.body#/id' } },
    downloadDocument: { operationId: 'downloadDocument', description: "Download the uploaded document's bytes.", parameters: { id: '$response.body#/id' } },
    deleteDocument: { operationId: 'deleteDocument', description: 'Delete the document uploaded.', parameters: { id: '$response.body#/id' } },
  };
  const download = (status: 200 | 206): Success => ({
    status,
    description: status === 200 ? 'The bytes, as the type they are.' : 'The part asked for.',
    binary: accepted,
    headers: ['ContentETag', 'AcceptRanges', 'ContentDisposition', ...(status === 206 ? (['ContentRange'] as const) : [])],
  });
  return {
    'POST /api/v1/documents': {
      operationId: 'uploadDocument',
      summary: 'Upload a document',
      description:
        "A `multipart/form-data` upload, streamed to storage (never held whole in memory) while its SHA-256 is computed and its type read from its first bytes. The same bytes are stored once per company: a second upload is 409 naming the first. A MANIFEST or DG_DECLARATION starts its processing workflow (`document-{id}`): its text is read page by page and its dangerous goods compared with the catalogue and, when attached to a shipment, its consignment items; the findings appear in the shipment's compliance view. Audited.",
      tag: 'Documents',
      body: upload,
      bodyMediaType: 'multipart/form-data',
      success: { status: 201, description: 'The document stored.', schema: document, headers: ['Location'], links: documentLinks },
      errors: {
        400: 'The multipart body is malformed, or the upload was interrupted.',
        403: 'The role lacks `upload_pod`, or the permission of the kind: `upload_documents` for SDS, DG_DECLARATION and MANIFEST.',
        409: 'These bytes are already stored in your company: the detail names that document and `Location` points at it.',
        413: 'The file exceeds the size limit: refused without reading the rest (the connection is closed).',
        415: 'The body is not multipart/form-data, or the file is not PDF, PNG, JPEG, TIFF or WebP by its content.',
        422: 'A field is missing, unknown, doubled or invalid, the file is empty, or the attachment is not in your company (`errors` names the field).',
        503: 'Document storage is not configured on this server.',
      },
    },
    'GET /api/v1/documents': {
      operationId: 'listDocuments',
      summary: 'List documents',
      description: "Your company's documents, newest first, by kind or by what they are attached to; follow `nextCursor` for the next page.",
      tag: 'Documents',
      query: documentListQuery,
      success: { status: 200, description: 'A page of documents.', schema: page('DocumentPage', document) },
      errors: { 400: 'A query parameter is unknown or invalid (`errors` names it), or the cursor is not one this API issued.' },
    },
    'GET /api/v1/documents/:id': {
      operationId: 'getDocument',
      summary: "A document's metadata",
      description: 'Kind, file name, type (as sniffed), size, SHA-256, attachment, uploader and, for manifests and DG declarations, the processing status.',
      tag: 'Documents',
      params,
      success: { status: 200, description: 'The document.', schema: document },
      errors: { 404: 'No such document in your company.' },
    },
    'GET /api/v1/documents/:id/content': {
      operationId: 'downloadDocument',
      summary: "Download a document's bytes",
      description:
        'Streamed, as the type the bytes are, always as an attachment. `HEAD` answers the same headers without the bytes. One byte range may be asked for (`Range`, 206), conditionally on the ETag (`If-Range`).',
      tag: 'Documents',
      params,
      headers: ['Range', 'IfRange'],
      success: download(200),
      partial: download(206),
      errors: { 404: 'No such document in your company.', 416: 'The range starts beyond the end of the document (`Content-Range: bytes */<size>`).', 503: 'Document storage is not configured on this server.' },
    },
    'DELETE /api/v1/documents/:id': {
      operationId: 'deleteDocument',
      summary: 'Delete a document',
      description: 'Removes the document, its findings and its SDS entry (each audited), then its bytes.',
      tag: 'Documents',
      params,
      success: { status: 204, description: 'The document is deleted.' },
      errors: { 404: 'No such document in your company.', 503: 'Document storage is not configured on this server.' },
    },
    'POST /api/v1/sds': {
      operationId: 'createSds',
      summary: 'Record a safety data sheet',
      description: 'A revision of a product\'s SDS, over an uploaded document of kind SDS: product, supplier, revision date and the UN numbers it covers. The newest revision of a product (its name compared without regard to case) is its current SDS. Audited.',
      tag: 'Safety data sheets',
      body: fresh(createSds).openapi('SafetyDataSheetCreate'),
      success: { status: 201, description: 'The SDS recorded.', schema: sds, headers: ['Location'], links: { getSds: { operationId: 'getSds', description: 'Read the SDS recorded.', parameters: { id: '$response.body#/id' } } } },
      errors: { ...BODY_ERRORS, 409: 'The document is already recorded as an SDS.', 422: 'The body did not pass validation, the document is not an SDS in your company, a UN number is not in the catalogue, or the revision date is in the future (`errors` names each field).' },
    },
    'GET /api/v1/sds': {
      operationId: 'listSds',
      summary: 'List safety data sheets',
      description: 'By product, each product\'s revisions newest first; `current` marks the newest, `expired` one revised more than five years ago (model WHS Regulations r 330(3)(a): reviewed at least every five years).',
      tag: 'Safety data sheets',
      query: sdsListQuery,
      success: { status: 200, description: 'A page of SDS.', schema: page('SafetyDataSheetPage', sds) },
      errors: { 400: 'A query parameter is unknown or invalid (`errors` names it), or the cursor is not one this API issued.' },
    },
    'GET /api/v1/sds/:id': {
      operationId: 'getSds',
      summary: 'Get a safety data sheet',
      tag: 'Safety data sheets',
      params,
      success: { status: 200, description: 'The SDS.', schema: sds },
      errors: { 404: 'No such SDS in your company.' },
    },
    'GET /api/v1/shipments/:id/compliance': {
      operationId: 'getShipmentCompliance',
      summary: "A shipment's compliance view",
      description:
        "The lifecycle's verdict on the load (null before booking), the findings of the manifests and DG declarations attached to the shipment (matched, mismatched, missing, unknown, needs OCR, unreadable; with pages), and the current SDS of each UN number on board, flagged when expired. An SDS alone is not emergency information: `emergencyInformation` says so under your company's regime.",
      tag: 'Shipments',
      params,
      success: { status: 200, description: 'The compliance view.', schema: fresh(complianceView).openapi('ShipmentComplianceView') },
      errors: { 404: 'No such shipment in your company.' },
    },
  } satisfies Record<string, OperationSpec>;
}

// ---------------------------------------------------------------------------------------------
// Every other route, written out (typed against the policy table: a route added there and not
// here fails the typecheck)
// ---------------------------------------------------------------------------------------------

function handWritten(): Record<Exclude<PolicyRoute, FromCollections>, OperationSpec> {
  const device = fresh(deviceView).openapi('Device');
  const deviceIssued = fresh(deviceIssuedView).openapi('DeviceWithSecret');
  const user = userView.extend({ id: z.uuid().openapi({ description: 'The Keycloak user id' }) }).openapi('User');
  const company = companyView.openapi('Company');
  const dg = dangerousGood.openapi('DangerousGood');
  const load = fresh(loadSchema).openapi('Load', { description: 'A declared load: 1–1,000 items, each resolved to exactly one catalogue entry.' });
  const keycloakErrors: ErrorCases = {
    502: 'Keycloak did not complete the request.',
    503: 'User management is not configured (KEYCLOAK_ADMIN_CLIENT_SECRET), or the identity provider could not be reached to verify the token.',
  };
  const deviceId = idParams('id');
  const adminCompanyRef = adminCompany.openapi('AdminCompany');

  return {
    ...lifecycleOperations(),
    ...searchOperations(),
    ...telemetryOperations(),
    ...incidentOperations(),
    ...alarmOperations(),
    ...inspectionOperations(),
    ...documentOperations(),
    ...integrationOperations(),
    'GET /api/v1/me': {
      operationId: 'getMe',
      summary: 'Who am I',
      description: 'The verified caller: subject, username, highest role and company.',
      tag: 'Me',
      success: { status: 200, description: 'The caller.', schema: meView.openapi('Me') },
    },
    'GET /api/v1/company': {
      operationId: 'getCompany',
      summary: 'Get your company',
      tag: 'Company',
      success: { status: 200, description: "The caller's company.", schema: company },
      errors: { 404: 'Your company has no record yet.' },
    },
    'PATCH /api/v1/company': {
      operationId: 'updateCompany',
      summary: 'Rename your company or set its DG regime',
      description: 'Audited (the fields set, before and after). ADMIN only. This route takes no If-Match.',
      tag: 'Company',
      body: fresh(updateCompany).openapi('CompanyUpdate'),
      success: { status: 200, description: 'The company as changed.', schema: company },
      errors: { ...BODY_ERRORS, 404: 'Your company has no record yet.', 422: 'The body did not pass validation (`errors` names each field).' },
    },
    'GET /api/v1/geofences/nearby': {
      operationId: 'listNearbyGeofences',
      summary: 'Geofences near a point',
      description: "Your company's geofences within `radiusM` metres of a point (PostGIS, on the geography), nearest first.",
      tag: 'Geofences',
      query: nearbyQuery,
      success: { status: 200, description: 'The geofences within the radius.', schema: nearbyView.openapi('NearbyGeofences') },
      errors: { 400: 'A query parameter is missing, unknown or out of range (`errors` names it).' },
    },
    'GET /api/v1/dangerous-goods': {
      operationId: 'listDangerousGoods',
      summary: 'Search the DG catalogue',
      description: 'Entries of the Hazardous Materials Table in force, by name (case- and accent-insensitive) or identification number, class or division, and packing group; ordered by name, cursor-paged.',
      tag: 'Dangerous goods',
      query: dangerousGoodsListQuery,
      success: { status: 200, description: 'A page of catalogue entries.', schema: page('DangerousGoodPage', dg) },
      errors: { 400: 'A query parameter is unknown or invalid (`errors` names it), or the cursor is not one this API issued.' },
    },
    'GET /api/v1/dangerous-goods/by-un/:un': {
      operationId: 'listDangerousGoodsByUnNumber',
      summary: 'Every entry of a UN/NA/ID number',
      tag: 'Dangerous goods',
      params: z.object({ un: fresh(byUnParams.shape.un).openapi({ description: 'An identification number such as UN1203, NA1993 or ID8000', example: 'UN1203' }) }),
      success: { status: 200, description: 'The entries in table order.', schema: z.object({ unNumber: z.string(), items: z.array(dg) }).openapi('DangerousGoodsByUnNumber') },
      errors: { 400: 'Not an identification number.', 404: 'The number is not in the Hazardous Materials Table.' },
    },
    'GET /api/v1/dangerous-goods/:id': {
      operationId: 'getDangerousGood',
      summary: 'Get a catalogue entry',
      description: 'One entry, with the text of each of its special provisions (49 CFR 172.102).',
      tag: 'Dangerous goods',
      params: idParams('id'),
      success: {
        status: 200,
        description: 'The entry.',
        schema: dangerousGood.extend({ specialProvisionTexts: z.array(z.object({ code: z.string(), text: z.string().nullable() })) }).openapi('DangerousGoodDetail'),
      },
      errors: { 404: 'No such entry (or not a UUID).' },
    },
    'POST /api/v1/dangerous-goods/check-compatibility': {
      operationId: 'checkCompatibility',
      summary: 'Check a load for segregation conflicts',
      description:
        "Segregation of the load on one vehicle under a regime: `regime` in the query or the body, otherwise your company's `dgRegime`. 49cfr: 177.848 and the food rule of 177.841(e). adg: class segregation for placard loads only (49 CFR 177.848 standing in for the ADG tables, said in each citation), the food rule and the overpack rule at any quantity. Each conflicting pair with its code, rule and citation; pairs the data cannot decide are reported as indeterminate, never guessed.",
      tag: 'Dangerous goods',
      query: compatibilityQuery.extend({ regime: fresh(compatibilityQuery.shape.regime).openapi({ description: "adg or 49cfr; if absent, the body's `regime`, then your company's" }) }),
      body: fresh(compatibilityRequestSchema).openapi('CompatibilityRequest', { description: 'A declared load (1–1,000 items), optionally with the regime to answer under.' }),
      success: { status: 200, description: 'The verdict, conflicts, undecided pairs and notes.', schema: compatibilityResult.openapi('CompatibilityResult') },
      errors: {
        ...BODY_ERRORS,
        400: 'The body is not well-formed JSON, or the query `regime` is unknown.',
        422: 'The load did not pass validation, an item does not resolve to exactly one catalogue entry (`errors` names the item field), or the query and the body name different regimes.',
      },
    },
    'POST /api/v1/dangerous-goods/placards': {
      operationId: 'determinePlacards',
      summary: 'Placards for a load',
      description: 'Whether the load needs placards and which, under the ADG Code (`regime=adg`) or 49 CFR 172.504/172.505 (`regime=49cfr`), each criterion with whether it was met. Reads no company data.',
      tag: 'Dangerous goods',
      query: placardQuery.extend({
        regime: fresh(placardQuery.shape.regime).openapi({ description: 'adg: Australian Dangerous Goods Code; 49cfr: United States' }),
        domestic: fresh(placardQuery.shape.domestic).openapi({ description: '49 CFR only: US-domestic transportation, where 172.504(f)(8), (f)(9) and (f)(11) apply' }),
      }),
      body: load,
      success: { status: 200, description: 'The placard decision with its reasons.', schema: placardResult.openapi('PlacardResult') },
      errors: { ...BODY_ERRORS, 400: 'The body is not well-formed JSON, or `regime` is missing or unknown.', 422: 'The load did not pass validation, or an item does not resolve to exactly one catalogue entry (`errors` names the item field).' },
    },
    'POST /api/v1/devices': {
      operationId: 'createDevice',
      summary: 'Provision a device',
      description:
        'Registers a device and issues its MQTT secret, shown in this answer only (the database keeps a hash). Idempotency-Key is not supported here: a replay would have to store the secret.',
      tag: 'Devices',
      body: fresh(createDevice).openapi('DeviceCreate'),
      success: {
        status: 201,
        description: 'The device, with its MQTT credentials.',
        schema: deviceIssued,
        headers: ['Location', 'ETag', 'CacheControlNoStore'],
        links: itemLinks(
          {
            getDevice: 'Read the device provisioned.',
            updateDevice: 'Rename the device provisioned, or fit it to a vehicle.',
            rotateDeviceSecret: "Rotate the provisioned device's secret.",
            revokeDevice: 'Revoke the device provisioned.',
            deleteDevice: 'Delete the device provisioned.',
          },
          '$response.body#/id',
          [],
          true,
        ),
      },
      errors: { ...BODY_ERRORS, 422: 'The body did not pass validation, the MQTT username is taken, or the vehicle is not in your company.' },
    },
    'POST /api/v1/devices/:id/rotate-secret': {
      operationId: 'rotateDeviceSecret',
      summary: "Rotate a device's secret",
      description: 'Issues a new MQTT secret (shown in this answer only); the old one stops working at the next CONNECT.',
      tag: 'Devices',
      params: deviceId,
      success: { status: 200, description: 'The device, with its new MQTT credentials.', schema: deviceIssued, headers: ['ETag', 'CacheControlNoStore'] },
      errors: { 404: 'No such device in your company.', 409: 'The device changed while this request ran (rotated or revoked at the same time); retry.', 422: 'The device is revoked.' },
    },
    'POST /api/v1/devices/:id/revoke': {
      operationId: 'revokeDevice',
      summary: 'Revoke a device',
      description: 'The device can no longer authenticate (from its next CONNECT). Revoking twice changes nothing.',
      tag: 'Devices',
      params: deviceId,
      success: { status: 200, description: 'The device, revoked.', schema: device, headers: ['ETag'] },
      errors: { 404: 'No such device in your company.', 409: 'The device changed while this request ran (rotated at the same time); retry.' },
    },
    'GET /api/v1/users': {
      operationId: 'listUsers',
      summary: "List your company's users",
      tag: 'Users',
      query: userListQuery,
      success: {
        status: 200,
        description: 'A page of users.',
        schema: z.object({ items: z.array(user), total: z.number().int(), nextCursor: z.string().nullable() }).openapi('UserPage'),
      },
      errors: { 400: 'A query parameter is unknown or invalid, or the cursor is not one this API issued.', ...keycloakErrors },
    },
    'POST /api/v1/users': {
      operationId: 'createUser',
      summary: 'Create a user',
      description: 'Creates the user in Keycloak, in your company, with one role. With `temporaryPassword` the user must change it at first login. Audited.',
      tag: 'Users',
      body: fresh(createUser).openapi('UserCreate'),
      success: {
        status: 201,
        description: 'The user created.',
        schema: user,
        headers: ['Location'],
        links: itemLinks({ getUser: 'Read the user created.', changeUserRole: "Change the created user's role.", disableUser: 'Disable the user created.' }, '$response.body#/id', [], false),
      },
      errors: { ...BODY_ERRORS, 409: 'The username or email is already taken.', 422: 'The body did not pass validation, or Keycloak refused a value (`errors` names it).', ...keycloakErrors },
    },
    'GET /api/v1/users/:id': {
      operationId: 'getUser',
      summary: 'Get a user',
      tag: 'Users',
      params: idParams('id'),
      success: { status: 200, description: 'The user.', schema: user },
      errors: { 404: 'No such user in your company.', ...keycloakErrors },
    },
    'PATCH /api/v1/users/:id': {
      operationId: 'changeUserRole',
      summary: "Change a user's role",
      description: 'Nobody changes their own role. Audited as a security event. This route takes no If-Match.',
      tag: 'Users',
      params: idParams('id'),
      body: fresh(updateUser).openapi('UserUpdate'),
      success: { status: 200, description: 'The user as changed.', schema: user },
      errors: { ...BODY_ERRORS, 404: 'No such user in your company.', 422: 'The body did not pass validation, or the user is you.', ...keycloakErrors },
    },
    'POST /api/v1/users/:id/disable': {
      operationId: 'disableUser',
      summary: 'Disable a user',
      description: 'The user can no longer sign in. Nobody disables themselves. Audited as a security event.',
      tag: 'Users',
      params: idParams('id'),
      success: { status: 200, description: 'The user, disabled.', schema: user },
      errors: { 404: 'No such user in your company.', 422: 'The user is you.', ...keycloakErrors },
    },
    'GET /api/v1/audit-log': {
      operationId: 'listAuditLog',
      summary: 'Read the audit log',
      description: "Your company's audit entries, newest first, optionally for one entity type or entity.",
      tag: 'Audit log',
      query: auditQuery,
      success: { status: 200, description: 'A page of entries.', schema: page('AuditLogPage', auditEntry.openapi('AuditEntry')) },
      errors: { 400: 'A query parameter is unknown or invalid, or the cursor is not one this API issued.' },
    },
    'GET /api/v1/audit-log/verify': {
      operationId: 'verifyAuditLog',
      summary: 'Verify the audit chain',
      description: "Recomputes every hash of your company's chain, checks each link, and checks the chain against its sealed checkpoints.",
      tag: 'Audit log',
      success: { status: 200, description: 'Whether the chain is intact, and where it first breaks if not.', schema: chainVerification.openapi('AuditChainVerification') },
    },
    'GET /api/v1/admin/companies': {
      operationId: 'listCompanies',
      summary: 'List every company',
      tag: 'Platform administration',
      success: { status: 200, description: 'All companies.', schema: z.object({ items: z.array(adminCompanyRef) }).openapi('AdminCompanyList') },
    },
    'POST /api/v1/admin/companies': {
      operationId: 'createCompany',
      summary: 'Onboard a company',
      description: "Creates the company; the creation opens the company's audit chain.",
      tag: 'Platform administration',
      body: fresh(createCompany).openapi('AdminCompanyCreate'),
      success: { status: 201, description: 'The company created.', schema: adminCompanyRef, headers: ['Location'] },
      errors: { ...BODY_ERRORS, 422: 'The body did not pass validation.' },
    },
    'GET /api/v1/admin/companies/:companyId/shipments': {
      operationId: 'listCompanyShipments',
      summary: "Look into a company's shipments",
      description: "The company's latest shipments. The look is recorded in that company's audit chain with the reason given.",
      tag: 'Platform administration',
      params: idParams('companyId'),
      query: adminShipmentsQuery.extend({ reason: fresh(adminShipmentsQuery.shape.reason).openapi({ description: 'Why you look (support ticket, incident): kept in the audit entry' }) }),
      success: { status: 200, description: 'The latest shipments.', schema: z.object({ items: z.array(fresh(shipmentView).openapi('Shipment')) }).openapi('AdminShipmentList') },
      errors: { 400: 'The reason is missing, or a query parameter is unknown or invalid.', 404: 'The company id is not a UUID.' },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The document
// ---------------------------------------------------------------------------------------------

const problemSchema = z
  .object({
    type: z.string().openapi({ description: 'A URI reference naming the problem type; `about:blank` (the status says it all)', example: 'about:blank' }),
    title: z.string().openapi({ example: 'Unprocessable Content' }),
    status: z.number().int().openapi({ example: 422 }),
    detail: z.string().optional().openapi({ example: 'The request did not pass validation' }),
    instance: z.string().openapi({ description: 'The request path', example: '/api/v1/vehicles' }),
    requestId: z.string().openapi({ description: 'Also in the X-Request-Id header; quote it when reporting a problem' }),
    errors: z
      .array(z.object({ path: z.string().openapi({ example: 'capacityKg' }), message: z.string().openapi({ example: 'Too big: expected number to be <=200000' }) }).openapi('FieldError'))
      .optional()
      .openapi({ description: 'Field-level details (400 and 422)' }),
  })
  .openapi('Problem', { description: 'RFC 9457 problem details: the body of every error answer, as application/problem+json.' });

function whoMay(requirement: Requirement): string {
  if (requirement === 'platform_staff') return `SafeShipper platform staff only (realm role \`${PLATFORM_STAFF_ROLE}\`).`;
  if (requirement === 'authenticated') return 'Any role; the account must belong to a company.';
  return `Requires the \`${requirement}\` permission: roles ${ROLES.filter((role) => allows(role, requirement)).join(', ')}.`;
}

type ProblemResponse = {
  description: string;
  headers?: Record<string, { $ref: string }>;
  content: { 'application/problem+json': { schema: { $ref: string } } };
};

function errorResponse(status: ErrorStatus, description: string): ProblemResponse {
  const headers: Partial<Record<HeaderName, true>> = status === 401 ? { WWWAuthenticate: true } : status === 429 ? { RetryAfter: true, RateLimitLimit: true, RateLimitRemaining: true, RateLimitReset: true } : status === 503 ? { RetryAfter: true } : {};
  return {
    description,
    ...(Object.keys(headers).length ? { headers: headerRefs(Object.keys(headers) as HeaderName[]) } : {}),
    content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
  };
}

function headerRefs(names: readonly HeaderName[]): Record<string, { $ref: string }> {
  return Object.fromEntries(names.map((name) => [HEADER_WIRE_NAMES[name] ?? name, { $ref: `#/components/headers/${name}` }]));
}

/** Answers every secured route can give, whatever it does: shared as response components. */
const SHARED_ERRORS = {
  Unauthorized: [401, 'The Bearer access token is missing, invalid or expired.'],
  TooManyRequests: [429, 'Too many requests for this route class in the current minute (or too many failed authentications from this address).'],
  ServiceUnavailable: [503, 'The identity provider could not be reached to verify the token.'],
} as const satisfies Record<string, readonly [ErrorStatus, string]>;

/** Query numbers are `z.coerce`d (query strings are text), which the generator reads as nullable and optional; the document states the number the parser accepts. */
function documentedQuery(query: z.ZodObject): z.ZodObject {
  return z.object(
    Object.fromEntries(Object.entries(query.shape).map(([key, field]) => [key, field instanceof z.ZodNumber && field.def.coerce ? field.clone({ ...field.def, coerce: false }, { parent: true }) : field])),
  );
}

/** A success answer: its headers, links, and a JSON body or bytes of the media types named. */
function successResponse({ status, description, schema, binary, stream, headers, links }: Success): [string, ResponseConfig] {
  const json = schema ? { 'application/json': { schema }, ...(stream ? { [stream]: { schema: { type: 'string' as const } } } : {}) } : undefined;
  const content = json ?? (binary ? Object.fromEntries(binary.map((type) => [type, { schema: { type: 'string' as const, format: 'binary' } }])) : undefined);
  return [String(status), { description, headers: headerRefs([...(headers ?? []), ...RATE_LIMIT_HEADERS]), ...(links ? { links } : {}), ...(content ? { content } : {}) }];
}

function routeConfig(key: string, op: OperationSpec): RouteConfig {
  const requirement = (ROUTE_POLICY as Record<string, Requirement>)[key];
  if (!requirement) throw new Error(`"${key}" is documented but not declared in domain/policy.ts`);
  const [method, path] = key.split(' ') as [string, string];
  const forbidden = requirement === 'platform_staff' ? 'The caller is not SafeShipper platform staff.' : `The caller's role lacks the \`${requirement}\` permission, or the account belongs to no company.`;
  const shared = Object.fromEntries(
    Object.entries(SHARED_ERRORS)
      .filter(([, [code]]) => op.errors?.[code] === undefined)
      .map(([name, [code]]) => [code, { $ref: `#/components/responses/${name}` }]),
  );
  const errors: ErrorCases = { 403: forbidden, ...op.errors };
  return {
    method: method.toLowerCase() as Method,
    path: openApiPath(path),
    operationId: op.operationId,
    summary: op.summary,
    description: [op.description, `**Permission:** ${whoMay(requirement)}`].filter(Boolean).join('\n\n'),
    tags: [op.tag],
    security: [{ keycloak: [] }, { bearerToken: [] }],
    'x-permission': requirement,
    ...(op.headers?.length ? { parameters: op.headers.map((name) => ({ $ref: `#/components/parameters/${name}` })) } : {}),
    request: {
      ...(op.params ? { params: op.params } : {}),
      ...(op.query ? { query: documentedQuery(op.query) } : {}),
      ...(op.body ? { body: { required: true, content: { [op.bodyMediaType ?? 'application/json']: { schema: op.body } } } } : {}),
    },
    responses: Object.fromEntries(
      [
        successResponse(op.success),
        ...(op.partial ? [successResponse(op.partial)] : []),
        ...Object.entries(shared),
        ...(Object.entries(errors) as Array<[string, string]>).map(([code, text]) => [code, errorResponse(Number(code) as ErrorStatus, text)] as [string, ProblemResponse]),
      ].sort(([a], [b]) => Number(a) - Number(b)),
    ),
  };
}

/** Builds the document; throws when its operations and the policy table differ. */
export function buildOpenApiDocument(options: OpenApiOptions): OpenApiDocument {
  const operations = new Map<string, OperationSpec>([...collections().flatMap((spec, _, all) => collectionOperations(spec, all)), ...Object.entries(handWritten())]);
  const declared = Object.keys(ROUTE_POLICY);
  const missing = declared.filter((key) => !operations.has(key));
  const extra = [...operations.keys()].filter((key) => !declared.includes(key));
  if (missing.length || extra.length) throw new Error(`The OpenAPI document and domain/policy.ts differ: undocumented ${JSON.stringify(missing)}, not in the policy table ${JSON.stringify(extra)}`);

  const registry = new OpenAPIRegistry();
  const issuer = options.oidcIssuer.replace(/\/$/, '');
  registry.registerComponent('securitySchemes', 'keycloak', {
    type: 'openIdConnect',
    openIdConnectUrl: `${issuer}/.well-known/openid-configuration`,
    description: `Keycloak (realm issuer \`${issuer}\`). Access tokens must carry the audience \`safeshipper-api\` and, except for platform staff, a \`company_id\`.`,
  });
  registry.registerComponent('securitySchemes', 'bearerToken', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: `The same Keycloak access token, pasted: RS256, issued by \`${issuer}\`.`,
  });
  for (const [name, header] of Object.entries(HEADERS)) registry.registerComponent('headers', name, header);
  for (const [name, parameter] of Object.entries(PARAMETERS)) registry.registerComponent('parameters', name, parameter);
  registry.register('Problem', problemSchema);
  for (const [name, [status, description]] of Object.entries(SHARED_ERRORS)) registry.registerComponent('responses', name, errorResponse(status, description));
  for (const key of declared) registry.registerPath(routeConfig(key, operations.get(key)!));

  const document = new OpenApiGeneratorV31(registry.definitions, { sortComponents: 'alphabetically' }).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'SafeShipper API',
      version: '1.0.0',
      description: DESCRIPTION(issuer),
    },
    servers: [{ url: '/', description: 'This server' }],
    tags: Object.entries(TAGS).map(([name, description]) => ({ name, description })),
  });
  return portable(document);
}

const DESCRIPTION = (issuer: string) => `Dangerous-goods logistics: master data, shipments, devices and the DG rules.

Every route needs a Keycloak access token (\`Authorization: Bearer …\`) for the audience \`safeshipper-api\`, issued by \`${issuer}\`; each operation names the permission it needs (also as \`x-permission\`). Roles inherit upwards: VIEWER ⊂ DRIVER ⊂ OPERATOR ⊂ MANAGER ⊂ ADMIN.

\`\`\`sh
TOKEN=$(curl -s -d grant_type=password -d client_id=safeshipper-dev -d username=acme-operator -d password=demo-password \\
  ${issuer}/protocol/openid-connect/token | jq -r .access_token)   # local development only
\`\`\`

- **Errors** are \`application/problem+json\` (RFC 9457) with the request id; 400 and 422 name each field in \`errors\`.
- **Tenancy:** every read and write is confined to the caller's company; an id from another company is 404 (in a path) or 422 (in a body).
- **Concurrency:** resources carry an ETag (\`"v3"\`); PATCH requires \`If-Match\` (428 without, 412 when stale).
- **Retries:** POST creates of collections accept an \`Idempotency-Key\`.
- **Paging:** lists answer \`{ items, nextCursor }\`; pass \`nextCursor\` back as \`cursor\`.
- **Rate limits:** per user and route class (read, write, compute) each minute; a refusal is 429 with \`Retry-After\`.
- **Request ids:** every answer carries \`X-Request-Id\` (yours, if you send a sane one).`;

/**
 * Two things zod-to-openapi writes that a JSON Schema validator reads otherwise: a regular
 * expression's flags after its source (`…$/i`), and tuples as `prefixItems` alone (which would
 * allow more items). Patterns become flag-free equivalents; tuples get their exact length, and a
 * tuple whose items share one schema (a `[longitude, latitude]` answered) is that array, `items`
 * and all: tools that rewrite `prefixItems` into draft-7 tuples then validate with draft 2020-12
 * (schemathesis' answers) call the rewritten form an invalid Schema Object.
 */
function portable<T>(value: T): T {
  if (Array.isArray(value)) return value.map(portable) as T;
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    if (key !== 'pattern' || typeof child !== 'string') out[key] = portable(child);
    else if (flagFree(child) !== undefined) out[key] = flagFree(child);
  }
  if (Array.isArray(out.prefixItems) && out.items === undefined && out.minItems === undefined && out.maxItems === undefined) {
    const tuple: unknown[] = out.prefixItems;
    out.minItems = tuple.length;
    out.maxItems = tuple.length;
    if (tuple.every((item) => JSON.stringify(item) === JSON.stringify(tuple[0]))) {
      delete out.prefixItems;
      out.items = tuple[0];
    }
  }
  return out as T;
}

/** `source/flags` → a pattern without flags, the `i` flag spelt out as letter classes; undefined when it cannot be (the pattern is then left out). */
export function flagFree(pattern: string): string | undefined {
  const flagged = /^(.*[^\\])\/([dgimsuvy]+)$/s.exec(pattern);
  if (!flagged) return pattern;
  const [, source, flags] = flagged as unknown as [string, string, string];
  return flags.includes('i') ? caseInsensitive(source) : source;
}

function caseInsensitive(source: string): string | undefined {
  const swap = (c: string) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase());
  const isLetter = (c: string) => /^[a-zA-Z]$/.test(c);
  let out = '';
  for (let i = 0; i < source.length; i += 1) {
    const c = source[i]!;
    if (c === '\\') {
      // \p{…}, \u…, \x…, \k<…>, \c… carry letters of their own: not spelt out.
      if ('puxkcPU'.includes(source[i + 1] ?? '')) return undefined;
      out += c + (source[i + 1] ?? '');
      i += 1;
    } else if (c === '[') {
      let j = i + 1;
      let body = '';
      while (j < source.length && source[j] !== ']') {
        body += source[j] === '\\' ? source[j]! + source[++j]! : source[j]!;
        j += 1;
      }
      let extra = '';
      for (const m of body.matchAll(/(\\.|[^\\])(?:-(\\.|[^\\]))?/g)) {
        const [, from, to] = m as unknown as [string, string, string | undefined];
        if (to !== undefined && isLetter(from) && isLetter(to) && (from === from.toLowerCase()) === (to === to.toLowerCase())) extra += `${swap(from)}-${swap(to)}`;
        else if (to === undefined && isLetter(from)) extra += swap(from);
      }
      out += `[${body}${extra}]`;
      i = j;
    } else if (c === '(' && source.startsWith('?<', i + 1) && isLetter(source[i + 3] ?? '')) {
      return undefined; // a named group
    } else {
      out += isLetter(c) ? `[${c}${swap(c)}]` : c;
    }
  }
  return out;
}
