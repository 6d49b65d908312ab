import type { EntityManager } from './orm.js';
import type { ShipmentStatus } from '../domain/shipment-lifecycle.js';

/**
 * GET /shipments/{id} built by PostgreSQL (the hottest read, served without the ORM through
 * `readInTenant`): the same JSON as the resource's `view`, dates as JSON.stringify writes them
 * (UTC, milliseconds), points as the ORM reads them (ST_AsGeoJSON). The ids arrive as literals
 * already checked to be UUIDs (tenant-read.ts).
 */
export function shipmentViewSql({ companyId, id }: { companyId: string; id: string }): string {
  const iso = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
  return `SELECT version, json_build_object(
    'id', id, 'shipmentNumber', shipment_number, 'status', status,
    'origin', json_build_object('address', origin_address, 'location', ST_AsGeoJSON(origin_location)::json -> 'coordinates'),
    'destination', json_build_object('address', destination_address, 'location', ST_AsGeoJSON(destination_location)::json -> 'coordinates'),
    'pickupAt', ${iso('pickup_at')}, 'deliverBy', ${iso('deliver_by')},
    'vehicleId', vehicle_id, 'driverId', driver_id, 'emergencyContactId', emergency_contact_id,
    'createdAt', ${iso('created_at')}, 'updatedAt', ${iso('updated_at')}) AS view
    FROM shipments WHERE company_id = ${companyId} AND id = ${id}`;
}

/** A shipment's consignment lines as the compliance engine reads them (catalogue identity + quantity). */
export async function shipmentLoadLines(em: EntityManager, shipmentId: string): Promise<Array<{ unNumber: string | null; packingGroup: 'I' | 'II' | 'III' | null; properShippingName: string; technicalName: string | null; quantity: number; unit: 'kg' | 'L'; packages: number }>> {
  const rows = await em.execute<Array<{ un_number: string | null; packing_group: 'I' | 'II' | 'III' | null; proper_shipping_name: string; technical_name: string | null; quantity: string; unit: 'kg' | 'L'; packages: number }>>(
    `SELECT dg.un_number, dg.packing_group, dg.proper_shipping_name, ci.technical_name, ci.quantity, ci.unit, ci.packages
       FROM consignment_items ci JOIN dangerous_goods dg ON dg.id = ci.dangerous_good_id
      WHERE ci.shipment_id = ? ORDER BY ci.created_at, ci.id`,
    [shipmentId],
  );
  return rows.map((r) => ({ unNumber: r.un_number, packingGroup: r.packing_group, properShippingName: r.proper_shipping_name, technicalName: r.technical_name, quantity: Number(r.quantity), unit: r.unit, packages: r.packages }));
}

/**
 * Writes the lifecycle's status (and, on assignment, the vehicle and driver; `release` clears them); returns the row before, or null
 * when the shipment is gone.
 */
export async function writeShipmentStatus(
  em: EntityManager,
  change: { shipmentId: string; status: ShipmentStatus; vehicleId?: string; driverId?: string; release?: boolean },
): Promise<{ status: ShipmentStatus; vehicleId: string | null; driverId: string | null } | null> {
  const [before] = await em.execute<Array<{ status: ShipmentStatus; vehicle_id: string | null; driver_id: string | null }>>('SELECT status, vehicle_id, driver_id FROM shipments WHERE id = ? FOR UPDATE', [change.shipmentId]);
  if (!before) return null;
  await em.execute(
    change.release
      ? 'UPDATE shipments SET status = ?, vehicle_id = NULL, driver_id = NULL, version = version + 1, updated_at = now() WHERE id = ?'
      : 'UPDATE shipments SET status = ?, vehicle_id = coalesce(?, vehicle_id), driver_id = coalesce(?, driver_id), version = version + 1, updated_at = now() WHERE id = ?',
    change.release ? [change.status, change.shipmentId] : [change.status, change.vehicleId ?? null, change.driverId ?? null, change.shipmentId],
  );
  return { status: before.status, vehicleId: before.vehicle_id, driverId: before.driver_id };
}

/**
 * The shipment's status, its row locked until the caller's transaction ends (null: no such shipment). A consignment item change
 * holds it, so the workflow's next status write (booking, or the amendment's re-check) waits for the change to commit and the
 * compliance engine then reads the items as changed.
 */
export async function lockShipmentStatus(em: EntityManager, shipmentId: string): Promise<ShipmentStatus | null> {
  const [row] = await em.execute<Array<{ status: ShipmentStatus }>>('SELECT status FROM shipments WHERE id = ? FOR UPDATE', [shipmentId]);
  return row?.status ?? null;
}

/** How many placards the vehicle can carry at once (null: no such vehicle). */
export async function vehiclePlacardHolders(em: EntityManager, vehicleId: string): Promise<number | null> {
  const [row] = await em.execute<Array<{ placard_holders: number }>>('SELECT placard_holders FROM vehicles WHERE id = ?', [vehicleId]);
  return row?.placard_holders ?? null;
}

/** What decides whether a driver and a vehicle may take a load: licence, training and inspection dates, grounding. */
export async function assignmentFacts(
  em: EntityManager,
  driverId: string,
  vehicleId: string,
): Promise<{ driver: { name: string; licenceExpiresOn: string; trainingExpiresOn: string[] } | null; vehicle: { registration: string; status: 'ACTIVE' | 'GROUNDED'; groundedReason: string | null; inspectionExpiresOn: string | null } | null }> {
  const [driver] = await em.execute<Array<{ full_name: string; licence: string; training: string[] }>>(
    `SELECT d.full_name, to_char(d.dg_licence_expires_on, 'YYYY-MM-DD') AS licence,
            coalesce(array_agg(to_char(t.expires_on, 'YYYY-MM-DD')) FILTER (WHERE t.id IS NOT NULL), '{}') AS training
       FROM drivers d LEFT JOIN driver_training_records t ON t.driver_id = d.id
      WHERE d.id = ? GROUP BY d.id`,
    [driverId],
  );
  const [vehicle] = await em.execute<Array<{ registration: string; status: 'ACTIVE' | 'GROUNDED'; grounded_reason: string | null; inspection: string | null }>>(
    `SELECT registration, status, grounded_reason, to_char(inspection_expires_on, 'YYYY-MM-DD') AS inspection FROM vehicles WHERE id = ?`,
    [vehicleId],
  );
  return {
    driver: driver ? { name: driver.full_name, licenceExpiresOn: driver.licence, trainingExpiresOn: driver.training } : null,
    vehicle: vehicle ? { registration: vehicle.registration, status: vehicle.status, groundedReason: vehicle.grounded_reason, inspectionExpiresOn: vehicle.inspection } : null,
  };
}

/** What the lifecycle routes need of a shipment to start or move its workflow (for `readInTenant`). */
export function shipmentLifecycleRowSql({ companyId, id }: { companyId: string; id: string }): string {
  const iso = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ${column}`;
  return `SELECT shipment_number, status, ${iso('pickup_at')}, ${iso('deliver_by')} FROM shipments WHERE company_id = ${companyId} AND id = ${id}`;
}
