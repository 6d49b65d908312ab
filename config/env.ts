import { accessSync, constants } from 'node:fs';
import { z } from 'zod';
import { SHIPMENT_TASK_QUEUE } from '../workflows/contracts/shipment.js';
import { DOCUMENT_TASK_QUEUE } from '../workflows/contracts/document.js';
import { INCIDENT_TASK_QUEUE } from '../workflows/contracts/incident.js';
import { INSPECTION_TASK_QUEUE } from '../workflows/contracts/inspection.js';
import { INTEGRATIONS_TASK_QUEUE } from '../workflows/contracts/integrations.js';
import { sourceUrlProblem } from '../domain/dangerous-goods/catalogue-sync.js';

/**
 * The whole configuration, read from the environment and validated once at start.
 * Nothing secret has a default: a production deployment that forgets one stops here,
 * naming the variable, instead of running with a value from the source code.
 */
// 0 asks the OS for a free port (tests run many servers side by side).
const port = z.coerce.number().int().min(0).max(65535);
const postgresUrl = z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgresql:// URL' });
const readableFile = z.string().refine((path) => {
  try {
    accessSync(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}, 'must be a readable file');
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });
const timeoutMs = (fallback: number) => z.coerce.number().int().min(100, 'must be at least 100 (milliseconds)').max(120_000).default(fallback);
const perMinute = (fallback: number) => z.coerce.number().int().min(1, 'must be at least 1 (requests per minute)').max(1_000_000).default(fallback);

