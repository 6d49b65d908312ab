import { ApplicationFailure } from '@temporalio/activity';
import { fieldBinding } from '../db/encrypted-fields.js';
import { erpOrderReference, findErpConnection, finishErpCall, shipmentForErp, startErpCall } from '../db/integrations.js';
import { inTenant, type Database } from '../db/orm.js';
import { ERP_STAGES, erpAttemptMs, IDEMPOTENCY_KEY_PATTERN } from '../domain/integrations.js';
import { ErpCallFailed, erpCredentialsSchema, type ErpCredentials } from '../integrations/erp/adapter.js';
import { callStage, erpAdapterFor } from '../integrations/erp/registry.js';
import { OutboundHttp } from '../integrations/outbound-http.js';
import type { IntegrationSettings } from '../integrations/settings.js';
import type { FieldEncryption } from '../security/field-encryption.js';
import { ERP_REJECTED, ERP_UNAVAILABLE, type ErpSyncRequest } from '../workflows/contracts/integrations.js';

/** The type of a request the activity cannot act on (a caller's bug, not the ERP's answer). */
const ERP_REQUEST_INVALID = 'ErpRequestInvalid';


/**
 * Activities that talk to the companies' ERPs (integrations/erp). Each call is recorded in
 * erp_calls under its idempotency key before anything is sent, with what was sent and what the
 * ERP answered; a key that already succeeded answers its reference without calling again.
 */
export function erpActivities(deps: { db: Database; fields: FieldEncryption; settings: IntegrationSettings }) {
  const { db, fields, settings } = deps;

  const credentialsOf = (connection: { id: string; credentials: string | null }, companyId: string): ErpCredentials => {
    if (connection.credentials === null) return { type: 'none' };
    try {
      return erpCredentialsSchema.parse(JSON.parse(fields.decrypt(connection.credentials, fieldBinding('erp_connections', 'credentials', { id: connection.id, companyId }))));
    } catch (error) {
      throw new ErpCallFailed(`the ERP connection's stored credentials cannot be opened (${(error as Error).message}): set them again with PUT /api/v1/integrations/erp`, false);
    }
  };

  return {
    /**
     * Tells the company's ERP about a stage of the shipment: the order at booking, the dispatch
     * notice at departure, the delivery confirmation, the cancellation. No ERP connected (or
     * disabled): `{ erpReference: null }` and nothing is called. A refusal by the ERP (its
     * validation, our credentials) is non-retryable (`ErpRejected`); an outage or timeout is
     * retried (`ErpUnavailable`), with the same key, so the ERP is never given a second order.
     */
    async syncShipmentToErp(request: ErpSyncRequest): Promise<{ erpReference: string | null }> {
      if (!ERP_STAGES.includes(request.stage)) throw ApplicationFailure.nonRetryable(`unknown ERP stage ${JSON.stringify(request.stage)}`, ERP_REQUEST_INVALID);
      if (!IDEMPOTENCY_KEY_PATTERN.test(request.idempotencyKey)) throw ApplicationFailure.nonRetryable('the idempotency key must be 1–120 visible ASCII characters', ERP_REQUEST_INVALID);

      const prepared = await inTenant(db, request.companyId, async (em) => {
        const connection = await findErpConnection(em);
        if (!connection?.enabled) return null;
        const shipment = await shipmentForErp(em, request.shipmentId);
        if (!shipment) throw ApplicationFailure.nonRetryable(`shipment ${request.shipmentId} does not exist in company ${request.companyId}`, ERP_REQUEST_INVALID);
        const start = await startErpCall(em, { ...request, kind: connection.kind, leaseMs: erpAttemptMs(settings.erp.timeoutMs) });
        const orderReference = request.stage === 'booked' ? null : await erpOrderReference(em, request.shipmentId);
        return { connection, shipment, start, orderReference };
      });
      if (!prepared) return { erpReference: null };
      const { connection, shipment, start, orderReference } = prepared;
      if (start.outcome === 'done') return { erpReference: start.call.erpReference };
      if (start.outcome === 'conflict') throw ApplicationFailure.nonRetryable(`idempotency key ${request.idempotencyKey} was used for the ${start.call.stage} call of shipment ${start.call.shipmentId}`, ERP_REQUEST_INVALID);
      if (start.outcome === 'in-flight') {
        throw ApplicationFailure.create({ message: 'an earlier attempt with this idempotency key is still talking to the ERP', type: ERP_UNAVAILABLE, nextRetryDelay: start.retryInMs });
      }

      const record = (result: Parameters<typeof finishErpCall>[2]) => inTenant(db, request.companyId, (em) => finishErpCall(em, start.call.id, result));
      const http = new OutboundHttp(settings.erp);
      try {
        const adapter = erpAdapterFor({ kind: connection.kind, baseUrl: connection.baseUrl, credentials: credentialsOf(connection, request.companyId), settings: connection.settings }, http);
        const result = await callStage(adapter, { stage: request.stage, shipment, idempotencyKey: request.idempotencyKey, orderReference, occurredAt: start.firstAttemptAt, mayExist: start.earlierAttempts > 0 });
        await record({ status: 'succeeded', erpReference: result.reference, lastError: null, request: result.sent });
        return { erpReference: result.reference };
      } catch (error) {
        const failed = error instanceof ErpCallFailed ? error : new ErpCallFailed(`the call failed unexpectedly: ${(error as Error).message}`, true);
        await record({ status: failed.retryable ? 'failed' : 'rejected', erpReference: null, lastError: failed.message, request: failed.sent });
        const details = failed.options.status !== undefined ? [{ status: failed.options.status }] : [];
        if (!failed.retryable) throw ApplicationFailure.nonRetryable(failed.message, ERP_REJECTED, ...details);
        throw ApplicationFailure.create({ message: failed.message, type: ERP_UNAVAILABLE, details, ...(failed.options.retryAfterMs !== undefined ? { nextRetryDelay: failed.options.retryAfterMs } : {}) });
      } finally {
        await http.close();
      }
    },
  };
}
