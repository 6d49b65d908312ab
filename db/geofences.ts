import type { EntityManager } from './orm.js';
import type { GeofenceKind } from './entities.js';

export interface NearbyGeofence {
  id: string;
  name: string;
  kind: GeofenceKind;
  distanceM: number;
}

/** Geofences of the current company within `radiusM` metres of a point (PostGIS ST_DWithin on geography). */
export async function geofencesNear(em: EntityManager, companyId: string, point: { lon: number; lat: number }, radiusM: number): Promise<NearbyGeofence[]> {
  const rows = await em.execute<Array<{ id: string; name: string; kind: GeofenceKind; distance_m: number }>>(
    `SELECT id, name, kind, ST_Distance(area, ST_SetSRID(ST_MakePoint(?, ?), 4326)::geography) AS distance_m
       FROM geofences
      WHERE company_id = ? AND ST_DWithin(area, ST_SetSRID(ST_MakePoint(?, ?), 4326)::geography, ?)
      ORDER BY distance_m, name`,
    [point.lon, point.lat, companyId, point.lon, point.lat, radiusM],
  );
  return rows.map((row) => ({ id: row.id, name: row.name, kind: row.kind, distanceM: Number(row.distance_m) }));
}