const schema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('production'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATABASE_URL: postgresUrl,
  // The government DG sync's role (the only writer of the shared DG catalogue); needed by the worker's sync only.
  DATABASE_CATALOGUE_URL: postgresUrl.optional(),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  TEMPORAL_ADDRESS: z.string().regex(/^[\w.-]+:\d+$/, 'must be host:port'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE_PREFIX: z.string().regex(/^[\w-]*$/).default(''),
  OIDC_ISSUER: z.url({ error: 'must be the Keycloak realm URL, e.g. https://id.example.com/realms/safeshipper' }),
  OIDC_AUDIENCE: z.string().min(1),
  // The realm clients whose tokens the API accepts (the token's azp): a token minted for another
  // client of the same realm (a test or tooling client) is refused even if it carries our audience.
  OIDC_ALLOWED_CLIENTS: z
    .string({ error: 'is required: the client ids whose tokens the API accepts, comma-separated (e.g. safeshipper-web,safeshipper-integrations)' })
    .transform((value) => value.split(',').map((id) => id.trim()).filter((id) => id !== ''))
    .refine((ids) => ids.length > 0, 'must name at least one client id'),
  // The API's service account for Keycloak's admin REST API (company admins manage their users):
  // a confidential client of the same realm, client_credentials. Needed only by user management.
  KEYCLOAK_ADMIN_CLIENT_ID: z.string().min(1).default('safeshipper-admin-api'),
  KEYCLOAK_ADMIN_CLIENT_SECRET: z.string().min(1).optional(),
  API_PORT: port.default(3100),
  API_HOST: z.string().default('0.0.0.0'),
  // HTTP worker processes of the API (node:cluster). Unset: one per CPU, except under NODE_ENV=test (1: in-process). 1 runs no cluster.
  API_WORKERS: z.coerce.number().int().min(1, 'must be at least 1').max(64).optional(),
  MQTT_PORT: port.default(1883),
  MQTT_HOST: z.string().default('0.0.0.0'),
  // mqtts (MQTT over TLS) on MQTT_TLS_PORT when a certificate and its key are given (PEM files; the chain in the cert file).
  MQTT_TLS_CERT_FILE: readableFile.optional(),
  MQTT_TLS_KEY_FILE: readableFile.optional(),
  MQTT_TLS_PORT: port.default(8883),
  // MQTT over WebSocket (browsers, devices behind HTTP-only proxies) on this port when set.
  MQTT_WS_PORT: port.optional(),
  // Telemetry pipeline: at most INGEST_BATCH_MAX_POINTS per commit; at most INGEST_MAX_IN_FLIGHT_POINTS wait for their commit
  // (past it the transports stop reading: bounded memory while PostgreSQL is down).
  INGEST_BATCH_MAX_POINTS: z.coerce.number().int().min(1).max(100_000).default(2000),
  INGEST_MAX_IN_FLIGHT_POINTS: z.coerce.number().int().min(1).max(10_000_000).default(100_000),
  // Group commit: up to this many batches commit at once; a lone point is committed at once, under load the batches grow (each ≤ INGEST_BATCH_MAX_POINTS).
  INGEST_MAX_CONCURRENT_COMMITS: z.coerce.number().int().min(1).max(64).default(3),
  // Messages per second one device may publish (token bucket), and the burst it may send at once (a buffer after reconnecting).
  MQTT_DEVICE_MESSAGES_PER_SECOND: z.coerce.number().min(0.01).max(100_000).default(100),
  MQTT_DEVICE_MESSAGE_BURST: z.coerce.number().int().min(1).max(1_000_000).default(2000),
  // External-broker mode: ingest subscribes to a broker (mosquitto here, EMQX/HiveMQ/VerneMQ in production) with a persistent
  // session and the shared subscription $share/MQTT_SHARE_GROUP/…, acknowledging each message after its commit.
  MQTT_MODE: z.enum(['embedded', 'external'], { error: 'must be embedded or external' }).default('embedded'),
  MQTT_BROKER_URL: z.url({ protocol: /^(mqtts?|wss?)$/, error: 'must be an mqtt://, mqtts://, ws:// or wss:// URL' }).optional(),
  MQTT_BROKER_USERNAME: z.string().min(1).optional(),
  MQTT_BROKER_PASSWORD: z.string().min(1).optional(),
  MQTT_SHARE_GROUP: z.string().regex(/^[^/+#]+$/, 'must be a name without /, + or #').default('ingest'),
  // The persistent session's client id: fixed per ingest instance (a restarted instance resumes its session); default ingest-<hostname>.
  MQTT_BROKER_CLIENT_ID: z.string().min(1).max(128).optional(),
  // Messages the broker may have in flight to this ingest instance (MQTT 5 Receive Maximum): each is held until its commit, and the
  // protocol's default (65,535 messages of up to 1,000 points each) would let one instance hold tens of millions of points.
  MQTT_BROKER_RECEIVE_MAXIMUM: z.coerce.number().int().min(1).max(65_535).default(1000),
  // A mosquitto whose password file ingest keeps in sync with the devices table, and the pid to SIGHUP so it re-reads it.
  // Brokers that read PostgreSQL themselves (EMQX's PostgreSQL authn/authz) leave both unset.
  MQTT_BROKER_PASSWORD_FILE: z.string().min(1).optional(),
  MQTT_BROKER_PID_FILE: z.string().min(1).optional(),
  // Failed MQTT CONNECTs per minute before a username, or a client address (size it for devices behind one NAT), is refused unchecked.
  MQTT_AUTH_FAILURES_PER_USERNAME_PER_MINUTE: perMinute(10),
  MQTT_AUTH_FAILURES_PER_ADDRESS_PER_MINUTE: perMinute(100),
  // Rate limits: shared by every API replica through Redis when REDIS_URL is set, per process otherwise.
  // Behind exactly one trusted reverse proxy, take the client address from its X-Forwarded-For; never otherwise
  // (a spoofed header would give an attacker a fresh per-IP budget, or lock out someone else's address).
  TRUST_PROXY: z.enum(['true', 'false']).default('false').transform((value) => value === 'true'),
  REDIS_URL: z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }).optional(),
  // `off` only where nothing must slow the caller down: contract fuzzing, benchmarks. Never the default.
  API_RATE_LIMITS: z.enum(['on', 'off'], { error: 'must be on or off' }).default('on'),
  RATE_LIMIT_READ_PER_MINUTE: perMinute(600),
  RATE_LIMIT_WRITE_PER_MINUTE: perMinute(120),
  RATE_LIMIT_COMPUTE_PER_MINUTE: perMinute(300),
  RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: perMinute(30),
  // Namespaces the counters in Redis (environments sharing one Redis; tests use one per run).
  RATE_LIMIT_KEY_PREFIX: z.string().regex(/^[\w:.-]{1,100}$/, 'must be 1–100 letters, digits, _ : . -').default('safeshipper:ratelimit'),
  DATA_ENCRYPTION_KEY: z
    .string({ error: 'is required: 32 random bytes, base64 (openssl rand -base64 32)' })
    .refine((value) => Buffer.from(value, 'base64').length === 32, 'must be 32 bytes, base64-encoded (openssl rand -base64 32)'),
  // Keys retired by a rotation, still accepted for reading until `safeshipper data reencrypt` has moved every value to DATA_ENCRYPTION_KEY.
  DATA_ENCRYPTION_PREVIOUS_KEYS: z
    .string()
    .default('')
    .transform((value) => value.split(',').map((key) => key.trim()).filter((key) => key !== ''))
    .refine((keys) => keys.every((key) => Buffer.from(key, 'base64').length === 32), 'each key must be 32 bytes, base64-encoded, comma-separated'),
  // Seals the audit chain heads (security/audit-checkpoint.ts); kept away from the database, so its owner cannot re-seal a rewritten chain.
  AUDIT_CHECKPOINT_KEY: z
    .string({ error: 'is required: 32 random bytes, base64 (openssl rand -base64 32)' })
    .refine((value) => Buffer.from(value, 'base64').length >= 32, 'must be at least 32 bytes, base64-encoded (openssl rand -base64 32)'),
  // Uploaded documents: on local disk under DOCUMENT_STORE_DIR (api and worker must share it), or in an S3-compatible object store.
  DOCUMENT_STORE: z.enum(['local', 's3'], { error: 'must be local or s3' }).default('local'),
  DOCUMENT_STORE_DIR: z.string().min(1).default('/var/lib/safeshipper/documents'),
  DOCUMENT_MAX_BYTES: z.coerce.number().int().min(1).max(1024 * 1024 * 1024).default(25 * 1024 * 1024),
  // S3 or a compatible store (MinIO, Ceph: set S3_ENDPOINT and usually S3_FORCE_PATH_STYLE=true). Without keys, the SDK's own chain (instance role, AWS_* variables).
  S3_ENDPOINT: httpUrl.optional(),
  S3_REGION: z.string().regex(/^[a-z0-9-]{1,40}$/, 'must be a region name such as ap-southeast-2').default('us-east-1'),
  S3_BUCKET: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name').optional(),
  S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  S3_FORCE_PATH_STYLE: z.enum(['true', 'false']).default('false').transform((value) => value === 'true'),
  // Incident notifications (integrations/notifications): each channel is on when its URL is set; credentials go in the URL.
  NOTIFY_SMTP_URL: z.url({ protocol: /^smtps?$/, error: 'must be an smtp:// or smtps:// URL, e.g. smtps://user:password@mail.example.com:465' }).optional(),
  NOTIFY_EMAIL_FROM: z.string().trim().min(3).max(320).default('SafeShipper incidents <incidents@safeshipper.invalid>'),
  NOTIFY_SMS_URL: httpUrl.optional(),
  NOTIFY_WEBHOOK_URL: httpUrl.optional(),
  // A JSON-lines file every notification is appended to: the local stack's default, instead of mail and SMS.
  NOTIFY_FILE_SINK: z.string().min(1).optional(),
  NOTIFY_HTTP_TIMEOUT_MS: timeoutMs(10_000),
  // The authority's dangerous-goods incident notification API: serious incidents are filed there (activities/government.ts).
  GOVERNMENT_INCIDENT_API_URL: httpUrl.optional(),
  GOVERNMENT_INCIDENT_API_TOKEN: z.string().min(1).optional(),
  GOVERNMENT_INCIDENT_API_TIMEOUT_MS: timeoutMs(10_000),
  // Customers' ERPs and webhook receivers (integrations/): one deadline per request, answers capped, deliveries retried until given up.
  ERP_REQUEST_TIMEOUT_MS: timeoutMs(15_000),
  WEBHOOK_REQUEST_TIMEOUT_MS: timeoutMs(10_000).refine((ms) => ms <= 60_000, 'must be at most 60000 (milliseconds)'),
  WEBHOOK_GIVE_UP_AFTER_SECONDS: z.coerce.number().int().min(1).max(30 * 24 * 3600).default(24 * 3600),
  INTEGRATIONS_MAX_RESPONSE_BYTES: z.coerce.number().int().min(1024).max(16 * 1024 * 1024).default(1024 * 1024),
  // Where the scheduled government DG sync reads the published tables (https: or file:); unset: the tables shipped in data/.
  DG_SYNC_HMT_URL: z.string().refine((url) => !sourceUrlProblem(url), { error: (issue) => sourceUrlProblem(String(issue.input)) }).optional(),
  DG_SYNC_SPECIAL_PROVISIONS_URL: z.string().refine((url) => !sourceUrlProblem(url), { error: (issue) => sourceUrlProblem(String(issue.input)) }).optional(),
  // Search (search/): PostgreSQL full text + pg_trgm by default, which needs nothing else; or Typesense, mirrored from PostgreSQL by the worker.
  SEARCH_ENGINE: z.enum(['postgres', 'typesense'], { error: 'must be postgres or typesense' }).default('postgres'),
  TYPESENSE_URL: httpUrl.optional(),
  TYPESENSE_API_KEY: z.string().min(1).optional(),
  // The alias the API searches and the worker keeps current (the collections behind it are versioned; tests use one per run).
  TYPESENSE_COLLECTION: z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, 'must be 1–63 lower-case letters, digits, _ or -, starting with a letter').default('safeshipper_search'),
  // The live stream (GET /api/v1/live): a comment line this often keeps proxies from closing an idle stream; a client
  // whose unsent backlog passes the buffer is too slow and is cut off (it reconnects); streams per API process are capped.
  LIVE_HEARTBEAT_SECONDS: z.coerce.number().int().min(1).max(300).default(15),
  LIVE_CLIENT_BUFFER_BYTES: z.coerce.number().int().min(4096).max(64 * 1024 * 1024).default(256 * 1024),
  LIVE_MAX_STREAMS: z.coerce.number().int().min(1).max(100_000).default(2000),
  // Telemetry retention (the scheduled telemetry-rollup workflow): raw points, then the hourly rollups, kept this many days;
  // the rollups recompute this many hours back, so a late point within that window is counted.
  TELEMETRY_RETENTION_DAYS: z.coerce.number().int().min(1).max(36_500).default(90),
  TELEMETRY_ROLLUP_RETENTION_DAYS: z.coerce.number().int().min(1).max(36_500).default(730),
  TELEMETRY_ROLLUP_LOOKBACK_HOURS: z.coerce.number().int().min(1).max(24 * 31).default(6),
}).superRefine((env, ctx) => {
  if (env.SEARCH_ENGINE === 'typesense') {
    for (const key of ['TYPESENSE_URL', 'TYPESENSE_API_KEY'] as const) if (!env[key]) ctx.addIssue({ code: 'custom', path: [key], message: 'is required when SEARCH_ENGINE=typesense' });
  }
  if (env.DOCUMENT_STORE === 's3' && !env.S3_BUCKET) ctx.addIssue({ code: 'custom', path: ['S3_BUCKET'], message: 'is required when DOCUMENT_STORE=s3' });
  if (!env.S3_ACCESS_KEY_ID !== !env.S3_SECRET_ACCESS_KEY) ctx.addIssue({ code: 'custom', path: [env.S3_ACCESS_KEY_ID ? 'S3_SECRET_ACCESS_KEY' : 'S3_ACCESS_KEY_ID'], message: 'S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY come together' });
  // Contacts' phone numbers and incident reports cross these: in production, never in clear.
  if (env.NODE_ENV === 'production') {
    for (const key of ['NOTIFY_SMS_URL', 'NOTIFY_WEBHOOK_URL', 'GOVERNMENT_INCIDENT_API_URL'] as const) {
      if (env[key]?.startsWith('http:')) ctx.addIssue({ code: 'custom', path: [key], message: 'must be an https:// URL in production' });
    }
  }
  if (env.MQTT_MODE === 'external') {
    for (const key of ['MQTT_BROKER_URL', 'MQTT_BROKER_USERNAME', 'MQTT_BROKER_PASSWORD'] as const) if (!env[key]) ctx.addIssue({ code: 'custom', path: [key], message: 'is required when MQTT_MODE=external' });
  }
  if (!env.MQTT_BROKER_PASSWORD_FILE !== !env.MQTT_BROKER_PID_FILE) {
    ctx.addIssue({ code: 'custom', path: [env.MQTT_BROKER_PASSWORD_FILE ? 'MQTT_BROKER_PID_FILE' : 'MQTT_BROKER_PASSWORD_FILE'], message: 'MQTT_BROKER_PASSWORD_FILE and MQTT_BROKER_PID_FILE come together' });
  }
  if (!env.MQTT_TLS_CERT_FILE !== !env.MQTT_TLS_KEY_FILE) {
    ctx.addIssue({ code: 'custom', path: [env.MQTT_TLS_CERT_FILE ? 'MQTT_TLS_KEY_FILE' : 'MQTT_TLS_CERT_FILE'], message: 'MQTT_TLS_CERT_FILE and MQTT_TLS_KEY_FILE come together' });
  }
});

export type Config = z.infer<typeof schema>;

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  throw new ConfigError(`invalid configuration (fix these environment variables):\n${lines.join('\n')}`);
}

/** Each bounded context has its own task queue, so workers scale per context. */
export const taskQueues = (config: Pick<Config, 'TEMPORAL_TASK_QUEUE_PREFIX'>) => ({
  platform: `${config.TEMPORAL_TASK_QUEUE_PREFIX}platform`,
  shipments: `${config.TEMPORAL_TASK_QUEUE_PREFIX}${SHIPMENT_TASK_QUEUE}`,
  documents: `${config.TEMPORAL_TASK_QUEUE_PREFIX}${DOCUMENT_TASK_QUEUE}`,
  incidents: `${config.TEMPORAL_TASK_QUEUE_PREFIX}${INCIDENT_TASK_QUEUE}`,
  inspections: `${config.TEMPORAL_TASK_QUEUE_PREFIX}${INSPECTION_TASK_QUEUE}`,
  integrations: `${config.TEMPORAL_TASK_QUEUE_PREFIX}${INTEGRATIONS_TASK_QUEUE}`,
});
