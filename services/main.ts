import { ConfigError } from '../config/env.js';
import { explainStartupError, SERVICES, startServices, stopOnceThenExit, type ServiceName } from './run.js';

/**
 * `node --import tsx services/main.ts api worker ingest`: runs the named services with the
 * configuration in the environment (production, or the dev stack via `npm run api|worker|ingest`).
 */
const names = process.argv.slice(2);
const unknown = names.filter((name) => !(SERVICES as readonly string[]).includes(name));
if (names.length === 0 || unknown.length > 0) {
  console.error(`usage: services/main.ts ${SERVICES.join('|')} [...]${unknown.length ? `\nunknown service: ${unknown.join(', ')}` : ''}`);
  process.exit(2);
}

try {
  const shutdown = stopOnceThenExit(await startServices(names as ServiceName[]));
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
} catch (error) {
  console.error(`error: ${explainStartupError(error)}`);
  process.exit(error instanceof ConfigError ? 2 : 1);
}
