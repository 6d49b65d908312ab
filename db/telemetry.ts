import { executeBound } from './bound-query.js';
import type { Database, EntityManager } from './orm.js';

/** Named sensor readings of a point (domain/telemetry-message.ts KNOWN_SENSORS), and any others the device names. */
export type TelemetrySensors = Record<string, number | boolean | string> & {
  temperatureC?: number;
  pressureKpa?: number;
  tiltDeg?: number;
  leak?: boolean;
  doorOpen?: boolean;
};

/** A telemetry point as stored in `telemetry_points`: (deviceId, recordedAt, sequence) identifies it. */
export interface TelemetryPoint {
  companyId: string;
  deviceId: string;
  vehicleId: string | null;
  /** Device time. */
  recordedAt: Date;
  sequence: number;
  lat: number | null;
  lon: number | null;
  speedKmh: number | null;
  headingDeg: number | null;
  accuracyM: number | null;
  sensors: TelemetrySensors;
  /** When ingest received it; the database's clock when absent. */
  receivedAt?: Date;
}

/**
 * Called inside the commit transaction once per company, after that company's points are
 * inserted, with the points that were new (redeliveries excluded): detection and the live feed
 * write there, so what they write commits or rolls back with the points.
 */
export type AfterInsert = (tx: EntityManager, companyId: string, stored: TelemetryPoint[]) => Promise<void>;

/**
 * PostgreSQL array literals, one parameter per column: a batch is one INSERT … SELECT FROM
 * unnest(…) whatever its size (the parameters of a VALUES list grow with it, and the statement
 * is parsed anew each time). Only uuids, numbers and ISO timestamps go in: none needs quoting.
 */
const arrayLiteral = (values: ReadonlyArray<string | number | null>) => `{${values.map((value) => (value === null ? 'NULL' : value)).join(',')}}`;

const pointKey = (deviceId: string, recordedAt: number, sequence: number | string) => `${deviceId}|${recordedAt}|${sequence}`;

const INSERT_POINTS = `
  INSERT INTO telemetry_points (company_id, device_id, vehicle_id, recorded_at, sequence, received_at, location, speed_kmh, heading_deg, accuracy_m, temperature_c, payload)
  SELECT ?::uuid, u.device_id, u.vehicle_id, u.recorded_at, u.sequence, coalesce(u.received_at, now()),
         CASE WHEN u.lon IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint(u.lon, u.lat), 4326)::geography END,
         u.speed_kmh, u.heading_deg, u.accuracy_m, (s.sensors ->> 'temperatureC')::real, s.sensors
    FROM unnest(?::uuid[], ?::uuid[], ?::timestamptz[], ?::bigint[], ?::timestamptz[], ?::float8[], ?::float8[], ?::real[], ?::real[], ?::real[])
         WITH ORDINALITY AS u(device_id, vehicle_id, recorded_at, sequence, received_at, lon, lat, speed_kmh, heading_deg, accuracy_m, n)
    JOIN jsonb_array_elements(?::jsonb) WITH ORDINALITY AS s(sensors, n) USING (n)
  ON CONFLICT (device_id, recorded_at, sequence) DO NOTHING
  RETURNING device_id, (extract(epoch FROM recorded_at) * 1000)::float8 AS ms, sequence`;

