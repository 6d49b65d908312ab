import type { Database } from '../db/orm.js';
import { databaseActivities } from './database.js';
import { governmentActivities } from './government.js';

export interface ActivityDependencies {
  db: Database;
}

/** Every activity the worker registers; workflows see only this type. */
export function createActivities(deps: ActivityDependencies) {
  return { ...databaseActivities(deps.db), ...governmentActivities(deps.db) };
}

export type Activities = ReturnType<typeof createActivities>;
