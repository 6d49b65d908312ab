import { z } from 'zod';
import { headerValue, OutboundFailure, retryAfterMs, USER_AGENT, type OutboundHttp, type OutboundResponse } from '../outbound-http.js';
import { authorizationHeader, carrying, ErpCallFailed, identifier, retryableStatus, type ErpAdapter, type ErpCall, type ErpConnection, type ErpResult, type ErpShipment } from './adapter.js';
import { odataErrorMessage } from './odata-errors.js';

/**
 * An SAP-style OData service (SAP Gateway v2, or OData v4): each stage is a POST creating an
 * entity in an entity set of the service (`baseUrl` is the service root), after the CSRF
 * handshake SAP requires of every modifying request (a GET with `x-csrf-token: fetch` answers
 * the token and the session cookies it belongs to).
 *
 * Idempotency: every POST carries `Idempotency-Key`, and the same key in the entity's client
 * reference property (`clientReferenceProperty`, e.g. an external reference field). SAP does not
 * deduplicate on the header, so when an earlier attempt may have reached the service the adapter
 * first asks for an entity with that client reference and answers its key instead of creating a
 * second one.
 */
export const sapODataSettingsSchema = z.strictObject({
  odataVersion: z.enum(['v2', 'v4']).default('v2'),
  /** The entity set each stage creates an entity in. */
  entitySets: z
    .strictObject({
      booked: identifier.default('DeliveryOrders'),
      dispatched: identifier.default('DispatchNotices'),
      delivered: identifier.default('DeliveryConfirmations'),
      cancelled: identifier.default('OrderCancellations'),
    })
    .prefault({}),
  /** The property that carries our idempotency key (SAP: an external or customer reference field). */
  clientReferenceProperty: identifier.default('ExternalReference'),
  /** The property holding the created entity's key; without it the key is read from the entity's URI (Location, `__metadata.uri`, `@odata.id`). */
  keyProperty: identifier.optional(),
  /** SAP's client (mandant), sent as `sap-client` on every request. */
  sapClient: z.string().regex(/^\d{3}$/, 'must be three digits').optional(),
});
export type SapODataSettings = z.infer<typeof sapODataSettingsSchema>;

interface Session {
  token: string | null;
  cookies: string | null;
}

/** An OData string literal: single quotes doubled. */
const literal = (value: string) => `'${value.replace(/'/g, "''")}'`;

/** `Set(…)` at the end of an entity's URI → the key: `'80000012'` → 80000012, `(4711)` → 4711, composite keys as written. */
export function keyFromEntityUri(uri: string | undefined): string | null {
  if (!uri) return null;
  const match = /\(([^()]*)\)\/?$/.exec(uri);
  if (!match) return null;
  const predicate = decodeURIComponent(match[1]!);
  const single = /^'((?:[^']|'')*)'$/.exec(predicate);
  if (single) return single[1]!.replace(/''/g, "'");
  return predicate === '' ? null : predicate;
}

