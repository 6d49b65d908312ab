import { Migration } from '@mikro-orm/migrations';

/**
 * The telemetry pipeline's storage (issue 9).
 * - A point is identified by (device, device time, sequence): a device that sends two readings
 *   in one millisecond numbers them, a redelivered one is stored once. Accuracy of the fix.
 * - `vehicle_last_positions`: where each vehicle is now, upserted in the points' own transaction
 *   only by a point newer than the one it holds, so a late point never moves a vehicle back.
 * - Device presence (`status`, `last_seen_at`) and refused input counted per device and reason
 *   (`telemetry_rejections`): ingest writes both for many companies at once, in the background,
 *   through SECURITY DEFINER functions that file each row under its device's company.
 */
export class Migration20261202000000TelemetryPipeline extends Migration {
  override async up(): Promise<void> {
    this.addSql(`ALTER TABLE telemetry_points
      ADD COLUMN sequence bigint NOT NULL DEFAULT 0 CHECK (sequence BETWEEN 0 AND 9007199254740991),
      ADD COLUMN accuracy_m real CHECK (accuracy_m BETWEEN 0 AND 100000)`);
    this.addSql('ALTER TABLE telemetry_points DROP CONSTRAINT telemetry_points_pkey');
    this.addSql('ALTER TABLE telemetry_points ADD PRIMARY KEY (device_id, recorded_at, sequence)');

    this.addSql(`
      CREATE TABLE vehicle_last_positions (
        vehicle_id uuid PRIMARY KEY REFERENCES vehicles(id) ON DELETE CASCADE,
        company_id uuid NOT NULL REFERENCES companies(id),
        device_id uuid NOT NULL,
        recorded_at timestamptz NOT NULL,
        sequence bigint NOT NULL DEFAULT 0,
        location geography(Point, 4326) NOT NULL,
        speed_kmh real,
        heading_deg real,
        accuracy_m real,
        received_at timestamptz NOT NULL DEFAULT now()
      )`);
    this.addSql('CREATE INDEX vehicle_last_positions_company_idx ON vehicle_last_positions (company_id)');

    this.addSql(`ALTER TABLE devices
      ADD COLUMN status text NOT NULL DEFAULT 'NEVER_SEEN' CHECK (status IN ('NEVER_SEEN', 'ONLINE', 'OFFLINE')),
      ADD COLUMN last_seen_at timestamptz,
      ADD COLUMN status_changed_at timestamptz`);

    this.addSql(`
      CREATE TABLE telemetry_rejections (
        device_id uuid NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
        reason text NOT NULL CHECK (reason ~ '^[a-z_]{1,40}$'),
        company_id uuid NOT NULL REFERENCES companies(id),
        count bigint NOT NULL CHECK (count > 0),
        first_at timestamptz NOT NULL,
        last_at timestamptz NOT NULL,
        PRIMARY KEY (device_id, reason)
      )`);
    this.addSql('CREATE INDEX telemetry_rejections_company_idx ON telemetry_rejections (company_id)');

    for (const table of ['vehicle_last_positions', 'telemetry_rejections']) {
      this.addSql(`ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY`);
      this.addSql(`CREATE POLICY tenant_isolation ON ${table} USING (company_id = current_company_id()) WITH CHECK (company_id = current_company_id())`);
      this.addSql(`GRANT SELECT, INSERT, UPDATE, DELETE ON ${table} TO safeshipper_app`);
    }

    // Presence of many devices of many companies in one call; a status change only by a newer
    // observation (a late "offline" never overrides a reconnect), last_seen_at only forward.
    this.addSql(`
      CREATE FUNCTION record_device_presence(p_ids uuid[], p_seen timestamptz[], p_status text[], p_status_at timestamptz[])
      RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = public AS $$
        UPDATE devices d SET
          last_seen_at = CASE WHEN u.seen IS NOT NULL AND (d.last_seen_at IS NULL OR u.seen > d.last_seen_at) THEN u.seen ELSE d.last_seen_at END,
          status = CASE WHEN u.status IS NOT NULL AND (d.status_changed_at IS NULL OR u.status_at >= d.status_changed_at) THEN u.status ELSE d.status END,
          status_changed_at = CASE WHEN u.status IS NOT NULL AND (d.status_changed_at IS NULL OR u.status_at >= d.status_changed_at) THEN u.status_at ELSE d.status_changed_at END
        FROM unnest(p_ids, p_seen, p_status, p_status_at) AS u(id, seen, status, status_at)
        WHERE d.id = u.id
      $$`);
    this.addSql(`
      CREATE FUNCTION count_telemetry_rejections(p_ids uuid[], p_reasons text[], p_counts bigint[], p_first timestamptz[], p_last timestamptz[])
      RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = public AS $$
        INSERT INTO telemetry_rejections (device_id, reason, company_id, count, first_at, last_at)
        SELECT u.id, u.reason, d.company_id, u.n, u.first_at, u.last_at
          FROM unnest(p_ids, p_reasons, p_counts, p_first, p_last) AS u(id, reason, n, first_at, last_at)
          JOIN devices d ON d.id = u.id
        ON CONFLICT (device_id, reason) DO UPDATE SET
          count = telemetry_rejections.count + EXCLUDED.count,
          first_at = least(telemetry_rejections.first_at, EXCLUDED.first_at),
          last_at = greatest(telemetry_rejections.last_at, EXCLUDED.last_at)
      $$`);
    for (const fn of ['record_device_presence(uuid[], timestamptz[], text[], timestamptz[])', 'count_telemetry_rejections(uuid[], text[], bigint[], timestamptz[], timestamptz[])']) {
      this.addSql(`REVOKE ALL ON FUNCTION ${fn} FROM PUBLIC`);
      this.addSql(`GRANT EXECUTE ON FUNCTION ${fn} TO safeshipper_app`);
    }
  }
}
