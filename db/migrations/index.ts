import { Migration20261126000000Foundation } from './Migration20261126000000Foundation.js';
import { Migration20261126010000DangerousGoods } from './Migration20261126010000DangerousGoods.js';
import { Migration20261126020000Platform } from './Migration20261126020000Platform.js';
import { Migration20261130100000DeviceRevocation } from './Migration20261130100000DeviceRevocation.js';
import { Migration20261130110000AuditChain } from './Migration20261130110000AuditChain.js';
import { Migration20261130120000CatalogueRole } from './Migration20261130120000CatalogueRole.js';
import { Migration20261130130000CompanyRegime } from './Migration20261130130000CompanyRegime.js';
import { Migration20261130140000ShipmentLifecycle } from './Migration20261130140000ShipmentLifecycle.js';
import { Migration20261201000000Incidents } from './Migration20261201000000Incidents.js';
import { Migration20261201010000Inspections } from './Migration20261201010000Inspections.js';
import { Migration20261201020000Integrations } from './Migration20261201020000Integrations.js';
import { Migration20261201040000Search } from './Migration20261201040000Search.js';
import { Migration20261201050000Documents } from './Migration20261201050000Documents.js';
import { Migration20261202030000ExternalBroker } from './Migration20261202030000ExternalBroker.js';
import { Migration20261202040000TelemetryEventRetention } from './Migration20261202040000TelemetryEventRetention.js';
import { Migration20261202000000TelemetryPipeline } from './Migration20261202000000TelemetryPipeline.js';
import { Migration20261202010000Alarms } from './Migration20261202010000Alarms.js';
import { Migration20261202020000TelemetryRollups } from './Migration20261202020000TelemetryRollups.js';

/** Listed explicitly: the migrator never globs the file system, so tsx, tsc output and bundles behave alike. */
export const migrationsList = [
  { name: 'Migration20261126000000Foundation', class: Migration20261126000000Foundation },
  { name: 'Migration20261126010000DangerousGoods', class: Migration20261126010000DangerousGoods },
  { name: 'Migration20261126020000Platform', class: Migration20261126020000Platform },
  { name: 'Migration20261130100000DeviceRevocation', class: Migration20261130100000DeviceRevocation },
  { name: 'Migration20261130110000AuditChain', class: Migration20261130110000AuditChain },
  { name: 'Migration20261130120000CatalogueRole', class: Migration20261130120000CatalogueRole },
  { name: 'Migration20261130130000CompanyRegime', class: Migration20261130130000CompanyRegime },
  { name: 'Migration20261130140000ShipmentLifecycle', class: Migration20261130140000ShipmentLifecycle },
  { name: 'Migration20261201000000Incidents', class: Migration20261201000000Incidents },
  { name: 'Migration20261201010000Inspections', class: Migration20261201010000Inspections },
  { name: 'Migration20261201020000Integrations', class: Migration20261201020000Integrations },
  { name: 'Migration20261201040000Search', class: Migration20261201040000Search },
  { name: 'Migration20261201050000Documents', class: Migration20261201050000Documents },
  { name: 'Migration20261202000000TelemetryPipeline', class: Migration20261202000000TelemetryPipeline },
  { name: 'Migration20261202010000Alarms', class: Migration20261202010000Alarms },
  { name: 'Migration20261202020000TelemetryRollups', class: Migration20261202020000TelemetryRollups },
  { name: 'Migration20261202030000ExternalBroker', class: Migration20261202030000ExternalBroker },
  { name: 'Migration20261202040000TelemetryEventRetention', class: Migration20261202040000TelemetryEventRetention },
];
