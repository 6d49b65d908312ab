import { Migration } from '@mikro-orm/migrations';

const TENANT_TABLES = ['users', 'drivers', 'driver_training_records', 'vehicles', 'emergency_contacts', 'shipments', 'consignment_items', 'idempotency_keys'];

/**
 * The API platform: users mapped from Keycloak, master data (drivers, vehicles, emergency
 * contacts, shipments and their consignment items), request idempotency, and the audit log.
 * Every table is tenant-owned (company_id, RLS) and every mutable row carries `version` for
 * ETag/If-Match. The audit log is append-only and hash-chained per company.
 */
export class Migration20261126020000Platform extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      CREATE TABLE users (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        company_id uuid NOT NULL REFERENCES companies(id),
        keycloak_subject text NOT NULL UNIQUE,
        username text,
        email text,
        role text CHECK (role IN ('VIEWER', 'DRIVER', 'OPERATOR', 'MANAGER', 'ADMIN')),
        first_seen_at timestamptz NOT NULL DEFAULT now(),
        last_seen_at timestamptz NOT NULL DEFAULT now()
      )`);
    this.addSql('CREATE INDEX users_company_idx ON users (company_id, username)');

    this.addSql(`
      CREATE TABLE drivers (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        company_id uuid NOT NULL REFERENCES companies(id),
        user_id uuid REFERENCES users(id),
        full_name text NOT NULL CHECK (length(full_name) BETWEEN 1 AND 200),
        phone text,
        dg_licence_number text NOT NULL CHECK (length(dg_licence_number) BETWEEN 1 AND 64),
        dg_licence_class text NOT NULL CHECK (length(dg_licence_class) BETWEEN 1 AND 32),
        dg_licence_expires_on date NOT NULL,
        version int NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (company_id, dg_licence_number)
      )`);
    this.addSql('CREATE INDEX drivers_company_created_idx ON drivers (company_id, created_at, id)');

    this.addSql(`
      CREATE TABLE driver_training_records (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        company_id uuid NOT NULL REFERENCES companies(id),
        driver_id uuid NOT NULL REFERENCES drivers(id) ON DELETE CASCADE,
        course text NOT NULL CHECK (length(course) BETWEEN 1 AND 200),
        completed_on date NOT NULL,
        expires_on date NOT NULL CHECK (expires_on >= completed_on),
        version int NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    this.addSql('CREATE INDEX driver_training_driver_idx ON driver_training_records (driver_id, expires_on)');

    this.addSql(`
      CREATE TABLE vehicles (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        company_id uuid NOT NULL REFERENCES companies(id),
        registration text NOT NULL CHECK (registration ~ '^[A-Z0-9 -]{2,16}$'),
        vehicle_type text NOT NULL CHECK (vehicle_type IN ('RIGID', 'ARTICULATED', 'TANKER', 'VAN', 'UTE')),
        capacity_kg int NOT NULL CHECK (capacity_kg BETWEEN 1 AND 200000),
        status text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'GROUNDED')),
        placard_holders int NOT NULL DEFAULT 0 CHECK (placard_holders BETWEEN 0 AND 12),
        inspection_expires_on date,
        version int NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (company_id, registration)
      )`);
    this.addSql('CREATE INDEX vehicles_company_created_idx ON vehicles (company_id, created_at, id)');
    this.addSql('ALTER TABLE devices ADD CONSTRAINT devices_vehicle_fk FOREIGN KEY (vehicle_id) REFERENCES vehicles(id)');
    this.addSql('ALTER TABLE devices ADD COLUMN version int NOT NULL DEFAULT 1');
    this.addSql('ALTER TABLE devices ADD COLUMN secret_rotated_at timestamptz');

    // phone, email and details hold ciphertext (AES-256-GCM, application-side): see security/field-encryption.ts.
    this.addSql(`
      CREATE TABLE emergency_contacts (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        company_id uuid NOT NULL REFERENCES companies(id),
        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
        available_24h boolean NOT NULL,
        phone text NOT NULL,
        email text,
        details text,
        version int NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    this.addSql('CREATE INDEX emergency_contacts_company_idx ON emergency_contacts (company_id, created_at, id)');

    this.addSql('ALTER TABLE geofences ADD COLUMN version int NOT NULL DEFAULT 1');
    this.addSql('ALTER TABLE geofences ADD COLUMN circle_center geography(Point, 4326)');
    this.addSql('ALTER TABLE geofences ADD COLUMN circle_radius_m real CHECK (circle_radius_m > 0 AND circle_radius_m <= 100000)');

    this.addSql(`
      CREATE TABLE shipments (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        company_id uuid NOT NULL REFERENCES companies(id),
        shipment_number text NOT NULL CHECK (shipment_number ~ '^[A-Z0-9][A-Z0-9-]{2,31}$'),
        status text NOT NULL DEFAULT 'DRAFT' CHECK (status IN ('DRAFT', 'PLANNED', 'DISPATCHED', 'IN_TRANSIT', 'DELIVERED', 'CANCELLED')),
        origin_address text NOT NULL,
        origin_location geography(Point, 4326) NOT NULL,
        destination_address text NOT NULL,
        destination_location geography(Point, 4326) NOT NULL,
        pickup_at timestamptz NOT NULL,
        deliver_by timestamptz NOT NULL CHECK (deliver_by > pickup_at),
        vehicle_id uuid REFERENCES vehicles(id),
        driver_id uuid REFERENCES drivers(id),
        emergency_contact_id uuid REFERENCES emergency_contacts(id),
        version int NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (company_id, shipment_number)
      )`);
    this.addSql('CREATE INDEX shipments_company_created_idx ON shipments (company_id, created_at DESC, id DESC)');
    this.addSql('CREATE INDEX shipments_company_status_idx ON shipments (company_id, status, created_at DESC, id DESC)');

    this.addSql(`
      CREATE TABLE consignment_items (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        company_id uuid NOT NULL REFERENCES companies(id),
        shipment_id uuid NOT NULL REFERENCES shipments(id) ON DELETE CASCADE,
        dangerous_good_id uuid NOT NULL REFERENCES dangerous_goods(id),
        technical_name text,
        quantity numeric(12, 3) NOT NULL CHECK (quantity > 0 AND quantity <= 200000),
        unit text NOT NULL CHECK (unit IN ('kg', 'L')),
        packages int NOT NULL DEFAULT 1 CHECK (packages BETWEEN 1 AND 1000000),
        version int NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    this.addSql('CREATE INDEX consignment_items_shipment_idx ON consignment_items (shipment_id, created_at, id)');

    // Same key + same request from the same user → the stored answer; kept 24 h.
    this.addSql(`
      CREATE TABLE idempotency_keys (
        company_id uuid NOT NULL REFERENCES companies(id),
        user_subject text NOT NULL,
        key text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
        request_hash text NOT NULL,
        status int NOT NULL,
        headers jsonb NOT NULL,
        body jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (company_id, user_subject, key)
      )`);

    for (const table of TENANT_TABLES) {
      this.addSql(`ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY`);
      this.addSql(`CREATE POLICY tenant_isolation ON ${table} USING (company_id = current_company_id()) WITH CHECK (company_id = current_company_id())`);
      this.addSql(`GRANT SELECT, INSERT, UPDATE, DELETE ON ${table} TO safeshipper_app`);
    }

    // The audit log: append-only for the app (INSERT and SELECT only), chained per company:
    // each row's hash covers its content and the previous row's hash, so an edit or a deletion
    // made behind the app's back breaks the chain where it happened.
    this.addSql(`
      CREATE TABLE audit_log (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        company_id uuid REFERENCES companies(id),
        chain text NOT NULL,
        actor_subject text NOT NULL,
        actor_username text,
        action text NOT NULL,
        entity_type text NOT NULL,
        entity_id text,
        before jsonb,
        after jsonb,
        request_id text,
        occurred_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        prev_hash text NOT NULL,
        hash text NOT NULL
      )`);
    this.addSql('CREATE INDEX audit_log_chain_idx ON audit_log (chain, id)');
    this.addSql(`
      CREATE FUNCTION audit_row_hash(a audit_log) RETURNS text LANGUAGE sql IMMUTABLE AS
      $$ SELECT encode(sha256(convert_to(concat_ws('|', a.prev_hash, a.chain, a.company_id, a.actor_subject, a.actor_username, a.action,
           a.entity_type, a.entity_id, a.before::text, a.after::text, a.request_id, to_char(a.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')), 'UTF8')), 'hex') $$`);
    // Runs with the owner's rights: it must see the chain's last row whoever inserts.
    this.addSql(`
      CREATE FUNCTION audit_log_chain() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS
      $$ BEGIN
        NEW.chain := coalesce(NEW.company_id::text, 'platform');
        PERFORM pg_advisory_xact_lock(hashtext('audit_log:' || NEW.chain));
        NEW.occurred_at := clock_timestamp();
        NEW.prev_hash := coalesce((SELECT hash FROM audit_log WHERE chain = NEW.chain ORDER BY id DESC LIMIT 1), 'genesis');
        NEW.hash := audit_row_hash(NEW);
        RETURN NEW;
      END $$`);
    this.addSql('CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_chain()');
    this.addSql('ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY');
    // A company reads and appends its own chain; platform events (no company) are written by the
    // app on behalf of platform staff and read only through the owner (operations tooling).
    this.addSql(`CREATE POLICY audit_read ON audit_log FOR SELECT USING (company_id = current_company_id())`);
    this.addSql(`CREATE POLICY audit_append ON audit_log FOR INSERT WITH CHECK (company_id IS NULL OR company_id = current_company_id())`);
    this.addSql('GRANT SELECT, INSERT ON audit_log TO safeshipper_app');

    // Platform staff list every company; RLS would show none, so this one read runs as the owner
    // and is reachable only through the audited admin routes.
    this.addSql(`
      CREATE FUNCTION platform_companies() RETURNS TABLE (id uuid, name text, created_at timestamptz)
      LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS
      $$ SELECT id, name, created_at FROM companies ORDER BY name, id $$`);
    this.addSql('REVOKE ALL ON FUNCTION platform_companies() FROM PUBLIC');
    this.addSql('GRANT EXECUTE ON FUNCTION platform_companies() TO safeshipper_app');
  }
}