export function sapODataAdapter(connection: ErpConnection<SapODataSettings>, http: OutboundHttp): ErpAdapter {
  const settings = connection.settings;
  const v2 = settings.odataVersion === 'v2';
  const root = connection.baseUrl.replace(/\/+$/, '');
  const versionHeaders: Record<string, string> = v2 ? { DataServiceVersion: '2.0', MaxDataServiceVersion: '2.0' } : { 'OData-Version': '4.0', 'OData-MaxVersion': '4.0' };
  // v4's default (minimal) metadata leaves out @odata.id; full metadata carries it, so a key can be read without knowing the key property.
  const accept = v2 ? 'application/json' : 'application/json;odata.metadata=full';
  const baseHeaders = { ...authorizationHeader(connection.credentials), ...versionHeaders, Accept: accept, 'User-Agent': USER_AGENT };
  const url = (path: string, query: Record<string, string> = {}) => {
    const params = new URLSearchParams({ ...query, ...(settings.sapClient ? { 'sap-client': settings.sapClient } : {}) });
    const search = params.toString();
    return `${root}${path}${search ? `?${search.replace(/\+/g, '%20')}` : ''}`;
  };
  // Edm.DateTime in v2 JSON is `/Date(ms)/`; v4 takes ISO 8601. Decimals travel as strings in v2.
  const instant = (iso: string) => (v2 ? `/Date(${Date.parse(iso)})/` : iso);
  const decimal = (value: number) => (v2 ? String(value) : value);

  let session: Session | undefined;

  const send = async (what: string, request: Parameters<OutboundHttp['send']>[0]): Promise<OutboundResponse> => {
    try {
      return await http.send(request);
    } catch (error) {
      if (error instanceof OutboundFailure) throw new ErpCallFailed(`${what}: ${error.message}`, error.retryable);
      throw error;
    }
  };
  const failure = (response: OutboundResponse, what: string): ErpCallFailed => {
    const status = response.status;
    const message = odataErrorMessage(status, what, response.text);
    if (status === 401 || status === 403) return new ErpCallFailed(`${message} (check the connection's credentials and the user's authorisations)`, false, { status });
    if (status >= 300 && status < 400) return new ErpCallFailed(`${message} (redirects are not followed: configure the service root the ERP answers at)`, false, { status });
    const wait = retryAfterMs(headerValue(response.headers, 'retry-after'));
    return new ErpCallFailed(message, retryableStatus(status), { status, ...(wait !== undefined ? { retryAfterMs: wait } : {}) });
  };

  /** The CSRF token and the session cookies it is bound to, fetched once per call of the activity. */
  const fetchSession = async (): Promise<Session> => {
    const response = await send('fetching a CSRF token', { method: 'GET', url: url('/'), headers: { ...baseHeaders, 'x-csrf-token': 'fetch' } });
    if (response.status >= 300) throw failure(response, 'the CSRF token request');
    const setCookies = response.headers['set-cookie'];
    const cookies = (Array.isArray(setCookies) ? setCookies : setCookies ? [setCookies] : []).map((cookie) => cookie.split(';')[0]!.trim()).filter((cookie) => cookie.includes('='));
    return { token: headerValue(response.headers, 'x-csrf-token') ?? null, cookies: cookies.length ? cookies.join('; ') : null };
  };
  const sessionHeaders = (s: Session): Record<string, string> => ({ ...(s.token ? { 'x-csrf-token': s.token } : {}), ...(s.cookies ? { Cookie: s.cookies } : {}) });

  const entityOf = (json: unknown): Record<string, unknown> | undefined => {
    const body = json as { d?: unknown } | null;
    const entity = v2 ? body?.d : body;
    return entity && typeof entity === 'object' && !Array.isArray(entity) ? (entity as Record<string, unknown>) : undefined;
  };
  const keyOf = (entity: Record<string, unknown> | undefined, location?: string): string | null => {
    if (settings.keyProperty) {
      const value = entity?.[settings.keyProperty];
      if (typeof value === 'string' || typeof value === 'number') return String(value);
    }
    const metadata = entity?.__metadata as { uri?: string } | undefined;
    return keyFromEntityUri(metadata?.uri) ?? keyFromEntityUri(typeof entity?.['@odata.id'] === 'string' ? entity['@odata.id'] : undefined) ?? keyFromEntityUri(location);
  };
  const parse = (response: OutboundResponse, what: string): unknown => {
    try {
      return response.text.trim() === '' ? null : JSON.parse(response.text);
    } catch {
      throw new ErpCallFailed(`${what}: SAP answered ${response.status} with a body that is not JSON`, false, { status: response.status });
    }
  };

  /** The entity an earlier attempt with this key created, if any: its key. */
  const existing = async (entitySet: string, key: string): Promise<string | null> => {
    const what = `looking up ${entitySet} by ${settings.clientReferenceProperty}`;
    const response = await send(what, { method: 'GET', url: url(`/${entitySet}`, { $filter: `${settings.clientReferenceProperty} eq ${literal(key)}`, $top: '1' }), headers: baseHeaders });
    if (response.status !== 200) throw failure(response, what);
    const body = parse(response, what) as { d?: { results?: unknown[] } | unknown[]; value?: unknown[] } | null;
    const rows = v2 ? (Array.isArray(body?.d) ? body.d : body?.d?.results) : body?.value;
    const first = Array.isArray(rows) ? (rows[0] as Record<string, unknown> | undefined) : undefined;
    if (!first) return null;
    const found = keyOf(first);
    if (found === null) throw new ErpCallFailed(`${what}: the entity found carries no key we can read (set keyProperty in the connection's settings)`, false);
    return found;
  };

  const create = async (call: ErpCall, body: Record<string, unknown>): Promise<ErpResult> => {
    const entitySet = settings.entitySets[call.stage];
    const what = `create ${entitySet}`;
    const sent = { [settings.clientReferenceProperty]: call.idempotencyKey, ...body };
    const post = (s: Session) =>
      send(what, {
        method: 'POST',
        url: url(`/${entitySet}`),
        headers: { ...baseHeaders, ...sessionHeaders(s), 'Content-Type': 'application/json', 'Idempotency-Key': call.idempotencyKey, ...(v2 ? {} : { Prefer: 'return=representation' }) },
        body: JSON.stringify(sent),
      });
    return carrying(sent, async () => {
      if (call.mayExist) {
        const found = await existing(entitySet, call.idempotencyKey);
        if (found !== null) return { reference: found, sent };
      }
      session ??= await fetchSession();
      let response = await post(session);
      // An expired token (or session) is answered 403 with `x-csrf-token: Required`: fetch a fresh one, once.
      if (response.status === 403 && headerValue(response.headers, 'x-csrf-token')?.toLowerCase() === 'required') {
        session = await fetchSession();
        response = await post(session);
      }
      if (response.status !== 201 && response.status !== 200) throw failure(response, what);
      const reference = keyOf(entityOf(parse(response, what)), headerValue(response.headers, 'location') ?? headerValue(response.headers, 'odata-entityid'));
      if (reference === null) throw new ErpCallFailed(`${what}: SAP created the entity but its answer carries no key we can read (set keyProperty in the connection's settings)`, false);
      return { reference, sent };
    });
  };

  const header = (s: ErpShipment) => ({ ShipmentNumber: s.shipmentNumber });
  return {
    createOrder: (call) =>
      create(call, {
        ...header(call.shipment),
        PlannedPickup: instant(call.shipment.pickupAt),
        RequestedDelivery: instant(call.shipment.deliverBy),
        ShipFrom: call.shipment.origin.address,
        ShipTo: call.shipment.destination.address,
        // A deep insert: the order's items in the same request.
        Items: call.shipment.items.map((item) => ({
          ItemNumber: String(item.line * 10).padStart(6, '0'),
          MaterialNumber: item.unNumber ?? '',
          Description: item.technicalName ? `${item.properShippingName} (${item.technicalName})` : item.properShippingName,
          HazardClass: item.hazardClass,
          PackingGroup: item.packingGroup ?? '',
          Quantity: decimal(item.quantity),
          Unit: item.unit === 'kg' ? 'KG' : 'L',
          Packages: item.packages,
        })),
      }),
    notifyDispatch: (call) =>
      create(call, {
        ...header(call.shipment),
        OrderReference: call.orderReference ?? '',
        DepartedAt: instant(call.occurredAt),
        VehicleRegistration: call.shipment.vehicleRegistration ?? '',
        DriverName: call.shipment.driverName ?? '',
      }),
    confirmDelivery: (call) => create(call, { ...header(call.shipment), OrderReference: call.orderReference ?? '', DeliveredAt: instant(call.occurredAt) }),
    cancelOrder: (call) => create(call, { ...header(call.shipment), OrderReference: call.orderReference ?? '', CancelledAt: instant(call.occurredAt) }),
  };
}
