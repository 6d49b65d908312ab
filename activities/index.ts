import type { RulesSource } from '../db/dangerous-goods-rules.js';
import type { Database } from '../db/orm.js';
import type { AuditCheckpointSeal } from '../security/audit-checkpoint.js';
import { auditActivities } from './audit.js';
import { databaseActivities } from './database.js';
import { governmentActivities, governmentIncidentActivities, type GovernmentIncidentApi } from './government.js';
import { incidentActivities } from './incidents.js';
import { notificationActivities, type CompanyDirectory } from './notifications.js';
import type { NotificationChannel } from '../integrations/notifications/index.js';
import type { FieldEncryption } from '../security/field-encryption.js';
import type { Logger } from '../config/logger.js';
import { shipmentActivities } from './shipments.js';
import { inspectionActivities } from './inspections.js';
import type { Client } from '@temporalio/client';
import type { CatalogueSources } from './government.js';
import { erpActivities } from './erp.js';
import { webhookActivities } from './webhooks.js';
import type { IntegrationSettings } from '../integrations/settings.js';
import { documentActivities } from './documents.js';
import type { DocumentStore } from '../documents/store.js';
import { searchActivities, type SearchActivityDependencies } from './search.js';
import { telemetryActivities, type TelemetryRetention } from './telemetry.js';

export interface ActivityDependencies {
  /** Activities that start workflows (the webhook fan-out) do it through this client. */
  temporal: Client;
  /** Customers' ERPs and webhook receivers: timeouts, answer size, where deliveries run, which destinations may be called. */
  integrations: IntegrationSettings;
  /** Where the scheduled DG catalogue sync reads the published tables (DG_SYNC_*_URL, or the shipped ones). */
  catalogueSources: CatalogueSources;
  db: Database;
  auditSeal: AuditCheckpointSeal;
  /** The catalogue sync role's URL (DATABASE_CATALOGUE_URL): the app role may only read the DG catalogue. */
  catalogueDatabaseUrl: string | undefined;
  /** The DG catalogue and segregation tables the compliance engine runs on. */
  rules: RulesSource;
  /** Opens emergency contacts' phone and e-mail for notifications. */
  fields: FieldEncryption;
  /** Where notifications go (config NOTIFY_*), and who the company's managers and users are (Keycloak). */
  notifications: { channels: readonly NotificationChannel[]; directory: CompanyDirectory | undefined };
  governmentIncidentApi: GovernmentIncidentApi;
  log: Logger;
  /** Where uploaded documents' bytes are (DOCUMENT_STORE): the API writes them, document processing reads them. */
  documents: DocumentStore;
  /** The external search engine the index is mirrored into (SEARCH_ENGINE=typesense), and the app role's URL to wait on the outbox. */
  search: Omit<SearchActivityDependencies, 'db'>;
  /** How long telemetry is kept, and how far back the hourly rollups are recomputed (TELEMETRY_*). */
  telemetryRetention: TelemetryRetention;
}

/** Every activity the worker registers; workflows see only this type. */
export function createActivities(deps: ActivityDependencies) {
  return { ...databaseActivities(deps.db), ...governmentActivities({ catalogueDatabaseUrl: deps.catalogueDatabaseUrl, catalogueSources: deps.catalogueSources }), ...auditActivities(deps.db, deps.auditSeal), ...shipmentActivities(deps.db, deps.rules), ...incidentActivities(deps.db), ...notificationActivities({ db: deps.db, fields: deps.fields, ...deps.notifications, log: deps.log }), ...governmentIncidentActivities(deps.db, deps.governmentIncidentApi), ...inspectionActivities(deps.db), ...erpActivities({ db: deps.db, fields: deps.fields, settings: deps.integrations }), ...webhookActivities({ db: deps.db, fields: deps.fields, temporal: deps.temporal, settings: deps.integrations }), ...documentActivities(deps.db, deps.rules, deps.documents), ...searchActivities({ db: deps.db, ...deps.search }), ...telemetryActivities(deps.db, deps.telemetryRetention) };
}

export type Activities = ReturnType<typeof createActivities>;
