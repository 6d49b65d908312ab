import { taskQueues, type Config } from '../config/env.js';
import type { OutboundSettings } from './outbound-http.js';
import { outboundPolicyFor } from './outbound-url.js';

/** What the ERP and webhook activities need of the configuration, read once at start. */
export interface IntegrationSettings {
  erp: OutboundSettings;
  webhooks: OutboundSettings & {
    giveUpAfterMs: number;
    /** Where the delivery workflows run (the integrations task queue, with the deployment's prefix). */
    taskQueue: string;
  };
}

export function integrationSettingsFromConfig(config: Config): IntegrationSettings {
  const policy = outboundPolicyFor(config.NODE_ENV);
  const maxResponseBytes = config.INTEGRATIONS_MAX_RESPONSE_BYTES;
  return {
    erp: { policy, timeoutMs: config.ERP_REQUEST_TIMEOUT_MS, maxResponseBytes },
    webhooks: { policy, timeoutMs: config.WEBHOOK_REQUEST_TIMEOUT_MS, maxResponseBytes, giveUpAfterMs: config.WEBHOOK_GIVE_UP_AFTER_SECONDS * 1000, taskQueue: taskQueues(config).integrations },
  };
}
