import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validate } from '@readme/openapi-parser';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import * as formats from 'ajv-formats';
import { ROUTE_POLICY, type PolicyRoute } from '../../domain/policy.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { ACME, BOREAL, testConfig } from '../support/stack.js';

// ajv-formats is CommonJS: imported from ESM, its plugin function is the namespace's default.
const addFormats = formats.default as unknown as (ajv: Ajv2020) => Ajv2020;

type Json = Record<string, unknown>;
interface Operation extends Json {
  operationId: string;
  summary: string;
  description: string;
  security?: Array<Record<string, string[]>>;
  parameters?: Array<Json & { $ref?: string; name?: string; in?: string; required?: boolean }>;
  responses: Record<string, Json & { $ref?: string }>;
  'x-permission'?: string;
}
interface Document extends Json {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, Json>; responses: Record<string, Json>; headers: Record<string, Json & { required?: boolean }>; parameters: Record<string, Json & { name: string; required?: boolean }> };
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const template = (pattern: string) => pattern.replace(/:(\w+)/g, '{$1}');
const pointer = (...segments: string[]) => segments.map((s) => encodeURIComponent(s.replace(/~/g, '~0').replace(/\//g, '~1'))).join('/');

/** Every (route, operation) of the document, keyed like the policy table. */
function operations(doc: Document): Array<[string, Operation]> {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, op]) => [`${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`, op] as [string, Operation]),
  );
}

/**
 * The document's schemas, closed: an object answer with a field the contract does not name fails,
 * so a view that grows (or a description that drifts) is caught against the real API.
 */
function closed(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(closed);
  if (value === null || typeof value !== 'object') return value;
  const out = Object.fromEntries(Object.entries(value).map(([key, child]) => [key, closed(child)]));
  if (out.properties && typeof out.properties === 'object' && out.additionalProperties === undefined && out.allOf === undefined) out.additionalProperties = false;
  return out;
}

