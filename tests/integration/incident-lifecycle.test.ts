import { randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { SMTPServer } from 'smtp-server';
import { keycloakDirectory, notificationActivities } from '../../activities/notifications.js';
import { commitTelemetry } from '../../db/telemetry.js';
import { keycloakAdminFromConfig } from '../../identity/keycloak-admin.js';
import { notificationChannels } from '../../integrations/notifications/index.js';
import { fieldEncryptionFromConfig } from '../../security/field-encryption.js';
import { inTenant } from '../../db/orm.js';
import { incidentWorkflowId } from '../../workflows/contracts/incident.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { ACME, silentLog, testConfig, testEnv } from '../support/stack.js';

interface Received {
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
}

/** A small HTTP server playing an outside system: `answer` decides each reply. */
async function httpServer(answer: (request: Received, n: number, res: ServerResponse) => void): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
    req.on('end', () => {
      const request = { headers: req.headers, body: JSON.parse(raw) as Record<string, unknown> };
      received.push(request);
      answer(request, received.length, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, received, server };
}
const reply = (res: ServerResponse, status: number, body: unknown) => res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));

async function eventually<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value).slice(0, 500)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * Incident response through the API, on the stack's Temporal dev server with a worker of its own
 * (a task queue prefix of this file's, so no other file's worker takes its workflows): the mail
 * server, the SMS gateway, the webhook receiver and the government's incident API are small local
 * servers; the product knows only their URLs.
 */
