import { accessSync, constants } from 'node:fs';
import { z } from 'zod';
import { SHIPMENT_TASK_QUEUE } from '../workflows/contracts/shipment.js';

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
}).superRefine((env, ctx) => {
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
});
