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

/** A geofence as ingest's in-memory index holds it: GeoJSON polygon rings, [lon, lat] pairs. */
export interface GeofenceShape {
  id: string;
  name: string;
  kind: GeofenceKind;
  rings: number[][][];
}

/** Every geofence of the transaction's company (RLS scopes it), as polygon rings. */
export async function geofenceShapes(tx: EntityManager): Promise<GeofenceShape[]> {
  const rows = await tx.execute<Array<{ id: string; name: string; kind: GeofenceKind; geojson: string }>>(`SELECT id, name, kind, ST_AsGeoJSON(area::geometry) AS geojson FROM geofences ORDER BY id`);
  return rows.map((row) => ({ id: row.id, name: row.name, kind: row.kind, rings: (JSON.parse(row.geojson) as { coordinates: number[][][] }).coordinates }));
}

/**
 * Which of `ids` cover the point, as PostGIS (the source of truth) decides on the geography: the
 * in-memory index's planar answer is asked again here whenever it says a vehicle crossed an edge.
 */
export async function geofencesCovering(tx: EntityManager, ids: readonly string[], point: { lon: number; lat: number }): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows = await tx.execute<Array<{ id: string }>>(
    `SELECT id FROM geofences WHERE id = ANY(?::uuid[]) AND ST_Covers(area, ST_SetSRID(ST_MakePoint(?, ?), 4326)::geography) ORDER BY id`,
    [`{${ids.join(',')}}`, point.lon, point.lat],
  );
  return rows.map((row) => row.id);
}

/** The channel a trigger on `geofences` notifies, with the company's id, on every committed change (Migration20261202010000Alarms). */
export const GEOFENCES_CHANNEL = 'geofences_changed';
