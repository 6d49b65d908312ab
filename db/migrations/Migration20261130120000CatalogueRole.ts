import { Migration } from '@mikro-orm/migrations';

/**
 * The DG catalogue is shared by every company, and what it says decides which loads are legal:
 * the services' role (safeshipper_app, which every request and device runs as) may only read it.
 * The government DG sync writes it as safeshipper_catalogue (infra/postgres/provision.sql), a
 * role nothing else connects as. Rows are never deleted (withdrawn instead), so no role may.
 */
export class Migration20261130120000CatalogueRole extends Migration {
  override async up(): Promise<void> {
    this.addSql('REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON dangerous_goods, special_provisions, dg_catalogue_revisions FROM safeshipper_app');
    this.addSql('GRANT SELECT ON dangerous_goods, special_provisions, dg_catalogue_revisions TO safeshipper_catalogue');
    this.addSql('GRANT INSERT, UPDATE ON dangerous_goods, special_provisions TO safeshipper_catalogue');
    this.addSql('GRANT INSERT ON dg_catalogue_revisions TO safeshipper_catalogue');
  }
}
