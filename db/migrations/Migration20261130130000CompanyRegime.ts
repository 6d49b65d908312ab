import { Migration } from '@mikro-orm/migrations';

/**
 * Each company answers dangerous-goods questions under one regime unless a request names
 * another: the ADG Code (Australia, the seed's first market, so the default) or 49 CFR (US).
 * The values are written out, not taken from domain/: a migration keeps what it meant when it ran.
 */
export class Migration20261130130000CompanyRegime extends Migration {
  override async up(): Promise<void> {
    this.addSql(`ALTER TABLE companies ADD COLUMN dg_regime text NOT NULL DEFAULT 'adg' CONSTRAINT companies_dg_regime_check CHECK (dg_regime IN ('adg', '49cfr'))`);
  }
}
