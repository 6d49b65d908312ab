import type { z } from 'zod';
import type { ErpKind, ErpStage } from '../../domain/integrations.js';
import type { OutboundHttp } from '../outbound-http.js';
import type { ErpAdapter, ErpCall, ErpConnection, ErpResult } from './adapter.js';
import { restAdapter, restSettingsSchema } from './rest.js';
import { sapODataAdapter, sapODataSettingsSchema } from './sap-odata.js';

/**
 * The ERP adapter registry (the seed's `ERPAdapterRegistry`): each kind of ERP a company can
 * connect, with the schema of its settings and the adapter that speaks to it. Typed over the
 * kinds of domain/integrations.ts, so a kind without an adapter does not compile.
 */
export const ERP_ADAPTERS: { [K in ErpKind]: { settings: z.ZodType; create(connection: ErpConnection<never>, http: OutboundHttp): ErpAdapter } } = {
  'sap-odata': { settings: sapODataSettingsSchema, create: sapODataAdapter },
  rest: { settings: restSettingsSchema, create: restAdapter },
};

/** The adapter for a stored connection; its settings are parsed again (defaults filled in) before use. */
export function erpAdapterFor(connection: ErpConnection, http: OutboundHttp): ErpAdapter {
  const entry = ERP_ADAPTERS[connection.kind];
  return entry.create({ ...connection, settings: entry.settings.parse(connection.settings) as never }, http);
}

/** Which adapter call each stage of the shipment makes. */
export function callStage(adapter: ErpAdapter, call: ErpCall): Promise<ErpResult> {
  const byStage: Record<ErpStage, (call: ErpCall) => Promise<ErpResult>> = {
    booked: adapter.createOrder,
    dispatched: adapter.notifyDispatch,
    delivered: adapter.confirmDelivery,
    cancelled: adapter.cancelOrder,
  };
  return byStage[call.stage](call);
}
