import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fieldBinding } from '../../db/encrypted-fields.js';
import { deleteErpConnection, insertErpConnection } from '../../db/integrations.js';
import { inTenant, type Database } from '../../db/orm.js';
import type { ErpCredentials } from '../../integrations/erp/adapter.js';
import type { FieldEncryption } from '../../security/field-encryption.js';

/**
 * A customer's ERP, played by a local HTTP server on port 0 (product code only knows its URL).
 *
 * - `sap-odata`: an SAP Gateway-style OData service (v2 or v4) at `url` (the service root): basic
 *   auth, the CSRF handshake (GET with `x-csrf-token: fetch` → token + session cookie; a POST
 *   without both is 403 `x-csrf-token: Required`), POST to any entity set creates an entity with
 *   a key (`80000001`, …), `GET /<Set>?$filter=<Property> eq '<value>'` finds entities. Like SAP it
 *   does NOT deduplicate on Idempotency-Key: it records the header it saw on each creating POST.
 * - `rest`: a generic REST endpoint at `url`: bearer auth, POST to any path creates a record
 *   (`{"id":"ERP-1", …}`), and it DOES honour Idempotency-Key (the same key on the same path
 *   answers the first answer and creates nothing; while the first is still being answered, 409).
 *
 * Endpoints are entity sets (OData) or paths (REST). Each POST to an endpoint takes the next
 * programmed behaviour, if any (`program`): fail with a status instead of creating, create and
 * then fail (the answer is lost), or create and answer late (longer than the client waits).
 * Counts: what was created per endpoint and per idempotency key, and every request received.
 */
export type FakeErpKind = 'sap-odata' | 'rest';

export interface Behaviour {
  /** Answer this status instead of 201; 4xx/5xx carry an OData error (or a problem+json) with `message`. */
  status?: number;
  message?: string;
  /** For a validation error: the field at fault (OData `target`). */
  target?: string;
  /** Create the record first, then answer `status` (a commit whose answer is lost). */
  afterCreate?: boolean;
  /** Create the record, then hold the answer this long. */
  delayMs?: number;
  /** OData: refuse this POST as SAP does when the CSRF token or its session expired (403, `x-csrf-token: Required`), and forget every token issued. */
  csrfExpired?: boolean;
}

export interface ErpRecord {
  endpoint: string;
  key: string;
  /** The Idempotency-Key header of the POST that created it. */
  idempotencyKey: string | null;
  body: Record<string, unknown>;
}

export interface ErpRequest {
  method: string;
  /** The path below `url`, without the query. */
  path: string;
  query: string;
  endpoint: string | null;
  idempotencyKey: string | null;
  csrfToken: string | null;
  /** What the fake answered. */
  status: number;
}

export interface FakeErp {
  kind: FakeErpKind;
  /** OData only: the protocol version it speaks (the connection's `settings.odataVersion`). */
  odataVersion: 'v2' | 'v4' | undefined;
  /** OData: the service root; REST: the base URL. */
  url: string;
  /** What the connection must send (basic for OData, bearer for REST). */
  credentials: ErpCredentials;
  /** Every request, in arrival order (status filled in when answered). */
  requests: ErpRequest[];
  /** Every record created, in order. */
  created: ErpRecord[];
  /** Records created at an endpoint and/or under an Idempotency-Key. */
  count(filter?: { endpoint?: string; idempotencyKey?: string }): number;
  /** POSTs received at an endpoint and/or with an Idempotency-Key (attempts, whatever came of them). */
  posts(filter?: { endpoint?: string; idempotencyKey?: string }): number;
  /** The next POSTs to `endpoint` behave like this, in order; later ones create normally. */
  program(endpoint: string, ...behaviours: Behaviour[]): void;
  /** Resolves when no delayed answer is pending. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

const SERVICE_ROOT = '/sap/opu/odata/sap/ZSAFESHIPPER_SRV';

export async function startFakeErp(options: { kind: 'sap-odata'; odataVersion?: 'v2' | 'v4' } | { kind: 'rest' }): Promise<FakeErp> {
  const kind = options.kind;
  const v2 = options.kind === 'sap-odata' && (options.odataVersion ?? 'v2') === 'v2';
  const credentials: ErpCredentials = kind === 'sap-odata' ? { type: 'basic', username: 'SAFESHIPPER_RFC', password: `pw-${randomBytes(6).toString('hex')}` } : { type: 'bearer', token: `tok-${randomBytes(12).toString('hex')}` };
  const expectedAuth = credentials.type === 'basic' ? `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}` : credentials.type === 'bearer' ? `Bearer ${credentials.token}` : '';
  const requests: ErpRequest[] = [];
  const created: ErpRecord[] = [];
  const programmed = new Map<string, Behaviour[]>();
  /** CSRF token → the session it was issued to. */
  const tokens = new Map<string, string>();
  /** REST: Idempotency-Key|path → the stored answer, or 'in-flight'. */
  const answers = new Map<string, { status: number; body: unknown } | 'in-flight'>();
  const pending = new Set<Promise<void>>();
  let sequence = 0;
  const base = kind === 'sap-odata' ? SERVICE_ROOT : '/erp/api';

