import { DEFAULT_REGIME, isRegime, type Regime } from '../domain/dangerous-goods/regime.js';
import type { Database } from './orm.js';
import { readInTenant } from './tenant-read.js';

/** The DG regime the caller's company answers under; a company without a row yet has the default. */
export async function companyRegime(db: Database, companyId: string): Promise<Regime> {
  const rows = await readInTenant<{ dg_regime: string }>(db, companyId, (uuid) => `SELECT dg_regime FROM companies WHERE id = ${uuid(companyId)}`);
  const row = rows[0];
  if (row === undefined) return DEFAULT_REGIME;
  // The column's CHECK constraint keeps anything else out; a value this code does not know is a deployment error.
  if (!isRegime(row.dg_regime)) throw new Error(`companies.dg_regime holds ${JSON.stringify(row.dg_regime)}, which is not a regime`);
  return row.dg_regime;
}
