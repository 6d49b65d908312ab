import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import pg from 'pg';
import { Client, Connection } from '@temporalio/client';
import { inTenant } from '../../db/orm.js';
import { LIVE_CHANNEL, parseLiveEnvelope, type LiveEvent } from '../../domain/live-events.js';
import { startDetection, type RunningDetection, type StoredPoint } from '../../ingest/detection/index.js';
import { incidentStateQuery, incidentWorkflowId } from '../../workflows/contracts/incident.js';
import { shipmentWorkflowId, stateQuery, type ShipmentState } from '../../workflows/contracts/shipment.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { ACME, silentLog, testConfig, testEnv } from '../support/stack.js';

/** Alice Springs and a made-up road north of it: no other test file's geofences are out here. */
const ORIGIN = { lat: -23.7, lon: 133.87 };
const DESTINATION = { lat: -23.5, lon: 133.87 };
/** A restricted zone across the road halfway (about 2 km × 2 km). */
const ZONE = [
  [133.86, -23.61],
  [133.88, -23.61],
  [133.88, -23.59],
  [133.86, -23.59],
  [133.86, -23.61],
];

/**
 * Detection as the pipeline calls it (inside the points' transaction) with the real database, the
 * stack's Temporal server and a worker, the API for geofences and alarms: road events become
 * shipment signals and alarms incident workflows, each exactly once.
 */
