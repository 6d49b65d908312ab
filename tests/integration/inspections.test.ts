import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import pg from 'pg';
import { Client, Connection, type WorkflowExecutionInfo } from '@temporalio/client';
import { addInterval, dayOf, INSPECTION_TYPE_DEFINITIONS, type ItemResult } from '../../domain/inspection-lifecycle.js';
import { InspectionSearchAttributes, inspectionWorkflowId } from '../../workflows/contracts/inspection.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { ACME, testConfig, testEnv } from '../support/stack.js';

/**
 * A vehicle's inspections through the API, on the stack's Temporal dev server with a worker beside
 * the API: a failing inspection grounds the vehicle, the shipment lifecycle then refuses it naming
 * why, and a passing one puts it back into service.
 */
describe('vehicle inspections through the API', () => {
  let api: TestApi;
  let owner: pg.Client;
  let connection: Connection;
  const run = Date.now().toString(36).toUpperCase();
  beforeAll(async () => {
    owner = new pg.Client({ connectionString: testEnv().DATABASE_OWNER_URL });
    [api] = await Promise.all([startTestApi({}, { workflows: inject('workflowBundle'), contexts: ['inspections', 'shipments'] }), owner.connect()]);
    await Promise.all(['acme-manager', 'acme-operator', 'acme-driver', 'acme-viewer', 'boreal-manager'].map((username) => api.token(username)));
    connection = await Connection.connect({ address: testConfig().TEMPORAL_ADDRESS });
  });
  afterAll(async () => {
    await connection?.close();
    await owner?.end();
    await api?.close();
  });

  const json = async (response: Response, status: number) => {
    const body = (await response.json()) as Record<string, unknown>;
    expect({ status: response.status, body }).toMatchObject({ status, body: {} });
    return body;
  };
  const checklist = (failed: Record<string, string> = {}): ItemResult[] =>
    INSPECTION_TYPE_DEFINITIONS.PERIODIC_DG.checklist.map((c) => (c.id in failed ? { item: c.id, result: 'FAIL', notes: failed[c.id] } : { item: c.id, result: 'PASS' }));

  it('grounds the vehicle on a failed inspection, the assignment is refused naming why, and a passing one puts it back into service', async () => {
    const vehicle = await json(await api.call('acme-manager', 'POST', '/api/v1/vehicles', { body: { registration: `IN${run}`.slice(-16), vehicleType: 'TANKER', capacityKg: 20000, placardHolders: 4, inspectionExpiresOn: '2031-06-30' } }), 201);
    const registration = vehicle.registration as string;
    const driver = await json(await api.call('acme-manager', 'POST', '/api/v1/drivers', { body: { fullName: `Driver ${run}`, dgLicenceNumber: `IN-${run}`, dgLicenceClass: 'DG', dgLicenceExpiresOn: '2031-12-31' } }), 201);
    await json(await api.call('acme-manager', 'POST', `/api/v1/drivers/${driver.id}/training-records`, { body: { course: 'DG awareness', completedOn: '2026-01-10', expiresOn: '2031-01-10' } }), 201);
    const programs = `/api/v1/vehicles/${vehicle.id}/inspection-programs`;
    const inspections = `/api/v1/vehicles/${vehicle.id}/inspections`;

    // The annual DG inspection programme: it keeps the vehicle's inspection expiry from now on.
    const firstDueOn = dayOf(Date.now() + 200 * 86_400_000);
    const started = await api.call('acme-manager', 'POST', programs, { body: { inspectionType: 'PERIODIC_DG', firstDueOn } });
    const program = await json(started, 201);
    expect(started.headers.get('location')).toBe(`${programs}/${program.id}`);
    expect(program).toMatchObject({ vehicleId: vehicle.id, inspectionType: 'PERIODIC_DG', interval: 'P1Y', reminderDays: [30, 7], nextDueOn: firstDueOn, status: 'CURRENT', groundedReason: null, workflowId: `inspection-${vehicle.id}-PERIODIC_DG` });
    expect(await json(await api.call('acme-manager', 'POST', programs, { body: { inspectionType: 'PERIODIC_DG', firstDueOn } }), 409)).toMatchObject({ detail: `a PERIODIC_DG inspection programme already runs for this vehicle (next due on ${firstDueOn})` });
    expect(await json(await api.call('acme-viewer', 'GET', `/api/v1/vehicles/${vehicle.id}`), 200)).toMatchObject({ status: 'ACTIVE', groundedReason: null, inspectionExpiresOn: firstDueOn });
    // …so a hand-written expiry is refused while it runs.
    expect(await json(await api.call('acme-manager', 'PATCH', `/api/v1/vehicles/${vehicle.id}`, { body: { inspectionExpiresOn: '2035-01-01' }, headers: { 'If-Match': '"v2"' } }), 409)).toMatchObject({
      detail: "inspectionExpiresOn is kept by the vehicle's inspection programmes (PERIODIC_DG): record an inspection instead",
    });

    // Refusals before anything runs: another company's vehicle, a driver recording more than the pre-trip, a checklist that is not the type's.
    const failedAt = new Date(Date.now() - 2 * 3_600_000).toISOString();
    const failing = { inspectionType: 'PERIODIC_DG', inspector: 'I. Inspector', performedAt: failedAt, items: checklist({ 'brake-system': 'air leak at the trailer coupling' }) };
    expect((await api.call('boreal-manager', 'POST', inspections, { body: failing })).status).toBe(404);
    expect(await json(await api.call('acme-driver', 'POST', inspections, { body: failing }), 403)).toMatchObject({ detail: 'Recording a PERIODIC_DG inspection needs the "manage_fleet" permission, which your role does not have' });
    expect(await json(await api.call('acme-manager', 'POST', inspections, { body: { ...failing, items: failing.items.slice(1) } }), 422)).toMatchObject({ errors: [{ path: 'items', message: 'misses brake-system of the PERIODIC_DG checklist' }] });
    expect(await json(await api.call('acme-manager', 'POST', inspections, { body: { ...failing, inspectionType: 'BRAKES', items: INSPECTION_TYPE_DEFINITIONS.BRAKES.checklist.map((c) => ({ item: c.id, result: 'PASS' })) } }), 409)).toMatchObject({
      detail: 'no BRAKES inspection programme runs for this vehicle; start one first',
    });

    // The failing inspection grounds the vehicle, naming the failed item.
    const reason = `annual DG vehicle inspection failed on ${dayOf(failedAt)}: Brake system (air leak at the trailer coupling)`;
    const failed = await json(await api.call('acme-manager', 'POST', inspections, { body: { ...failing, photoDocumentIds: ['0b6f3f1e-2d1c-4c55-9a57-3f6de1e0a001'] } }), 200);
    expect(failed).toMatchObject({
      inspection: { result: 'FAIL', inspector: 'I. Inspector', performedAt: failedAt, photoDocumentIds: ['0b6f3f1e-2d1c-4c55-9a57-3f6de1e0a001'], nextDueOn: firstDueOn, recordedBy: 'acme-manager' },
      program: { id: program.id, status: 'FAILED', nextDueOn: firstDueOn, groundedReason: reason },
      vehicle: { id: vehicle.id, registration, status: 'GROUNDED', groundedReason: reason, inspectionExpiresOn: firstDueOn },
    });
    expect(await json(await api.call('acme-viewer', 'GET', `/api/v1/vehicles/${vehicle.id}`), 200)).toMatchObject({ status: 'GROUNDED', groundedReason: reason });

    // The shipment lifecycle refuses the grounded vehicle, with the reason.
    const shipment = await json(
      await api.call('acme-operator', 'POST', '/api/v1/shipments', {
        body: { shipmentNumber: `SS-${run}-INSP`, origin: { address: 'Laverton North VIC', location: [144.77, -37.86] }, destination: { address: 'Dandenong VIC', location: [145.21, -37.99] }, pickupAt: '2030-01-01T08:00:00Z', deliverBy: '2030-01-01T12:00:00Z' },
      }),
      201,
    );
    const [dg] = (await owner.query<{ id: string }>("SELECT id FROM dangerous_goods WHERE un_number = 'UN1203' AND withdrawn_at IS NULL ORDER BY row_index LIMIT 1")).rows;
    await json(await api.call('acme-operator', 'POST', `/api/v1/shipments/${shipment.id}/consignment-items`, { body: { dangerousGoodId: dg!.id, quantity: 200, unit: 'L', packages: 1 } }), 201);
    await json(await api.call('acme-operator', 'POST', `/api/v1/shipments/${shipment.id}/book`, {}), 200);
    const assignment = { vehicleId: vehicle.id, driverId: driver.id };
    expect(await json(await api.call('acme-operator', 'POST', `/api/v1/shipments/${shipment.id}/assign`, { body: assignment }), 409)).toMatchObject({ detail: `vehicle ${registration} is grounded: ${reason}` });

    // The repair passes: back in service, due a year from the pass, and the assignment goes through.
    const passedAt = new Date(Date.now() - 3_600_000).toISOString();
    const nextDue = addInterval(dayOf(passedAt), { count: 1, unit: 'year' });
    const passed = await json(await api.call('acme-manager', 'POST', inspections, { body: { ...failing, performedAt: passedAt, items: checklist() } }), 200);
    expect(passed).toMatchObject({ inspection: { result: 'PASS', nextDueOn: nextDue }, program: { status: 'CURRENT', nextDueOn: nextDue, groundedReason: null }, vehicle: { status: 'ACTIVE', groundedReason: null, inspectionExpiresOn: nextDue } });
    // The same request again (a client's retry) records nothing twice.
    expect(await json(await api.call('acme-manager', 'POST', inspections, { body: { ...failing, performedAt: passedAt, items: checklist() } }), 409)).toMatchObject({
      detail: `performedAt ${passedAt} is not after the last PERIODIC_DG inspection recorded (${passedAt})`,
    });
    expect(await json(await api.call('acme-operator', 'POST', `/api/v1/shipments/${shipment.id}/assign`, { body: assignment }), 200)).toMatchObject({ status: 'READY', vehicleId: vehicle.id });

    // The history, newest first, a page at a time; every change audited with who asked.
    const first = await json(await api.call('acme-viewer', 'GET', `${inspections}?limit=1`), 200);
    expect((first.items as Array<{ result: string }>).map((i) => i.result)).toEqual(['PASS']);
    const second = await json(await api.call('acme-viewer', 'GET', `${inspections}?limit=1&cursor=${first.nextCursor as string}`), 200);
    expect(second).toMatchObject({ items: [{ result: 'FAIL', performedAt: failedAt }], nextCursor: null });
    const audit = await owner.query<{ action: string; actor: string }>(
      `SELECT action, coalesce(actor_username, actor_subject) AS actor FROM audit_log WHERE entity_id = ANY($1::text[]) AND (action LIKE 'inspection.%' OR action LIKE 'vehicle.%') ORDER BY id`,
      [[program.id, vehicle.id, (failed.inspection as { id: string }).id, (passed.inspection as { id: string }).id]],
    );
    expect(audit.rows).toEqual([
      { action: 'inspection.program_opened', actor: 'acme-manager' },
      { action: 'vehicle.inspection_standing', actor: 'acme-manager' },
      { action: 'inspection.recorded', actor: 'acme-manager' },
      { action: 'inspection.result', actor: 'acme-manager' },
      { action: 'vehicle.grounded', actor: 'acme-manager' },
      { action: 'inspection.recorded', actor: 'acme-manager' },
      { action: 'inspection.result', actor: 'acme-manager' },
      { action: 'vehicle.ungrounded', actor: 'acme-manager' },
    ]);

    // Retired, the programme ends (its inspections stay); the shipment is called off so nothing of this test keeps running.
    expect(await json(await api.call('acme-manager', 'POST', `${programs}/${program.id}/retire`, { body: { reason: 'vehicle sold' } }), 200)).toMatchObject({ status: 'RETIRED', retiredReason: 'vehicle sold', groundedReason: null });
    expect(await json(await api.call('acme-manager', 'POST', `${programs}/${program.id}/retire`, { body: { reason: 'again' } }), 409)).toMatchObject({ detail: 'the PERIODIC_DG inspection programme is already retired' });
    expect(await json(await api.call('acme-viewer', 'GET', programs), 200)).toMatchObject({ items: [{ id: program.id, status: 'RETIRED' }] });
    await json(await api.call('acme-operator', 'POST', `/api/v1/shipments/${shipment.id}/cancel`, { body: { reason: 'test done' } }), 200);

    // Operations staff find the programme by its business keys; the run that ended carries the last due date.
    const client = new Client({ connection, namespace: testConfig().TEMPORAL_NAMESPACE });
    const query = `CompanyId='${ACME}' AND VehicleId='${vehicle.id}' AND InspectionType='PERIODIC_DG' AND ExecutionStatus='Completed'`;
    let found: WorkflowExecutionInfo[] = [];
    // The visibility store follows the workflow a moment later.
    for (let attempt = 0; attempt < 50 && found.length === 0; attempt += 1) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 100));
      found = [];
      for await (const execution of client.workflow.list({ query })) found.push(execution);
    }
    expect(found.map((e) => [e.workflowId, e.typedSearchAttributes.get(InspectionSearchAttributes.InspectionDueOn)?.toISOString()])).toEqual([[inspectionWorkflowId(vehicle.id as string, 'PERIODIC_DG'), `${nextDue}T00:00:00.000Z`]]);
  });
});
