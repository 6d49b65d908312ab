import type { Database } from './orm.js';

export interface TelemetryPoint {
  companyId: string;
  deviceId: string;
  vehicleId: string | null;
  recordedAt: Date;
  lon: number | null;
  lat: number | null;
  speedKmh: number | null;
  headingDeg: number | null;
  temperatureC: number | null;
  payload: Record<string, unknown>;
}

const INSERT_COLUMNS = 'company_id, device_id, vehicle_id, recorded_at, location, speed_kmh, heading_deg, temperature_c, payload';
const ROW = `(?, ?, ?, ?, CASE WHEN ?::float8 IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint(?::float8, ?::float8), 4326)::geography END, ?, ?, ?, ?::jsonb)`;

/**
 * Commits a batch of points from any number of companies in one transaction, each company's
 * rows under its own `app.current_company_id` so row-level security checks them. A point
 * already stored (a QoS 1 redelivery) is skipped, so a retried batch never duplicates.
 * Returns how many rows were new.
 */
export async function commitTelemetry(db: Database, points: TelemetryPoint[]): Promise<number> {
  if (points.length === 0) return 0;
  const byCompany = new Map<string, TelemetryPoint[]>();
  for (const point of points) {
    const rows = byCompany.get(point.companyId);
    if (rows) rows.push(point);
    else byCompany.set(point.companyId, [point]);
  }
  const em = db.em.fork();
  return em.transactional(async (tx) => {
    let inserted = 0;
    for (const [companyId, rows] of byCompany) {
      await tx.execute(`SELECT set_config('app.current_company_id', ?, true)`, [companyId]);
      const params = rows.flatMap((p) => [p.companyId, p.deviceId, p.vehicleId, p.recordedAt, p.lon, p.lon, p.lat, p.speedKmh, p.headingDeg, p.temperatureC, JSON.stringify(p.payload)]);
      const result = await tx.execute(
        `INSERT INTO telemetry_points (${INSERT_COLUMNS}) VALUES ${rows.map(() => ROW).join(', ')} ON CONFLICT (device_id, recorded_at) DO NOTHING`,
        params,
        'run',
      );
      inserted += (result as { affectedRows?: number }).affectedRows ?? 0;
    }
    return inserted;
  });
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
