import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { erpActivities } from '../../activities/erp.js';
import { CompanySchema } from '../../db/entities.js';
import { inTenant } from '../../db/orm.js';
import type { ErpStage } from '../../domain/integrations.js';
import { integrationSettingsFromConfig } from '../../integrations/settings.js';
import { fieldEncryptionFromConfig } from '../../security/field-encryption.js';
import { erpIdempotencyKey } from '../../workflows/contracts/integrations.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { connectErp, startFakeErp, type FakeErp } from '../support/fake-erp.js';
import { BOREAL, testConfig } from '../support/stack.js';

/**
 * The ERP activity against local servers that play a customer's ERP (SAP-style OData with its
 * CSRF handshake, and a generic REST endpoint), called directly as Temporal would call it again
 * on a retry: failures, a slow answer past the timeout, a validation refusal. The company is one
 * of the test's own (no demo data); the integrations API is exercised as Boreal's ADMIN.
 */
describe('ERP integration: adapters, idempotent calls, the record of what was sent', () => {
  const TIMEOUT_MS = 700;
  const config = testConfig({ ERP_REQUEST_TIMEOUT_MS: String(TIMEOUT_MS) });
  const fields = fieldEncryptionFromConfig(config);
  const company = randomUUID();
  const run = Date.now().toString(36).toUpperCase();
  let api: TestApi;
  let sap: FakeErp;
  let sapV4: FakeErp;
  let rest: FakeErp;
  let erp: ReturnType<typeof erpActivities>;

  /** A shipment of the test's company, UN1203 on board. */
  async function shipment(suffix: string, companyId = company): Promise<string> {
    const id = randomUUID();
    await inTenant(api.db, companyId, async (em) => {
      await em.execute(
        `INSERT INTO shipments (id, company_id, shipment_number, status, origin_address, origin_location, destination_address, destination_location, pickup_at, deliver_by)
         VALUES (?, ?, ?, 'BOOKED', 'Laverton North VIC', ST_GeogFromText('POINT(144.77 -37.86)'), 'Dandenong VIC', ST_GeogFromText('POINT(145.21 -37.99)'), '2030-01-01T08:00:00Z', '2030-01-01T12:00:00Z')`,
        [id, companyId, `ERP-${run}-${suffix}`],
      );
      await em.execute(
        `INSERT INTO consignment_items (company_id, shipment_id, dangerous_good_id, quantity, unit, packages)
         SELECT ?, ?, id, 1200, 'L', 6 FROM dangerous_goods WHERE un_number = 'UN1203' AND withdrawn_at IS NULL ORDER BY row_index LIMIT 1`,
        [companyId, id],
      );
    });
    return id;
  }
  const sync = (shipmentId: string, stage: ErpStage, companyId = company) => erp.syncShipmentToErp({ companyId, shipmentId, stage, idempotencyKey: erpIdempotencyKey(shipmentId, stage) });
  const callRow = async (shipmentId: string, stage: ErpStage, companyId = company) =>
    (await inTenant(api.db, companyId, (em) => em.execute<Array<{ status: string; attempts: number; erp_reference: string | null; last_error: string | null; request: Record<string, unknown> | null }>>('SELECT status, attempts, erp_reference, last_error, request FROM erp_calls WHERE shipment_id = ? AND stage = ?', [shipmentId, stage])))[0];
  const failure = async (promise: Promise<unknown>) => {
    const error = await promise.then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(ApplicationFailure);
    return error as ApplicationFailure;
  };

  beforeAll(async () => {
    [api, sap, sapV4, rest] = await Promise.all([startTestApi(), startFakeErp({ kind: 'sap-odata' }), startFakeErp({ kind: 'sap-odata', odataVersion: 'v4' }), startFakeErp({ kind: 'rest' })]);
    await inTenant(api.db, company, async (em) => {
      em.create(CompanySchema, { id: company, name: `ERP tests ${run}`, createdAt: new Date(), updatedAt: new Date() });
    });
    erp = erpActivities({ db: api.db, fields, settings: integrationSettingsFromConfig(config) });
  });
  afterAll(async () => {
    // Boreal is demo data other files use: leave it without a connection to a server that is gone.
    await inTenant(api.db, BOREAL, (em) => em.execute('DELETE FROM erp_connections')).catch(() => undefined);
    await Promise.all([sap?.close(), sapV4?.close(), rest?.close()]);
    await api?.close();
  });

  it('SAP OData v2: CSRF handshake, then one order created, keyed by the Idempotency-Key and the client reference; the call recorded with what was sent', async () => {
    await connectErp(api.db, fields, company, sap);
    const id = await shipment('SAP1');
    const key = erpIdempotencyKey(id, 'booked');
    const from = sap.requests.length;
    const { erpReference } = await sync(id, 'booked');
    expect(erpReference).toMatch(/^800000\d\d$/);
    expect(sap.requests.slice(from).map((r) => `${r.method} ${r.path} ${r.status} csrf:${r.csrfToken === 'fetch' ? 'fetch' : r.csrfToken ? 'token' : 'none'}`)).toEqual(['GET / 200 csrf:fetch', 'POST /DeliveryOrders 201 csrf:token']);
    const [order] = sap.created.filter((r) => r.idempotencyKey === key);
    expect(order).toMatchObject({ endpoint: 'DeliveryOrders', key: erpReference, body: { ExternalReference: key, ShipmentNumber: `ERP-${run}-SAP1`, PlannedPickup: '/Date(1893484800000)/', ShipFrom: 'Laverton North VIC' } });
    expect((order!.body.Items as unknown[])[0]).toMatchObject({ ItemNumber: '000010', MaterialNumber: 'UN1203', HazardClass: '3', PackingGroup: 'II', Quantity: '1200', Unit: 'L', Packages: 6 });
    expect(await callRow(id, 'booked')).toMatchObject({ status: 'succeeded', attempts: 1, erp_reference: erpReference, last_error: null, request: { ExternalReference: key, ShipmentNumber: `ERP-${run}-SAP1` } });

    // The same stage again (a retried activity after success): the recorded reference, and nothing sent.
    const before = sap.requests.length;
    expect(await sync(id, 'booked')).toEqual({ erpReference });
    expect(sap.requests.length).toBe(before);
  });

  it('500, then success on the retry: exactly one order, keyed by the Idempotency-Key the ERP saw; the retry looked for it first', async () => {
    await connectErp(api.db, fields, company, sap);
    const id = await shipment('SAP500');
    const key = erpIdempotencyKey(id, 'booked');
    sap.program('DeliveryOrders', { status: 500, message: 'Update task terminated' });
    const from = sap.requests.length;
    const first = await failure(sync(id, 'booked'));
    expect(first).toMatchObject({ type: 'ErpUnavailable', nonRetryable: false, message: 'SAP answered 500 to create DeliveryOrders: [/IWBEP/CM_MGW_RT/020] Update task terminated; [/IWBEP/CX_MGW_BUSI_EXCEPTION] An exception was raised' });
    expect(await callRow(id, 'booked')).toMatchObject({ status: 'failed', attempts: 1, erp_reference: null, last_error: first.message, request: { ExternalReference: key } });

    const { erpReference } = await sync(id, 'booked');
    expect(sap.count({ idempotencyKey: key })).toBe(1);
    expect(sap.created.find((r) => r.idempotencyKey === key)?.key).toBe(erpReference);
    expect(sap.requests.slice(from).map((r) => `${r.method} ${r.path}${r.query.includes(key) ? ' (by client reference)' : ''} ${r.status}`)).toEqual([
      'GET / 200',
      'POST /DeliveryOrders 500',
      'GET /DeliveryOrders (by client reference) 200',
      'GET / 200',
      'POST /DeliveryOrders 201',
    ]);
    expect(await callRow(id, 'booked')).toMatchObject({ status: 'succeeded', attempts: 2, erp_reference: erpReference, last_error: null });
  });

  it('an answer slower than the timeout: the retry carries the same key, finds the order the first attempt created, and creates none', async () => {
    await connectErp(api.db, fields, company, sap);
    const id = await shipment('SAPSLOW');
    const { erpReference: order } = await sync(id, 'booked');
    const key = erpIdempotencyKey(id, 'dispatched');
    sap.program('DispatchNotices', { delayMs: TIMEOUT_MS + 500 });
    const first = await failure(sync(id, 'dispatched'));
    expect(first).toMatchObject({ type: 'ErpUnavailable', nonRetryable: false });
    expect(first.message).toMatch(new RegExp(`^create DispatchNotices: http://127\\.0\\.0\\.1:\\d+ did not answer within ${TIMEOUT_MS} ms$`));
    expect(sap.count({ idempotencyKey: key })).toBe(1);

    const { erpReference } = await sync(id, 'dispatched');
    expect(sap.posts({ idempotencyKey: key })).toBe(1);
    expect(sap.count({ idempotencyKey: key })).toBe(1);
    const notice = sap.created.find((r) => r.idempotencyKey === key)!;
    expect(notice.key).toBe(erpReference);
    // The notice names the order created at booking.
    expect(notice.body).toMatchObject({ ExternalReference: key, OrderReference: order });
    expect(await callRow(id, 'dispatched')).toMatchObject({ status: 'succeeded', attempts: 2, erp_reference: erpReference });
    await sap.idle();
  });

  it('a 400 validation error: not retryable, recorded as rejected with the ERP\'s message and the field at fault; nothing created', async () => {
    await connectErp(api.db, fields, company, sap);
    const id = await shipment('SAP400');
    const key = erpIdempotencyKey(id, 'booked');
    sap.program('DeliveryOrders', { status: 400, message: 'Material UN1203 is not defined in plant 1000', target: 'Items(1)/MaterialNumber' });
    const refused = await failure(sync(id, 'booked'));
    const message = 'SAP answered 400 to create DeliveryOrders: [SY/530] Material UN1203 is not defined in plant 1000; [SY/530] Material UN1203 is not defined in plant 1000 (at Items(1)/MaterialNumber); [/IWBEP/CX_MGW_BUSI_EXCEPTION] An exception was raised';
    expect(refused).toMatchObject({ type: 'ErpRejected', nonRetryable: true, message, details: [{ status: 400 }] });
    expect(await callRow(id, 'booked')).toMatchObject({ status: 'rejected', attempts: 1, erp_reference: null, last_error: message });
    expect(sap.count({ idempotencyKey: key })).toBe(0);
  });

  it('an expired CSRF token (403 x-csrf-token: Required) is fetched again once, and the order created once', async () => {
    await connectErp(api.db, fields, company, sap);
    const id = await shipment('SAPCSRF');
    const key = erpIdempotencyKey(id, 'booked');
    sap.program('DeliveryOrders', { csrfExpired: true });
    const from = sap.requests.length;
    const { erpReference } = await sync(id, 'booked');
    expect(sap.requests.slice(from).map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual(['GET / 200', 'POST /DeliveryOrders 403', 'GET / 200', 'POST /DeliveryOrders 201']);
    expect(sap.count({ idempotencyKey: key })).toBe(1);
    expect(sap.created.find((r) => r.idempotencyKey === key)?.key).toBe(erpReference);
  });

  it('wrong credentials: 401, not retryable, with what to check', async () => {
    await connectErp(api.db, fields, company, { ...sap, credentials: { type: 'basic', username: 'SAFESHIPPER_RFC', password: 'wrong' } });
    const id = await shipment('SAP401');
    const refused = await failure(sync(id, 'booked'));
    expect(refused).toMatchObject({ type: 'ErpRejected', nonRetryable: true, message: "SAP answered 401 to the CSRF token request: [/IWFND/CM_CONSUMER/401] Logon failed; [/IWBEP/CX_MGW_BUSI_EXCEPTION] An exception was raised (check the connection's credentials and the user's authorisations)" });
  });

  it('SAP OData v4: ISO dates, decimals as numbers, the key read from the entity id; a cancellation names the order', async () => {
    await connectErp(api.db, fields, company, sapV4);
    const id = await shipment('SAPV4');
    const { erpReference } = await sync(id, 'booked');
    const order = sapV4.created.find((r) => r.idempotencyKey === erpIdempotencyKey(id, 'booked'))!;
    expect(order.key).toBe(erpReference);
    expect(order.body).toMatchObject({ PlannedPickup: '2030-01-01T08:00:00.000Z', Items: [expect.objectContaining({ Quantity: 1200 })] });

    const cancellation = await sync(id, 'cancelled');
    const cancelled = sapV4.created.find((r) => r.idempotencyKey === erpIdempotencyKey(id, 'cancelled'))!;
    expect(cancelled).toMatchObject({ endpoint: 'OrderCancellations', key: cancellation.erpReference, body: { ExternalReference: erpIdempotencyKey(id, 'cancelled'), OrderReference: erpReference, CancelledAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) } });
  });

  it('REST: 503 then success → one order; a slow first answer → the retry is told the key is in progress (409, retried), then replayed the same order', async () => {
    await connectErp(api.db, fields, company, rest);
    const id = await shipment('REST');
    const booked = erpIdempotencyKey(id, 'booked');
    rest.program('/orders', { status: 503, message: 'maintenance window' });
    expect(await failure(sync(id, 'booked'))).toMatchObject({ type: 'ErpUnavailable', nonRetryable: false, message: 'the ERP answered 503 to POST /orders: maintenance window' });
    const { erpReference } = await sync(id, 'booked');
    expect(erpReference).toMatch(/^ERP-\d+$/);
    expect(rest.count({ idempotencyKey: booked })).toBe(1);
    expect(rest.created.find((r) => r.idempotencyKey === booked)?.body).toMatchObject({ idempotencyKey: booked, stage: 'booked', orderReference: null, shipment: { shipmentNumber: `ERP-${run}-REST`, items: [{ unNumber: 'UN1203', quantity: 1200, unit: 'L' }] } });

    const dispatched = erpIdempotencyKey(id, 'dispatched');
    rest.program('/dispatches', { delayMs: TIMEOUT_MS * 3 });
    expect(await failure(sync(id, 'dispatched'))).toMatchObject({ type: 'ErpUnavailable', message: expect.stringMatching(/did not answer within 700 ms$/) });
    expect(await failure(sync(id, 'dispatched'))).toMatchObject({ type: 'ErpUnavailable', message: 'the ERP answered 409 to POST /dispatches: a request with this Idempotency-Key is still being processed' });
    await rest.idle();
    const notice = await sync(id, 'dispatched');
    expect(rest.posts({ idempotencyKey: dispatched })).toBe(3);
    expect(rest.count({ idempotencyKey: dispatched })).toBe(1);
    expect(notice.erpReference).toBe(rest.created.find((r) => r.idempotencyKey === dispatched)!.key);
    expect(rest.created.find((r) => r.idempotencyKey === dispatched)!.body).toMatchObject({ orderReference: erpReference });
    expect(await callRow(id, 'dispatched')).toMatchObject({ status: 'succeeded', attempts: 3 });
  });

  it('no ERP connected, or the connection disabled: { erpReference: null }, nothing called, nothing recorded', async () => {
    const id = await shipment('NONE');
    await inTenant(api.db, company, (em) => em.execute('DELETE FROM erp_connections'));
    expect(await sync(id, 'booked')).toEqual({ erpReference: null });
    await connectErp(api.db, fields, company, rest, { enabled: false });
    const before = rest.requests.length;
    expect(await sync(id, 'booked')).toEqual({ erpReference: null });
    expect(rest.requests.length).toBe(before);
    expect(await callRow(id, 'booked')).toBeUndefined();
  });

  it('row-level security: another company sees none of these calls or connections, even asking for them by company', async () => {
    const seen = await inTenant(api.db, BOREAL, (em) =>
      em.execute<Array<{ calls: number; connections: number }>>('SELECT (SELECT count(*) FROM erp_calls WHERE company_id = ?)::int AS calls, (SELECT count(*) FROM erp_connections WHERE company_id = ?)::int AS connections', [company, company]),
    );
    expect(seen).toEqual([{ calls: 0, connections: 0 }]);
    const own = await inTenant(api.db, company, (em) => em.execute<Array<{ calls: number }>>('SELECT count(*)::int AS calls FROM erp_calls'));
    expect(own[0]!.calls).toBeGreaterThan(5);
  });

  it('the API: PUT connects (credentials sealed, never answered), GET reads, calls are listed page by page with what was sent, DELETE disconnects; a URL the platform must not call is 422', async () => {
    const admin = (method: string, path: string, body?: unknown, headers?: Record<string, string>) => api.call('boreal-admin', method, path, { ...(body !== undefined ? { body } : {}), ...(headers ? { headers } : {}) });
    const put = { kind: 'rest', baseUrl: rest.url, credentials: rest.credentials, settings: { referenceField: 'id' } };
    const created = await admin('PUT', '/api/v1/integrations/erp', put);
    expect(created.status).toBe(201);
    const connection = (await created.json()) as Record<string, unknown>;
    expect(connection).toEqual({
      id: expect.any(String),
      kind: 'rest',
      baseUrl: rest.url,
      enabled: true,
      settings: { paths: { booked: '/orders', dispatched: '/dispatches', delivered: '/deliveries', cancelled: '/cancellations' }, referenceField: 'id' },
      credentials: { type: 'bearer' },
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect(JSON.stringify(connection)).not.toContain((rest.credentials as { token: string }).token);
    const stored = await inTenant(api.db, BOREAL, (em) => em.execute<Array<{ credentials: string }>>('SELECT credentials FROM erp_connections'));
    expect(stored[0]!.credentials).toMatch(/^v2:/);
    expect(stored[0]!.credentials).not.toContain((rest.credentials as { token: string }).token);

    // Replacing without credentials keeps the stored ones; a stale If-Match is refused.
    const read = await admin('GET', '/api/v1/integrations/erp');
    expect(read.headers.get('etag')).toBe('"v1"');
    expect(await read.json()).toEqual(connection);
    expect((await admin('PUT', '/api/v1/integrations/erp', { ...put, credentials: undefined, enabled: true }, { 'If-Match': '"v7"' })).status).toBe(412);
    const replaced = await admin('PUT', '/api/v1/integrations/erp', { kind: 'rest', baseUrl: rest.url }, { 'If-Match': '"v1"' });
    expect(replaced.status).toBe(200);
    expect(await replaced.json()).toMatchObject({ credentials: { type: 'bearer' }, settings: { referenceField: 'id' } });

    // Refused destinations, and bodies of the wrong shape.
    const refused = async (body: unknown) => {
      const response = await admin('PUT', '/api/v1/integrations/erp', body);
      expect(response.status).toBe(422);
      return ((await response.json()) as { errors: Array<{ path: string; message: string }> }).errors;
    };
    expect(await refused({ kind: 'rest', baseUrl: 'http://erp.example.com/api' })).toEqual([{ path: 'baseUrl', message: 'must be an https: URL (http: only to a loopback host, for local testing)' }]);
    expect(await refused({ kind: 'sap-odata', baseUrl: 'https://10.0.0.8/sap/opu/odata/sap/Z_SRV' })).toEqual([{ path: 'baseUrl', message: 'must point at a public address: 10.0.0.8 is not a public address (private)' }]);
    expect(await refused({ kind: 'sap-odata', baseUrl: 'https://169.254.169.254/latest' })).toEqual([{ path: 'baseUrl', message: 'must point at a public address: 169.254.169.254 is not a public address (linkLocal)' }]);
    expect(await refused({ kind: 'sap-odata', baseUrl: 'https://erp.example.com/?sap-client=100' })).toEqual([{ path: 'baseUrl', message: 'must not have a query string' }]);
    expect(await refused({ kind: 'sap-odata', baseUrl: 'https://erp.example.com/', settings: { sapClient: '1000', entitySets: { booked: 'Orders/../x' } } })).toEqual([
      { path: 'settings.entitySets.booked', message: 'must be a name of letters, digits and underscores' },
      { path: 'settings.sapClient', message: 'must be three digits' },
    ]);
    expect(await refused({ kind: 'rest', baseUrl: 'https://erp.example.com/', credentials: { type: 'basic', username: 'a:b', password: 'x' } })).toEqual([{ path: 'credentials.username', message: 'must not contain a colon' }]);

    // Three calls for a Boreal shipment, listed newest first over two pages, with what was sent.
    const shipmentId = await shipment('API', BOREAL);
    for (const stage of ['booked', 'dispatched', 'delivered'] as const) await sync(shipmentId, stage, BOREAL);
    const first = (await (await admin('GET', `/api/v1/integrations/erp/calls?shipmentId=${shipmentId}&limit=2`)).json()) as { items: Array<Record<string, unknown>>; nextCursor: string };
    expect(first.items.map((c) => c.stage)).toEqual(['delivered', 'dispatched']);
    const second = (await (await admin('GET', `/api/v1/integrations/erp/calls?shipmentId=${shipmentId}&limit=2&cursor=${first.nextCursor}`)).json()) as { items: Array<Record<string, unknown>>; nextCursor: string | null };
    expect(second).toEqual({
      items: [
        {
          id: expect.any(String),
          shipmentId,
          stage: 'booked',
          idempotencyKey: erpIdempotencyKey(shipmentId, 'booked'),
          kind: 'rest',
          status: 'succeeded',
          attempts: 1,
          erpReference: expect.stringMatching(/^ERP-\d+$/),
          lastError: null,
          request: expect.objectContaining({ stage: 'booked', idempotencyKey: erpIdempotencyKey(shipmentId, 'booked') }),
          createdAt: expect.any(String),
          updatedAt: expect.any(String),
          completedAt: expect.any(String),
        },
      ],
      nextCursor: null,
    });
    expect((await admin('GET', '/api/v1/integrations/erp/calls?stage=shipped')).status).toBe(400);
    expect((await api.call('boreal-manager', 'GET', '/api/v1/integrations/erp')).status).toBe(403);

    // Audited, without the credentials.
    const audit = (await (await admin('GET', `/api/v1/audit-log?entityType=erp_connection&entityId=${connection.id}`)).json()) as { items: Array<{ action: string; after: unknown }> };
    expect(audit.items.map((e) => e.action)).toEqual(['update', 'create']);
    expect(JSON.stringify(audit.items)).not.toContain((rest.credentials as { token: string }).token);
    expect(audit.items.map((e) => (e.after as { credentialsChanged: boolean }).credentialsChanged)).toEqual([false, true]);

    expect((await admin('DELETE', '/api/v1/integrations/erp')).status).toBe(204);
    expect((await admin('GET', '/api/v1/integrations/erp')).status).toBe(404);
    expect((await admin('DELETE', '/api/v1/integrations/erp')).status).toBe(404);
    // The record of what was sent outlives the connection.
    expect(((await (await admin('GET', `/api/v1/integrations/erp/calls?shipmentId=${shipmentId}`)).json()) as { items: unknown[] }).items).toHaveLength(3);
  });
});
