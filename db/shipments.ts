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
