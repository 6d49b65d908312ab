import { Migration } from '@mikro-orm/migrations';

const TENANT_TABLES = ['incident_counters', 'incidents', 'notification_deliveries'];

/**
 * Incident response (domain/incident-lifecycle.ts): one row per incident, numbered per company
 * (INC-00001, …), its status written only by the incident workflow's activities, each transition
 * with who ({subject, username}) and when; the dangerous goods on board and the last position the
 * workflow found; whether it is reportable at once and the government's reference once filed.
 * Incidents are never deleted (the app role has no DELETE). `notification_deliveries` makes a
 * notification idempotent: one row per (key, channel, recipient) a channel has accepted.
 * The value lists are written out, not taken from domain/: a migration keeps what it meant when it ran.
 */
export class Migration20261201000000Incidents extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      CREATE TABLE incident_counters (
        company_id uuid PRIMARY KEY REFERENCES companies(id),
        last_number int NOT NULL CHECK (last_number > 0)
      )`);

    this.addSql(`
      CREATE TABLE incidents (
        id uuid PRIMARY KEY,
        company_id uuid NOT NULL REFERENCES companies(id),
        incident_number text NOT NULL CHECK (incident_number ~ '^INC-[0-9]{5,}$'),
        kind text NOT NULL CHECK (kind IN ('SPILL', 'LEAK', 'FIRE', 'EXPLOSION', 'COLLISION', 'ROLLOVER', 'INJURY', 'SECURITY', 'BREAKDOWN', 'ROUTE_VIOLATION', 'SENSOR_ALARM', 'OTHER')),
        severity text NOT NULL CHECK (severity IN ('LOW', 'MEDIUM', 'HIGH', 'CRITICAL')),
        reported_severity text NOT NULL CHECK (reported_severity IN ('LOW', 'MEDIUM', 'HIGH', 'CRITICAL')),
        status text NOT NULL DEFAULT 'REPORTED' CHECK (status IN ('REPORTED', 'ACKNOWLEDGED', 'RESPONDING', 'RESOLVED', 'CLOSED')),
        source text NOT NULL CHECK (source IN ('api', 'alarm', 'shipment')),
        shipment_id uuid REFERENCES shipments(id),
        vehicle_id uuid REFERENCES vehicles(id),
        description text NOT NULL CHECK (length(description) BETWEEN 1 AND 4000),
        location geography(Point, 4326),
        consequences jsonb NOT NULL DEFAULT '{}'::jsonb,
        occurred_at timestamptz NOT NULL,
        reported_by jsonb,
        acknowledged_by jsonb,
        acknowledged_at timestamptz,
        responding_by jsonb,
        responding_at timestamptz,
        resolved_by jsonb,
        resolved_at timestamptz,
        resolution text CHECK (length(resolution) BETWEEN 1 AND 4000),
        closed_by jsonb,
        closed_at timestamptz,
        enrichment jsonb,
        serious boolean,
        reporting_criteria jsonb,
        government_report_reference text CHECK (length(government_report_reference) BETWEEN 1 AND 200),
        government_reported_at timestamptz,
        version int NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (company_id, incident_number)
      )`);
    this.addSql('CREATE INDEX incidents_company_created_idx ON incidents (company_id, created_at DESC, id DESC)');
    this.addSql('CREATE INDEX incidents_company_status_idx ON incidents (company_id, status, created_at DESC, id DESC)');

    this.addSql(`
      CREATE TABLE notification_deliveries (
        company_id uuid NOT NULL REFERENCES companies(id),
        idempotency_key text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 255),
        channel text NOT NULL CHECK (channel IN ('email', 'sms', 'webhook', 'file')),
        recipient text NOT NULL CHECK (length(recipient) BETWEEN 1 AND 200),
        delivered_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (company_id, idempotency_key, channel, recipient)
      )`);

    for (const table of TENANT_TABLES) {
      this.addSql(`ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY`);
      this.addSql(`CREATE POLICY tenant_isolation ON ${table} USING (company_id = current_company_id()) WITH CHECK (company_id = current_company_id())`);
    }
    this.addSql('GRANT SELECT, INSERT, UPDATE ON incident_counters, incidents TO safeshipper_app');
    this.addSql('GRANT SELECT, INSERT ON notification_deliveries TO safeshipper_app');
  }
}
