import type { Database } from '../db/orm.js';
import { databaseActivities } from './database.js';

export interface ActivityDependencies {
  db: Database;
}

/** Every activity the worker registers; workflows see only this type. */
export function createActivities(deps: ActivityDependencies) {
  return { ...databaseActivities(deps.db) };
}

export type Activities = ReturnType<typeof createActivities>;
