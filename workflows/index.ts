export { telemetryMaintenanceWorkflow } from './telemetry-maintenance.js';
export { auditCheckpointWorkflow } from './audit-checkpoint.js';
export { idempotencyPurgeWorkflow } from './idempotency-purge.js';
export { shipmentWorkflow } from './shipment.js';
export { inspectionWorkflow } from './inspection.js';
export { incidentWorkflow } from './incident.js';
