import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { CompanySchema } from '../../db/entities.js';
import { inTenant } from '../../db/orm.js';
import { keycloakAdminFromConfig } from '../../identity/keycloak-admin.js';
import { fieldEncryptionFromConfig } from '../../security/field-encryption.js';
import { erpIdempotencyKey } from '../../workflows/contracts/integrations.js';
import { shipmentWorkflowId, type ShipmentState } from '../../workflows/contracts/shipment.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { connectErp, startFakeErp, type FakeErp } from '../support/fake-erp.js';
import { passwordToken, testConfig, testEnv } from '../support/stack.js';

/**
 * A worker process killed (SIGKILL) while the booking's ERP call is out: the ERP created the order, the answer died with the worker.
 * A new worker takes the shipment on to CLOSED, and the ERP (an SAP-style service that does not deduplicate) holds exactly one
 * order, one dispatch notice and one delivery confirmation. The company, its manager and its ERP connection are the test's own.
 */
describe('a shipment outlives its worker', () => {
  // Each ERP request within a second: an attempt cut off by the kill is tried again after 10 s (erpAttemptMs).
  // Task queues of this file's own: test files run side by side, and another file's in-process worker on the run's shared
  // queues could take the booking's ERP call, which killing this file's worker would then not cut off.
  const overrides = { ERP_REQUEST_TIMEOUT_MS: '1000', TEMPORAL_TASK_QUEUE_PREFIX: `${testEnv().TEMPORAL_TASK_QUEUE_PREFIX}kill-` };
  const config = testConfig(overrides);
  const company = randomUUID();
  const run = Date.now().toString(36).toUpperCase();
  const manager = { username: `kill-manager-${run.toLowerCase()}`, password: randomBytes(18).toString('base64url') };
  let api: TestApi;
  let erp: FakeErp;
  let connection: Connection;
  let token: string;
  let first: ChildProcess;
  const workers: ChildProcess[] = [];

  /** `node --import tsx services/main.ts worker` with the run's environment; resolves once it polls its task queues. */
  async function startWorkerProcess(): Promise<ChildProcess> {
    const child = spawn(process.execPath, ['--import', 'tsx', 'services/main.ts', 'worker'], { env: { ...process.env, ...testEnv(), ...overrides, LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'inherit'] });
    workers.push(child);
    await new Promise<void>((resolve, reject) => {
      let seen = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        seen += chunk.toString('utf8');
        if (seen.includes('"msg":"worker started"')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`the worker exited (${code}) before it started`)));
    });
    return child;
  }
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${api.base}${path}`, { method, headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    return { status: response.status, answer: (await response.json()) as Record<string, unknown> };
  };
  const create = async (path: string, body: unknown) => {
    const { status, answer } = await call('POST', path, body);
    expect({ path, status, answer }).toMatchObject({ status: 201 });
    return answer;
  };

  beforeAll(async () => {
    // The worker process boots (and bundles its workflows) while the rest is set up.
    [api, erp, first] = await Promise.all([startTestApi(overrides), startFakeErp({ kind: 'sap-odata' }), startWorkerProcess()]);
    await inTenant(api.db, company, async (em) => {
      em.create(CompanySchema, { id: company, name: `Worker kill ${run}`, createdAt: new Date(), updatedAt: new Date() });
    });
    await connectErp(api.db, fieldEncryptionFromConfig(config), company, erp);
    await keycloakAdminFromConfig(config).createUser(company, { username: manager.username, email: `${manager.username}@kill.safeshipper.test`, firstName: 'Worker', lastName: 'Kill', role: 'MANAGER', password: { value: manager.password, temporary: false } });
    token = await passwordToken(manager.username, { password: manager.password });
    connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  });
  afterAll(async () => {
    for (const worker of workers) {
      if (worker.exitCode !== null || worker.signalCode !== null) continue;
      const exited = new Promise((resolve) => worker.once('exit', resolve));
      worker.kill('SIGTERM');
      // A worker that does not drain in time is not left behind.
      const stuck = setTimeout(() => worker.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(stuck);
    }
    await connection?.close();
    await erp?.close();
    await api?.close();
  });

  // Two worker processes boot (each bundles the workflows) and a cut-off attempt waits out its deadline: longer than most tests.
  it('resumes the lifecycle on a new worker with one order, one dispatch and one delivery at the ERP', { timeout: 180_000 }, async () => {
    const driver = await create('/api/v1/drivers', { fullName: `Driver ${run}`, dgLicenceNumber: `K-${run}`, dgLicenceClass: 'DG', dgLicenceExpiresOn: '2031-12-31' });
    await create(`/api/v1/drivers/${driver.id}/training-records`, { course: 'DG awareness', completedOn: '2026-01-10', expiresOn: '2031-01-10' });
    const vehicle = await create('/api/v1/vehicles', { registration: `K${run}`.slice(-16), vehicleType: 'TANKER', capacityKg: 20000, placardHolders: 4, inspectionExpiresOn: '2031-06-30' });
    const shipment = await create('/api/v1/shipments', {
      shipmentNumber: `SS-K-${run}`,
      origin: { address: 'Laverton North VIC', location: [144.77, -37.86] },
      destination: { address: 'Dandenong VIC', location: [145.21, -37.99] },
      pickupAt: '2030-01-01T08:00:00Z',
      deliverBy: '2030-01-01T12:00:00Z',
    });
    const id = shipment.id as string;
    const [petrol] = await api.db.em.fork().execute<Array<{ id: string }>>("SELECT id FROM dangerous_goods WHERE un_number = 'UN1203' AND withdrawn_at IS NULL ORDER BY row_index LIMIT 1");
    await create(`/api/v1/shipments/${id}/consignment-items`, { dangerousGoodId: petrol!.id, quantity: 200, unit: 'L', packages: 1 });

    // The ERP creates the order and holds its answer; meanwhile the worker that asked is killed. Held well past the booking's
    // own answer (which comes first from the workflow), so on a loaded machine the kill still lands while the call is out.
    erp.program('DeliveryOrders', { delayMs: 12_000 });
    expect((await call('POST', `/api/v1/shipments/${id}/book`)).answer).toMatchObject({ status: 'DG_VALIDATED' });
    for (let attempt = 0; erp.count({ endpoint: 'DeliveryOrders' }) === 0; attempt += 1) {
      if (attempt === 200) throw new Error('the booking never reached the ERP');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const killed = new Promise((resolve) => first.once('exit', resolve));
    // The next worker boots while the cut-off attempt waits out its deadline (10 s) and the workflow's sticky queue its own.
    const second = startWorkerProcess();
    first.kill('SIGKILL');
    await killed;
    for (const [verb, body] of [
      ['assign', { vehicleId: vehicle.id, driverId: driver.id }],
      ['depart', undefined],
      ['arrive', undefined],
      ['deliver', { signedBy: 'R. Receiver', signedAt: '2030-01-01T11:30:00Z', documentId: 'POD-K' }],
      ['close', undefined],
    ] as const) {
      expect(await call('POST', `/api/v1/shipments/${id}/${verb}`, body)).toMatchObject({ status: 200 });
    }
    await second;
    const state = (await new Client({ connection, namespace: config.TEMPORAL_NAMESPACE }).workflow.getHandle(shipmentWorkflowId(id)).result()) as ShipmentState;
    await erp.idle();

    // One record per stage, each under its own key, however often a stage was attempted.
    for (const [endpoint, stage] of [['DeliveryOrders', 'booked'], ['DispatchNotices', 'dispatched'], ['DeliveryConfirmations', 'delivered']] as const) {
      expect({ endpoint, created: erp.count({ endpoint }), underKey: erp.count({ idempotencyKey: erpIdempotencyKey(id, stage) }) }).toEqual({ endpoint, created: 1, underKey: 1 });
    }
    expect(erp.created).toHaveLength(3);
    const order = erp.created.find((record) => record.endpoint === 'DeliveryOrders')!.key;
    expect(state).toMatchObject({ status: 'CLOSED', erp: [{ stage: 'booked', erpReference: order, failure: null }, { stage: 'dispatched', failure: null }, { stage: 'delivered', failure: null }] });
    // The booking was attempted again on the new worker, which looked the order up instead of creating a second one.
    expect(erp.posts({ endpoint: 'DeliveryOrders' })).toBe(1);
    expect(erp.requests.filter((r) => r.method === 'GET' && r.endpoint === 'DeliveryOrders').map((r) => r.status)).toEqual([200]);
    const calls = await inTenant(api.db, company, (em) => em.execute<Array<{ stage: string; status: string; attempts: number }>>('SELECT stage, status, attempts FROM erp_calls WHERE shipment_id = ? ORDER BY created_at', [id]));
    expect(calls.map(({ stage, status }) => `${stage}:${status}`)).toEqual(['booked:succeeded', 'dispatched:succeeded', 'delivered:succeeded']);
    expect(calls[0]!.attempts).toBeGreaterThan(1);
  });
});
