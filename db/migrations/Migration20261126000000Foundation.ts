import { Migration } from '@mikro-orm/migrations';

/**
 * Foundation schema: companies, geofences (PostGIS), devices and telemetry.
 * Tenancy is enforced twice: the ORM filter scopes queries, and row-level security
 * checks every row against `app.current_company_id`, set per transaction by the app.
 * The app connects as `safeshipper_app`, which is not the owner, so RLS applies to it.
 */
export class Migration20261126000000Foundation extends Migration {
  override async up(): Promise<void> {
    const [extension] = await this.execute(`SELECT count(*)::int AS n FROM pg_extension WHERE extname = 'timescaledb'`);
    const TIMESCALE = Number((extension as { n: number } | undefined)?.n) > 0;

    this.addSql(`
      CREATE FUNCTION current_company_id() RETURNS uuid LANGUAGE sql STABLE AS
      $$ SELECT nullif(current_setting('app.current_company_id', true), '')::uuid $$`);

    this.addSql(`
      CREATE TABLE companies (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);

    this.addSql(`
      CREATE TABLE geofences (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        company_id uuid NOT NULL REFERENCES companies(id),
        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
        kind text NOT NULL CHECK (kind IN ('DEPOT', 'CUSTOMER', 'RESTRICTED_DG')),
        area geography(Polygon, 4326) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    this.addSql('CREATE INDEX geofences_company_idx ON geofences (company_id)');
    this.addSql('CREATE INDEX geofences_area_gist ON geofences USING gist (area)');

    this.addSql(`
      CREATE TABLE devices (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        company_id uuid NOT NULL REFERENCES companies(id),
        vehicle_id uuid,
        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
        mqtt_username text NOT NULL UNIQUE CHECK (mqtt_username ~ '^[a-z0-9][a-z0-9._-]{2,63}$'),
        secret_hash text NOT NULL,
        revoked_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    this.addSql('CREATE INDEX devices_company_idx ON devices (company_id)');

    // The broker authenticates a device before it knows the device's company, so this one
    // lookup runs with the owner's rights; it returns only what authentication needs.
    this.addSql(`
      CREATE FUNCTION device_credentials(p_username text)
      RETURNS TABLE (device_id uuid, company_id uuid, vehicle_id uuid, secret_hash text)
      LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS
      $$ SELECT id, company_id, vehicle_id, secret_hash FROM devices WHERE mqtt_username = p_username AND revoked_at IS NULL $$`);
    this.addSql('REVOKE ALL ON FUNCTION device_credentials(text) FROM PUBLIC');
    this.addSql('GRANT EXECUTE ON FUNCTION device_credentials(text) TO safeshipper_app');

    // Telemetry: the primary key makes a redelivered QoS 1 message a no-op, not a duplicate.
    // One table, the same queries either way: a TimescaleDB hypertable where the extension is
    // installed (production image), else native daily partitions kept by pg_partman, with a
    // default partition so a point outside the premade range is stored, never refused.
    this.addSql(`
      CREATE TABLE telemetry_points (
        company_id uuid NOT NULL,
        device_id uuid NOT NULL,
        vehicle_id uuid,
        recorded_at timestamptz NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        location geography(Point, 4326),
        speed_kmh real CHECK (speed_kmh BETWEEN 0 AND 400),
        heading_deg real CHECK (heading_deg >= 0 AND heading_deg < 360),
        temperature_c real,
        payload jsonb NOT NULL DEFAULT '{}'::jsonb,
        PRIMARY KEY (device_id, recorded_at)
      ) ${TIMESCALE ? '' : 'PARTITION BY RANGE (recorded_at)'}`);
    this.addSql('CREATE INDEX telemetry_points_vehicle_time_idx ON telemetry_points (vehicle_id, recorded_at DESC)');
    if (TIMESCALE) {
      this.addSql(`SELECT create_hypertable('telemetry_points', 'recorded_at', chunk_time_interval => interval '1 day')`);
    } else {
      this.addSql(`SELECT partman.create_parent('public.telemetry_points', 'recorded_at', 'native', 'daily', p_premake := 7, p_start_partition := (now() - interval '3 days')::text)`);
    }

    // Premakes the coming days' partitions and says how many days lie ready ahead;
    // called by the scheduled maintenance workflow as the app role. TimescaleDB makes its chunks
    // as data arrives, so there it answers NULL: nothing to premake.
    this.addSql(TIMESCALE ? `
      CREATE FUNCTION run_telemetry_maintenance() RETURNS integer LANGUAGE sql SECURITY DEFINER SET search_path = public AS
      $$ SELECT NULL::integer $$` : `
      CREATE FUNCTION run_telemetry_maintenance() RETURNS integer
      LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, partman AS
      $$ BEGIN
        PERFORM partman.run_maintenance('public.telemetry_points');
        RETURN (SELECT count(*)::int
                  FROM partman.show_partitions('public.telemetry_points') p,
                       partman.show_partition_info(p.partition_schemaname || '.' || p.partition_tablename) i
                 WHERE i.child_start_time > now());
      END $$`);
    this.addSql('REVOKE ALL ON FUNCTION run_telemetry_maintenance() FROM PUBLIC');
    this.addSql('GRANT EXECUTE ON FUNCTION run_telemetry_maintenance() TO safeshipper_app');

    for (const table of ['companies', 'geofences', 'devices', 'telemetry_points']) {
      const column = table === 'companies' ? 'id' : 'company_id';
      this.addSql(`ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY`);
      this.addSql(`CREATE POLICY tenant_isolation ON ${table} USING (${column} = current_company_id()) WITH CHECK (${column} = current_company_id())`);
    }
    this.addSql('GRANT SELECT, INSERT, UPDATE, DELETE ON companies, geofences, devices, telemetry_points TO safeshipper_app');
  }
}