  const send = (response: ServerResponse, log: ErpRequest, status: number, body: unknown, headers: Record<string, string | string[]> = {}) => {
    log.status = status;
    if (response.destroyed) return;
    const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
    response.writeHead(status, { 'Content-Type': typeof body === 'string' ? 'text/plain' : 'application/json', ...headers }).end(text);
  };
  const odataError = (code: string, message: string, target?: string) =>
    v2
      ? { error: { code, message: { lang: 'en', value: message }, innererror: { errordetails: [{ code, message, ...(target ? { target } : {}), severity: 'error' }, { code: '/IWBEP/CX_MGW_BUSI_EXCEPTION', message: 'An exception was raised', severity: 'error' }] } } }
      : { error: { code, message, ...(target ? { target } : {}), details: [{ code, message, ...(target ? { target } : {}) }] } };
  const errorBody = (status: number, behaviour: Behaviour) => {
    const message = behaviour.message ?? (status >= 500 ? 'The service is temporarily unavailable' : 'The request was refused');
    return kind === 'sap-odata' ? odataError(status >= 500 ? '/IWBEP/CM_MGW_RT/020' : 'SY/530', message, behaviour.target) : { type: 'about:blank', title: 'Refused', status, detail: message };
  };
  const entityUri = (set: string, key: string) => `${server.url}/${set}('${key}')`;
  const representation = (record: ErpRecord) => {
    if (kind === 'rest') return { id: record.key, ...record.body };
    if (v2) return { d: { ...record.body, OrderId: record.key, __metadata: { id: entityUri(record.endpoint, record.key), uri: entityUri(record.endpoint, record.key), type: `ZSAFESHIPPER_SRV.${record.endpoint}Type` } } };
    return { '@odata.context': `${server.url}/$metadata#${record.endpoint}/$entity`, '@odata.id': `${record.endpoint}('${record.key}')`, ...record.body, OrderId: record.key };
  };
  const later = (ms: number, work: () => void) => {
    const done = new Promise<void>((resolve) => setTimeout(resolve, ms)).then(work);
    pending.add(done);
    void done.finally(() => pending.delete(done));
  };

