import { resolve } from 'node:path';
import { z } from 'zod';

/**
 * Where the local stack lives and which ports it uses. Ports may be moved with
 * SAFESHIPPER_*_PORT when something else on the machine holds the defaults.
 */
const port = (name: string, fallback: number) =>
  z.coerce
    .number({ error: `${name} must be a TCP port number` })
    .int(`${name} must be a whole number`)
    .min(1024, `${name} must be between 1024 and 65535 (unprivileged)`)
    .max(65535, `${name} must be between 1024 and 65535`)
    .default(fallback);

const schema = z.object({
  SAFESHIPPER_STACK_DIR: z.string().min(1).default('.stack'),
  SAFESHIPPER_PG_PORT: port('SAFESHIPPER_PG_PORT', 55432),
  SAFESHIPPER_TEMPORAL_PORT: port('SAFESHIPPER_TEMPORAL_PORT', 7233),
  SAFESHIPPER_TEMPORAL_UI_PORT: port('SAFESHIPPER_TEMPORAL_UI_PORT', 8233),
  SAFESHIPPER_KEYCLOAK_PORT: port('SAFESHIPPER_KEYCLOAK_PORT', 8180),
  SAFESHIPPER_KEYCLOAK_MANAGEMENT_PORT: port('SAFESHIPPER_KEYCLOAK_MANAGEMENT_PORT', 9100),
  SAFESHIPPER_API_PORT: port('SAFESHIPPER_API_PORT', 3100),
  SAFESHIPPER_MQTT_PORT: port('SAFESHIPPER_MQTT_PORT', 1883),
  SAFESHIPPER_REDIS_PORT: port('SAFESHIPPER_REDIS_PORT', 56379),
  SAFESHIPPER_MOSQUITTO_PORT: port('SAFESHIPPER_MOSQUITTO_PORT', 51883),
  SAFESHIPPER_MOSQUITTO_SERVICE_PORT: port('SAFESHIPPER_MOSQUITTO_SERVICE_PORT', 51884),
  JAVA_HOME: z.string().optional(),
});

export type StackSettings = ReturnType<typeof loadStackSettings>;

export function loadStackSettings(env: NodeJS.ProcessEnv = process.env) {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`invalid stack settings:\n${lines.join('\n')}`);
  }
  const s = parsed.data;
  const ports = [
    s.SAFESHIPPER_PG_PORT,
    s.SAFESHIPPER_TEMPORAL_PORT,
    s.SAFESHIPPER_TEMPORAL_UI_PORT,
    s.SAFESHIPPER_KEYCLOAK_PORT,
    s.SAFESHIPPER_KEYCLOAK_MANAGEMENT_PORT,
    s.SAFESHIPPER_API_PORT,
    s.SAFESHIPPER_MQTT_PORT,
    s.SAFESHIPPER_REDIS_PORT,
    s.SAFESHIPPER_MOSQUITTO_PORT,
    s.SAFESHIPPER_MOSQUITTO_SERVICE_PORT,
  ];
  if (new Set(ports).size !== ports.length) throw new Error(`invalid stack settings: two SAFESHIPPER_*_PORT values are equal (${ports.join(', ')})`);
  const root = resolve(s.SAFESHIPPER_STACK_DIR);
  return {
    root,
    logs: resolve(root, 'logs'),
    pids: resolve(root, 'pids'),
    pgPort: s.SAFESHIPPER_PG_PORT,
    temporalPort: s.SAFESHIPPER_TEMPORAL_PORT,
    temporalUiPort: s.SAFESHIPPER_TEMPORAL_UI_PORT,
    keycloakPort: s.SAFESHIPPER_KEYCLOAK_PORT,
    keycloakManagementPort: s.SAFESHIPPER_KEYCLOAK_MANAGEMENT_PORT,
    apiPort: s.SAFESHIPPER_API_PORT,
    mqttPort: s.SAFESHIPPER_MQTT_PORT,
    redisPort: s.SAFESHIPPER_REDIS_PORT,
    mosquittoPort: s.SAFESHIPPER_MOSQUITTO_PORT,
    mosquittoServicePort: s.SAFESHIPPER_MOSQUITTO_SERVICE_PORT,
    javaHome: s.JAVA_HOME,
  };
}
