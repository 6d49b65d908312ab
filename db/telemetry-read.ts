import type { LivePosition } from '../domain/live-events.js';
import { inTenant, type Database, type EntityManager } from './orm.js';
import { readInTenant } from './tenant-read.js';

/** Where a vehicle is now: the last-known-position row ingest upserts with each newer point. */
export interface VehiclePosition {
  vehicleId: string;
  deviceId: string;
  recordedAt: string;
  receivedAt: string;
  lat: number;
  lon: number;
  speedKmh: number | null;
  headingDeg: number | null;
  accuracyM: number | null;
}

export interface TrackPoint {
  at: string;
  lat: number;
  lon: number;
  speedKmh: number | null;
  headingDeg: number | null;
}

/** raw: every fix; downsampled: the last fix of each bucket, from the points; hourly: the same, read from the hourly rollups where they exist. */
export type TrackResolution = 'raw' | 'downsampled' | 'hourly';

export interface Track {
  resolution: TrackResolution;
  bucketSeconds: number | null;
  points: TrackPoint[];
}

const POSITION_COLUMNS = `p.vehicle_id AS "vehicleId", p.device_id AS "deviceId", to_char(p.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "recordedAt",
  to_char(p.received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "receivedAt", ST_Y(p.location::geometry) AS lat, ST_X(p.location::geometry) AS lon,
  p.speed_kmh AS "speedKmh", p.heading_deg AS "headingDeg", p.accuracy_m AS "accuracyM"`;

/** The vehicle (null: not one of the company's) and its last known position (null: none reported yet). */
export async function vehiclePosition(db: Database, companyId: string, vehicleId: string): Promise<{ exists: boolean; position: VehiclePosition | null }> {
  const rows = await readInTenant<{ found: boolean } & Partial<VehiclePosition>>(
    db,
    companyId,
    (uuid) => `SELECT true AS found, ${POSITION_COLUMNS} FROM vehicles v LEFT JOIN vehicle_last_positions p ON p.vehicle_id = v.id WHERE v.company_id = ${uuid(companyId)} AND v.id = ${uuid(vehicleId)}`,
  );
  const [row] = rows;
  if (!row) return { exists: false, position: null };
  const { found: _found, ...position } = row;
  return { exists: true, position: position.vehicleId ? (position as VehiclePosition) : null };
}

/** Every vehicle's last known position in the company, at most `limit`, the most recent fix first: a dashboard's starting state. */
export async function fleetPositions(db: Database, companyId: string, limit: number): Promise<LivePosition[]> {
  const rows = await readInTenant<VehiclePosition>(db, companyId, (uuid) => `SELECT ${POSITION_COLUMNS} FROM vehicle_last_positions p WHERE p.company_id = ${uuid(companyId)} ORDER BY p.recorded_at DESC LIMIT ${Math.trunc(limit)}`);
  return rows.map((row) => ({ type: 'position', vehicleId: row.vehicleId, deviceId: row.deviceId, at: row.recordedAt, lat: row.lat, lon: row.lon, speedKmh: row.speedKmh, headingDeg: row.headingDeg }));
}

const ISO = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
const FIX = (at: string, location: string, speed: string, heading: string) =>
  `${ISO(at)} AS at, ST_Y(${location}::geometry) AS lat, ST_X(${location}::geometry) AS lon, ${speed} AS "speedKmh", ${heading} AS "headingDeg"`;

/**
 * The last fix of each `bucketSeconds` bucket (counted from `from`) of the vehicle's points in
 * [from, to), oldest first. Reads only the vehicle's index range.
 */
async function bucketedPoints(em: EntityManager, companyId: string, vehicleId: string, from: Date, to: Date, bucketSeconds: number): Promise<TrackPoint[]> {
  return em.execute<TrackPoint[]>(
    `SELECT at, lat, lon, "speedKmh", "headingDeg" FROM (
       SELECT DISTINCT ON (bucket) recorded_at, ${FIX('recorded_at', 'location', 'speed_kmh', 'heading_deg')}
         FROM (SELECT floor(extract(epoch FROM recorded_at - ?::timestamptz) / ?)::bigint AS bucket, * FROM telemetry_points
                WHERE company_id = ? AND vehicle_id = ? AND recorded_at >= ? AND recorded_at < ? AND location IS NOT NULL) t
        ORDER BY bucket, recorded_at DESC, sequence DESC) b
     ORDER BY recorded_at`,
    [from, bucketSeconds, companyId, vehicleId, from, to],
  );
}