  async function handle(request: IncomingMessage, response: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const target = new URL(request.url ?? '/', 'http://fake');
    const path = target.pathname.startsWith(base) ? target.pathname.slice(base.length) || '/' : target.pathname;
    const endpoint = kind === 'sap-odata' ? (/^\/(\w+)$/.exec(path)?.[1] ?? null) : path === '/' ? null : path;
    const idempotencyKey = request.headers['idempotency-key']?.toString() ?? null;
    const csrfToken = request.headers['x-csrf-token']?.toString() ?? null;
    const log: ErpRequest = { method: request.method ?? 'GET', path, query: target.search, endpoint, idempotencyKey, csrfToken, status: 0 };
    requests.push(log);

    if (!target.pathname.startsWith(base)) return send(response, log, 404, { error: 'not found' });
    if (request.headers.authorization !== expectedAuth) {
      return kind === 'sap-odata' ? send(response, log, 401, odataError('/IWFND/CM_CONSUMER/401', 'Logon failed'), { 'WWW-Authenticate': 'Basic realm="SAP NetWeaver Application Server"' }) : send(response, log, 401, { title: 'Unauthorized', detail: 'invalid bearer token' });
    }

    if (kind === 'sap-odata' && request.method === 'GET') {
      if (path === '/') {
        const headers: Record<string, string | string[]> = {};
        if (csrfToken?.toLowerCase() === 'fetch') {
          const session = randomBytes(8).toString('hex');
          const token = randomBytes(12).toString('base64url');
          tokens.set(token, session);
          headers['x-csrf-token'] = token;
          headers['Set-Cookie'] = [`SAP_SESSIONID_ZSS_100=${session}; path=/; HttpOnly`, 'sap-usercontext=sap-client=100; path=/'];
        }
        return send(response, log, 200, v2 ? { d: { EntitySets: ['DeliveryOrders', 'DispatchNotices', 'DeliveryConfirmations', 'OrderCancellations'] } } : { value: [] }, headers);
      }
      if (!endpoint) return send(response, log, 404, odataError('/IWBEP/CM_MGW_RT/021', `Resource not found for segment '${path}'`));
      const filter = /^(\w+) eq '((?:[^']|'')*)'$/.exec(target.searchParams.get('$filter') ?? '');
      const rows = created.filter((record) => record.endpoint === endpoint && (!filter || record.body[filter[1]!] === filter[2]!.replace(/''/g, "'")));
      const top = Number(target.searchParams.get('$top') ?? rows.length);
      const results = rows.slice(0, top).map((record) => {
        const entity = representation(record) as { d?: unknown } & Record<string, unknown>;
        return v2 ? entity.d : { ...entity, '@odata.context': undefined };
      });
      return send(response, log, 200, v2 ? { d: { results } } : { value: results });
    }

    if (request.method !== 'POST' || !endpoint) return send(response, log, 405, kind === 'sap-odata' ? odataError('/IWBEP/CM_MGW_RT/004', 'Method not allowed') : { title: 'Method Not Allowed' });

    const behaviour = programmed.get(endpoint)?.shift() ?? {};
    if (kind === 'sap-odata') {
      if (behaviour.csrfExpired) {
        tokens.clear();
        return send(response, log, 403, 'CSRF token validation failed', { 'x-csrf-token': 'Required' });
      }
      const session = /SAP_SESSIONID_ZSS_100=(\w+)/.exec(request.headers.cookie ?? '')?.[1];
      if (!csrfToken || tokens.get(csrfToken) === undefined || tokens.get(csrfToken) !== session) return send(response, log, 403, 'CSRF token validation failed', { 'x-csrf-token': 'Required' });
    }

    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return send(response, log, 400, kind === 'sap-odata' ? odataError('/IWBEP/CM_MGW_RT/002', 'The request body is not valid JSON') : { title: 'Bad Request', detail: 'not JSON' });
    }

    const replayKey = idempotencyKey ? `${idempotencyKey}|${path}` : null;
    if (kind === 'rest' && replayKey && answers.has(replayKey)) {
      const answer = answers.get(replayKey)!;
      if (answer === 'in-flight') return send(response, log, 409, { title: 'Conflict', detail: 'a request with this Idempotency-Key is still being processed' });
      return send(response, log, 200, answer.body);
    }

    if (behaviour.status !== undefined && !behaviour.afterCreate) return send(response, log, behaviour.status, errorBody(behaviour.status, behaviour));

    sequence += 1;
    const record: ErpRecord = { endpoint, key: kind === 'sap-odata' ? String(80_000_000 + sequence) : `ERP-${sequence}`, idempotencyKey, body };
    created.push(record);
    const status = behaviour.status ?? 201;
    const answerBody = behaviour.status !== undefined ? errorBody(status, behaviour) : representation(record);
    const headers: Record<string, string> = kind === 'sap-odata' && status === 201 ? { Location: entityUri(endpoint, record.key), ...(v2 ? {} : { 'OData-EntityId': entityUri(endpoint, record.key) }) } : {};
    if (replayKey && status < 300) answers.set(replayKey, 'in-flight');
    const answer = () => {
      if (replayKey && status < 300) answers.set(replayKey, { status, body: answerBody });
      send(response, log, status, answerBody, headers);
    };
    if (behaviour.delayMs) later(behaviour.delayMs, answer);
    else answer();
  }

  const http = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(500).end(String(error));
    });
  });
  http.listen(0, '127.0.0.1');
  await new Promise((resolve) => http.once('listening', resolve));
  const server = { url: `http://127.0.0.1:${(http.address() as AddressInfo).port}${base}` };

  const matches = (filter: { endpoint?: string; idempotencyKey?: string }) => (entry: { endpoint: string | null; idempotencyKey: string | null }) =>
    (filter.endpoint === undefined || entry.endpoint === filter.endpoint) && (filter.idempotencyKey === undefined || entry.idempotencyKey === filter.idempotencyKey);

  return {
    kind,
    odataVersion: kind === 'sap-odata' ? (v2 ? 'v2' : 'v4') : undefined,
    url: server.url,
    credentials,
    requests,
    created,
    count: (filter = {}) => created.filter(matches(filter)).length,
    posts: (filter = {}) => requests.filter((r) => r.method === 'POST').filter(matches(filter)).length,
    program(endpoint, ...behaviours) {
      programmed.set(endpoint, [...(programmed.get(endpoint) ?? []), ...behaviours]);
    },
    async idle() {
      while (pending.size > 0) await Promise.all([...pending]);
    },
    async close() {
      await Promise.all([...pending]);
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    },
  };
}

/**
 * Points `companyId`'s ERP connection at `fake` (replacing any), as PUT /api/v1/integrations/erp
 * would store it: credentials sealed for the row and company. For tests that drive shipments of
 * a company without going through the integrations API; `settings` override the kind's defaults.
 */
export async function connectErp(db: Database, fields: FieldEncryption, companyId: string, fake: FakeErp, options: { settings?: Record<string, unknown>; enabled?: boolean } = {}): Promise<string> {
  const id = randomUUID();
  const sealed = fake.credentials.type === 'none' ? null : fields.encrypt(JSON.stringify(fake.credentials), fieldBinding('erp_connections', 'credentials', { id, companyId }));
  await inTenant(db, companyId, async (em) => {
    await deleteErpConnection(em);
    await insertErpConnection(em, companyId, id, {
      kind: fake.kind,
      baseUrl: fake.url,
      credentialsType: fake.credentials.type,
      credentials: sealed,
      settings: { ...(fake.odataVersion ? { odataVersion: fake.odataVersion } : {}), ...options.settings },
      enabled: options.enabled ?? true,
    });
  });
  return id;
}
