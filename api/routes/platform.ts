import Router from '@koa/router';
import { z } from 'zod';
import { CompanySchema, UserSchema } from '../../db/entities.js';
import { geofencesNear } from '../../db/geofences.js';
import { securedRoute, type ApiState, type RouteDeps } from '../routing.js';
import { parse } from '../validation.js';

export const nearbyQuery = z.strictObject({
  lon: z.coerce.number().min(-180).max(180),
  lat: z.coerce.number().min(-90).max(90),
  radiusM: z.coerce.number().positive().max(100_000).default(1000),
});

/** Who am I, and the first spatial read: geofences near a point. */
export function platformRoutes(deps: RouteDeps): Router<ApiState> {
  const router = new Router<ApiState>({ prefix: '/api/v1' });

  securedRoute(router, deps, 'GET /api/v1/me', async (ctx, { caller, em }) => {
    const company = await em.findOne(CompanySchema, { id: caller.companyId });
    const user = await em.findOne(UserSchema, { keycloakSubject: caller.subject });
    ctx.body = {
      userId: user?.id ?? null,
      subject: caller.subject,
      username: caller.username,
      role: caller.role,
      platformStaff: caller.platformStaff,
      company: company ? { id: company.id, name: company.name } : { id: caller.companyId, name: null },
    };
  });

  securedRoute(router, deps, 'GET /api/v1/geofences/nearby', async (ctx, { caller, em }) => {
    const query = parse(nearbyQuery, ctx.query, 400);
    const items = await geofencesNear(em, caller.companyId, { lon: query.lon, lat: query.lat }, query.radiusM);
    ctx.body = { items };
  });

  return router;
}
