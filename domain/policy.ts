import type { Requirement } from './rbac.js';

/**
 * The one policy table: every API route, as `METHOD /path` (the router's pattern), and what
 * it requires. A route missing here cannot be registered, so the API refuses to start.
 */
export const ROUTE_POLICY = {
  'GET /api/v1/me': 'authenticated',
  'GET /api/v1/geofences/nearby': 'view_shipments',
  'GET /api/v1/dangerous-goods': 'view_dangerous_goods',
  'GET /api/v1/dangerous-goods/by-un/:un': 'view_dangerous_goods',
  'GET /api/v1/dangerous-goods/:id': 'view_dangerous_goods',
  'POST /api/v1/dangerous-goods/check-compatibility': 'view_dangerous_goods',
  'POST /api/v1/dangerous-goods/placards': 'view_dangerous_goods',
} as const satisfies Record<string, Requirement>;

export type PolicyRoute = keyof typeof ROUTE_POLICY;
