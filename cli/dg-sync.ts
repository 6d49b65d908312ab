// `safeshipper dg sync`: the government DG sync on demand (the scheduled workflow runs the same activity).
import { CatalogueSourceInvalid, SHIPPED_CATALOGUE, syncCatalogue } from '../activities/government.js';
import { openDatabase } from '../db/orm.js';
import { sourceUrlProblem } from '../domain/dangerous-goods/catalogue-sync.js';
import { UsageError } from './errors.js';

const LISTED = 50;

export async function syncCommand(options: { hmtUrl?: string | undefined; specialProvisionsUrl?: string | undefined }, env: NodeJS.ProcessEnv): Promise<unknown> {
  const sources = {
    hazardousMaterialsTable: options.hmtUrl ?? env.DG_SYNC_HMT_URL ?? SHIPPED_CATALOGUE.hazardousMaterialsTable,
    specialProvisions: options.specialProvisionsUrl ?? env.DG_SYNC_SPECIAL_PROVISIONS_URL ?? SHIPPED_CATALOGUE.specialProvisions,
  };
  for (const value of Object.values(sources)) {
    const refused = sourceUrlProblem(value);
    if (refused) throw new UsageError(refused);
  }
  const url = env.DATABASE_CATALOGUE_URL;
  if (!url || !/^postgres(ql)?:\/\//.test(url)) throw new UsageError('DATABASE_CATALOGUE_URL must be set to the catalogue sync role\'s postgresql:// URL (on a dev machine: set -a; . .stack/stack.env)');
  const db = await openDatabase({ url, poolSize: 2 });
  try {
    const outcome = await syncCatalogue(db, sources);
    const list = (keys: readonly string[]) => ({ count: keys.length, keys: keys.slice(0, LISTED) });
    return {
      status: outcome.status,
      revisionId: outcome.revisionId,
      sources,
      rows: outcome.rowCount,
      added: list(outcome.added),
      changed: list(outcome.changed),
      withdrawn: list(outcome.withdrawn),
      reinstated: list(outcome.reinstated),
      unchanged: outcome.unchanged,
      specialProvisionsChanged: outcome.specialProvisionsChanged,
    };
  } catch (error) {
    if (error instanceof CatalogueSourceInvalid) throw new UsageError(`nothing applied: ${error.message}`, error.problems.slice(0, 20).map((p) => `line ${p.line}: ${p.message}`));
    throw error;
  } finally {
    await db.close();
  }
}