describe('incident response through the API', () => {
  const run = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`.toUpperCase();
  const sink = join(tmpdir(), `safeshipper-incidents-${run}.jsonl`);
  const mails: Array<{ to: string[]; raw: string }> = [];
  let smtp: SMTPServer;
  let sms: Awaited<ReturnType<typeof httpServer>>;
  let webhook: Awaited<ReturnType<typeof httpServer>>;
  let government: Awaited<ReturnType<typeof httpServer>>;
  /** Phone numbers the SMS gateway refuses once (503) before accepting. */
  const failOnce = new Set<string>();
  /** What the authority has filed, by idempotency key. */
  const filed = new Map<string, string>();
  let api: TestApi;
  let overrides: Record<string, string>;
  let connection: Connection;
  let client: Client;
  const contacts = [
    { name: `Inc ${run} Fire Warden`, phone: `+61 3 9${String(Date.now()).slice(-6)} 1`.slice(0, 20), email: `warden-${run.toLowerCase()}@example.test` },
    { name: `Inc ${run} Depot Lead`, phone: `+61 3 9${String(Date.now()).slice(-6)} 2`.slice(0, 20), email: `lead-${run.toLowerCase()}@example.test` },
  ];

  beforeAll(async () => {
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onData(stream, session, callback) {
        let raw = '';
        stream.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
        stream.on('end', () => {
          mails.push({ to: session.envelope.rcptTo.map((r) => r.address), raw });
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    sms = await httpServer((request, _, res) => (failOnce.delete(String(request.body.to)) ? reply(res, 503, { error: 'gateway busy' }) : reply(res, 202, { queued: true })));
    webhook = await httpServer((_, __, res) => reply(res, 204, null));
    // The authority: the first attempt fails, the second is filed but answered too late, the third gets the filing back.
    government = await httpServer((request, n, res) => {
      const key = String(request.headers['idempotency-key']);
      if (n === 1) return reply(res, 500, { error: 'try later' });
      if (!filed.has(key)) filed.set(key, `NRC-${1000 + filed.size}`);
      if (n === 2) return void setTimeout(() => reply(res, 201, { reference: filed.get(key) }), 1_500);
      reply(res, 201, { reference: filed.get(key) });
    });
    overrides = {
        TEMPORAL_TASK_QUEUE_PREFIX: `${testEnv().TEMPORAL_TASK_QUEUE_PREFIX}incidents-`,
        NOTIFY_SMTP_URL: `smtp://127.0.0.1:${(smtp.server.address() as AddressInfo).port}`,
        NOTIFY_SMS_URL: sms.url,
        NOTIFY_WEBHOOK_URL: webhook.url,
        NOTIFY_FILE_SINK: sink,
        GOVERNMENT_INCIDENT_API_URL: government.url,
        GOVERNMENT_INCIDENT_API_TIMEOUT_MS: '500',
    };
    api = await startTestApi(overrides, { workflows: inject('workflowBundle'), contexts: ['incidents'] });
    const config = testConfig();
    connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
    client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
    for (const contact of contacts) expect((await api.call('acme-manager', 'POST', '/api/v1/emergency-contacts', { body: { ...contact, available24h: true } })).status).toBe(201);
  });
  afterAll(async () => {
    await connection?.close();
    await api?.close();
    await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()));
    for (const server of [sms, webhook, government]) server?.server.close();
    await rm(sink, { force: true });
  });

  const json = async (response: Response, status: number) => {
    const body = (await response.json()) as Record<string, unknown>;
    expect({ status: response.status, body }).toMatchObject({ status, body: {} });
    return body;
  };
  const post = (username: string, path: string, body?: unknown) => api.call(username, 'POST', path, body === undefined ? {} : { body });
  type Detail = { status: string; enrichment: { dangerousGoods: Array<{ unNumber: string }>; vehicleId: string; lastPosition: unknown } | null; workflow: { notified: unknown[]; governmentReport: { reference: string | null } | null; timeline: Array<{ event: string; status: string; by: string | null; detail: string | null }> } | null };
  const detail = async (id: string) => (await json(await api.call('acme-viewer', 'GET', `/api/v1/incidents/${id}`), 200)) as unknown as Detail;

  async function loadedShipment() {
    const vehicle = await json(await api.call('acme-manager', 'POST', '/api/v1/vehicles', { body: { registration: `I${run}`.slice(-12), vehicleType: 'TANKER', capacityKg: 20000 } }), 201);
    const shipment = await json(
      await post('acme-operator', '/api/v1/shipments', {
        shipmentNumber: `INC-TEST-${run}`.slice(0, 32),
        origin: { address: 'Altona VIC', location: [144.83, -37.87] },
        destination: { address: 'Geelong VIC', location: [144.36, -38.15] },
        pickupAt: '2030-01-01T08:00:00Z',
        deliverBy: '2030-01-01T12:00:00Z',
        vehicleId: vehicle.id,
      }),
      201,
    );
    const [dg] = await api.db.em.fork().execute<Array<{ id: string }>>("SELECT id FROM dangerous_goods WHERE un_number = 'UN1203' AND withdrawn_at IS NULL ORDER BY row_index LIMIT 1");
    await json(await post('acme-operator', `/api/v1/shipments/${shipment.id}/consignment-items`, { dangerousGoodId: dg!.id, quantity: 12000, unit: 'L' }), 201);
    // The vehicle's tracker reported a minute ago.
    const recordedAt = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
    await commitTelemetry(api.db, [{ companyId: ACME, deviceId: crypto.randomUUID(), vehicleId: vehicle.id as string, recordedAt, lat: -37.9, lon: 144.7, speedKmh: 0, headingDeg: null, sequence: 0, accuracyM: null, sensors: {} }]);
    return { shipmentId: shipment.id as string, shipmentNumber: shipment.shipmentNumber as string, vehicleId: vehicle.id as string, recordedAt: recordedAt.toISOString() };
  }

  it('report → row → enriched → notified by mail, SMS, webhook and file → acknowledge → start-response → resolve → close, with who and when', async () => {
    const load = await loadedShipment();
    const reported = await post('acme-driver', '/api/v1/incidents', { kind: 'LEAK', severity: 'HIGH', description: 'Petrol weeping from the rear valve', shipmentId: load.shipmentId, location: { lat: -37.91, lon: 144.71 } });
    const incident = await json(reported, 201);
    const id = incident.id as string;
    expect(reported.headers.get('location')).toBe(`/api/v1/incidents/${id}`);
    expect(incident).toMatchObject({ status: 'REPORTED', severity: 'HIGH', kind: 'LEAK', source: 'api', shipmentId: load.shipmentId, reportedBy: { username: 'acme-driver' }, location: { lat: -37.91, lon: 144.71 } });
    const number = incident.incidentNumber as string;
    expect(number).toMatch(/^INC-\d{5}$/);
    // The row is there when the API answers.
    const [row] = await inTenant(api.db, ACME, (em) => em.execute<Array<{ incident_number: string; status: string }>>('SELECT incident_number, status FROM incidents WHERE id = ?', [id]));
    expect(row).toEqual({ incident_number: number, status: 'REPORTED' });

    // Enriched from the catalogue and the tracker, then the emergency contacts notified.
    const enriched = await eventually('notified', () => detail(id), (d) => (d.workflow?.notified.length ?? 0) > 0);
    expect(enriched.enrichment).toMatchObject({ vehicleId: load.vehicleId, shipmentNumbers: [load.shipmentNumber], lastPosition: { lat: -37.9, lon: 144.7, recordedAt: load.recordedAt } });
    expect(enriched.enrichment!.dangerousGoods).toEqual([
      expect.objectContaining({ unNumber: 'UN1203', hazardClass: '3', packingGroup: 'II', quantity: 12000, unit: 'L', citation: '49 CFR 172.101', guidance: expect.stringMatching(/^UN1203 .*: class 3 \(flammable liquid\); packing group II/) }),
    ]);
    const mine = (address: string) => mails.filter((m) => m.to.includes(address) && m.raw.includes(number));
    for (const contact of contacts) {
      const [mail, ...more] = mine(contact.email);
      expect(more).toEqual([]);
      expect(mail!.raw).toMatch(new RegExp(`^Subject: \\[HIGH\\] ${number} LEAK: reported$`, 'm'));
      const texts = sms.received.filter((r) => r.body.to === contact.phone && String(r.body.text).includes(number));
      expect(texts).toHaveLength(1);
      expect(texts[0]!.headers['idempotency-key']).toBe(texts[0]!.body.reference);
    }
    const hooks = webhook.received.filter((r) => String(r.body.subject).includes(number));
    expect(hooks).toHaveLength(1);
    expect(hooks[0]!.body).toMatchObject({ type: 'safeshipper.notification', companyId: ACME, audience: 'emergency-contacts', idempotencyKey: `incident-${id}:reported` });
    expect(hooks[0]!.body.recipients).toEqual(expect.arrayContaining(contacts.map((c) => c.name)));
    const lines = (await readFile(sink, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { to: { email: string }; idempotencyKey: string });
    for (const contact of contacts) expect(lines.filter((l) => l.to.email === contact.email && l.idempotencyKey === `incident-${id}:reported`)).toHaveLength(1);

    // The response, by emergency coordination; closing before it is resolved is refused and changes nothing.
    expect(await json(await post('acme-manager', `/api/v1/incidents/${id}/acknowledge`), 200)).toMatchObject({ status: 'ACKNOWLEDGED' });
    expect(await json(await post('acme-admin', `/api/v1/incidents/${id}/start-response`), 200)).toMatchObject({ status: 'RESPONDING' });
    const refused = await post('acme-manager', `/api/v1/incidents/${id}/close`);
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    expect(await json(refused, 409)).toMatchObject({ detail: 'cannot close an incident that is RESPONDING; close is allowed only from RESOLVED' });
    expect((await json(await post('acme-manager', `/api/v1/incidents/${id}/resolve`, {}), 422)).errors).toEqual([{ path: 'resolution', message: expect.any(String) }]);
    expect(await json(await post('acme-manager', `/api/v1/incidents/${id}/resolve`, { resolution: 'Valve replaced; 15 L absorbed and disposed of' }), 200)).toMatchObject({ status: 'RESOLVED' });
    expect(await json(await post('acme-manager', `/api/v1/incidents/${id}/close`), 200)).toMatchObject({ status: 'CLOSED' });
    expect(await json(await post('acme-manager', `/api/v1/incidents/${id}/acknowledge`), 409)).toMatchObject({ detail: 'cannot acknowledge an incident that is CLOSED; acknowledge is allowed only from REPORTED' });

    const closed = (await json(await api.call('acme-viewer', 'GET', `/api/v1/incidents/${id}`), 200)) as Record<string, { by: { username: string }; at: string; resolution?: string } | unknown>;
    expect(closed).toMatchObject({
      status: 'CLOSED',
      acknowledged: { by: { username: 'acme-manager' } },
      responding: { by: { username: 'acme-admin' } },
      resolved: { by: { username: 'acme-manager' }, resolution: 'Valve replaced; 15 L absorbed and disposed of' },
      closed: { by: { username: 'acme-manager' } },
      serious: false,
      governmentReport: null,
    });
    const steps = ['acknowledged', 'responding', 'resolved', 'closed'].map((s) => Date.parse((closed[s] as { at: string }).at));
    expect([...steps].sort((a, b) => a - b)).toEqual(steps);
    const timeline = (closed.workflow as Detail['workflow'])!.timeline;
    expect(timeline.map((e) => `${e.event}:${e.status}:${e.by}`)).toEqual([
      'report:REPORTED:acme-driver',
      'enrich:REPORTED:null',
      'notify:REPORTED:null',
      'acknowledge:ACKNOWLEDGED:acme-manager',
      'start-response:RESPONDING:acme-admin',
      'resolve:RESOLVED:acme-manager',
      'close:CLOSED:acme-manager',
    ]);

    // Each change is in the company's audit chain with who did it.
    const audit = await inTenant(api.db, ACME, (em) => em.execute<Array<{ action: string; actor_username: string | null }>>('SELECT action, actor_username FROM audit_log WHERE entity_id = ? ORDER BY id', [id]));
    expect(audit.map((a) => `${a.action}:${a.actor_username}`)).toEqual(['create:acme-driver', 'incident.acknowledge:acme-manager', 'incident.start-response:acme-admin', 'incident.resolve:acme-manager', 'incident.close:acme-manager']);

    // The workflow completed; operations staff find it by its business keys.
    const handle = client.workflow.getHandle(incidentWorkflowId(id));
    expect(await handle.result()).toMatchObject({ status: 'CLOSED', incidentNumber: number });
    const found = [];
    // Numbers start again with each run's fresh database: the run's own task queue tells this run's workflows from earlier runs'.
    for await (const execution of client.workflow.list({ query: `IncidentNumber='${number}' AND CompanyId='${ACME}' AND TaskQueue='${overrides.TEMPORAL_TASK_QUEUE_PREFIX}incidents'` })) found.push(execution);
    expect(found.map((e) => [e.workflowId, e.searchAttributes.IncidentStatus, e.searchAttributes.IncidentSeverity, e.searchAttributes.ShipmentNumber, e.searchAttributes.VehicleId])).toEqual([
      [incidentWorkflowId(id), ['CLOSED'], ['HIGH'], [load.shipmentNumber], [load.vehicleId]],
    ]);
  });

  it('files a serious incident with the authority exactly once, through a 500 and a timeout, with one idempotency key', async () => {
    const reported = await json(
      await post('acme-driver', '/api/v1/incidents', { kind: 'COLLISION', severity: 'HIGH', description: 'Tanker rolled after a collision; driver of the car killed', consequences: { fatalities: 1, hospitalised: 1 } }),
      201,
    );
    const id = reported.id as string;
    const done = await eventually('filed', () => detail(id), (d) => Boolean(d.workflow?.governmentReport?.reference));
    const key = `safeshipper-incident-${id}`;
    expect(government.received.map((r) => r.headers['idempotency-key'])).toEqual([key, key, key]);
    expect([...filed]).toEqual([[key, 'NRC-1000']]);
    expect(government.received[0]!.body).toMatchObject({ reporterReference: reported.incidentNumber, kind: 'COLLISION', consequences: { fatalities: 1, hospitalised: 1 } });
    expect(done.workflow!.timeline.find((e) => e.event === 'government-report')!.detail).toBe('filed, reference NRC-1000');
    const row = (await json(await api.call('acme-viewer', 'GET', `/api/v1/incidents/${id}`), 200)) as { serious: boolean; reportingCriteria: Array<{ criterion: string }>; governmentReport: { reference: string } };
    expect(row.serious).toBe(true);
    expect(row.reportingCriteria.map((c) => c.criterion)).toEqual(['fatality', 'hospitalisation']);
    expect(row.governmentReport.reference).toBe('NRC-1000');
    // Walked to CLOSED so the workflow ends here.
    for (const [verb, body] of [['start-response'], ['resolve', { resolution: 'Scene cleared by the fire brigade' }], ['close']] as const) expect((await post('acme-manager', `/api/v1/incidents/${id}/${verb}`, body)).status).toBe(200);
    expect(government.received).toHaveLength(3);
  });

  it('refuses what it must: bad bodies 400/422, a shipment not in the company 422, another company 404, a driver responding 403; lists page by cursor', async () => {
    expect((await json(await post('acme-driver', '/api/v1/incidents', { kind: 'METEOR', severity: 'HIGH', description: 'x', extra: 1 }), 422)).errors).toEqual([
      { path: 'kind', message: expect.any(String) },
      { path: 'extra', message: 'is not a recognised field' },
    ]);
    expect((await api.call('acme-driver', 'POST', '/api/v1/incidents', { body: '{"kind":' })).status).toBe(400);
    const unknownShipment = crypto.randomUUID();
    expect((await json(await post('acme-driver', '/api/v1/incidents', { kind: 'FIRE', severity: 'LOW', description: 'smoke', shipmentId: unknownShipment }), 422)).errors).toEqual([{ path: 'shipmentId', message: 'no such shipment in your company' }]);
    expect(await inTenant(api.db, ACME, (em) => em.execute('SELECT 1 FROM incidents WHERE shipment_id = ?', [unknownShipment]))).toEqual([]);

    const first = await json(await post('acme-driver', '/api/v1/incidents', { kind: 'BREAKDOWN', severity: 'LOW', description: 'flat tyre, load secure' }), 201);
    const second = await json(await post('acme-driver', '/api/v1/incidents', { kind: 'OTHER', severity: 'LOW', description: 'placard missing on arrival', occurredAt: '2026-11-29T22:00:00+10:00' }), 201);
    expect(second.occurredAt).toBe('2026-11-29T12:00:00.000Z');
    for (const [username, method, path] of [
      ['boreal-manager', 'GET', `/api/v1/incidents/${first.id}`],
      ['boreal-manager', 'POST', `/api/v1/incidents/${first.id}/acknowledge`],
    ] as const) expect((await api.call(username, method, path)).status).toBe(404);
    expect((await post('acme-driver', `/api/v1/incidents/${first.id}/acknowledge`)).status).toBe(403);
    expect((await api.call('boreal-viewer', 'GET', '/api/v1/incidents?limit=100').then((r) => r.text())).includes(first.id as string)).toBe(false);

    const page1 = await json(await api.call('acme-viewer', 'GET', '/api/v1/incidents?limit=1&severity=LOW'), 200);
    expect((page1.items as Array<{ id: string }>).map((i) => i.id)).toEqual([second.id]);
    const page2 = await json(await api.call('acme-viewer', 'GET', `/api/v1/incidents?limit=1&severity=LOW&cursor=${page1.nextCursor as string}`), 200);
    expect((page2.items as Array<{ id: string }>).map((i) => i.id)).toEqual([first.id]);
    expect((await api.call('acme-viewer', 'GET', '/api/v1/incidents?cursor=nonsense')).status).toBe(400);
    for (const incident of [first, second]) {
      for (const [verb, body] of [['start-response'], ['resolve', { resolution: 'dealt with' }], ['close']] as const) expect((await post('acme-manager', `/api/v1/incidents/${incident.id}/${verb}`, body)).status).toBe(200);
    }
  });

  it('notifyCompany: managers from Keycloak by e-mail; a retry after a failed SMS sends only what was not accepted', async () => {
    const config = testConfig(overrides);
    const { notifyCompany } = notificationActivities({ db: api.db, fields: fieldEncryptionFromConfig(config), channels: notificationChannels(config), directory: keycloakDirectory(keycloakAdminFromConfig(config)), log: silentLog });
    const activity = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR', () => undefined) });
    const key = `test-${run}-managers`;
    const managers = { companyId: ACME, audience: 'managers' as const, subject: `Drill ${run}`, text: 'A drill: no action needed', idempotencyKey: key };
    const first = await activity.run(notifyCompany, managers);
    const twice = await activity.run(notifyCompany, managers);
    expect(twice).toEqual(first);
    const drill = mails.filter((m) => m.raw.includes(`Subject: Drill ${run}`));
    for (const address of ['acme-manager@demo.safeshipper.test', 'acme-admin@demo.safeshipper.test']) expect(drill.filter((m) => m.to.includes(address))).toHaveLength(1);
    expect(drill.filter((m) => m.to.includes('acme-viewer@demo.safeshipper.test') || m.to.includes('acme-driver@demo.safeshipper.test'))).toEqual([]);

    // The gateway refuses one contact's SMS: the attempt fails after sending the rest; the retry sends that one only.
    const contactsKey = `test-${run}-contacts`;
    const request = { ...managers, audience: 'emergency-contacts' as const, subject: `Drill ${run} contacts`, idempotencyKey: contactsKey };
    failOnce.add(contacts[1]!.phone);
    await expect(activity.run(notifyCompany, request)).rejects.toThrow(/deliveries failed .*sms to contact:/);
    await activity.run(notifyCompany, request);
    const texts = (phone: string) => sms.received.filter((r) => r.body.to === phone && String(r.body.text).startsWith(`Drill ${run} contacts`));
    expect(texts(contacts[0]!.phone)).toHaveLength(1);
    // Refused once (never accepted), then accepted once: two requests, one message delivered.
    expect(texts(contacts[1]!.phone).map((r) => r.headers['idempotency-key'])).toEqual([expect.any(String), texts(contacts[1]!.phone)[0]!.headers['idempotency-key']]);
    for (const contact of contacts) expect(mails.filter((m) => m.to.includes(contact.email) && m.raw.includes(`Subject: Drill ${run} contacts`))).toHaveLength(1);
  });
});