describe('the OpenAPI contract', () => {
  let api: TestApi;
  let doc: Document;
  let ajv: Ajv2020;

  beforeAll(async () => {
    api = await startTestApi();
    const response = await fetch(`${api.base}/api/v1/openapi.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    doc = (await response.json()) as Document;
    ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    // RFC 3339 as written (a `T`, an offset with minutes): ajv-formats also takes PostgreSQL's `2026-01-01 10:00:00+00`, which clients do not.
    ajv.addFormat('date-time', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)$/);
    ajv.addSchema(closed(doc) as Json, 'openapi.json');
  });
  afterAll(async () => {
    await api?.close();
  });

  const compiled = new Map<string, ValidateFunction>();
  const schemaAt = (ref: string) => {
    if (!compiled.has(ref)) compiled.set(ref, ajv.compile({ $ref: `openapi.json#/${ref}` }));
    return compiled.get(ref)!;
  };

  /** The real answer matches what the contract documents for it: status, media type, body schema, required headers. */
  async function conforms(route: PolicyRoute, response: Response): Promise<unknown> {
    const [method, pattern] = route.split(' ') as [string, string];
    const path = template(pattern);
    const op = doc.paths[path]?.[method.toLowerCase()];
    expect(op, route).toBeDefined();
    const status = String(response.status);
    let documented = op!.responses[status];
    expect(documented, `${route} answered ${status} (${await response.clone().text()}), which it does not document`).toBeDefined();
    let at = pointer('paths', path, method.toLowerCase(), 'responses', status);
    if (documented!.$ref) {
      const name = documented!.$ref.split('/').pop()!;
      documented = doc.components.responses[name] as Json;
      at = pointer('components', 'responses', name);
    }
    for (const [name, header] of Object.entries((documented!.headers ?? {}) as Record<string, { $ref: string }>)) {
      const definition = doc.components.headers[header.$ref.split('/').pop()!]!;
      if (definition.required) expect(response.headers.get(name), `${route} ${status}: header ${name}`).not.toBeNull();
    }
    const content = documented!.content as Record<string, unknown> | undefined;
    if (!content) {
      expect(await response.text(), `${route} ${status} documents no body`).toBe('');
      return undefined;
    }
    const [mediaType] = Object.keys(content) as [string];
    expect(response.headers.get('content-type'), `${route} ${status}`).toContain(mediaType);
    const body: unknown = await response.json();
    const check = schemaAt(`${at}/${pointer('content', mediaType, 'schema')}`);
    expect(check(body) ? [] : check.errors, `${route} ${status}: ${JSON.stringify(body).slice(0, 400)}`).toEqual([]);
    return body;
  }

  it('is a valid OpenAPI 3.1 document', async () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    const result = await validate(structuredClone(doc) as never);
    expect(result.valid ? [] : result.errors).toEqual([]);
    expect(result.warnings).toEqual([]);
  });

  it('writes regular expressions a JSON Schema validator reads as the API does (no trailing /flags)', () => {
    const patterns: string[] = [];
    const walk = (value: unknown): void => {
      if (Array.isArray(value)) value.forEach(walk);
      else if (value && typeof value === 'object') {
        for (const [key, child] of Object.entries(value)) {
          if (key === 'pattern' && typeof child === 'string') patterns.push(child);
          else walk(child);
        }
      }
    };
    walk(doc);
    expect(patterns.length).toBeGreaterThan(5);
    for (const pattern of patterns) expect(() => new RegExp(pattern, 'u'), pattern).not.toThrow();
    expect(patterns.filter((pattern) => /[^\\]\/[dgimsuvy]+$/.test(pattern))).toEqual([]);
    // The load's case-insensitive UN number, spelt out.
    const load = doc.components as unknown as { schemas: { Load: { properties: { items: { items: { properties: { unNumber: { pattern: string } } } } } } } };
    const un = new RegExp(load.schemas.Load.properties.items.items.properties.unNumber.pattern, 'u');
    expect(['UN1203', 'un1203', ' Na 1993 ', 'id8000'].map((s) => un.test(s))).toEqual([true, true, true, true]);
    expect(['XX1203', 'UN12034'].map((s) => un.test(s))).toEqual([false, false]);
  });

  it('has exactly the routes of the policy table', () => {
    expect(operations(doc).map(([key]) => key).sort()).toEqual(Object.keys(ROUTE_POLICY).sort());
  });

  it('names each operation, its permission and its security; every one documents 401 and 403 as problem details', () => {
    const issuer = testConfig().OIDC_ISSUER;
    expect(doc.components.securitySchemes.keycloak).toMatchObject({ type: 'openIdConnect', openIdConnectUrl: `${issuer}/.well-known/openid-configuration` });
    expect(doc.components.securitySchemes.bearerToken).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
    const problems: string[] = [];
    for (const [key, op] of operations(doc)) {
      const requirement = ROUTE_POLICY[key as PolicyRoute];
      if (!op.summary || !op.operationId) problems.push(`${key}: no summary or operationId`);
      if (op['x-permission'] !== requirement) problems.push(`${key}: x-permission ${op['x-permission']}, policy says ${requirement}`);
      if (!op.description.includes(requirement === 'platform_staff' ? 'PLATFORM_STAFF' : requirement === 'authenticated' ? 'Any role' : `\`${requirement}\``)) problems.push(`${key}: description does not name the permission`);
      if (!op.security?.length || op.security.some((entry) => Object.keys(entry).some((scheme) => !doc.components.securitySchemes[scheme]))) problems.push(`${key}: no security, or an undefined scheme`);
      for (const status of ['401', '403']) {
        const response = op.responses[status];
        const resolved = response?.$ref ? doc.components.responses[response.$ref.split('/').pop()!] : response;
        if (!(resolved?.content as Json | undefined)?.['application/problem+json']) problems.push(`${key}: no ${status} problem+json answer`);
      }
    }
    expect(problems).toEqual([]);
    expect(doc.components.responses.TooManyRequests).toBeDefined();
  });

  it('documents the concurrency and retry headers: If-Match on PATCH, Idempotency-Key on creates, ETag and Location', () => {
    const ref = (name: string) => `#/components/parameters/${name}`;
    expect(doc.components.parameters.IfMatch).toMatchObject({ name: 'If-Match', in: 'header', required: true });
    expect(doc.components.parameters.IdempotencyKey).toMatchObject({ name: 'Idempotency-Key', in: 'header', required: false });
    const patchesWithoutIfMatch: string[] = [];
    for (const [key, op] of operations(doc)) {
      const params = (op.parameters ?? []).map((p) => p.$ref);
      const [method] = key.split(' ');
      const success = Object.entries(op.responses).find(([status]) => status.startsWith('2'))!;
      const headers = Object.keys((success[1].headers ?? {}) as Json);
      if (method === 'PATCH' && !params.includes(ref('IfMatch'))) patchesWithoutIfMatch.push(key);
      if (method === 'PATCH' && params.includes(ref('IfMatch'))) expect(Object.keys(op.responses), key).toEqual(expect.arrayContaining(['412', '428']));
      if (success[0] === '201') expect(headers, key).toContain('Location');
      if (success[0] === '201' && headers.includes('ETag')) expect(headers, key).toContain('Location');
      if (params.includes(ref('IdempotencyKey'))) expect([method, success[0], headers], key).toEqual(['POST', '201', expect.arrayContaining(['Location', 'ETag', 'Idempotent-Replayed'])]);
    }
    // The two PATCHes outside the generic collections take no If-Match (and say so).
    expect(patchesWithoutIfMatch.sort()).toEqual(['PATCH /api/v1/company', 'PATCH /api/v1/users/:id']);
    // Every collection create accepts an Idempotency-Key; device provisioning (a secret shown once) does not.
    const withKey = operations(doc).filter(([, op]) => (op.parameters ?? []).some((p) => p.$ref === ref('IdempotencyKey'))).map(([key]) => key);
    expect(withKey.sort()).toEqual(
      [
        'POST /api/v1/vehicles',
        'POST /api/v1/drivers',
        'POST /api/v1/drivers/:driverId/training-records',
        'POST /api/v1/geofences',
        'POST /api/v1/emergency-contacts',
        'POST /api/v1/shipments',
        'POST /api/v1/shipments/:shipmentId/consignment-items',
        'POST /api/v1/incidents',
      ].sort(),
    );
  });

  const callAs =
    (username: string) =>
    async (route: PolicyRoute, url: string, options?: { body?: unknown; headers?: Record<string, string> }): Promise<{ body: unknown; response: Response }> => {
      const response = await api.call(username, route.split(' ')[0]!, url, options);
      return { response, body: await conforms(route, response.clone()) };
    };

  it('describes what the read routes and the DG rules really answer', async () => {
    const viewer = callAs('acme-viewer');
    await viewer('GET /api/v1/me', '/api/v1/me');
    await viewer('GET /api/v1/company', '/api/v1/company');
    await viewer('GET /api/v1/geofences/nearby', '/api/v1/geofences/nearby?lon=144.7689&lat=-37.8591&radiusM=100');
    const catalogue = (await viewer('GET /api/v1/dangerous-goods', '/api/v1/dangerous-goods?search=gasoline&limit=3')).body as { items: Array<{ id: string }> };
    expect(catalogue.items.length).toBeGreaterThan(0);
    await viewer('GET /api/v1/dangerous-goods/:id', `/api/v1/dangerous-goods/${catalogue.items[0]!.id}`);
    await viewer('GET /api/v1/dangerous-goods/by-un/:un', '/api/v1/dangerous-goods/by-un/UN1203');
    await viewer('POST /api/v1/dangerous-goods/check-compatibility', '/api/v1/dangerous-goods/check-compatibility', { body: { items: [{ unNumber: 'UN1017' }, { unNumber: 'UN1479', packingGroup: 'II' }, { unNumber: 'UN1203' }] } });
    await viewer('POST /api/v1/dangerous-goods/placards', '/api/v1/dangerous-goods/placards?regime=adg', { body: { items: [{ unNumber: 'UN1203', quantity: 1000, unit: 'L' }] } });
    await viewer('POST /api/v1/dangerous-goods/placards', '/api/v1/dangerous-goods/placards?regime=49cfr', { body: { items: [{ unNumber: 'UN1017', quantity: 500, unit: 'kg' }, { unNumber: 'UN1203' }] } });
    const geofences = (await viewer('GET /api/v1/geofences', '/api/v1/geofences?limit=50&order=name')).body as { items: Array<{ id: string }> };
    await viewer('GET /api/v1/geofences/:id', `/api/v1/geofences/${geofences.items[0]!.id}`);
    const devices = (await viewer('GET /api/v1/devices', '/api/v1/devices?limit=5')).body as { items: Array<{ id: string }> };
    await viewer('GET /api/v1/devices/:id', `/api/v1/devices/${devices.items[0]!.id}`);
    for (const route of ['GET /api/v1/vehicles', 'GET /api/v1/drivers', 'GET /api/v1/emergency-contacts', 'GET /api/v1/shipments'] as const) await viewer(route, `${route.slice(4)}?limit=5`);
    await callAs('acme-manager')('GET /api/v1/users', '/api/v1/users?limit=3');
    await callAs('acme-admin')('GET /api/v1/audit-log', '/api/v1/audit-log?limit=5');
    await callAs('acme-admin')('GET /api/v1/audit-log/verify', '/api/v1/audit-log/verify');
    await callAs('platform-staff')('GET /api/v1/admin/companies', '/api/v1/admin/companies');
  });

  it('describes what the collections really answer, through a whole lifecycle (create, replay, read, update, stale update, delete)', async () => {
    const run = Date.now().toString(36).slice(-6).toUpperCase();
    const manager = callAs('boreal-manager');
    const operator = callAs('boreal-operator');
    const etagOf = (r: { response: Response }) => r.response.headers.get('etag')!;
    const idOf = (r: { body: unknown }) => (r.body as { id: string }).id;

    const vehicleBody = { registration: `OA ${run}`, vehicleType: 'TANKER', capacityKg: 20000, inspectionExpiresOn: '2027-06-30' };
    const created = await manager('POST /api/v1/vehicles', '/api/v1/vehicles', { body: vehicleBody, headers: { 'Idempotency-Key': `openapi-${run}` } });
    expect(created.response.status).toBe(201);
    const replayed = await manager('POST /api/v1/vehicles', '/api/v1/vehicles', { body: vehicleBody, headers: { 'Idempotency-Key': `openapi-${run}` } });
    expect(replayed.response.headers.get('idempotent-replayed')).toBe('true');
    const vehicle = `/api/v1/vehicles/${idOf(created)}`;
    const read = await manager('GET /api/v1/vehicles/:id', vehicle);
    const updated = await manager('PATCH /api/v1/vehicles/:id', vehicle, { body: { placardHolders: 2 }, headers: { 'If-Match': etagOf(read) } });
    expect((await manager('PATCH /api/v1/vehicles/:id', vehicle, { body: { placardHolders: 4 }, headers: { 'If-Match': etagOf(read) } })).response.status).toBe(412);
    expect((await manager('PATCH /api/v1/vehicles/:id', vehicle, { body: { placardHolders: 4 } })).response.status).toBe(428);
    expect((await manager('DELETE /api/v1/vehicles/:id', vehicle, { headers: { 'If-Match': etagOf(updated) } })).response.status).toBe(204);
    expect((await manager('GET /api/v1/vehicles/:id', vehicle)).response.status).toBe(404);

    const driver = idOf(await manager('POST /api/v1/drivers', '/api/v1/drivers', { body: { fullName: `Dana ${run}`, dgLicenceNumber: `DG-${run}`, dgLicenceClass: 'MC', dgLicenceExpiresOn: '2028-01-31' } }));
    await manager('GET /api/v1/drivers/:id', `/api/v1/drivers/${driver}`);
    const training = `/api/v1/drivers/${driver}/training-records`;
    const record = await manager('POST /api/v1/drivers/:driverId/training-records', training, { body: { course: 'DG awareness', completedOn: '2026-01-10', expiresOn: '2028-01-10' } });
    await manager('GET /api/v1/drivers/:driverId/training-records', `${training}?order=-expiresOn`);
    await manager('PATCH /api/v1/drivers/:driverId/training-records/:id', `${training}/${idOf(record)}`, { body: { course: 'DG awareness (refresher)' }, headers: { 'If-Match': etagOf(record) } });

    const circle = idOf(await manager('POST /api/v1/geofences', '/api/v1/geofences', { body: { name: `Yard ${run}`, kind: 'DEPOT', area: { type: 'Circle', center: [144.9, -37.8], radiusM: 250 } } }));
    await manager('GET /api/v1/geofences/:id', `/api/v1/geofences/${circle}`);
    const ring = [[145, -37.9], [145.01, -37.9], [145.01, -37.89], [145, -37.9]];
    await manager('POST /api/v1/geofences', '/api/v1/geofences', { body: { name: `Customer ${run}`, kind: 'CUSTOMER', area: { type: 'Polygon', coordinates: [ring] } } });
    const contact = idOf(await manager('POST /api/v1/emergency-contacts', '/api/v1/emergency-contacts', { body: { name: `Hazmat line ${run}`, available24h: true, phone: '+61 3 9000 0000' } }));
    await manager('GET /api/v1/emergency-contacts/:id', `/api/v1/emergency-contacts/${contact}`);

    const device = await manager('POST /api/v1/devices', '/api/v1/devices', { body: { name: `Tracker ${run}`, mqttUsername: `oa-${run.toLowerCase()}` } });
    const deviceUrl = `/api/v1/devices/${idOf(device)}`;
    const rotated = await manager('POST /api/v1/devices/:id/rotate-secret', `${deviceUrl}/rotate-secret`);
    await manager('PATCH /api/v1/devices/:id', deviceUrl, { body: { name: `Tracker ${run} (cab)` }, headers: { 'If-Match': etagOf(rotated) } });
    await manager('POST /api/v1/devices/:id/revoke', `${deviceUrl}/revoke`);
    expect((await manager('POST /api/v1/devices/:id/rotate-secret', `${deviceUrl}/rotate-secret`)).response.status).toBe(422);

    const shipmentBody = { shipmentNumber: `OA-${run}`, origin: { address: 'Laverton', location: [144.77, -37.86] }, destination: { address: 'Geelong', location: [144.36, -38.15] }, pickupAt: '2027-03-01T08:00:00+11:00', deliverBy: '2027-03-01T12:00:00+11:00', emergencyContactId: contact };
    const shipment = await operator('POST /api/v1/shipments', '/api/v1/shipments', { body: shipmentBody });
    await operator('PATCH /api/v1/shipments/:id', `/api/v1/shipments/${idOf(shipment)}`, { body: { driverId: driver }, headers: { 'If-Match': etagOf(shipment) } });
    const gasoline = ((await operator('GET /api/v1/dangerous-goods/by-un/:un', '/api/v1/dangerous-goods/by-un/UN1203')).body as { items: Array<{ id: string }> }).items[0]!.id;
    const items = `/api/v1/shipments/${idOf(shipment)}/consignment-items`;
    const item = await operator('POST /api/v1/shipments/:shipmentId/consignment-items', items, { body: { dangerousGoodId: gasoline, quantity: 1200.5, unit: 'L', packages: 6 } });
    await operator('GET /api/v1/shipments/:shipmentId/consignment-items/:id', `${items}/${idOf(item)}`);
    await operator('GET /api/v1/shipments/:shipmentId/consignment-items', items);
    await callAs('acme-viewer')('GET /api/v1/shipments/:shipmentId/consignment-items', items);

    const staff = callAs('platform-staff');
    await staff('POST /api/v1/admin/companies', '/api/v1/admin/companies', { body: { name: `OpenAPI Co ${run}` } });
    await staff('GET /api/v1/admin/companies/:companyId/shipments', `/api/v1/admin/companies/${BOREAL}/shipments?reason=${encodeURIComponent('OpenAPI contract test')}&limit=2`);
    const company = (await callAs('boreal-viewer')('GET /api/v1/company', '/api/v1/company')).body as { name: string };
    await callAs('boreal-admin')('PATCH /api/v1/company', '/api/v1/company', { body: { name: company.name } });
  });

  it('describes its refusals: each a documented problem', async () => {
    await conforms('GET /api/v1/vehicles', await fetch(`${api.base}/api/v1/vehicles`));
    await conforms('GET /api/v1/me', await fetch(`${api.base}/api/v1/me`, { headers: { Authorization: 'Bearer not.a-real.token' } }));
    const viewer = callAs('acme-viewer');
    await viewer('GET /api/v1/vehicles', '/api/v1/vehicles?colour=red');
    await viewer('GET /api/v1/vehicles', '/api/v1/vehicles?order=colour');
    await viewer('POST /api/v1/vehicles', '/api/v1/vehicles', { body: { registration: 'NOPE-1' } });
    await viewer('GET /api/v1/vehicles/:id', '/api/v1/vehicles/00000000-0000-4000-8000-000000000000');
    await viewer('GET /api/v1/dangerous-goods/:id', '/api/v1/dangerous-goods/not-a-uuid');
    await viewer('GET /api/v1/dangerous-goods/by-un/:un', '/api/v1/dangerous-goods/by-un/UN0000');
    await viewer('POST /api/v1/dangerous-goods/check-compatibility', '/api/v1/dangerous-goods/check-compatibility', { body: { items: [{ unNumber: 'UN9999' }] } });
    await viewer('POST /api/v1/dangerous-goods/placards', '/api/v1/dangerous-goods/placards', { body: { items: [{ unNumber: 'UN1203' }] } });
    await viewer('POST /api/v1/dangerous-goods/check-compatibility', '/api/v1/dangerous-goods/check-compatibility', { body: '{"items": [' });
    await viewer('POST /api/v1/dangerous-goods/check-compatibility', '/api/v1/dangerous-goods/check-compatibility', { body: 'items', headers: { 'Content-Type': 'text/plain' } });
    const manager = callAs('acme-manager');
    await manager('POST /api/v1/vehicles', '/api/v1/vehicles', { body: { registration: '!', vehicleType: 'BOAT' } });
    await manager('POST /api/v1/vehicles', '/api/v1/vehicles', { body: { registration: 'OK-1', vehicleType: 'VAN', capacityKg: 1000 }, headers: { 'Idempotency-Key': 'bad key with spaces' } });
    await callAs('acme-admin')('GET /api/v1/admin/companies/:companyId/shipments', `/api/v1/admin/companies/${ACME}/shipments?reason=support`);
    await callAs('platform-staff')('GET /api/v1/admin/companies/:companyId/shipments', `/api/v1/admin/companies/${ACME}/shipments`);
  });
});

describe('the contract where a fuzzer found it wrong', () => {
  let api: TestApi;
  let doc: Document;
  beforeAll(async () => {
    api = await startTestApi();
    doc = (await (await fetch(`${api.base}/api/v1/openapi.json`)).json()) as Document;
  });
  afterAll(async () => {
    await api?.close();
  });

  const problem = async (response: Response) => ({ status: response.status, type: response.headers.get('content-type'), body: (await response.json()) as { errors?: unknown; detail?: string } });

  it('answers a method a path does not take with 405 and Allow, whatever the method (never 501: TRACE, PROPFIND of WebDAV), and OPTIONS with Allow', async () => {
    // fetch refuses to send TRACE: node:http does.
    const trace = await new Promise<{ status: number; allow: string | undefined; type: string | undefined }>((resolve, reject) => {
      const url = new URL(`${api.base}/api/v1/vehicles`);
      request({ host: url.hostname, port: url.port, path: url.pathname, method: 'TRACE' }, (res) => {
        res.resume();
        resolve({ status: res.statusCode!, allow: res.headers.allow, type: res.headers['content-type'] });
      })
        .on('error', reject)
        .end();
    });
    expect(trace).toEqual({ status: 405, allow: 'HEAD, GET, POST', type: 'application/problem+json' });
    const madeUp = await fetch(`${api.base}/api/v1/vehicles/00000000-0000-4000-8000-000000000000`, { method: 'PROPFIND' });
    expect([madeUp.status, madeUp.headers.get('allow')]).toEqual([405, 'HEAD, GET, PATCH, DELETE']);
    const put = await fetch(`${api.base}/api/v1/openapi.json`, { method: 'PUT' });
    expect([put.status, put.headers.get('allow')]).toEqual([405, 'HEAD, GET']);
    const options = await fetch(`${api.base}/api/v1/me`, { method: 'OPTIONS' });
    expect([options.status, options.headers.get('allow')]).toEqual([204, 'HEAD, GET']);
    // A path that does not exist stays a 404, whatever the method.
    expect((await fetch(`${api.base}/api/v1/nowhere`, { method: 'PROPFIND' })).status).toBe(404);
  });

  it('refuses an empty Idempotency-Key (shorter than the documented minLength) instead of ignoring it', async () => {
    expect(doc.components.parameters.IdempotencyKey).toMatchObject({ schema: { minLength: 1 } });
    const response = await api.call('acme-manager', 'POST', '/api/v1/vehicles', { body: { registration: 'IK 0', vehicleType: 'VAN', capacityKg: 900 }, headers: { 'Idempotency-Key': '' } });
    expect(await problem(response)).toEqual({ status: 400, type: 'application/problem+json', body: expect.objectContaining({ detail: 'Idempotency-Key must be 1–255 visible ASCII characters' }) });
  });

  it('answers an If-Match that breaks the documented pattern with 400 naming it (412 is for a stale one)', async () => {
    const created = await api.call('acme-manager', 'POST', '/api/v1/geofences', { body: { name: `If-Match ${Date.now()}`, kind: 'CUSTOMER', area: { type: 'Circle', center: [145, -37.8], radiusM: 50 } } });
    const { id } = (await created.json()) as { id: string };
    const invalid = { errors: [{ path: 'If-Match', message: 'must be the ETag this API returned, e.g. "v3"' }] };
    expect(await problem(await api.call('acme-manager', 'PATCH', `/api/v1/geofences/${id}`, { body: { name: 'x' }, headers: { 'If-Match': 'W/"v1"' } }))).toMatchObject({ status: 400, body: invalid });
    expect(await problem(await api.call('acme-manager', 'DELETE', `/api/v1/geofences/${id}`, { headers: { 'If-Match': '*' } }))).toMatchObject({ status: 400, body: invalid });
    expect(await problem(await api.call('acme-manager', 'DELETE', `/api/v1/geofences/${id}`, { headers: { 'If-Match': '' } }))).toMatchObject({ status: 400, body: invalid });
    expect((await api.call('acme-manager', 'PATCH', `/api/v1/geofences/${id}`, { body: { name: 'x' }, headers: { 'If-Match': '"v9"' } })).status).toBe(412);
    // A body that breaks the schema is that, whichever version it names.
    expect(await problem(await api.call('acme-manager', 'PATCH', `/api/v1/geofences/${id}`, { body: { name: '' }, headers: { 'If-Match': '"v9"' } }))).toMatchObject({ status: 422, body: { errors: [{ path: 'name' }] } });
    expect((await api.call('acme-manager', 'DELETE', `/api/v1/geofences/${id}`, { headers: { 'If-Match': created.headers.get('etag')! } })).status).toBe(204);
  });

  it('answers an order named after an object prototype member with 400, not 500', async () => {
    for (const order of ['constructor', '-valueOf', 'toString', 'hasOwnProperty']) {
      const response = await api.call('acme-viewer', 'GET', `/api/v1/vehicles?order=${order}`);
      expect([order, await problem(response)]).toEqual([
        order,
        { status: 400, type: 'application/problem+json', body: expect.objectContaining({ errors: [{ path: 'order', message: 'must be one of createdAt, -createdAt, registration, -registration' }] }) },
      ]);
    }
  });

  it('bounds every number and text to what the database stores: refused as 422 by validation, never a 500', async () => {
    const manager = (path: string, body: unknown) => api.call('acme-manager', 'POST', path, { body }).then(problem);
    const circle = (center: number[], radiusM: number) => ({ name: 'Tiny', kind: 'DEPOT', area: { type: 'Circle', center, radiusM } });
    expect(await manager('/api/v1/geofences', circle([0, 0], 5e-324))).toMatchObject({ status: 422, body: { errors: [{ path: 'area.radiusM' }] } });
    expect(await manager('/api/v1/geofences', circle([0, 89.5], 10))).toMatchObject({ status: 422, body: { errors: [{ path: 'area.center.1' }] } });
    expect(await manager('/api/v1/geofences', { ...circle([0, 0], 10), name: 'Nul\u0000name' })).toMatchObject({ status: 422, body: { errors: [{ path: 'name', message: 'must not contain NUL characters' }] } });
    const run = Date.now().toString(36).slice(-6).toUpperCase();
    const place = { address: 'Laverton', location: [144.77, -37.86] };
    const shipmentBody = { shipmentNumber: `DB-${run}`, origin: place, destination: place, pickupAt: '2027-03-01T08:00:00Z', deliverBy: '2027-03-01T12:00:00Z' };
    const shipment = (await (await api.call('acme-operator', 'POST', '/api/v1/shipments', { body: shipmentBody })).json()) as { id: string };
    const gasoline = ((await (await api.call('acme-viewer', 'GET', '/api/v1/dangerous-goods/by-un/UN1203')).json()) as { items: Array<{ id: string }> }).items[0]!.id;
    const item = { dangerousGoodId: gasoline, quantity: 5e-324, unit: 'L' };
    expect(await api.call('acme-operator', 'POST', `/api/v1/shipments/${shipment.id}/consignment-items`, { body: item }).then(problem)).toMatchObject({ status: 422, body: { errors: [{ path: 'quantity' }] } });
    // The documented bounds are the ones enforced.
    const schemas = (doc.components as unknown as { schemas: Record<string, { properties: Record<string, Json> }> }).schemas;
    expect(schemas.ConsignmentItemCreate!.properties.quantity).toMatchObject({ minimum: 0.001, maximum: 200000 });
    const area = schemas.GeofenceCreate!.properties.area as { oneOf: Array<{ properties: Record<string, Json> }> };
    expect(area.oneOf[1]!.properties.radiusM).toMatchObject({ minimum: 1, maximum: 100000 });
    expect(schemas.GeofenceCreate!.properties.name).toMatchObject({ pattern: expect.stringContaining('\\u0000') });
  });

  it('writes a tuple of like items as an array with its length, so no answer schema needs prefixItems', () => {
    const found: string[] = [];
    const walk = (value: unknown, at: string): void => {
      if (Array.isArray(value)) value.forEach((child, i) => walk(child, `${at}/${i}`));
      else if (value && typeof value === 'object') {
        for (const [key, child] of Object.entries(value)) {
          if (key === 'prefixItems') found.push(at);
          else walk(child, `${at}/${key}`);
        }
      }
    };
    walk((doc.components as unknown as { schemas: Record<string, unknown> }).schemas, '');
    // Only request schemas whose positions differ ([longitude, latitude] with their own bounds) keep one.
    expect(found.length).toBeGreaterThan(0);
    expect(found.filter((at) => !/^\/(GeofenceCreate|GeofenceUpdate|ShipmentCreate|ShipmentUpdate)\//.test(at))).toEqual([]);
    const geofence = (doc.components as unknown as { schemas: { Geofence: { properties: { area: { oneOf: Array<{ properties: Record<string, Json> }> } } } } }).schemas.Geofence;
    expect(geofence.properties.area.oneOf[1]!.properties.center).toEqual({ type: 'array', items: { type: 'number' }, minItems: 2, maxItems: 2 });
  });

  it('does not require the RateLimit-* headers (a deployment may turn limits off) but still Retry-After on a 429', () => {
    for (const name of ['RateLimitLimit', 'RateLimitRemaining', 'RateLimitReset']) expect(doc.components.headers[name]!.required, name).toBeUndefined();
    expect(doc.components.headers.RetryAfter!.required).toBe(true);
  });

  it('links each create to the operations on what it created (the stateful fuzzer follows them)', () => {
    const byId = new Map(operations(doc).map(([key, op]) => [op.operationId, { key, op }]));
    const links = operations(doc).flatMap(([key, op]) =>
      Object.entries((op.responses['201']?.links ?? {}) as Record<string, { operationId: string; parameters: Record<string, string> }>).map(([name, link]) => ({ from: key, name, ...link })),
    );
    for (const link of links) {
      const target = byId.get(link.operationId);
      expect(target, `${link.from} → ${link.operationId}`).toBeDefined();
      // Every path parameter of the target is given, from the answer or the request.
      const wanted = [...target!.key.matchAll(/:(\w+)/g)].map((m) => m[1]!).sort();
      expect(Object.keys(link.parameters).filter((p) => !p.startsWith('header.')).sort(), `${link.from} → ${link.operationId}`).toEqual(wanted);
    }
    const from = (route: string) => Object.fromEntries(links.filter((link) => link.from === route).map((link) => [link.name, link.parameters]));
    expect(from('POST /api/v1/drivers')).toEqual({
      getDriver: { id: '$response.body#/id' },
      updateDriver: { id: '$response.body#/id', 'header.If-Match': '$response.header.ETag' },
      deleteDriver: { id: '$response.body#/id', 'header.If-Match': '$response.header.ETag' },
      createTrainingRecord: { driverId: '$response.body#/id' },
      listTrainingRecords: { driverId: '$response.body#/id' },
    });
    expect(Object.keys(from('POST /api/v1/shipments/:shipmentId/consignment-items')).sort()).toEqual(['deleteConsignmentItem', 'getConsignmentItem', 'updateConsignmentItem']);
    expect(from('POST /api/v1/shipments/:shipmentId/consignment-items').getConsignmentItem).toEqual({ shipmentId: '$request.path.shipmentId', id: '$response.body#/id' });
    expect(Object.keys(from('POST /api/v1/shipments')).sort()).toEqual(['createConsignmentItem', 'getShipment', 'listConsignmentItems', 'updateShipment']);
    expect(Object.keys(from('POST /api/v1/devices')).sort()).toEqual(['deleteDevice', 'getDevice', 'revokeDevice', 'rotateDeviceSecret', 'updateDevice']);
    expect(Object.keys(from('POST /api/v1/users')).sort()).toEqual(['changeUserRole', 'disableUser', 'getUser']);
    // Every create but the platform's is linked.
    const creates = operations(doc).filter(([key, op]) => op.responses['201'] && !key.includes('/admin/'));
    expect(creates.filter(([key]) => links.every((link) => link.from !== key)).map(([key]) => key)).toEqual([]);
  });

  it('documents 422 for a reused Idempotency-Key on every create that takes one', () => {
    const takesKey = operations(doc).filter(([, op]) => (op.parameters ?? []).some((p) => p.$ref === '#/components/parameters/IdempotencyKey'));
    expect(takesKey.length).toBe(8);
    for (const [key, op] of takesKey) expect([key, op.responses['422']?.description]).toEqual([key, expect.stringContaining('Idempotency-Key was used for a different request')]);
  });

  it('documents the identification number a by-un path takes, as the route checks it', async () => {
    const un = doc.paths['/api/v1/dangerous-goods/by-un/{un}']!.get!.parameters!.find((p) => p.name === 'un') as { schema: { pattern: string } };
    const pattern = new RegExp(un.schema.pattern, 'u');
    expect(['UN1203', 'na1993', 'ID8000'].map((s) => pattern.test(s))).toEqual([true, true, true]);
    expect(pattern.test('0')).toBe(false);
    expect(await problem(await api.call('acme-viewer', 'GET', '/api/v1/dangerous-goods/by-un/0'))).toMatchObject({ status: 400, body: { errors: [{ path: 'un' }] } });
  });
});

describe('the docs page', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(async () => {
    await api?.close();
  });

  it('is public and self-contained: Swagger UI from this server, pointed at the contract', async () => {
    const page = await fetch(`${api.base}/api/v1/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await page.text();
    expect(html).toContain('id="swagger-ui"');
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(assets.length).toBeGreaterThanOrEqual(4);
    for (const asset of assets) {
      expect(asset, 'no asset from another origin').toMatch(/^\/api\/v1\/docs\/assets\//);
      const response = await fetch(`${api.base}${asset}`);
      expect([asset, response.status]).toEqual([asset, 200]);
      expect((await response.arrayBuffer()).byteLength).toBeGreaterThan(100);
    }
    const bundle = await fetch(`${api.base}/api/v1/docs/assets/swagger-ui-bundle.js`);
    expect(bundle.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect((await bundle.text()).length).toBeGreaterThan(500_000);
    const init = await (await fetch(`${api.base}/api/v1/docs/assets/init.js`)).text();
    expect(init).toContain('"/api/v1/openapi.json"');
    expect(init).toContain('validatorUrl: null');
  });

  it('publishes the devices\u2019 MQTT message as a JSON Schema: a point and a batch pass; another version, a latitude off the globe and an unknown field do not', async () => {
    const response = await fetch(`${api.base}/api/v1/telemetry/message.schema.json`);
    expect([response.status, response.headers.get('content-type')]).toEqual([200, 'application/schema+json']);
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    const valid = ajv.compile((await response.json()) as object);
    const ts = new Date().toISOString();
    expect(valid({ v: 1, ts, seq: 1, lat: -37.8, lon: 144.9, speedKmh: 80, sensors: { temperatureC: 4, leak: false } })).toBe(true);
    expect(valid({ v: 1, points: [{ ts, seq: 1, lat: -37.8, lon: 144.9 }, { ts, seq: 2, sensors: { doorOpen: true } }] })).toBe(true);
    expect(valid({ v: 2, ts })).toBe(false);
    expect(valid({ v: 1, ts, lat: 91, lon: 0 })).toBe(false);
    expect(valid({ v: 1, ts, altitude: 3 })).toBe(false);
  });

  it('serves only its own assets', async () => {
    for (const path of ['/api/v1/docs/assets/package.json', '/api/v1/docs/assets/..%2Fpackage.json', '/api/v1/docs/assets/swagger-ui-bundle.js.map']) {
      const response = await fetch(`${api.base}${path}`);
      expect([path, response.status]).toEqual([path, 404]);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    }
  });
});
