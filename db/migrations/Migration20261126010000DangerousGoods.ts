import { Migration } from '@mikro-orm/migrations';

/**
 * The dangerous-goods catalogue (49 CFR 172.101 Hazardous Materials Table and the 172.102
 * special provisions): reference data shared by every company, so no company_id and no RLS;
 * the app role reads it, and the catalogue sync is the only writer.
 * Rows are never deleted: one the regulator drops is marked withdrawn, so shipments that
 * cite it keep a valid reference.
 */
export class Migration20261126010000DangerousGoods extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      CREATE TABLE dg_catalogue_revisions (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        source text NOT NULL,
        checksum text NOT NULL,
        row_count int NOT NULL,
        added int NOT NULL,
        changed int NOT NULL,
        withdrawn int NOT NULL,
        reinstated int NOT NULL,
        special_provisions_changed int NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);

    this.addSql(`
      CREATE TABLE dangerous_goods (
        id uuid PRIMARY KEY,
        entry_key text NOT NULL UNIQUE,
        row_index int NOT NULL,
        un_number text CHECK (un_number ~ '^(UN|NA|ID)[0-9]{4}$'),
        proper_shipping_name text NOT NULL,
        search_name text NOT NULL,
        hazard_class_raw text NOT NULL,
        hazard_class text,
        compatibility_group text,
        packing_group text CHECK (packing_group IN ('I', 'II', 'III')),
        subsidiary_risks text[] NOT NULL,
        labels text[] NOT NULL,
        special_provisions text[] NOT NULL,
        symbols text[] NOT NULL,
        forbidden boolean NOT NULL,
        technical_name_required boolean NOT NULL,
        poison_inhalation_hazard boolean NOT NULL,
        inhalation_hazard_zone text CHECK (inhalation_hazard_zone IN ('A', 'B', 'C', 'D')),
        physical_state text CHECK (physical_state IN ('solid', 'liquid', 'gas')),
        limited_quantity_eligible boolean,
        packaging jsonb NOT NULL,
        quantity_limitations jsonb NOT NULL,
        vessel_stowage jsonb NOT NULL,
        source_row jsonb NOT NULL,
        revision_id uuid NOT NULL REFERENCES dg_catalogue_revisions(id),
        withdrawn_at timestamptz,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    this.addSql('CREATE INDEX dangerous_goods_un_idx ON dangerous_goods (un_number) WHERE withdrawn_at IS NULL');
    this.addSql('CREATE INDEX dangerous_goods_class_idx ON dangerous_goods (hazard_class, search_name, id) WHERE withdrawn_at IS NULL');
    this.addSql('CREATE INDEX dangerous_goods_order_idx ON dangerous_goods (search_name, id) WHERE withdrawn_at IS NULL');
    this.addSql('CREATE INDEX dangerous_goods_search_trgm ON dangerous_goods USING gin (search_name gin_trgm_ops)');

    this.addSql(`
      CREATE TABLE special_provisions (
        code text PRIMARY KEY CHECK (length(code) BETWEEN 1 AND 8),
        text text NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);

    this.addSql('GRANT SELECT ON dangerous_goods, special_provisions, dg_catalogue_revisions TO safeshipper_app');
    // The sync runs as the app role from the worker (scheduled) and the CLI.
    this.addSql('GRANT INSERT, UPDATE ON dangerous_goods, special_provisions TO safeshipper_app');
    this.addSql('GRANT INSERT ON dg_catalogue_revisions TO safeshipper_app');
  }
}