describe('telemetry detection', () => {
  let api: TestApi;
  let detection: RunningDetection;
  let connection: Connection;
  let client: Client;
  let live: pg.Client;
  const liveEvents: LiveEvent[] = [];
  const run = Date.now().toString(36).toUpperCase();
  let clock = Date.parse('2030-01-01T08:00:00Z');

  beforeAll(async () => {
    const config = testConfig();
    live = new pg.Client({ connectionString: testEnv().DATABASE_URL });
    [api, connection] = await Promise.all([startTestApi({}, { workflows: inject('workflowBundle'), contexts: ['shipments', 'incidents'] }), Connection.connect({ address: config.TEMPORAL_ADDRESS }), live.connect()]);
    client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
    detection = await startDetection(config, api.db, silentLog);
    live.on('notification', (message) => {
      const envelope = message.payload ? parseLiveEnvelope(message.payload) : null;
      if (envelope?.companyId === ACME) liveEvents.push(...envelope.events);
    });
    await live.query(`LISTEN ${LIVE_CHANNEL}`);
  });
  afterAll(async () => {
    await detection?.close();
    await live?.end();
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

  async function vehicleWithDevice(suffix: string) {
    const vehicle = await json(await api.call('acme-manager', 'POST', '/api/v1/vehicles', { body: { registration: `D${run}${suffix}`.slice(-16), vehicleType: 'TANKER', capacityKg: 20000, placardHolders: 4, inspectionExpiresOn: '2031-06-30' } }), 201);
    const device = await json(await api.call('acme-manager', 'POST', '/api/v1/devices', { body: { name: `tracker ${suffix}`, mqttUsername: `det-${run}-${suffix}`.toLowerCase(), vehicleId: vehicle.id } }), 201);
    return { vehicleId: vehicle.id as string, deviceId: device.id as string };
  }
  let sequence = 0;
  const point = (unit: { vehicleId: string; deviceId: string }, at: { lat: number; lon: number } | null, sensors: StoredPoint['sensors'] = {}, speedKmh = 80): StoredPoint => {
    clock += 10_000;
    sequence += 1;
    return { companyId: ACME, deviceId: unit.deviceId, vehicleId: unit.vehicleId, recordedAt: new Date(clock), sequence, lat: at?.lat ?? null, lon: at?.lon ?? null, speedKmh, headingDeg: 0, accuracyM: 5, sensors };
  };
  /** What the pipeline does: the batch's stored points handed to the detector in the commit transaction. */
  const detect = (points: StoredPoint[]) => inTenant(api.db, ACME, (tx) => detection.detector.detect(tx, ACME, points));
  /** As if the relay had crashed after sending and before marking; the wake-up is what a restarted relay's first sweep does. */
  const unsend = (vehicleId: string) =>
    inTenant(api.db, ACME, async (em) => {
      await em.execute(`UPDATE telemetry_events SET sent_at = NULL, outcome = NULL WHERE vehicle_id = ? AND workflow_id IS NOT NULL`, [vehicleId]);
      await em.execute(`SELECT pg_notify('telemetry_events_pending', ?)`, [ACME]);
    });
  const events = (vehicleId: string) => sql<{ id: string; kind: string; workflow_id: string | null; outcome: string | null }>('SELECT id::text, kind, workflow_id, outcome FROM telemetry_events WHERE vehicle_id = ? ORDER BY telemetry_events.id', [vehicleId]);

  it('a placard load leaves its origin, enters a restricted zone made through the API meanwhile, and arrives: each signal applied once, even when sent twice', async () => {
    const unit = await vehicleWithDevice('ROAD');
    const driver = await json(await api.call('acme-manager', 'POST', '/api/v1/drivers', { body: { fullName: `Driver ${run}`, dgLicenceNumber: `L-${run}-DET`, dgLicenceClass: 'DG', dgLicenceExpiresOn: '2031-12-31' } }), 201);
    await json(await api.call('acme-manager', 'POST', `/api/v1/drivers/${driver.id}/training-records`, { body: { course: 'DG awareness', completedOn: '2026-01-10', expiresOn: '2031-01-10' } }), 201);
    const shipment = await json(
      await api.call('acme-operator', 'POST', '/api/v1/shipments', {
        body: { shipmentNumber: `SS-${run}-DET`, origin: { address: 'Alice Springs NT', location: [ORIGIN.lon, ORIGIN.lat] }, destination: { address: 'North of Alice NT', location: [DESTINATION.lon, DESTINATION.lat] }, pickupAt: '2030-01-01T08:00:00Z', deliverBy: '2030-01-02T12:00:00Z' },
      }),
      201,
    );
    const shipmentId = shipment.id as string;
    const [petrol] = await api.db.em.fork().execute<Array<{ id: string }>>(`SELECT id FROM dangerous_goods WHERE un_number = 'UN1203' AND withdrawn_at IS NULL ORDER BY row_index LIMIT 1`);
    // 3,000 L of petrol: over the 1,000 L aggregate, a placard load under ADG 7.x.
    await json(await api.call('acme-operator', 'POST', `/api/v1/shipments/${shipmentId}/consignment-items`, { body: { dangerousGoodId: petrol!.id, quantity: 3000, unit: 'L', packages: 1 } }), 201);
    expect(await json(await api.call('acme-operator', 'POST', `/api/v1/shipments/${shipmentId}/book`, {}), 200)).toMatchObject({ status: 'DG_VALIDATED', compliance: { placardLoad: true } });
    await json(await api.call('acme-operator', 'POST', `/api/v1/shipments/${shipmentId}/assign`, { body: { vehicleId: unit.vehicleId, driverId: driver.id } }), 200);
    const handle = client.workflow.getHandle(shipmentWorkflowId(shipmentId));
    const stateOf = () => handle.query(stateQuery);

    // At the depot, then 1 km up the road: the origin was left.
    await detect([point(unit, ORIGIN, {}, 0), point(unit, { lat: ORIGIN.lat + 0.009, lon: ORIGIN.lon })]);
    await eventually(stateOf, (s) => s.status === 'IN_TRANSIT', 'shipment IN_TRANSIT');

    // The restricted zone is made through the API after the index was loaded: the change notification rebuilds it.
    const zone = await json(await api.call('acme-manager', 'POST', '/api/v1/geofences', { body: { name: `Zone ${run}`, kind: 'RESTRICTED_DG', area: { type: 'Polygon', coordinates: [ZONE] } } }), 201);
    const zoneId = zone.id as string;
    await eventually(
      async () => {
        await detect([point(unit, { lat: -23.6, lon: 133.87 })]);
        return events(unit.vehicleId);
      },
      (rows) => rows.some((e) => e.kind === 'geofence.entered'),
      'zone entered',
    );
    await detect([point(unit, { lat: -23.58, lon: 133.87 }), point(unit, { lat: DESTINATION.lat + 0.002, lon: DESTINATION.lon }, {}, 10)]);
    const arrived = await eventually(stateOf, (s) => s.status === 'ARRIVED' && s.incidents.length === 1, 'arrived, one incident');

    const rows = await eventually(() => events(unit.vehicleId), (r) => r.every((e) => e.workflow_id === null || e.outcome !== null), 'all sent');
    // Positions go at most once a minute of device time (how many depends on the polls above); the rest exactly so.
    expect(rows.filter((e) => e.kind !== 'shipment.position').map((e) => [e.kind, e.workflow_id, e.outcome])).toEqual([
      ['shipment.left-origin', handle.workflowId, 'signalled'],
      ['geofence.entered', null, null],
      ['shipment.restricted-zone', handle.workflowId, 'signalled'],
      ['geofence.exited', null, null],
      ['shipment.arrived', handle.workflowId, 'signalled'],
    ]);
    const positions = rows.filter((e) => e.kind === 'shipment.position');
    expect(positions.length).toBeGreaterThan(0);
    expect(positions.every((e) => e.workflow_id === handle.workflowId && e.outcome === 'signalled')).toBe(true);
    expect(arrived.lastPositionAt).not.toBeNull();
    expect(arrived.timeline.filter((e) => e.by === 'system:ingest').map((e) => e.event)).toEqual(['depart', 'incident.restricted-zone', 'arrive']);
    expect(arrived.incidents[0]).toMatchObject({ kind: 'ROUTE_VIOLATION' });
    expect(arrived.incidents[0]!.detail).toContain(`Zone ${run} (${zoneId})`);

    // A relay that crashed after sending and before marking sends them all again: the workflow applies none twice.
    await unsend(unit.vehicleId);
    await eventually(() => events(unit.vehicleId), (r) => r.every((e) => e.workflow_id === null || e.outcome !== null), 'all sent again');
    const { events: history } = await handle.fetchHistory();
    const signals = history!.filter((e) => e.workflowExecutionSignaledEventAttributes).map((e) => e.workflowExecutionSignaledEventAttributes!.signalName);
    expect(signals.filter((name) => name === 'leftOrigin')).toHaveLength(2);
    const after: ShipmentState = await stateOf();
    expect(after.timeline.filter((e) => e.by === 'system:ingest').map((e) => e.event)).toEqual(['depart', 'incident.restricted-zone', 'arrive']);
    expect(after.incidents).toHaveLength(1);

    // A late point from inside the zone (device time before the last applied) re-enters nothing.
    const late = point(unit, { lat: -23.6, lon: 133.87 });
    late.recordedAt = new Date(Date.parse('2030-01-01T08:00:30Z'));
    await detect([late]);
    expect(await events(unit.vehicleId)).toHaveLength(rows.length);
  });

  it('a leak raises one alarm and one incident however often it is seen; acknowledged and cleared through the API, audited; the next leak is a new alarm', async () => {
    const unit = await vehicleWithDevice('LEAK');
    await detect([point(unit, ORIGIN, { leak: true, temperatureC: 20 }), point(unit, ORIGIN, { leak: true })]);
    await detect([point(unit, ORIGIN, { leak: true })]);
    const alarms = (await json(await api.call('acme-viewer', 'GET', `/api/v1/alarms?deviceId=${unit.deviceId}`), 200)).items as Array<Record<string, unknown>>;
    expect(alarms).toHaveLength(1);
    const alarm = alarms[0]!;
    expect(alarm).toMatchObject({ deviceId: unit.deviceId, vehicleId: unit.vehicleId, rule: 'leak', severity: 'CRITICAL', state: 'ACTIVE_UNACK', occurrences: 2, location: ORIGIN, acknowledged: null, cleared: null });
    const alarmId = alarm.id as string;
    const incidentId = alarm.incidentId as string;

    // Its incident: started by the relay on the incidents queue, its row written by the workflow's first activity.
    const incident = await eventually(() => sql<{ kind: string; severity: string; source: string; vehicle_id: string }>('SELECT kind, severity, source, vehicle_id FROM incidents WHERE id = ?', [incidentId]), (r) => r.length === 1, 'incident row');
    expect(incident[0]).toEqual({ kind: 'LEAK', severity: 'CRITICAL', source: 'alarm', vehicle_id: unit.vehicleId });
    expect(await client.workflow.getHandle(incidentWorkflowId(incidentId)).query(incidentStateQuery)).toMatchObject({ severity: 'CRITICAL' });
    expect((await events(unit.vehicleId)).map((e) => [e.kind, e.workflow_id])).toEqual([['alarm.raised', incidentWorkflowId(incidentId)]]);
    // Sent again after a crash: the incident's workflow id is taken once.
    await unsend(unit.vehicleId);
    expect((await eventually(() => events(unit.vehicleId), (r) => r[0]!.outcome !== null, 'sent again'))[0]!.outcome).toBe('already-started');

    // The live stream heard the alarm once, at commit (other files' devices talk on Acme's stream too).
    const mine = () => liveEvents.filter((e) => e.deviceId === unit.deviceId);
    await eventually(async () => mine(), (e) => e.length > 0, 'live alarm');
    expect(mine()).toEqual([{ type: 'alarm', alarmId, state: 'ACTIVE_UNACK', severity: 'CRITICAL', rule: 'leak', vehicleId: unit.vehicleId, deviceId: unit.deviceId, at: new Date(alarm.raisedAt as string).toISOString(), message: 'leak sensor reports a leak' }]);

    // A viewer may not acknowledge; a manager does, once; then clears.
    expect((await api.call('acme-viewer', 'POST', `/api/v1/alarms/${alarmId}/acknowledge`, { body: {} })).status).toBe(403);
    expect(await json(await api.call('acme-manager', 'POST', `/api/v1/alarms/${alarmId}/acknowledge`, { body: {} }), 200)).toMatchObject({ state: 'ACTIVE_ACK', acknowledged: { by: { username: 'acme-manager' } } });
    expect(await json(await api.call('acme-manager', 'POST', `/api/v1/alarms/${alarmId}/acknowledge`), 409)).toMatchObject({ detail: 'cannot acknowledge an alarm that is ACTIVE_ACK; acknowledge is allowed only from ACTIVE_UNACK' });
    expect(await json(await api.call('acme-manager', 'POST', `/api/v1/alarms/${alarmId}/clear`), 200)).toMatchObject({ state: 'CLEARED', cleared: { by: { username: 'acme-manager' } } });
    expect(await sql<{ action: string; before: unknown; after: unknown }>(`SELECT action, before, after FROM audit_log WHERE entity_type = 'alarm' AND entity_id = ? ORDER BY id`, [alarmId])).toEqual([
      { action: 'alarm.acknowledge', before: { state: 'ACTIVE_UNACK' }, after: { state: 'ACTIVE_ACK' } },
      { action: 'alarm.clear', before: { state: 'ACTIVE_ACK' }, after: { state: 'CLEARED' } },
    ]);
    await eventually(async () => mine(), (e) => e.length === 3, 'live transitions');
    expect(mine().map((e) => e.type === 'alarm' && e.state)).toEqual(['ACTIVE_UNACK', 'ACTIVE_ACK', 'CLEARED']);

    // Another company's user finds nothing there.
    expect((await api.call('boreal-admin', 'GET', `/api/v1/alarms/${alarmId}`)).status).toBe(404);

    await detect([point(unit, ORIGIN, { leak: true })]);
    const after = (await json(await api.call('acme-viewer', 'GET', `/api/v1/alarms?deviceId=${unit.deviceId}&active=true`), 200)).items as Array<Record<string, unknown>>;
    expect(after).toHaveLength(1);
    expect(after[0]!.id).not.toBe(alarmId);
    expect(after[0]!.incidentId).not.toBe(incidentId);
  });

  it("a device's limits set through the API (audited) decide its temperature and tilt alarms", async () => {
    const unit = await vehicleWithDevice('LIMITS');
    const path = `/api/v1/devices/${unit.deviceId}/sensor-rules`;
    expect(await json(await api.call('acme-viewer', 'GET', path), 200)).toEqual({ deviceId: unit.deviceId, temperatureMinC: null, temperatureMaxC: null, tiltMaxDeg: null, defaultTiltMaxDeg: 45, updatedAt: null });
    expect((await api.call('acme-viewer', 'PUT', path, { body: { temperatureMinC: 2, temperatureMaxC: 8, tiltMaxDeg: 20 } })).status).toBe(403);
    expect(await json(await api.call('acme-manager', 'PUT', path, { body: { temperatureMinC: 8, temperatureMaxC: 2, tiltMaxDeg: 20 } }), 422)).toMatchObject({ errors: [{ path: 'temperatureMaxC', message: 'must be above temperatureMinC' }] });
    expect(await json(await api.call('acme-manager', 'PUT', path, { body: { temperatureMinC: 2, temperatureMaxC: 8, tiltMaxDeg: 20 } }), 200)).toMatchObject({ temperatureMinC: 2, temperatureMaxC: 8, tiltMaxDeg: 20 });
    expect(await sql<{ action: string }>(`SELECT action FROM audit_log WHERE entity_type = 'device' AND entity_id = ? AND action = 'device.sensor_rules'`, [unit.deviceId])).toHaveLength(1);

    await detect([point(unit, ORIGIN, { temperatureC: 7.5, tiltDeg: 15 }), point(unit, ORIGIN, { temperatureC: 9.5, tiltDeg: 25 })]);
    const items = (await json(await api.call('acme-viewer', 'GET', `/api/v1/alarms?deviceId=${unit.deviceId}`), 200)).items as Array<Record<string, unknown>>;
    expect(items.map((a) => [a.rule, a.severity, a.value, a.incidentId === null])).toEqual(
      expect.arrayContaining([
        ['temperature.band', 'HIGH', 9.5, true],
        ['tilt', 'CRITICAL', 25, false],
      ]),
    );
    expect(items).toHaveLength(2);
  });
});
