import { Migration } from '@mikro-orm/migrations';

/**
 * The shipment lifecycle (domain/shipment-lifecycle.ts) replaces the seed's statuses: PLANNED
 * was a booked shipment and DISPATCHED one on its way, so existing rows keep their meaning.
 * The values are written out, not taken from domain/: a migration keeps what it meant when it ran.
 */
export class Migration20261130140000ShipmentLifecycle extends Migration {
  override async up(): Promise<void> {
    this.addSql('ALTER TABLE shipments DROP CONSTRAINT shipments_status_check');
    this.addSql(`UPDATE shipments SET status = CASE status WHEN 'PLANNED' THEN 'BOOKED' WHEN 'DISPATCHED' THEN 'IN_TRANSIT' ELSE status END WHERE status IN ('PLANNED', 'DISPATCHED')`);
    this.addSql(
      `ALTER TABLE shipments ADD CONSTRAINT shipments_status_check CHECK (status IN ('DRAFT', 'BOOKED', 'DG_VALIDATED', 'NON_COMPLIANT', 'READY', 'IN_TRANSIT', 'ARRIVED', 'DELIVERED', 'CLOSED', 'CANCELLED'))`,
    );
  }
}
