import Koa from 'koa';
import type { Connection } from '@temporalio/client';
import type { Config } from '../config/env.js';
import type { Logger } from '../config/logger.js';
import type { Database } from '../db/orm.js';
import type Router from '@koa/router';
import { tokenVerifier } from './auth.js';
import { problemDetails } from './middleware/errors.js';
import { requestId } from './middleware/request-id.js';
import { healthRoutes } from './routes/health.js';
import { platformRoutes } from './routes/platform.js';
import { dangerousGoodsRoutes } from './routes/dangerous-goods.js';
import { databaseRules, type RulesSource } from './rules-source.js';
import { jsonBody } from './middleware/json-body.js';
import type { ApiState, RouteDeps } from './routing.js';

export interface ApiDependencies {
  config: Config;
  db: Database;
  temporal: Connection;
  log: Logger;
  /** Only tests move the verifier's clock (to present a real token after its expiry). */
  clock?: () => Date;
}

/** The composition root of the HTTP edge. */
export function createApp({ config, db, temporal, log, clock }: ApiDependencies): Koa<ApiState> {
  const app = new Koa<ApiState>();
  app.proxy = true;
  const verify = tokenVerifier({ issuer: config.OIDC_ISSUER, audience: config.OIDC_AUDIENCE, ...(clock ? { now: clock } : {}) });
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
  });

  app.use(requestId(log));
  app.use(problemDetails(log));
  app.use(health.routes());
  app.use(jsonBody());
  const deps: RouteDeps = { db, verify, recentCallers: new Map() };
  for (const router of apiRouters(deps, databaseRules(db))) {
    app.use(router.routes());
    app.use(router.allowedMethods({ throw: false }));
  }
  return app;
}

/** Every `/api/v1` router; each route in them is registered through the policy table. */
export function apiRouters(deps: RouteDeps, rules: RulesSource): Array<Router<ApiState>> {
  return [platformRoutes(deps), dangerousGoodsRoutes(deps, rules)];
}
