import type { Requirement } from './rbac.js';

/** Read with any role, write with `write`: the usual shape of a master-data collection. */
const collection = <P extends string, W extends Requirement>(path: P, write: W, read: Requirement = 'view_shipments') =>
  ({
    [`GET ${path}`]: read,
    [`POST ${path}`]: write,
    [`GET ${path}/:id`]: read,
    [`PATCH ${path}/:id`]: write,
    [`DELETE ${path}/:id`]: write,
  }) as Record<`${'GET' | 'POST'} ${P}` | `${'GET' | 'PATCH' | 'DELETE'} ${P}/:id`, Requirement>;

/**
 * The one policy table: every API route, as `METHOD /path` (the router's pattern), and what it
 * requires — a permission from the seed's role hierarchy, `authenticated` (any role), or
 * `platform_staff` (SafeShipper's own operators, cross-company and audited). A route missing
 * here cannot be registered, so the API refuses to start.
 */
export const ROUTE_POLICY = {
  'GET /api/v1/me': 'authenticated',
  'GET /api/v1/company': 'authenticated',
  'PATCH /api/v1/company': 'manage_company',
  'GET /api/v1/geofences/nearby': 'view_shipments',
  // Search: the catalogue is global, everything else the caller's company's (the engine scopes it, RLS too).
  'GET /api/v1/search': 'view_shipments',
  'GET /api/v1/search/suggestions': 'view_shipments',
  'GET /api/v1/dangerous-goods': 'view_dangerous_goods',
  'GET /api/v1/dangerous-goods/by-un/:un': 'view_dangerous_goods',
  'GET /api/v1/dangerous-goods/:id': 'view_dangerous_goods',
  'POST /api/v1/dangerous-goods/check-compatibility': 'view_dangerous_goods',
  'POST /api/v1/dangerous-goods/placards': 'view_dangerous_goods',
  ...collection('/api/v1/vehicles', 'manage_fleet'),
  ...collection('/api/v1/drivers', 'manage_fleet'),
  ...collection('/api/v1/drivers/:driverId/training-records', 'manage_fleet'),
  // Vehicle inspections: the fleet's managers run the programmes; from DRIVER up a result is recorded, each type asking its own
  // permission in the route (a driver records the daily pre-trip, the rest need manage_fleet: domain/inspection-lifecycle.ts).
  'GET /api/v1/vehicles/:vehicleId/inspection-programs': 'view_shipments',
  'POST /api/v1/vehicles/:vehicleId/inspection-programs': 'manage_fleet',
  'GET /api/v1/vehicles/:vehicleId/inspection-programs/:id': 'view_shipments',
  'POST /api/v1/vehicles/:vehicleId/inspection-programs/:id/retire': 'manage_fleet',
  'GET /api/v1/vehicles/:vehicleId/inspections': 'view_shipments',
  'POST /api/v1/vehicles/:vehicleId/inspections': 'report_incidents',
  ...collection('/api/v1/geofences', 'manage_fleet'),
  ...collection('/api/v1/emergency-contacts', 'emergency_coordination'),
  'GET /api/v1/devices': 'view_shipments',
  'POST /api/v1/devices': 'manage_fleet',
  'GET /api/v1/devices/:id': 'view_shipments',
  'PATCH /api/v1/devices/:id': 'manage_fleet',
  'DELETE /api/v1/devices/:id': 'manage_fleet',
  'POST /api/v1/devices/:id/rotate-secret': 'manage_fleet',
  'POST /api/v1/devices/:id/revoke': 'manage_fleet',
  // A device's sensor limits (temperature band, tilt) that ingest's alarms apply.
  'GET /api/v1/devices/:id/sensor-rules': 'view_shipments',
  'PUT /api/v1/devices/:id/sensor-rules': 'manage_fleet',
  'GET /api/v1/shipments': 'view_shipments',
  'POST /api/v1/shipments': 'create_shipments',
  'GET /api/v1/shipments/:id': 'view_shipments',
  'PATCH /api/v1/shipments/:id': 'create_shipments',
  ...collection('/api/v1/shipments/:shipmentId/consignment-items', 'manage_manifests'),
  // The shipment lifecycle: the office books, assigns, closes and cancels; the driver departs, arrives and gets proof of delivery.
  'POST /api/v1/shipments/:id/book': 'create_shipments',
  'POST /api/v1/shipments/:id/assign': 'assign_drivers',
  'POST /api/v1/shipments/:id/depart': 'update_location',
  'POST /api/v1/shipments/:id/arrive': 'update_location',
  'POST /api/v1/shipments/:id/deliver': 'upload_pod',
  'POST /api/v1/shipments/:id/close': 'create_shipments',
  'POST /api/v1/shipments/:id/cancel': 'create_shipments',
  'GET /api/v1/shipments/:id/timeline': 'view_shipments',
  'GET /api/v1/shipments/:id/compliance': 'view_shipments',
  // Telemetry's read side: where the company's vehicles are and have been, and the live stream of its positions and alarms.
  'GET /api/v1/vehicles/:id/position': 'view_shipments',
  'GET /api/v1/vehicles/:id/track': 'view_shipments',
  'GET /api/v1/shipments/:id/track': 'view_shipments',
  'GET /api/v1/live': 'view_shipments',
  // Documents: a driver hands in proof of delivery and inspection photos (upload_pod); manifests, DG
  // declarations and SDS need upload_documents, which the upload checks per kind (domain/documents.ts).
  'GET /api/v1/documents': 'view_documents',
  'POST /api/v1/documents': 'upload_pod',
  'GET /api/v1/documents/:id': 'view_documents',
  'DELETE /api/v1/documents/:id': 'upload_documents',
  'GET /api/v1/documents/:id/content': 'view_documents',
  'GET /api/v1/sds': 'view_sds',
  'POST /api/v1/sds': 'upload_documents',
  'GET /api/v1/sds/:id': 'view_sds',
  // Incident response: anyone from DRIVER up reports; emergency coordination (MANAGER) owns the response.
  'GET /api/v1/incidents': 'view_shipments',
  'POST /api/v1/incidents': 'report_incidents',
  'GET /api/v1/incidents/:id': 'view_shipments',
  'POST /api/v1/incidents/:id/acknowledge': 'emergency_coordination',
  'POST /api/v1/incidents/:id/start-response': 'emergency_coordination',
  'POST /api/v1/incidents/:id/resolve': 'emergency_coordination',
  'POST /api/v1/incidents/:id/close': 'emergency_coordination',
  // Alarms from ingest's sensor rules: anyone reads them; emergency coordination (MANAGER) acknowledges and clears.
  'GET /api/v1/alarms': 'view_shipments',
  'GET /api/v1/alarms/:id': 'view_shipments',
  'POST /api/v1/alarms/:id/acknowledge': 'emergency_coordination',
  'POST /api/v1/alarms/:id/clear': 'emergency_coordination',
  'GET /api/v1/users': 'manage_users',
  'POST /api/v1/users': 'manage_company',
  'GET /api/v1/users/:id': 'manage_users',
  'PATCH /api/v1/users/:id': 'manage_company',
  'POST /api/v1/users/:id/disable': 'manage_company',
  'GET /api/v1/audit-log': 'view_audit_log',
  'GET /api/v1/audit-log/verify': 'view_audit_log',
  // Integrations with the company's own systems (ERP connection, webhooks): its ADMIN's to manage, and to read (they hold its endpoints).
  'GET /api/v1/integrations/erp': 'manage_company',
  'PUT /api/v1/integrations/erp': 'manage_company',
  'DELETE /api/v1/integrations/erp': 'manage_company',
  'GET /api/v1/integrations/erp/calls': 'manage_company',
  ...collection('/api/v1/webhooks', 'manage_company', 'manage_company'),
  'GET /api/v1/webhooks/:id/deliveries': 'manage_company',
  'GET /api/v1/admin/companies': 'platform_staff',
  'POST /api/v1/admin/companies': 'platform_staff',
  'GET /api/v1/admin/companies/:companyId/shipments': 'platform_staff',
} as const satisfies Record<string, Requirement>;

export type PolicyRoute = keyof typeof ROUTE_POLICY;