// Newer means a later device time (then a higher sequence): a late or replayed point never moves a vehicle back.
const UPSERT_LAST_POSITIONS = `
  INSERT INTO vehicle_last_positions AS v (vehicle_id, company_id, device_id, recorded_at, sequence, location, speed_kmh, heading_deg, accuracy_m, received_at)
  SELECT u.vehicle_id, ?::uuid, u.device_id, u.recorded_at, u.sequence, ST_SetSRID(ST_MakePoint(u.lon, u.lat), 4326)::geography,
         u.speed_kmh, u.heading_deg, u.accuracy_m, coalesce(u.received_at, now())
    FROM unnest(?::uuid[], ?::uuid[], ?::timestamptz[], ?::bigint[], ?::timestamptz[], ?::float8[], ?::float8[], ?::real[], ?::real[], ?::real[])
         AS u(vehicle_id, device_id, recorded_at, sequence, received_at, lon, lat, speed_kmh, heading_deg, accuracy_m)
  ON CONFLICT (vehicle_id) DO UPDATE SET
    company_id = EXCLUDED.company_id, device_id = EXCLUDED.device_id, recorded_at = EXCLUDED.recorded_at, sequence = EXCLUDED.sequence,
    location = EXCLUDED.location, speed_kmh = EXCLUDED.speed_kmh, heading_deg = EXCLUDED.heading_deg, accuracy_m = EXCLUDED.accuracy_m,
    received_at = EXCLUDED.received_at
  WHERE (v.recorded_at, v.sequence) < (EXCLUDED.recorded_at, EXCLUDED.sequence)`;

const iso = (date: Date | undefined) => (date ? date.toISOString() : null);

/** The columns of a fix both statements take, in their order: recorded_at, sequence, received_at, lon, lat, speed_kmh, heading_deg, accuracy_m. */
const fixColumns = (rows: TelemetryPoint[]) => [
  arrayLiteral(rows.map((p) => p.recordedAt.toISOString())),
  arrayLiteral(rows.map((p) => p.sequence)),
  arrayLiteral(rows.map((p) => iso(p.receivedAt))),
  arrayLiteral(rows.map((p) => p.lon)),
  arrayLiteral(rows.map((p) => p.lat)),
  arrayLiteral(rows.map((p) => p.speedKmh)),
  arrayLiteral(rows.map((p) => p.headingDeg)),
  arrayLiteral(rows.map((p) => p.accuracyM)),
];

async function insertCompanyPoints(tx: EntityManager, companyId: string, rows: TelemetryPoint[]): Promise<TelemetryPoint[]> {
  await tx.execute(`SELECT set_config('app.current_company_id', ?, true)`, [companyId]);
  const inserted = await executeBound<Array<{ device_id: string; ms: number; sequence: string }>>(tx, INSERT_POINTS, [
    companyId,
    arrayLiteral(rows.map((p) => p.deviceId)),
    arrayLiteral(rows.map((p) => p.vehicleId)),
    ...fixColumns(rows),
    JSON.stringify(rows.map((p) => p.sensors)),
  ]);
  if (inserted.length === rows.length) return rows;
  const fresh = new Set(inserted.map((row) => pointKey(row.device_id, row.ms, row.sequence)));
  const stored: TelemetryPoint[] = [];
  for (const point of rows) {
    const key = pointKey(point.deviceId, point.recordedAt.getTime(), point.sequence);
    // A point repeated within the batch is inserted once: the first copy is the stored one.
    if (fresh.delete(key)) stored.push(point);
  }
  return stored;
}

async function upsertLastPositions(tx: EntityManager, companyId: string, stored: TelemetryPoint[]): Promise<void> {
  const latest = new Map<string, TelemetryPoint>();
  for (const point of stored) {
    if (point.vehicleId === null || point.lat === null) continue;
    const held = latest.get(point.vehicleId);
    if (!held || held.recordedAt < point.recordedAt || (held.recordedAt.getTime() === point.recordedAt.getTime() && held.sequence < point.sequence)) latest.set(point.vehicleId, point);
  }
  if (latest.size === 0) return;
  // In key order: two batches moving the same vehicles lock their rows in one order, never a deadlock.
  const rows = [...latest.values()].sort((a, b) => (a.vehicleId! < b.vehicleId! ? -1 : 1));
  await executeBound(tx, UPSERT_LAST_POSITIONS, [
    companyId,
    arrayLiteral(rows.map((p) => p.vehicleId)),
    arrayLiteral(rows.map((p) => p.deviceId)),
    ...fixColumns(rows),
  ]);
}

const byPointKey = (a: TelemetryPoint, b: TelemetryPoint) =>
  a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : a.recordedAt.getTime() - b.recordedAt.getTime() || a.sequence - b.sequence;

