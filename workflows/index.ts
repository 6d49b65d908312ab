export { telemetryMaintenanceWorkflow } from './telemetry-maintenance.js';
