import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Client, Connection, type WorkflowExecutionInfo } from '@temporalio/client';
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
    api = await startTestApi({}, { workflows: inject('workflowBundle'), contexts: ['shipments', 'incidents', 'integrations'] });
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
  /** Workflows a visibility query lists, once `ready` holds (the visibility store follows the workflow a moment later). */
  async function listed(query: string, ready: (found: WorkflowExecutionInfo[]) => boolean = (found) => found.length > 0): Promise<WorkflowExecutionInfo[]> {
    for (let attempt = 0; ; attempt += 1) {
      const found: WorkflowExecutionInfo[] = [];
      for await (const execution of client.workflow.list({ query })) found.push(execution);
      if (ready(found) || attempt === 50) return found;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  const rowStatus = async (id: string) => (await inTenant(api.db, ACME, (em) => em.execute<Array<{ status: string }>>('SELECT status FROM shipments WHERE id = ?', [id])))[0]!.status;
  const post = (username: string, id: string, verb: string, body?: unknown) => api.call(username, 'POST', `/api/v1/shipments/${id}/${verb}`, body === undefined ? {} : { body });

  const dangerousGood = async (unNumber: string) => (await api.db.em.fork().execute<Array<{ id: string }>>('SELECT id FROM dangerous_goods WHERE un_number = ? AND withdrawn_at IS NULL ORDER BY row_index LIMIT 1', [unNumber]))[0]!.id;
  const addItem = async (shipmentId: string, unNumber: string, quantity: number, unit: 'kg' | 'L') =>
    api.call('acme-operator', 'POST', `/api/v1/shipments/${shipmentId}/consignment-items`, { body: { dangerousGoodId: await dangerousGood(unNumber), quantity, unit, packages: 1 } });

  async function newShipment(suffix: string, petrol = 200) {
    const shipment = await json(
      await api.call('acme-operator', 'POST', '/api/v1/shipments', {
        body: { shipmentNumber: `SS-${run}-${suffix}`, origin: { address: 'Laverton North VIC', location: [144.77, -37.86] }, destination: { address: 'Dandenong VIC', location: [145.21, -37.99] }, pickupAt: '2030-01-01T08:00:00Z', deliverBy: '2030-01-01T12:00:00Z' },
      }),
      201,
    );
    await json(await addItem(shipment.id as string, 'UN1203', petrol, 'L'), 201);
    return { id: shipment.id as string, number: shipment.shipmentNumber as string };
  }
  async function crew(licenceExpiresOn: string, placardHolders = 0) {
    const driver = await json(await api.call('acme-manager', 'POST', '/api/v1/drivers', { body: { fullName: `Driver ${run} ${licenceExpiresOn}`, dgLicenceNumber: `L-${run}-${licenceExpiresOn}-${placardHolders}`, dgLicenceClass: 'DG', dgLicenceExpiresOn: licenceExpiresOn } }), 201);
    await json(await api.call('acme-manager', 'POST', `/api/v1/drivers/${driver.id}/training-records`, { body: { course: 'DG awareness', completedOn: '2026-01-10', expiresOn: '2031-01-10' } }), 201);
    const registration = `V${run}${licenceExpiresOn.slice(2, 4)}${placardHolders}`.slice(-16);
    const vehicle = await json(await api.call('acme-manager', 'POST', '/api/v1/vehicles', { body: { registration, vehicleType: 'TANKER', capacityKg: 20000, placardHolders, inspectionExpiresOn: '2031-06-30' } }), 201);
    return { driverId: driver.id as string, vehicleId: vehicle.id as string, registration };
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
    // The company's shipments on the road, as the Temporal UI lists them (other runs' shipments may be there too: each is ACME's and IN_TRANSIT).
    const onTheRoad = await listed(`CompanyId='${ACME}' AND ShipmentStatus='IN_TRANSIT'`, (found) => found.some((e) => e.workflowId === shipmentWorkflowId(shipment.id)));
    expect(onTheRoad.every((e) => e.searchAttributes.CompanyId?.[0] === ACME && e.searchAttributes.ShipmentStatus?.[0] === 'IN_TRANSIT')).toBe(true);

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
    const scheduled = events!.filter((e) => e.activityTaskScheduledEventAttributes).map((e) => e.activityTaskScheduledEventAttributes!.activityType!.name!);
    expect(scheduled.filter((name) => !['syncShipmentToErp', 'publishShipmentEvent'].includes(name))).toEqual([
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
    // The integrations, in the background: the ERP at booking, departure and delivery; the webhooks at every transition a customer sees.
    expect(scheduled.filter((name) => name === 'syncShipmentToErp')).toHaveLength(3);
    expect(scheduled.filter((name) => name === 'publishShipmentEvent')).toHaveLength(6);

    // Operations staff find it by its business keys.
    expect((await listed(`ShipmentNumber='${shipment.number}'`)).map((e) => ({ workflowId: e.workflowId, company: e.searchAttributes.CompanyId, status: e.searchAttributes.ShipmentStatus, un: e.searchAttributes.UnNumbers, vehicle: e.searchAttributes.VehicleId, driver: e.searchAttributes.DriverId }))).toEqual([
      { workflowId: shipmentWorkflowId(shipment.id), company: [ACME], status: ['CLOSED'], un: ['UN1203'], vehicle: [vehicleId], driver: [driverId] },
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

  it('re-checks an amended NON_COMPLIANT load, refuses item changes once compliance is settled, and a vehicle short of placard holders', async () => {
    // 1,000 L of petrol in one receptacle makes a placard load (ADG 7.x), in which petrol and phosgene may not travel together.
    const shipment = await newShipment('AMEND', 1000);
    const phosgene = await json(await addItem(shipment.id, 'UN1076', 10, 'kg'), 201);
    const booked = await json(await post('acme-operator', shipment.id, 'book'), 200);
    expect(booked).toMatchObject({ status: 'NON_COMPLIANT', compliance: { status: 'NON_COMPLIANT', placardLoad: true } });
    expect((booked.compliance as { failures: string[] }).failures).toEqual([expect.stringMatching(/^segregation: items\[0\] with items\[1\]: 177\.848\(d\): Class 3 flammable liquid with Division 2\.3 poison gas, Hazard Zone A is "X"/)]);

    // Taking the phosgene off the load signals the workflow, which checks the load again.
    expect((await api.call('acme-operator', 'DELETE', `/api/v1/shipments/${shipment.id}/consignment-items/${phosgene.id}`)).status).toBe(204);
    const timeline = async () => ((await json(await api.call('acme-viewer', 'GET', `/api/v1/shipments/${shipment.id}/timeline`), 200)).items as Array<{ event: string; status: string; by: string | null }>).map((e) => `${e.event}:${e.status}:${e.by}`);
    // The row is written by the validating activity, the timeline by the workflow once that activity returns: wait for both.
    for (let tries = 0; (await rowStatus(shipment.id)) !== 'DG_VALIDATED' || !(await timeline()).includes('validate:DG_VALIDATED:null'); tries += 1) {
      if (tries === 100) throw new Error(`the amended load was not validated: ${(await timeline()).join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await timeline()).toEqual(['book:BOOKED:acme-operator', 'reject:NON_COMPLIANT:null', 'amend:BOOKED:acme-operator', 'validate:DG_VALIDATED:null']);

    // A validated load cannot change under it: every item route answers 409 with the reason, and nothing changes.
    const settled = 'the consignment items of a DG_VALIDATED shipment cannot change: its compliance is settled; items change only while it is DRAFT or NON_COMPLIANT';
    expect(await json(await addItem(shipment.id, 'UN1076', 10, 'kg'), 409)).toMatchObject({ detail: settled });
    const [petrol] = (await json(await api.call('acme-viewer', 'GET', `/api/v1/shipments/${shipment.id}/consignment-items`), 200)).items as Array<{ id: string }>;
    const read = await api.call('acme-viewer', 'GET', `/api/v1/shipments/${shipment.id}/consignment-items/${petrol!.id}`);
    const patched = await api.call('acme-operator', 'PATCH', `/api/v1/shipments/${shipment.id}/consignment-items/${petrol!.id}`, { body: { quantity: 400 }, headers: { 'If-Match': read.headers.get('etag')! } });
    expect(await json(patched, 409)).toMatchObject({ detail: settled });
    expect(await json(await api.call('acme-operator', 'DELETE', `/api/v1/shipments/${shipment.id}/consignment-items/${petrol!.id}`), 409)).toMatchObject({ detail: settled });
    expect(await json(await api.call('acme-viewer', 'GET', `/api/v1/shipments/${shipment.id}/consignment-items`), 200)).toMatchObject({ items: [{ id: petrol!.id, quantity: 1000 }] });

    // The placard load shows a class 3 label and an emergency information panel: a vehicle needs a holder for each.
    const bare = await crew('2031-12-31', 1);
    expect(await json(await post('acme-operator', shipment.id, 'assign', { vehicleId: bare.vehicleId, driverId: bare.driverId }), 409)).toMatchObject({
      detail: `vehicle ${bare.registration} has 1 placard holders; the load needs 2 under ADG 7.x: CLASS 3 LABEL, EMERGENCY INFORMATION PANEL`,
    });
    expect(await rowStatus(shipment.id)).toBe('DG_VALIDATED');
    const fitted = await crew('2031-12-31', 2);
    expect(await json(await post('acme-operator', shipment.id, 'assign', { vehicleId: fitted.vehicleId, driverId: fitted.driverId }), 200)).toMatchObject({ status: 'READY', vehicleId: fitted.vehicleId });
    // Nor is the vehicle swapped around the lifecycle's checks.
    const current = await api.call('acme-viewer', 'GET', `/api/v1/shipments/${shipment.id}`);
    const swapped = await api.call('acme-operator', 'PATCH', `/api/v1/shipments/${shipment.id}`, { body: { vehicleId: bare.vehicleId }, headers: { 'If-Match': current.headers.get('etag')! } });
    expect(await json(swapped, 409)).toMatchObject({ detail: `the vehicle and driver of a READY shipment change only through its lifecycle: POST /api/v1/shipments/${shipment.id}/assign` });
    expect(await json(await post('acme-operator', shipment.id, 'cancel', { reason: 'test over' }), 200)).toMatchObject({ status: 'CANCELLED', vehicleId: null, driverId: null });
    // Cancelling released the vehicle and driver: off the row and off the workflow's search attributes.
    const [row] = await inTenant(api.db, ACME, (em) => em.execute<Array<{ vehicle_id: string | null; driver_id: string | null }>>('SELECT vehicle_id, driver_id FROM shipments WHERE id = ?', [shipment.id]));
    expect(row).toEqual({ vehicle_id: null, driver_id: null });
    await client.workflow.getHandle(shipmentWorkflowId(shipment.id)).result();
    const [cancelled] = await listed(`ShipmentNumber='${shipment.number}'`, (found) => found[0]?.searchAttributes.ShipmentStatus?.[0] === 'CANCELLED');
    expect(cancelled!.searchAttributes).toMatchObject({ ShipmentStatus: ['CANCELLED'], CompanyId: [ACME] });
    expect(cancelled!.searchAttributes).not.toHaveProperty('VehicleId');
    expect(cancelled!.searchAttributes).not.toHaveProperty('DriverId');
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
