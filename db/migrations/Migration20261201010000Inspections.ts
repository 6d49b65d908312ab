import { Migration } from '@mikro-orm/migrations';

const TYPES = `('PRE_TRIP', 'PERIODIC_DG', 'BRAKES', 'TANK_EXTERNAL_VISUAL', 'TANK_LEAKAGE', 'TANK_INTERNAL_VISUAL', 'TANK_PRESSURE')`;

/**
 * Vehicle inspections (domain/inspection-lifecycle.ts): one programme per vehicle and inspection
 * type (its interval, next due date, standing, and why it grounds the vehicle), the inspections
 * recorded on it, and the vehicle's grounding reason. A vehicle is GROUNDED exactly when it has a
 * reason; the inspection workflow's activity is the only writer of both, deriving them from the
 * vehicle's programmes. The values are written out, not taken from domain/: a migration keeps what
 * it meant when it ran.
 */
export class Migration20261201010000Inspections extends Migration {
  override async up(): Promise<void> {
    this.addSql('ALTER TABLE vehicles ADD COLUMN grounded_reason text CHECK (length(grounded_reason) BETWEEN 1 AND 4000)');
    // A vehicle grounded by hand before programmes existed stays grounded, saying so, until a change of its programmes decides anew.
    this.addSql(`UPDATE vehicles SET grounded_reason = 'grounded before inspection programmes were recorded' WHERE status = 'GROUNDED'`);
    this.addSql(`ALTER TABLE vehicles ADD CONSTRAINT vehicles_grounded_has_reason CHECK ((status = 'GROUNDED') = (grounded_reason IS NOT NULL))`);

    this.addSql(`
      CREATE TABLE inspection_programs (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        company_id uuid NOT NULL REFERENCES companies(id),
        vehicle_id uuid NOT NULL REFERENCES vehicles(id),
        inspection_type text NOT NULL CHECK (inspection_type IN ${TYPES}),
        interval text NOT NULL CHECK (interval ~ '^P[1-9][0-9]*[DMY]$'),
        next_due_on date NOT NULL,
        status text NOT NULL CHECK (status IN ('CURRENT', 'DUE_SOON', 'OVERDUE', 'FAILED', 'RETIRED')),
        grounded_reason text CHECK (length(grounded_reason) BETWEEN 1 AND 2000),
        workflow_id text NOT NULL,
        retired_at timestamptz,
        retired_reason text,
        version int NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CHECK ((status = 'RETIRED') = (retired_at IS NOT NULL)),
        CHECK (grounded_reason IS NULL OR status IN ('OVERDUE', 'FAILED'))
      )`);
    // One running programme per vehicle and type; a retired one stays, with its inspections, beside its successor.
    this.addSql(`CREATE UNIQUE INDEX inspection_programs_running_idx ON inspection_programs (vehicle_id, inspection_type) WHERE status <> 'RETIRED'`);
    this.addSql('CREATE INDEX inspection_programs_vehicle_idx ON inspection_programs (company_id, vehicle_id, created_at, id)');

    // An inspection is a record of what was found: the app may add one, never change or remove it.
    this.addSql(`
      CREATE TABLE inspections (
        id uuid PRIMARY KEY,
        company_id uuid NOT NULL REFERENCES companies(id),
        vehicle_id uuid NOT NULL REFERENCES vehicles(id),
        program_id uuid NOT NULL REFERENCES inspection_programs(id),
        inspection_type text NOT NULL CHECK (inspection_type IN ${TYPES}),
        result text NOT NULL CHECK (result IN ('PASS', 'FAIL')),
        items jsonb NOT NULL CHECK (jsonb_typeof(items) = 'array'),
        inspector_name text NOT NULL CHECK (length(inspector_name) BETWEEN 1 AND 200),
        performed_at timestamptz NOT NULL,
        -- The documents are another context's (the document store): ids only, no foreign key.
        photo_document_ids uuid[] NOT NULL DEFAULT '{}',
        next_due_on date NOT NULL,
        recorded_by_subject text NOT NULL,
        recorded_by_username text,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    this.addSql('CREATE INDEX inspections_vehicle_idx ON inspections (company_id, vehicle_id, performed_at DESC, id DESC)');

    for (const table of ['inspection_programs', 'inspections']) {
      this.addSql(`ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY`);
      this.addSql(`CREATE POLICY tenant_isolation ON ${table} USING (company_id = current_company_id()) WITH CHECK (company_id = current_company_id())`);
    }
    this.addSql('GRANT SELECT, INSERT, UPDATE ON inspection_programs TO safeshipper_app');
    this.addSql('GRANT SELECT, INSERT ON inspections TO safeshipper_app');
  }
}
