import { Migration } from '@mikro-orm/migrations';

/**
 * Telemetry's read side over time (issue 9): hourly rollups per device (points, the hour's last
 * fix, speed and temperature), which long tracks read instead of every point, and retention.
 * - With TimescaleDB: a continuous aggregate kept by Timescale's own refresh policy, real-time
 *   (the hours not yet materialised are aggregated on read), behind a view that shows only the
 *   caller's company (a continuous aggregate takes no row-level security); retention drops chunks.
 * - Otherwise: a table kept by the scheduled telemetry-rollup workflow (run_telemetry_rollup
 *   recomputes one whole hour; the activity runs the hours of a look-back window, so a late point
 *   is counted), and
 *   retention through pg_partman (its partitions older than the configured age dropped, the
 *   default partition's old rows deleted).
 * The functions run as the owner (SECURITY DEFINER): they work across companies, which the app
 * role under row-level security cannot; the app role may only execute them.
 */
export class Migration20261202020000TelemetryRollups extends Migration {
  override async up(): Promise<void> {
    const [extension] = await this.execute(`SELECT count(*)::int AS n FROM pg_extension WHERE extname = 'timescaledb'`);
    const TIMESCALE = Number((extension as { n: number } | undefined)?.n) > 0;

    if (TIMESCALE) {
      this.addSql(`
        CREATE MATERIALIZED VIEW telemetry_hourly_aggregate WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
        SELECT company_id, device_id, time_bucket(interval '1 hour', recorded_at) AS hour,
               last(vehicle_id, recorded_at) AS vehicle_id, count(*)::int AS points, min(recorded_at) AS first_at, max(recorded_at) AS last_at,
               max(recorded_at) FILTER (WHERE location IS NOT NULL) AS fix_at,
               last(location, recorded_at) FILTER (WHERE location IS NOT NULL) AS fix_location,
               last(speed_kmh, recorded_at) FILTER (WHERE location IS NOT NULL) AS fix_speed_kmh,
               last(heading_deg, recorded_at) FILTER (WHERE location IS NOT NULL) AS fix_heading_deg,
               avg(speed_kmh)::real AS avg_speed_kmh, max(speed_kmh) AS max_speed_kmh,
               min(temperature_c) AS min_temperature_c, max(temperature_c) AS max_temperature_c
          FROM telemetry_points GROUP BY company_id, device_id, time_bucket(interval '1 hour', recorded_at)
        WITH NO DATA`);
      this.addSql(`SELECT add_continuous_aggregate_policy('telemetry_hourly_aggregate', start_offset => interval '3 days', end_offset => interval '1 hour', schedule_interval => interval '1 hour')`);
      this.addSql(`CREATE VIEW telemetry_hourly WITH (security_barrier) AS SELECT * FROM telemetry_hourly_aggregate WHERE company_id = current_company_id()`);
      this.addSql('GRANT SELECT ON telemetry_hourly TO safeshipper_app');
      // Real-time aggregation: every hour reads as rolled up.
      this.addSql(`CREATE FUNCTION telemetry_rolled_until() RETURNS timestamptz LANGUAGE sql STABLE AS $$ SELECT now() $$`);
      this.addSql(`CREATE FUNCTION run_telemetry_rollup(p_hour timestamptz) RETURNS integer LANGUAGE sql SECURITY DEFINER SET search_path = public AS $$ SELECT NULL::integer $$`);
      this.addSql(`
        CREATE FUNCTION apply_telemetry_retention(p_raw_days integer, p_rollup_days integer, OUT partitions_dropped integer, OUT rollup_rows_deleted integer)
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS
        $$ BEGIN
          SELECT count(*)::int INTO partitions_dropped FROM drop_chunks('telemetry_points', older_than => now() - make_interval(days => p_raw_days));
          PERFORM drop_chunks('telemetry_hourly_aggregate', older_than => now() - make_interval(days => p_rollup_days));
          rollup_rows_deleted := NULL;
        END $$`);
    } else {
      this.addSql(`
        CREATE TABLE telemetry_hourly (
          company_id uuid NOT NULL REFERENCES companies(id),
          device_id uuid NOT NULL,
          hour timestamptz NOT NULL,
          vehicle_id uuid,
          points integer NOT NULL CHECK (points > 0),
          first_at timestamptz NOT NULL,
          last_at timestamptz NOT NULL,
          fix_at timestamptz,
          fix_location geography(Point, 4326),
          fix_speed_kmh real,
          fix_heading_deg real,
          avg_speed_kmh real,
          max_speed_kmh real,
          min_temperature_c real,
          max_temperature_c real,
          PRIMARY KEY (device_id, hour)
        )`);
      this.addSql('CREATE INDEX telemetry_hourly_vehicle_idx ON telemetry_hourly (vehicle_id, hour)');
      this.addSql('CREATE INDEX telemetry_hourly_hour_idx ON telemetry_hourly (hour)');
      this.addSql('ALTER TABLE telemetry_hourly ENABLE ROW LEVEL SECURITY');
      this.addSql('CREATE POLICY tenant_isolation ON telemetry_hourly USING (company_id = current_company_id()) WITH CHECK (company_id = current_company_id())');
      // Written only by the owner's functions: the app role reads.
      this.addSql('GRANT SELECT ON telemetry_hourly TO safeshipper_app');
      this.addSql(`CREATE TABLE telemetry_rollup_state (singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton), rolled_until timestamptz NOT NULL)`);
      this.addSql(`CREATE FUNCTION telemetry_rolled_until() RETURNS timestamptz LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$ SELECT rolled_until FROM telemetry_rollup_state $$`);
      // One whole hour (the current one is still filling), recomputed from its points, so running it again changes nothing and a
      // late point is counted. The workflow's activity rolls the hours oldest first: the mark says every hour before it is rolled.
      this.addSql(`
        CREATE FUNCTION run_telemetry_rollup(p_hour timestamptz) RETURNS integer
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS
        $$ DECLARE
          v_from timestamptz := date_trunc('hour', p_hour);
          v_rows integer;
        BEGIN
          IF v_from >= date_trunc('hour', now()) THEN RAISE EXCEPTION 'hour % has not ended', v_from USING ERRCODE = '22023'; END IF;
          DELETE FROM telemetry_hourly WHERE hour = v_from;
          INSERT INTO telemetry_hourly (company_id, device_id, hour, vehicle_id, points, first_at, last_at, fix_at, fix_location, fix_speed_kmh, fix_heading_deg, avg_speed_kmh, max_speed_kmh, min_temperature_c, max_temperature_c)
          SELECT (array_agg(company_id))[1], device_id, v_from,
                 (array_agg(vehicle_id ORDER BY recorded_at DESC, sequence DESC))[1], count(*)::int, min(recorded_at), max(recorded_at),
                 max(recorded_at) FILTER (WHERE location IS NOT NULL),
                 (array_agg(location ORDER BY recorded_at DESC, sequence DESC) FILTER (WHERE location IS NOT NULL))[1],
                 (array_agg(speed_kmh ORDER BY recorded_at DESC, sequence DESC) FILTER (WHERE location IS NOT NULL))[1],
                 (array_agg(heading_deg ORDER BY recorded_at DESC, sequence DESC) FILTER (WHERE location IS NOT NULL))[1],
                 avg(speed_kmh)::real, max(speed_kmh), min(temperature_c), max(temperature_c)
            FROM telemetry_points WHERE recorded_at >= v_from AND recorded_at < v_from + interval '1 hour'
           GROUP BY device_id;
          GET DIAGNOSTICS v_rows = ROW_COUNT;
          INSERT INTO telemetry_rollup_state (rolled_until) VALUES (v_from + interval '1 hour')
            ON CONFLICT (singleton) DO UPDATE SET rolled_until = greatest(telemetry_rollup_state.rolled_until, EXCLUDED.rolled_until);
          RETURN v_rows;
        END $$`);
      this.addSql(`
        CREATE FUNCTION apply_telemetry_retention(p_raw_days integer, p_rollup_days integer, OUT partitions_dropped integer, OUT rollup_rows_deleted integer)
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, partman AS
        $$ DECLARE
          v_old text[];
        BEGIN
          SELECT coalesce(array_agg(p.partition_tablename), '{}') INTO v_old
            FROM partman.show_partitions('public.telemetry_points') p,
                 partman.show_partition_info(p.partition_schemaname || '.' || p.partition_tablename) i
           WHERE i.child_end_time <= now() - make_interval(days => p_raw_days);
          UPDATE partman.part_config SET retention = make_interval(days => p_raw_days)::text, retention_keep_table = false, retention_keep_index = false
           WHERE parent_table = 'public.telemetry_points';
          PERFORM partman.run_maintenance('public.telemetry_points');
          SELECT cardinality(v_old) - count(*)::int INTO partitions_dropped FROM partman.show_partitions('public.telemetry_points') p WHERE p.partition_tablename = ANY (v_old);
          -- A point older than every partition sits in the default partition: aged out the same way.
          DELETE FROM telemetry_points_default WHERE recorded_at < now() - make_interval(days => p_raw_days);
          DELETE FROM telemetry_hourly WHERE hour < now() - make_interval(days => p_rollup_days);
          GET DIAGNOSTICS rollup_rows_deleted = ROW_COUNT;
        END $$`);
    }
    for (const fn of ['telemetry_rolled_until()', 'run_telemetry_rollup(timestamptz)', 'apply_telemetry_retention(integer, integer)']) {
      this.addSql(`REVOKE ALL ON FUNCTION ${fn} FROM PUBLIC`);
      this.addSql(`GRANT EXECUTE ON FUNCTION ${fn} TO safeshipper_app`);
    }
  }
}
