import { Migration } from '@mikro-orm/migrations';

/**
 * Integrations with each company's own systems: its ERP connection (one per company; the
 * credentials sealed with the field encryption, bound to the row and company), the record of
 * every ERP call made for a shipment (one row per idempotency key: what was sent, what the ERP
 * answered, how many attempts), its webhook subscriptions (the signing secret sealed likewise)
 * and every delivery of an event to a subscription (one per subscription and idempotency key).
 * The value lists are written out, not taken from domain/: a migration keeps what it meant when it ran.
 */
export class Migration20261201020000Integrations extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      CREATE TABLE erp_connections (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        company_id uuid NOT NULL UNIQUE REFERENCES companies(id),
        kind text NOT NULL CHECK (kind IN ('sap-odata', 'rest')),
        base_url text NOT NULL CHECK (length(base_url) <= 2048 AND base_url ~ '^https?://'),
        credentials_type text NOT NULL CHECK (credentials_type IN ('none', 'basic', 'bearer')),
        -- Ciphertext of the credentials' JSON (security/field-encryption.ts); null when there are none.
        credentials text CHECK ((credentials_type = 'none') = (credentials IS NULL)),
        settings jsonb NOT NULL DEFAULT '{}',
        enabled boolean NOT NULL DEFAULT true,
        version int NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);

    // A shipment with ERP calls is not deleted (the record of what its ERP was told stays).
    this.addSql(`
      CREATE TABLE erp_calls (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        company_id uuid NOT NULL REFERENCES companies(id),
        shipment_id uuid NOT NULL REFERENCES shipments(id),
        stage text NOT NULL CHECK (stage IN ('booked', 'dispatched', 'delivered', 'cancelled')),
        idempotency_key text NOT NULL UNIQUE CHECK (length(idempotency_key) BETWEEN 1 AND 120),
        kind text NOT NULL CHECK (kind IN ('sap-odata', 'rest')),
        status text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'rejected')),
        attempts int NOT NULL DEFAULT 0,
        erp_reference text,
        last_error text,
        request jsonb,
        -- While an attempt is talking to the ERP: another attempt of the same key waits rather than sending twice.
        in_flight_until timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        completed_at timestamptz
      )`);
    this.addSql('CREATE INDEX erp_calls_company_created_idx ON erp_calls (company_id, created_at DESC, id DESC)');
    this.addSql('CREATE INDEX erp_calls_shipment_idx ON erp_calls (shipment_id, stage)');

    this.addSql(`
      CREATE TABLE webhook_subscriptions (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        company_id uuid NOT NULL REFERENCES companies(id),
        url text NOT NULL CHECK (length(url) <= 2048 AND url ~ '^https?://'),
        description text CHECK (length(description) <= 500),
        -- Ciphertext of the signing secret (security/field-encryption.ts), shown in clear once at creation.
        secret text NOT NULL,
        events text[] NOT NULL CHECK (cardinality(events) >= 1 AND events <@ ARRAY['shipment.booked', 'shipment.ready', 'shipment.departed', 'shipment.arrived', 'shipment.delivered', 'shipment.closed', 'shipment.cancelled']),
        enabled boolean NOT NULL DEFAULT true,
        version int NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    this.addSql('CREATE INDEX webhook_subscriptions_company_idx ON webhook_subscriptions (company_id, created_at, id)');

    this.addSql(`
      CREATE TABLE webhook_deliveries (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        company_id uuid NOT NULL REFERENCES companies(id),
        subscription_id uuid NOT NULL REFERENCES webhook_subscriptions(id) ON DELETE CASCADE,
        idempotency_key text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 120),
        event text NOT NULL CHECK (event IN ('shipment.booked', 'shipment.ready', 'shipment.departed', 'shipment.arrived', 'shipment.delivered', 'shipment.closed', 'shipment.cancelled')),
        shipment_id uuid,
        payload jsonb NOT NULL,
        status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'rejected', 'gave-up', 'cancelled')),
        attempts int NOT NULL DEFAULT 0,
        response_code int,
        last_error text,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_attempt_at timestamptz,
        completed_at timestamptz,
        UNIQUE (subscription_id, idempotency_key)
      )`);
    this.addSql('CREATE INDEX webhook_deliveries_subscription_created_idx ON webhook_deliveries (subscription_id, created_at DESC, id DESC)');

    for (const table of ['erp_connections', 'erp_calls', 'webhook_subscriptions', 'webhook_deliveries']) {
      this.addSql(`ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY`);
      this.addSql(`CREATE POLICY tenant_isolation ON ${table} USING (company_id = current_company_id()) WITH CHECK (company_id = current_company_id())`);
      this.addSql(`GRANT SELECT, INSERT, UPDATE, DELETE ON ${table} TO safeshipper_app`);
    }
  }
}