/**
 * A vehicle's track over [from, to): every fix when there are at most `maxPoints`, else one fix
 * per bucket of (to − from) / maxPoints. Buckets of an hour or more are read from the hourly
 * rollups up to the hour they have reached, and from the points after it.
 */
export async function vehicleTrack(db: Database, companyId: string, vehicleId: string, from: Date, to: Date, maxPoints: number): Promise<Track> {
  return inTenant(db, companyId, async (em) => {
    const raw = await em.execute<TrackPoint[]>(
      `SELECT ${FIX('recorded_at', 'location', 'speed_kmh', 'heading_deg')} FROM telemetry_points
        WHERE company_id = ? AND vehicle_id = ? AND recorded_at >= ? AND recorded_at < ? AND location IS NOT NULL
        ORDER BY recorded_at, sequence LIMIT ?`,
      [companyId, vehicleId, from, to, maxPoints + 1],
    );
    if (raw.length <= maxPoints) return { resolution: 'raw', bucketSeconds: null, points: raw };
    const span = Math.ceil((to.getTime() - from.getTime()) / 1000 / maxPoints);
    if (span < 3600) return { resolution: 'downsampled', bucketSeconds: span, points: await bucketedPoints(em, companyId, vehicleId, from, to, span) };
    const bucketSeconds = Math.ceil(span / 3600) * 3600;
    const [state] = await em.execute<Array<{ rolledUntil: Date | null }>>(`SELECT telemetry_rolled_until() AS "rolledUntil"`);
    const rolledUntil = state?.rolledUntil ? new Date(Math.min(new Date(state.rolledUntil).getTime(), to.getTime())) : from;
    const rolled =
      rolledUntil > from
        ? await em.execute<TrackPoint[]>(
            `SELECT at, lat, lon, "speedKmh", "headingDeg" FROM (
               SELECT DISTINCT ON (bucket) fix_at, ${FIX('fix_at', 'fix_location', 'fix_speed_kmh', 'fix_heading_deg')}
                 FROM (SELECT floor(extract(epoch FROM hour - ?::timestamptz) / ?)::bigint AS bucket, * FROM telemetry_hourly
                        WHERE company_id = ? AND vehicle_id = ? AND hour >= date_trunc('hour', ?::timestamptz) AND hour < ? AND fix_at >= ? AND fix_at < ?) t
                ORDER BY bucket, fix_at DESC) b
             ORDER BY fix_at`,
            [from, bucketSeconds, companyId, vehicleId, from, rolledUntil, from, rolledUntil],
          )
        : [];
    const rest = rolledUntil < to ? await bucketedPoints(em, companyId, vehicleId, rolledUntil, to, bucketSeconds) : [];
    return { resolution: 'hourly', bucketSeconds, points: [...rolled, ...rest] };
  });
}

/** A shipment's vehicle and the window its track covers: pickup until delivery is due, or until now while it is still on the road. */
export async function shipmentTrackWindow(db: Database, companyId: string, shipmentId: string): Promise<{ vehicleId: string | null; from: string; to: string } | null> {
  const [row] = await readInTenant<{ vehicleId: string | null; from: string; to: string }>(
    db,
    companyId,
    (uuid) => `SELECT vehicle_id AS "vehicleId", ${ISO('pickup_at')} AS "from",
                      ${ISO(`CASE WHEN status IN ('IN_TRANSIT', 'ARRIVED') THEN greatest(deliver_by, least(now(), deliver_by + interval '7 days')) ELSE deliver_by END`)} AS "to"
                 FROM shipments WHERE company_id = ${uuid(companyId)} AND id = ${uuid(shipmentId)}`,
  );
  return row ?? null;
}
