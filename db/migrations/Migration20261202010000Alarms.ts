import { Migration } from '@mikro-orm/migrations';

const TENANT_TABLES = ['alarms', 'telemetry_events', 'vehicle_road_state', 'device_sensor_rules'];

/**
 * Detection (ingest/detection): alarms with their lifecycle, the outbox of events bound for
 * Temporal, what detection remembers of each vehicle between batches, and a device's sensor
 * limits. All written by ingest inside the points' commit transaction, so a point and what it
 * caused commit (or roll back) together.
 */
export class Migration20261202010000Alarms extends Migration {
  override async up(): Promise<void> {
    // One active alarm per (device, rule): a leaking tank reporting every second is one alarm, seen many times.
    this.addSql(`
      CREATE TABLE alarms (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        company_id uuid NOT NULL REFERENCES companies(id),
        device_id uuid NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
        vehicle_id uuid REFERENCES vehicles(id) ON DELETE SET NULL,
        rule text NOT NULL CHECK (rule IN ('temperature.band', 'leak', 'tilt', 'door.in-transit')),
        severity text NOT NULL CHECK (severity IN ('LOW', 'MEDIUM', 'HIGH', 'CRITICAL')),
        state text NOT NULL DEFAULT 'ACTIVE_UNACK' CHECK (state IN ('ACTIVE_UNACK', 'ACTIVE_ACK', 'CLEARED')),
        message text NOT NULL CHECK (length(message) BETWEEN 1 AND 1000),
        citation text,
        value double precision,
        raised_at timestamptz NOT NULL,
        last_seen_at timestamptz NOT NULL,
        occurrences int NOT NULL DEFAULT 1,
        location geography(Point, 4326),
        incident_id uuid,
        acknowledged_by jsonb,
        acknowledged_at timestamptz,
        cleared_by jsonb,
        cleared_at timestamptz,
        version int NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    this.addSql(`CREATE UNIQUE INDEX alarms_one_active_idx ON alarms (device_id, rule) WHERE state <> 'CLEARED'`);
    this.addSql('CREATE INDEX alarms_company_created_idx ON alarms (company_id, created_at DESC, id DESC)');

    // The outbox: a row with a workflow_id is sent to Temporal by the relay and marked sent; the others are the crossing log.
    this.addSql(`
      CREATE TABLE telemetry_events (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        company_id uuid NOT NULL REFERENCES companies(id),
        kind text NOT NULL CHECK (kind IN ('geofence.entered', 'geofence.exited', 'shipment.left-origin', 'shipment.arrived', 'shipment.restricted-zone', 'shipment.position', 'alarm.raised')),
        device_id uuid,
        vehicle_id uuid,
        shipment_id uuid,
        geofence_id uuid,
        alarm_id uuid,
        occurred_at timestamptz NOT NULL,
        workflow_id text,
        payload jsonb NOT NULL DEFAULT '{}'::jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        sent_at timestamptz,
        outcome text
      )`);
    this.addSql('CREATE INDEX telemetry_events_pending_idx ON telemetry_events (company_id, id) WHERE workflow_id IS NOT NULL AND sent_at IS NULL');
    this.addSql('CREATE INDEX telemetry_events_vehicle_idx ON telemetry_events (vehicle_id, occurred_at DESC)');

    // What detection knows of a vehicle between batches; rows change only on a crossing or a due signal, not per point.
    this.addSql(`
      CREATE TABLE vehicle_road_state (
        vehicle_id uuid PRIMARY KEY REFERENCES vehicles(id) ON DELETE CASCADE,
        company_id uuid NOT NULL REFERENCES companies(id),
        last_at timestamptz NOT NULL,
        inside uuid[] NOT NULL DEFAULT '{}',
        shipment_id uuid,
        visited_origin boolean NOT NULL DEFAULT false,
        left_origin_at timestamptz,
        arrived_at timestamptz,
        position_signalled_at timestamptz,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);

    // Detection reads each batch's vehicles' current shipment: only shipments on or about to be on the road.
    this.addSql(`CREATE INDEX shipments_vehicle_on_road_idx ON shipments (vehicle_id) WHERE status IN ('READY', 'IN_TRANSIT', 'ARRIVED')`);

    this.addSql(`
      CREATE TABLE device_sensor_rules (
        device_id uuid PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,
        company_id uuid NOT NULL REFERENCES companies(id),
        temperature_min_c real CHECK (temperature_min_c BETWEEN -100 AND 200),
        temperature_max_c real CHECK (temperature_max_c BETWEEN -100 AND 200),
        tilt_max_deg real CHECK (tilt_max_deg > 0 AND tilt_max_deg <= 180),
        version int NOT NULL DEFAULT 1,
        updated_at timestamptz NOT NULL DEFAULT now(),
        CHECK (temperature_min_c IS NULL OR temperature_max_c IS NULL OR temperature_min_c < temperature_max_c)
      )`);

    for (const table of TENANT_TABLES) {
      this.addSql(`ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY`);
      this.addSql(`CREATE POLICY tenant_isolation ON ${table} USING (company_id = current_company_id()) WITH CHECK (company_id = current_company_id())`);
    }
    this.addSql(`GRANT SELECT, INSERT, UPDATE, DELETE ON ${TENANT_TABLES.join(', ')} TO safeshipper_app`);

    // The relay works company by company (RLS); this one look-up across companies says which have events waiting.
    this.addSql(`
      CREATE FUNCTION pending_telemetry_event_companies() RETURNS TABLE (company_id uuid)
      LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS
      $$ SELECT DISTINCT company_id FROM telemetry_events WHERE workflow_id IS NOT NULL AND sent_at IS NULL $$`);
    this.addSql('REVOKE ALL ON FUNCTION pending_telemetry_event_companies() FROM PUBLIC');
    this.addSql('GRANT EXECUTE ON FUNCTION pending_telemetry_event_companies() TO safeshipper_app');

    // Every committed geofence change (API, script, psql) tells ingest to rebuild that company's in-memory index.
    this.addSql(`
      CREATE FUNCTION notify_geofences_changed() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('geofences_changed', coalesce(NEW.company_id, OLD.company_id)::text);
        IF TG_OP = 'UPDATE' AND NEW.company_id <> OLD.company_id THEN
          PERFORM pg_notify('geofences_changed', OLD.company_id::text);
        END IF;
        RETURN NULL;
      END $$`);
    this.addSql('CREATE TRIGGER geofences_changed AFTER INSERT OR UPDATE OR DELETE ON geofences FOR EACH ROW EXECUTE FUNCTION notify_geofences_changed()');
  }
}
