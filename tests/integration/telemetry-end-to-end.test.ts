import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { inTenant } from '../../db/orm.js';
import { startDetection, type RunningDetection } from '../../ingest/detection/index.js';
import { startIngest, type RunningIngest } from '../../ingest/index.js';
import { startFleet, type Fleet } from '../../iot-simulator/fleet.js';
import { shipmentWorkflowId, stateQuery } from '../../workflows/contracts/shipment.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { ACME, silentLog, testConfig } from '../support/stack.js';

/** The Burnley Tunnel (CityLink), about 1.3 km × 1.3 km around its centre: the zone this test draws for itself. */
const TUNNEL = { lat: -37.8277, lon: 145.0067 };
const d = 0.006;
const TUNNEL_ZONE = [
  [TUNNEL.lon - d, TUNNEL.lat - d],
  [TUNNEL.lon + d, TUNNEL.lat - d],
  [TUNNEL.lon + d, TUNNEL.lat + d],
  [TUNNEL.lon - d, TUNNEL.lat + d],
  [TUNNEL.lon - d, TUNNEL.lat - d],
];

/**
 * The whole road: a simulated tracker (iot-simulator, MQTT QoS 1) → the embedded broker → the
 * pipeline's commit with detection in it → the relay → the shipment's workflow and an incident
 * workflow, on the stack's PostgreSQL and Temporal with a worker beside the API.
 */