/**
 * Commits a batch of points from any number of companies in one transaction, each company's
 * rows under its own `app.current_company_id` so row-level security checks them. A point
 * already stored (a QoS 1 redelivery) is skipped, so a retried batch never duplicates; each
 * vehicle's last known position moves to its newest new point. `afterInsert` runs per company
 * in the same transaction with that company's new points. Returns the new points.
 */
export async function commitTelemetry(db: Database, points: TelemetryPoint[], afterInsert?: AfterInsert): Promise<TelemetryPoint[]> {
  if (points.length === 0) return [];
  const byCompany = new Map<string, TelemetryPoint[]>();
  for (const point of points) {
    const rows = byCompany.get(point.companyId);
    if (rows) rows.push(point);
    else byCompany.set(point.companyId, [point]);
  }
  const em = db.em.fork();
  await em.begin();
  try {
    const stored: TelemetryPoint[] = [];
    for (const [companyId, rows] of byCompany) {
      // Key order: concurrent batches holding the same redelivered points wait on each other in one order, never deadlock.
      rows.sort(byPointKey);
      const fresh = await insertCompanyPoints(em, companyId, rows);
      if (fresh.length === 0) continue;
      await upsertLastPositions(em, companyId, fresh);
      if (afterInsert) await afterInsert(em, companyId, fresh);
      stored.push(...fresh);
    }
    await em.commit();
    return stored;
  } catch (error) {
    await em.rollback().catch(() => undefined);
    throw error;
  }
}

/**
 * Whether a failed commit may be one row's fault: SQLSTATE class 22 (data exception, e.g. a
 * value out of range or invalid `jsonb`) or 23 (a constraint refused it). Anything else (the
 * connection, the server) concerns the whole batch.
 */
export function isRowError(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && /^2[23][0-9A-Z]{3}$/.test(code);
}

/** A device's presence as ingest saw it: when it was last heard, and a connection status change with its time. */
export interface DevicePresence {
  deviceId: string;
  lastSeenAt: Date | null;
  status: 'ONLINE' | 'OFFLINE' | null;
  statusAt: Date | null;
}

/** Records many devices' presence (any companies) in one statement; never moves last_seen_at back, nor a status behind a newer one. */
export async function recordDevicePresence(db: Database, presence: DevicePresence[]): Promise<void> {
  if (presence.length === 0) return;
  const rows = [...presence].sort((a, b) => (a.deviceId < b.deviceId ? -1 : 1));
  await db.em.fork().execute('SELECT record_device_presence(?::uuid[], ?::timestamptz[], ?::text[], ?::timestamptz[])', [
    arrayLiteral(rows.map((p) => p.deviceId)),
    arrayLiteral(rows.map((p) => iso(p.lastSeenAt ?? undefined))),
    arrayLiteral(rows.map((p) => p.status)),
    arrayLiteral(rows.map((p) => iso(p.statusAt ?? undefined))),
  ]);
}

/** Refused messages of one device for one reason since the last flush. */
export interface RejectionCount {
  deviceId: string;
  reason: string;
  count: number;
  firstAt: Date;
  lastAt: Date;
}

/** Adds refused-message counts (any companies) in one statement. */
export async function countRejections(db: Database, counts: RejectionCount[]): Promise<void> {
  if (counts.length === 0) return;
  const rows = [...counts].sort((a, b) => (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : a.reason < b.reason ? -1 : 1));
  await db.em.fork().execute('SELECT count_telemetry_rejections(?::uuid[], ?::text[], ?::bigint[], ?::timestamptz[], ?::timestamptz[])', [
    arrayLiteral(rows.map((r) => r.deviceId)),
    arrayLiteral(rows.map((r) => r.reason)),
    arrayLiteral(rows.map((r) => r.count)),
    arrayLiteral(rows.map((r) => r.firstAt.toISOString())),
    arrayLiteral(rows.map((r) => r.lastAt.toISOString())),
  ]);
}
