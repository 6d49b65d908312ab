import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { shipmentWorkflowId } from '../../workflows/contracts/shipment.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { inTenant } from '../../db/orm.js';
import { ACME, testConfig } from '../support/stack.js';

/** A shipment's whole life through the API, on the stack's Temporal dev server, with a worker beside the API. */
describe('shipment lifecycle through the API', () => {
  let api: TestApi;
  let connection: Connection;
  let client: Client;
  const run = Date.now().toString(36).toUpperCase();
  beforeAll(async () => {
    api = await startTestApi({}, { workflows: inject('workflowBundle') });
    const config = testConfig();
    connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
    client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
  });
  afterAll(async () => {
    await connection?.close();
    await api?.close();
  });

  const json = async (response: Response, status: number) => {
    const body = (await response.json()) as Record<string, unknown>;
    expect({ status: response.status, body }).toMatchObject({ status, body: {} });
    return body;
  };
  const rowStatus = async (id: string) => (await inTenant(api.db, ACME, (em) => em.execute<Array<{ status: string }>>('SELECT status FROM shipments WHERE id = ?', [id])))[0]!.status;
  const post = (username: string, id: string, verb: string, body?: unknown) => api.call(username, 'POST', `/api/v1/shipments/${id}/${verb}`, body === undefined ? {} : { body });

  async function newShipment(suffix: string) {
    const shipment = await json(
      await api.call('acme-operator', 'POST', '/api/v1/shipments', {
        body: { shipmentNumber: `SS-${run}-${suffix}`, origin: { address: 'Laverton North VIC', location: [144.77, -37.86] }, destination: { address: 'Dandenong VIC', location: [145.21, -37.99] }, pickupAt: '2030-01-01T08:00:00Z', deliverBy: '2030-01-01T12:00:00Z' },
      }),
      201,
    );
    const [dg] = await api.db.em.fork().execute<Array<{ id: string }>>("SELECT id FROM dangerous_goods WHERE un_number = 'UN1203' AND withdrawn_at IS NULL ORDER BY row_index LIMIT 1");
    await json(await api.call('acme-operator', 'POST', `/api/v1/shipments/${shipment.id}/consignment-items`, { body: { dangerousGoodId: dg!.id, quantity: 200, unit: 'L', packages: 1 } }), 201);
    return { id: shipment.id as string, number: shipment.shipmentNumber as string };
  }
  async function crew(licenceExpiresOn: string) {
    const driver = await json(await api.call('acme-manager', 'POST', '/api/v1/drivers', { body: { fullName: `Driver ${run} ${licenceExpiresOn}`, dgLicenceNumber: `L-${run}-${licenceExpiresOn}`, dgLicenceClass: 'DG', dgLicenceExpiresOn: licenceExpiresOn } }), 201);
    await json(await api.call('acme-manager', 'POST', `/api/v1/drivers/${driver.id}/training-records`, { body: { course: 'DG awareness', completedOn: '2026-01-10', expiresOn: '2031-01-10' } }), 201);
    const vehicle = await json(await api.call('acme-manager', 'POST', '/api/v1/vehicles', { body: { registration: `V${run}${licenceExpiresOn.slice(2, 4)}`.slice(-16), vehicleType: 'TANKER', capacityKg: 20000, inspectionExpiresOn: '2031-06-30' } }), 201);
    return { driverId: driver.id as string, vehicleId: vehicle.id as string };
  }

  it('walks create → book → DG validation → assign → depart → arrive → deliver → close, the row following each step', async () => {
    const shipment = await newShipment('HAPPY');
    const { driverId, vehicleId } = await crew('2031-12-31');
    expect(await rowStatus(shipment.id)).toBe('DRAFT');

    // Booking answers with the compliance engine's verdict (UN1203 petrol alone: nothing to segregate).
    const booked = await json(await post('acme-operator', shipment.id, 'book'), 200);
    expect(booked).toMatchObject({ status: 'DG_VALIDATED', compliance: { status: 'COMPLIANT', regime: 'adg', failures: [] } });
    expect(await rowStatus(shipment.id)).toBe('DG_VALIDATED');
    expect(await json(await post('acme-operator', shipment.id, 'assign', { vehicleId, driverId }), 200)).toMatchObject({ status: 'READY', vehicleId, driverId });
    expect(await rowStatus(shipment.id)).toBe('READY');
    expect(await json(await post('acme-driver', shipment.id, 'depart'), 200)).toMatchObject({ status: 'IN_TRANSIT' });
    expect(await rowStatus(shipment.id)).toBe('IN_TRANSIT');

    // Cancelling a load on the road is refused with the reason, and changes nothing.
    const refused = await post('acme-operator', shipment.id, 'cancel', { reason: 'customer called' });
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    expect(await json(refused, 409)).toMatchObject({ detail: 'cannot cancel a shipment that is IN_TRANSIT; cancel is allowed only from DRAFT, BOOKED, DG_VALIDATED, NON_COMPLIANT, READY' });
    expect(await rowStatus(shipment.id)).toBe('IN_TRANSIT');

    expect(await json(await post('acme-driver', shipment.id, 'arrive'), 200)).toMatchObject({ status: 'ARRIVED' });
    expect(await rowStatus(shipment.id)).toBe('ARRIVED');
    const proof = { signedBy: 'R. Receiver', signedAt: '2030-01-01T11:30:00.000Z', documentId: 'POD-42' };
    expect(await json(await post('acme-driver', shipment.id, 'deliver', proof), 200)).toMatchObject({ status: 'DELIVERED', proofOfDelivery: proof });
    expect(await rowStatus(shipment.id)).toBe('DELIVERED');
    expect(await json(await post('acme-operator', shipment.id, 'close'), 200)).toMatchObject({ status: 'CLOSED' });
    expect(await rowStatus(shipment.id)).toBe('CLOSED');

    const timeline = (await json(await api.call('acme-viewer', 'GET', `/api/v1/shipments/${shipment.id}/timeline`), 200)).items as Array<{ event: string; status: string; by: string | null }>;
    expect(timeline.map((e) => `${e.event}:${e.status}:${e.by}`)).toEqual([
      'book:BOOKED:acme-operator',
      'validate:DG_VALIDATED:null',
      'assign:READY:acme-operator',
      'depart:IN_TRANSIT:acme-driver',
      'arrive:ARRIVED:acme-driver',
      'deliver:DELIVERED:acme-driver',
      'close:CLOSED:acme-operator',
    ]);

    // The workflow completed with the state the API answered, and its history holds each update and status write.
    const handle = client.workflow.getHandle(shipmentWorkflowId(shipment.id));
    expect(await handle.result()).toMatchObject({ status: 'CLOSED', proofOfDelivery: proof });
    const { events } = await handle.fetchHistory();
    expect(events!.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes).map((e) => e.workflowExecutionUpdateAcceptedEventAttributes!.acceptedRequest!.input!.name)).toEqual([
      'book',
      'assign',
      'depart',
      'arrive',
      'deliver',
      'close',
    ]);
    expect(events!.filter((e) => e.activityTaskScheduledEventAttributes).map((e) => e.activityTaskScheduledEventAttributes!.activityType!.name)).toEqual([
      'recordShipmentStatus',
      'checkShipmentCompliance',
      'recordShipmentStatus',
      'checkAssignment',
      'recordShipmentStatus',
      'recordShipmentStatus',
      'recordShipmentStatus',
      'recordShipmentStatus',
      'recordShipmentStatus',
    ]);

    // Operations staff find it by its business keys.
    const found = [];
    for await (const execution of client.workflow.list({ query: `ShipmentNumber='${shipment.number}'` })) found.push(execution);
    expect(found.map((e) => ({ workflowId: e.workflowId, company: e.searchAttributes.CompanyId, status: e.searchAttributes.ShipmentStatus, un: e.searchAttributes.UnNumbers }))).toEqual([
      { workflowId: shipmentWorkflowId(shipment.id), company: [ACME], status: ['CLOSED'], un: ['UN1203'] },
    ]);
  });

  it('refuses an assignment to a driver whose DG licence has expired, with the reason, and the shipment stays DG_VALIDATED', async () => {
    const shipment = await newShipment('EXPIRED');
    const { driverId, vehicleId } = await crew('2020-06-30');
    await json(await post('acme-operator', shipment.id, 'book'), 200);
    const refused = await json(await post('acme-operator', shipment.id, 'assign', { vehicleId, driverId }), 409);
    expect(refused.detail).toBe(`driver Driver ${run} 2020-06-30's DG licence expired on 2020-06-30`);
    expect(await rowStatus(shipment.id)).toBe('DG_VALIDATED');
  });

  it("answers another company's shipment 404, and 409 to a transition the lifecycle has not reached or has left behind", async () => {
    const shipment = await newShipment('EDGE');
    expect((await post('boreal-operator', shipment.id, 'book')).status).toBe(404);
    expect(await json(await post('acme-driver', shipment.id, 'depart'), 409)).toMatchObject({ detail: 'cannot depart a shipment that is DRAFT; depart is allowed only from READY' });
    expect(await json(await post('acme-operator', shipment.id, 'cancel', { reason: 'order withdrawn' }), 200)).toMatchObject({ status: 'CANCELLED' });
    expect(await rowStatus(shipment.id)).toBe('CANCELLED');
    // Its workflow has completed: booking it again starts nothing.
    expect(await json(await post('acme-operator', shipment.id, 'book'), 409)).toMatchObject({ detail: 'cannot book a shipment that is CANCELLED; book is allowed only from DRAFT' });
    expect(await rowStatus(shipment.id)).toBe('CANCELLED');
  });
});