describe('telemetry end to end', () => {
  let api: TestApi;
  let detection: RunningDetection;
  let ingest: RunningIngest;
  let fleet: Fleet | undefined;
  let connection: Connection;
  let client: Client;
  const run = Date.now().toString(36);

  beforeAll(async () => {
    const config = testConfig({ MQTT_PORT: '0', MQTT_HOST: '127.0.0.1' });
    [api, connection] = await Promise.all([startTestApi({}, { workflows: inject('workflowBundle'), contexts: ['shipments', 'incidents'] }), Connection.connect({ address: config.TEMPORAL_ADDRESS })]);
    client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
    detection = await startDetection(config, api.db, silentLog);
    ingest = await startIngest(config, api.db, silentLog, { detector: detection.detector });
  });
  afterAll(async () => {
    await fleet?.stop({ drainMs: 1000 });
    await ingest?.close();
    await detection?.close();
    await connection?.close();
    await api?.close();
  });

  const json = async (response: Response, status: number) => {
    const body = (await response.json()) as Record<string, unknown>;
    expect({ status: response.status, body }).toMatchObject({ status, body: {} });
    return body;
  };
  const eventually = async <T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> => {
    for (let attempt = 0; attempt < 100; attempt += 1) {
      const value = await read();
      if (done(value)) return value;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`never: ${what}`);
  };
  const sql = <T>(query: string, params: unknown[] = []) => inTenant(api.db, ACME, (em) => em.execute<T[]>(query, params));

  it('a tracker leaves the depot, drives into the Burnley Tunnel with a placard load, leaks, and reaches Dandenong: the shipment moves and incidents start', async () => {
    const vehicle = await json(await api.call('acme-manager', 'POST', '/api/v1/vehicles', { body: { registration: `E2E${run}`.slice(-16).toUpperCase(), vehicleType: 'TANKER', capacityKg: 20000, placardHolders: 4, inspectionExpiresOn: '2031-06-30' } }), 201);
    const driver = await json(await api.call('acme-manager', 'POST', '/api/v1/drivers', { body: { fullName: `Driver e2e ${run}`, dgLicenceNumber: `L-E2E-${run}`, dgLicenceClass: 'DG', dgLicenceExpiresOn: '2031-12-31' } }), 201);
    await json(await api.call('acme-manager', 'POST', `/api/v1/drivers/${driver.id}/training-records`, { body: { course: 'DG awareness', completedOn: '2026-01-10', expiresOn: '2031-01-10' } }), 201);
    const zone = await json(await api.call('acme-manager', 'POST', '/api/v1/geofences', { body: { name: `Burnley Tunnel e2e ${run}`, kind: 'RESTRICTED_DG', area: { type: 'Polygon', coordinates: [TUNNEL_ZONE] } } }), 201);
    const shipment = await json(
      await api.call('acme-operator', 'POST', '/api/v1/shipments', {
        body: { shipmentNumber: `SS-E2E-${run}`.toUpperCase(), origin: { address: 'Laverton North VIC', location: [144.7689, -37.8591] }, destination: { address: 'Dandenong VIC', location: [145.2148, -37.9875] }, pickupAt: '2030-01-01T08:00:00Z', deliverBy: '2030-01-02T12:00:00Z' },
      }),
      201,
    );
    const shipmentId = shipment.id as string;
    const [petrol] = await api.db.em.fork().execute<Array<{ id: string }>>(`SELECT id FROM dangerous_goods WHERE un_number = 'UN1203' AND withdrawn_at IS NULL ORDER BY row_index LIMIT 1`);
    await json(await api.call('acme-operator', 'POST', `/api/v1/shipments/${shipmentId}/consignment-items`, { body: { dangerousGoodId: petrol!.id, quantity: 3000, unit: 'L', packages: 1 } }), 201);
    await json(await api.call('acme-operator', 'POST', `/api/v1/shipments/${shipmentId}/book`), 200);
    await json(await api.call('acme-operator', 'POST', `/api/v1/shipments/${shipmentId}/assign`, { body: { vehicleId: vehicle.id, driverId: driver.id } }), 200);

    // The tracker is provisioned through the API, as a fleet operator's script would.
    fleet = await startFleet({
      mqttUrl: ingest.url,
      devices: { provision: { apiUrl: api.base, auth: { token: await api.token('acme-manager') }, count: 1, prefix: `e2e-${run}-`, vehicleIds: [vehicle.id as string] } },
      routes: ['west-gate-monash'],
      mode: 'manual',
      startAt: 'Laverton',
      status: false,
      commands: false,
    });
    const truck = fleet.devices[0]!;
    const handle = client.workflow.getHandle(shipmentWorkflowId(shipmentId));
    const state = () => handle.query(stateQuery);

    // Each step resolves at PUBACK: the point is committed, and what it caused with it.
    await truck.step();
    truck.moveTo('West Gate Bridge');
    await truck.step();
    await eventually(state, (s) => s.status === 'IN_TRANSIT', 'left the origin');

    truck.inject({ kind: 'restricted-zone' });
    await truck.step();
    const inZone = await eventually(state, (s) => s.incidents.some((i) => i.detail.includes(zone.id as string)), 'restricted-zone incident');
    expect(inZone.incidents.filter((i) => i.detail.includes(zone.id as string))).toMatchObject([{ kind: 'ROUTE_VIOLATION' }]);

    truck.inject({ kind: 'leak' });
    await truck.step();
    const [device] = await sql<{ id: string }>('SELECT id FROM devices WHERE mqtt_username = ?', [truck.username]);
    const [alarm] = await eventually(() => sql<{ id: string; rule: string; incident_id: string }>('SELECT id, rule, incident_id FROM alarms WHERE device_id = ?', [device!.id]), (rows) => rows.length === 1, 'leak alarm');
    const incident = await eventually(() => sql<{ kind: string; source: string; shipment_id: string }>('SELECT kind, source, shipment_id FROM incidents WHERE id = ?', [alarm!.incident_id]), (rows) => rows.length === 1, 'leak incident row');
    expect(incident).toEqual([{ kind: 'LEAK', source: 'alarm', shipment_id: shipmentId }]);

    truck.inject({ kind: 'clear' });
    truck.moveTo('Dandenong');
    await truck.step();
    const arrived = await eventually(state, (s) => s.status === 'ARRIVED', 'arrived');
    expect(arrived.timeline.filter((e) => e.by === 'system:ingest' && ['depart', 'arrive'].includes(e.event)).map((e) => e.event)).toEqual(['depart', 'arrive']);

    // Every acknowledged point is stored once.
    expect(fleet.stats()).toMatchObject({ generated: 5, acked: 5 });
    expect(await sql<{ n: number }>('SELECT count(*)::int AS n FROM telemetry_points WHERE device_id = ?', [device!.id])).toEqual([{ n: 5 }]);
  });
});
