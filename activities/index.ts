import type { RulesSource } from '../db/dangerous-goods-rules.js';
import type { Database } from '../db/orm.js';
import type { AuditCheckpointSeal } from '../security/audit-checkpoint.js';
import { auditActivities } from './audit.js';
import { databaseActivities } from './database.js';
import { governmentActivities } from './government.js';
import { shipmentActivities } from './shipments.js';

export interface ActivityDependencies {
  db: Database;
  auditSeal: AuditCheckpointSeal;
  /** The catalogue sync role's URL (DATABASE_CATALOGUE_URL): the app role may only read the DG catalogue. */
  catalogueDatabaseUrl: string | undefined;
  /** The DG catalogue and segregation tables the compliance engine runs on. */
  rules: RulesSource;
}

/** Every activity the worker registers; workflows see only this type. */
export function createActivities(deps: ActivityDependencies) {
  return { ...databaseActivities(deps.db), ...governmentActivities({ catalogueDatabaseUrl: deps.catalogueDatabaseUrl }), ...auditActivities(deps.db, deps.auditSeal), ...shipmentActivities(deps.db, deps.rules) };
}

export type Activities = ReturnType<typeof createActivities>;
