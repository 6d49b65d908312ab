import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { ROUTE_POLICY } from '../../domain/policy.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { ensureIncident } from '../../db/incidents.js';
import { inTenant } from '../../db/orm.js';
import { insertDocument, recordFindings } from '../../db/documents.js';
import { insertSds } from '../../db/sds.js';
import { raiseAlarm } from '../../db/alarms.js';
import { ACME, testEnv } from '../support/stack.js';

const run = Date.now().toString(36);

describe('tenancy matrix: Boreal never sees, touches or links to Acme data', () => {
  let api: TestApi;
  const acme: Record<string, string> = {};

  const create = async (username: string, path: string, body: unknown) => {
    const response = await api.call(username, 'POST', path, { body });
    if (response.status !== 201) throw new Error(`${path}: ${response.status} ${await response.text()}`);
    return ((await response.json()) as { id: string }).id;
  };

  beforeAll(async () => {
    api = await startTestApi();
    acme.id = await create('acme-admin', '/api/v1/vehicles', { registration: `AC${run.slice(-6)}`.toUpperCase(), vehicleType: 'RIGID', capacityKg: 8000 });
    acme.driverId = await create('acme-admin', '/api/v1/drivers', { fullName: 'Ada Acme', dgLicenceNumber: `DG-${run}`, dgLicenceClass: 'HC', dgLicenceExpiresOn: '2027-06-30' });
    acme.trainingId = await create('acme-admin', `/api/v1/drivers/${acme.driverId}/training-records`, { course: 'DG awareness', completedOn: '2026-01-10', expiresOn: '2028-01-10' });
    acme.geofenceId = await create('acme-admin', '/api/v1/geofences', { name: 'Acme yard', kind: 'DEPOT', area: { type: 'Circle', center: [144.8, -37.8], radiusM: 300 } });
    acme.contactId = await create('acme-admin', '/api/v1/emergency-contacts', { name: 'Acme 24h', available24h: true, phone: '+61 3 9000 1111' });
    acme.deviceId = await create('acme-admin', '/api/v1/devices', { name: 'Acme tracker', mqttUsername: `acme-t-${run}` });
    acme.shipmentId = await create('acme-admin', '/api/v1/shipments', {
      shipmentNumber: `AC-${run}`.toUpperCase(),
      origin: { address: 'A', location: [144.9, -37.8] },
      destination: { address: 'B', location: [145.0, -37.9] },
      pickupAt: '2026-12-03T08:00:00Z',
      deliverBy: '2026-12-03T12:00:00Z',
      vehicleId: acme.id,
      driverId: acme.driverId,
      emergencyContactId: acme.contactId,
    });
    const [dg] = (await api.call('acme-admin', 'GET', '/api/v1/dangerous-goods/by-un/UN1203').then((r) => r.json()) as { items: Array<{ id: string }> }).items;
    acme.itemId = await create('acme-admin', `/api/v1/shipments/${acme.shipmentId}/consignment-items`, { dangerousGoodId: dg!.id, quantity: 500, unit: 'L' });
    // An incident written as its workflow's first activity would (no workflow: nothing here would answer it).
    acme.incidentId = (
      await inTenant(api.db, ACME, (em) =>
        ensureIncident(em, { id: crypto.randomUUID(), companyId: ACME, kind: 'LEAK', severity: 'LOW', source: 'api', shipmentId: acme.shipmentId!, vehicleId: acme.id!, description: 'tenancy probe', location: null, consequences: {}, occurredAt: new Date().toISOString(), reportedBy: null }),
      )
    ).id;
    // An inspection programme as its workflow's activity writes it (no worker here: nothing would run its workflow).
    const [programme] = await inTenant(api.db, ACME, (em) =>
      em.execute<Array<{ id: string }>>(`INSERT INTO inspection_programs (company_id, vehicle_id, inspection_type, interval, next_due_on, status, workflow_id) VALUES (?, ?, 'PRE_TRIP', 'P1D', '2030-01-01', 'CURRENT', 'tenancy-probe') RETURNING id`, [ACME, acme.id]),
    );
    acme.programId = programme!.id;
    // A manifest with a finding and an SDS, as an upload and its processing write them (no bytes are read: every answer to Boreal is a 404 first).
    acme.documentId = crypto.randomUUID();
    acme.sdsId = await inTenant(api.db, ACME, async (em) => {
      const by = { subject: 'tenancy-probe', username: null };
      await insertDocument(em, { id: acme.documentId!, companyId: ACME, kind: 'SDS', title: 'Acme SDS', originalName: 'sds.pdf', mediaType: 'application/pdf', sizeBytes: 1, sha256: '0'.repeat(64), storageKey: `${ACME}/${acme.documentId}`, attachedTo: { type: 'shipment', id: acme.shipmentId! }, uploadedBy: by, processingStatus: null });
      await recordFindings(em, { companyId: ACME, documentId: acme.documentId!, shipmentId: acme.shipmentId!, findings: [{ kind: 'MATCHED', page: 1, unNumber: 'UN1203', properShippingName: 'Petrol', hazardClass: '3', packingGroup: 'II', quantity: 500, unit: 'L', detail: 'tenancy probe' }], status: 'COMPLETED' });
      return (await insertSds(em, { companyId: ACME, documentId: acme.documentId!, product: 'Acme petrol', supplier: 'Acme', revisionDate: '2025-01-01', unNumbers: ['UN1203'], createdBy: by }))!.id;
    });
    // An alarm as ingest's detection raises it (no broker here).
    acme.alarmId = (await inTenant(api.db, ACME, (em) => raiseAlarm(em, { companyId: ACME, deviceId: acme.deviceId!, vehicleId: null, rule: 'leak', severity: 'CRITICAL', message: 'tenancy probe', citation: null, value: 1, at: new Date(), location: null, incidentId: null }))).id;
    const me = (await (await api.call('acme-viewer', 'GET', '/api/v1/me')).json()) as { subject: string };
    acme.userId = me.subject;
  });
  afterAll(async () => {
    await api?.close();
  });

  /** Which Acme id each route parameter takes: `:id` means the collection's own item. */
  const idFor = (pattern: string, param: string): string | undefined => {
    if (param === 'driverId') return acme.driverId;
    if (param === 'shipmentId') return acme.shipmentId;
    if (param === 'vehicleId') return acme.id;
    if (param !== 'id') return undefined;
    const collection = /\/api\/v1\/([a-z-]+)(?:\/:\w+\/([a-z-]+))?\/:id/.exec(pattern);
    const name = collection?.[2] ?? collection?.[1];
    return { vehicles: acme.id, drivers: acme.driverId, 'training-records': acme.trainingId, geofences: acme.geofenceId, 'emergency-contacts': acme.contactId, devices: acme.deviceId, shipments: acme.shipmentId, 'consignment-items': acme.itemId, users: acme.userId, incidents: acme.incidentId, 'inspection-programs': acme.programId, documents: acme.documentId, sds: acme.sdsId, alarms: acme.alarmId }[name ?? ''];
  };

  it('every route that takes an Acme id answers Boreal 404 (never 403, never the data)', async () => {
    const answers: string[] = [];
    let checked = 0;
    for (const route of Object.keys(ROUTE_POLICY)) {
      const [method, pattern] = route.split(' ') as [string, string];
      if (!pattern.includes(':') || pattern.startsWith('/api/v1/admin') || pattern.includes('dangerous-goods')) continue;
      const path = pattern.replace(/:(\w+)/g, (_, param: string) => idFor(pattern, param) ?? 'missing');
      const body = method === 'PATCH' ? (pattern.startsWith('/api/v1/users') ? { role: 'VIEWER' } : { name: 'hijack' }) : method === 'POST' ? {} : undefined;
      const response = await api.call('boreal-admin', method, path, { ...(body ? { body } : {}), headers: { 'If-Match': '"v1"' } });
      // The problem's `instance` echoes the path the caller sent; nothing else may carry an Acme id.
      const { instance: _echo, ...answer } = (await response.json()) as Record<string, unknown>;
      const text = JSON.stringify(answer);
      checked += 1;
      if (response.status !== 404 || Object.values(acme).some((id) => text.includes(id))) answers.push(`${route}: ${response.status} ${text.slice(0, 160)}`);
    }
    expect(answers).toEqual([]);
    expect(checked).toBeGreaterThanOrEqual(25);
    // Nothing changed on Acme's side.
    expect(await (await api.call('acme-admin', 'GET', `/api/v1/vehicles/${acme.id}`)).json()).toMatchObject({ status: 'ACTIVE' });
    expect((await api.call('acme-admin', 'GET', `/api/v1/devices/${acme.deviceId}`)).status).toBe(200);
  });

  it('list endpoints never include a foreign row', async () => {
    for (const path of ['/api/v1/vehicles', '/api/v1/drivers', '/api/v1/geofences', '/api/v1/emergency-contacts', '/api/v1/devices', '/api/v1/shipments', '/api/v1/audit-log', '/api/v1/users', '/api/v1/incidents', '/api/v1/documents', '/api/v1/sds', '/api/v1/alarms']) {
      const response = await api.call('boreal-admin', 'GET', `${path}?limit=100`);
      expect([path, response.status]).toEqual([path, 200]);
      const text = await response.text();
      for (const id of Object.values(acme)) expect([path, text.includes(id)]).toEqual([path, false]);
    }
  });

  it('foreign ids inside payloads are refused with 422 naming the field, and nothing is written', async () => {
    const shipment = await api.call('boreal-operator', 'POST', '/api/v1/shipments', {
      body: {
        shipmentNumber: `BO-${run}`.toUpperCase(),
        origin: { address: 'A', location: [145.2, -37.99] },
        destination: { address: 'B', location: [145.0, -37.9] },
        pickupAt: '2026-12-03T08:00:00Z',
        deliverBy: '2026-12-03T12:00:00Z',
        vehicleId: acme.id,
        driverId: acme.driverId,
        emergencyContactId: acme.contactId,
      },
    });
    expect(shipment.status).toBe(422);
    expect(((await shipment.json()) as { errors: Array<{ path: string }> }).errors.map((error) => error.path)).toEqual(['vehicleId', 'driverId', 'emergencyContactId']);
    const device = await api.call('boreal-manager', 'POST', '/api/v1/devices', { body: { name: 'x', mqttUsername: `boreal-x-${run}`, vehicleId: acme.id } });
    expect(device.status).toBe(422);
    const item = await api.call('boreal-operator', 'POST', `/api/v1/shipments/${acme.shipmentId}/consignment-items`, { body: { dangerousGoodId: acme.id, quantity: 1, unit: 'kg' } });
    expect(item.status).toBe(404);
    const owner = new pg.Client({ connectionString: testEnv().DATABASE_OWNER_URL });
    await owner.connect();
    const written = await owner.query(`SELECT (SELECT count(*) FROM shipments WHERE shipment_number = $1)::int AS shipments, (SELECT count(*) FROM devices WHERE mqtt_username = $2)::int AS devices`, [`BO-${run}`.toUpperCase(), `boreal-x-${run}`]);
    await owner.end();
    expect(written.rows[0]).toEqual({ shipments: 0, devices: 0 });
  });

  it('row-level security, proven: the app role without a company set sees no tenant row at all; with Acme set, only Acme rows', async () => {
    const app = new pg.Client({ connectionString: testEnv().DATABASE_URL });
    await app.connect();
    try {
      const owner = new pg.Client({ connectionString: testEnv().DATABASE_OWNER_URL });
      await owner.connect();
      // Every table the app role can read that holds a company's rows, found in the catalogue: a table added later is covered without being named here.
      const found = await owner.query<{ table: string }>(
        `SELECT c.relname AS table FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND has_table_privilege('safeshipper_app', c.oid, 'SELECT')
            AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'company_id' AND NOT a.attisdropped)
          ORDER BY 1`,
      );
      const tables = ['companies', ...found.rows.map((row) => row.table)];
      expect(tables).toEqual(expect.arrayContaining(['shipments', 'telemetry_points', 'vehicle_last_positions', 'alarms', 'telemetry_hourly']));
      for (const table of tables) {
        const column = table === 'companies' ? 'id' : 'company_id';
        const total = (await owner.query(`SELECT count(*)::int AS n, count(*) FILTER (WHERE ${column} <> $1)::int AS foreign FROM ${table}`, [ACME])).rows[0] as { n: number; foreign: number };
        // A row of no company (the shared DG catalogue in search_documents) is everyone's: what must not show is a company's row.
        const unset = (await app.query(`SELECT count(*)::int AS n FROM ${table} WHERE ${column} IS NOT NULL`)).rows[0].n as number;
        expect([table, unset]).toEqual([table, 0]);
        await app.query('BEGIN');
        await app.query(`SELECT set_config('app.current_company_id', $1, true)`, [ACME]);
        const scoped = (await app.query(`SELECT count(*)::int AS n, count(*) FILTER (WHERE ${column} <> $1)::int AS foreign FROM ${table}`, [ACME])).rows[0] as { n: number; foreign: number };
        await app.query('COMMIT');
        expect([table, scoped.foreign]).toEqual([table, 0]);
        // Other test files write concurrently, so counts move; what must hold: Acme's rows are visible.
        expect([table, scoped.n > 0]).toEqual([table, total.n - total.foreign > 0]);
      }
      await owner.end();
      // And the app role cannot switch RLS off or claim to be the owner.
      await expect(app.query('ALTER TABLE vehicles DISABLE ROW LEVEL SECURITY')).rejects.toThrow(/must be owner/);
      await expect(app.query('SET ROLE safeshipper_owner')).rejects.toThrow(/permission denied/);
    } finally {
      await app.end();
    }
  });
});
