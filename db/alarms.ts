import type { AlarmEvent, AlarmRule, AlarmSeverity, AlarmState } from '../domain/alarm-lifecycle.js';
import { ROAD_SHIPMENT_STATUSES, type RoadShipment, type RoadState } from '../domain/geofence-rules.js';
import type { SensorLimits } from '../domain/sensor-rules.js';
import type { EntityManager } from './orm.js';

const ms = (value: string | null) => (value === null ? null : Date.parse(value));
const iso = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
const uuidArray = (ids: readonly string[]) => `{${ids.join(',')}}`;
/** Written into the statement (domain constants, not input), so the partial index shipments_vehicle_on_road_idx matches. */
const ON_ROAD = ROAD_SHIPMENT_STATUSES.map((status) => `'${status}'`).join(', ');

export interface VehicleRoadContext {
  state: RoadState | null;
  shipment: RoadShipment | null;
  /** The shipment's load holds a good the catalogue names "temperature controlled". */
  temperatureControlledLoad: boolean;
}

/**
 * For each vehicle of a batch, in one statement: what detection remembered of it and the shipment
 * it carries now (domain ROAD_SHIPMENT_STATUSES, most telling first).
 */
export async function vehicleRoadContexts(tx: EntityManager, vehicleIds: readonly string[]): Promise<Map<string, VehicleRoadContext>> {
  const result = new Map<string, VehicleRoadContext>();
  if (vehicleIds.length === 0) return result;
  const rows = await tx.execute<
    Array<{
      vehicle_id: string;
      last_at: string | null;
      inside: string[] | null;
      state_shipment_id: string | null;
      visited_origin: boolean | null;
      left_origin_at: string | null;
      arrived_at: string | null;
      position_signalled_at: string | null;
      shipment_id: string | null;
      status: RoadShipment['status'] | null;
      origin_lat: number | null;
      origin_lon: number | null;
      destination_lat: number | null;
      destination_lon: number | null;
      temperature_controlled: boolean | null;
    }>
  >(
    `SELECT v.vehicle_id, ${iso('s.last_at')} AS last_at, s.inside::text[] AS inside, s.shipment_id AS state_shipment_id, s.visited_origin,
            ${iso('s.left_origin_at')} AS left_origin_at, ${iso('s.arrived_at')} AS arrived_at, ${iso('s.position_signalled_at')} AS position_signalled_at,
            sh.id AS shipment_id, sh.status, ST_Y(sh.origin_location::geometry) AS origin_lat, ST_X(sh.origin_location::geometry) AS origin_lon,
            ST_Y(sh.destination_location::geometry) AS destination_lat, ST_X(sh.destination_location::geometry) AS destination_lon,
            EXISTS (SELECT 1 FROM consignment_items ci JOIN dangerous_goods dg ON dg.id = ci.dangerous_good_id
                     WHERE ci.shipment_id = sh.id AND dg.proper_shipping_name ILIKE '%temperature controlled%') AS temperature_controlled
       FROM unnest(?::uuid[]) AS v(vehicle_id)
       LEFT JOIN vehicle_road_state s ON s.vehicle_id = v.vehicle_id
       LEFT JOIN LATERAL (
         SELECT id, status, origin_location, destination_location FROM shipments
          WHERE vehicle_id = v.vehicle_id AND status IN (${ON_ROAD})
          ORDER BY array_position(ARRAY[${ON_ROAD}], status), updated_at DESC LIMIT 1
       ) sh ON true`,
    [uuidArray(vehicleIds)],
  );
  for (const row of rows) {
    result.set(row.vehicle_id, {
      state:
        row.last_at === null
          ? null
          : {
              lastAt: ms(row.last_at),
              inside: [...(row.inside ?? [])].sort(),
              shipmentId: row.state_shipment_id,
              visitedOrigin: row.visited_origin ?? false,
              leftOriginAt: ms(row.left_origin_at),
              arrivedAt: ms(row.arrived_at),
              positionSignalledAt: ms(row.position_signalled_at),
            },
      shipment:
        row.shipment_id === null || row.status === null
          ? null
          : { id: row.shipment_id, status: row.status, origin: { lat: row.origin_lat!, lon: row.origin_lon! }, destination: { lat: row.destination_lat!, lon: row.destination_lon! } },
      temperatureControlledLoad: row.temperature_controlled ?? false,
    });
  }
  return result;
}

/** Writes the vehicles' new states in one statement. */
export async function saveVehicleRoadStates(tx: EntityManager, companyId: string, states: ReadonlyMap<string, RoadState>): Promise<void> {
  if (states.size === 0) return;
  const at = (value: number | null) => (value === null ? null : new Date(value).toISOString());
  const rows = [...states].map(([vehicleId, s]) => ({
    vehicle_id: vehicleId,
    last_at: at(s.lastAt),
    inside: s.inside,
    shipment_id: s.shipmentId,
    visited_origin: s.visitedOrigin,
    left_origin_at: at(s.leftOriginAt),
    arrived_at: at(s.arrivedAt),
    position_signalled_at: at(s.positionSignalledAt),
  }));
  await tx.execute(
    `INSERT INTO vehicle_road_state (vehicle_id, company_id, last_at, inside, shipment_id, visited_origin, left_origin_at, arrived_at, position_signalled_at)
     SELECT r.vehicle_id, ?::uuid, r.last_at, ARRAY(SELECT jsonb_array_elements_text(r.inside))::uuid[], r.shipment_id, r.visited_origin, r.left_origin_at, r.arrived_at, r.position_signalled_at
       FROM jsonb_to_recordset(?::jsonb) AS r(vehicle_id uuid, last_at timestamptz, inside jsonb, shipment_id uuid, visited_origin boolean, left_origin_at timestamptz, arrived_at timestamptz, position_signalled_at timestamptz)
     ON CONFLICT (vehicle_id) DO UPDATE SET last_at = EXCLUDED.last_at, inside = EXCLUDED.inside, shipment_id = EXCLUDED.shipment_id, visited_origin = EXCLUDED.visited_origin,
       left_origin_at = EXCLUDED.left_origin_at, arrived_at = EXCLUDED.arrived_at, position_signalled_at = EXCLUDED.position_signalled_at, updated_at = now()`,
    [companyId, JSON.stringify(rows)],
    'run',
  );
}

/** The devices' own limits; a device without a row has none set. */
export async function deviceSensorLimits(tx: EntityManager, deviceIds: readonly string[]): Promise<Map<string, SensorLimits>> {
  const result = new Map<string, SensorLimits>();
  if (deviceIds.length === 0) return result;
  const rows = await tx.execute<Array<{ device_id: string; temperature_min_c: number | null; temperature_max_c: number | null; tilt_max_deg: number | null }>>(
    'SELECT device_id, temperature_min_c, temperature_max_c, tilt_max_deg FROM device_sensor_rules WHERE device_id = ANY(?::uuid[])',
    [uuidArray(deviceIds)],
  );
  for (const row of rows) result.set(row.device_id, { temperatureMinC: row.temperature_min_c, temperatureMaxC: row.temperature_max_c, tiltMaxDeg: row.tilt_max_deg });
  return result;
}

export interface AlarmBreach {
  companyId: string;
  deviceId: string;
  vehicleId: string | null;
  rule: AlarmRule;
  severity: AlarmSeverity;
  message: string;
  citation: string | null;
  value: number;
  at: Date;
  location: { lat: number; lon: number } | null;
  /** The incident the alarm raises if it is new; kept on the alarm. */
  incidentId: string | null;
}

/**
 * The device's active alarm for the rule, or a new one: a breach of a rule already alarmed is
 * counted on that alarm (one active alarm per device and rule, the partial unique index).
 */
export async function raiseAlarm(tx: EntityManager, breach: AlarmBreach): Promise<{ id: string; created: boolean; incidentId: string | null }> {
  const [row] = await tx.execute<Array<{ id: string; created: boolean; incident_id: string | null }>>(
    `INSERT INTO alarms (company_id, device_id, vehicle_id, rule, severity, message, citation, value, raised_at, last_seen_at, location, incident_id)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, CASE WHEN ?::float8 IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint(?::float8, ?::float8), 4326)::geography END, ?)
     ON CONFLICT (device_id, rule) WHERE state <> 'CLEARED'
     DO UPDATE SET occurrences = alarms.occurrences + 1, last_seen_at = greatest(alarms.last_seen_at, EXCLUDED.last_seen_at), value = EXCLUDED.value, updated_at = now()
     RETURNING id, (xmax = 0) AS created, incident_id`,
    [
      breach.companyId,
      breach.deviceId,
      breach.vehicleId,
      breach.rule,
      breach.severity,
      breach.message,
      breach.citation,
      breach.value,
      breach.at,
      breach.at,
      breach.location?.lon ?? null,
      breach.location?.lon ?? null,
      breach.location?.lat ?? null,
      breach.incidentId,
    ],
  );
  return { id: row!.id, created: row!.created, incidentId: row!.incident_id };
}

export interface AlarmView {
  id: string;
  deviceId: string;
  vehicleId: string | null;
  rule: AlarmRule;
  severity: AlarmSeverity;
  state: AlarmState;
  message: string;
  citation: string | null;
  value: number | null;
  raisedAt: string;
  lastSeenAt: string;
  occurrences: number;
  location: { lat: number; lon: number } | null;
  incidentId: string | null;
  acknowledged: { by: { subject: string; username: string | null }; at: string } | null;
  cleared: { by: { subject: string; username: string | null }; at: string } | null;
  createdAt: string;
  updatedAt: string;
}

const VIEW_COLUMNS = `id, device_id, vehicle_id, rule, severity, state, message, citation, value, ${iso('raised_at')} AS raised_at, ${iso('last_seen_at')} AS last_seen_at, occurrences,
  ST_Y(location::geometry) AS lat, ST_X(location::geometry) AS lon, incident_id, acknowledged_by, ${iso('acknowledged_at')} AS acknowledged_at, cleared_by, ${iso('cleared_at')} AS cleared_at,
  version, ${iso('created_at')} AS created_at, ${iso('updated_at')} AS updated_at`;

interface AlarmRow {
  id: string;
  device_id: string;
  vehicle_id: string | null;
  rule: AlarmRule;
  severity: AlarmSeverity;
  state: AlarmState;
  message: string;
  citation: string | null;
  value: number | null;
  raised_at: string;
  last_seen_at: string;
  occurrences: number;
  lat: number | null;
  lon: number | null;
  incident_id: string | null;
  acknowledged_by: { subject: string; username: string | null } | null;
  acknowledged_at: string | null;
  cleared_by: { subject: string; username: string | null } | null;
  cleared_at: string | null;
  version: number;
  created_at: string;
  updated_at: string;
}

const toView = (row: AlarmRow): AlarmView => ({
  id: row.id,
  deviceId: row.device_id,
  vehicleId: row.vehicle_id,
  rule: row.rule,
  severity: row.severity,
  state: row.state,
  message: row.message,
  citation: row.citation,
  value: row.value,
  raisedAt: row.raised_at,
  lastSeenAt: row.last_seen_at,
  occurrences: row.occurrences,
  location: row.lat === null || row.lon === null ? null : { lat: row.lat, lon: row.lon },
  incidentId: row.incident_id,
  acknowledged: row.acknowledged_by && row.acknowledged_at ? { by: row.acknowledged_by, at: row.acknowledged_at } : null,
  cleared: row.cleared_by && row.cleared_at ? { by: row.cleared_by, at: row.cleared_at } : null,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

export interface AlarmFilters {
  limit: number;
  state?: AlarmState;
  /** Both active states. */
  active?: boolean;
  severity?: AlarmSeverity;
  rule?: AlarmRule;
  deviceId?: string;
  vehicleId?: string;
  after?: { createdAt: string; id: string };
}

/** A page of the company's alarms, newest first. */
export async function listAlarms(em: EntityManager, filters: AlarmFilters): Promise<{ items: AlarmView[]; more: boolean; last: { createdAt: string; id: string } | null }> {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (clause: string, value: unknown) => {
    where.push(clause);
    params.push(value);
  };
  if (filters.state) add('state = ?', filters.state);
  if (filters.active !== undefined) where.push(filters.active ? `state <> 'CLEARED'` : `state = 'CLEARED'`);
  if (filters.severity) add('severity = ?', filters.severity);
  if (filters.rule) add('rule = ?', filters.rule);
  if (filters.deviceId) add('device_id = ?', filters.deviceId);
  if (filters.vehicleId) add('vehicle_id = ?', filters.vehicleId);
  if (filters.after) {
    where.push('(created_at, id) < (?::timestamptz, ?::uuid)');
    params.push(filters.after.createdAt, filters.after.id);
  }
  const rows = await em.execute<AlarmRow[]>(`SELECT ${VIEW_COLUMNS} FROM alarms ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT ?`, [...params, filters.limit + 1]);
  const items = rows.slice(0, filters.limit).map(toView);
  const lastItem = items.at(-1);
  return { items, more: rows.length > filters.limit, last: lastItem ? { createdAt: lastItem.createdAt, id: lastItem.id } : null };
}

/** The alarm and its version, locked until the transaction ends when `lock` (a transition reads, checks and writes under it). */
export async function alarmView(em: EntityManager, id: string, lock = false): Promise<{ view: AlarmView; version: number } | null> {
  const [row] = await em.execute<AlarmRow[]>(`SELECT ${VIEW_COLUMNS} FROM alarms WHERE id = ?${lock ? ' FOR UPDATE' : ''}`, [id]);
  return row ? { view: toView(row), version: row.version } : null;
}

/** Writes an acknowledgement or a clearing (the caller checked the transition under the row's lock). */
export async function writeAlarmTransition(em: EntityManager, id: string, change: { event: AlarmEvent; state: AlarmState; by: { subject: string; username: string | null } }): Promise<void> {
  const column = change.event === 'acknowledge' ? 'acknowledged' : 'cleared';
  await em.execute(`UPDATE alarms SET state = ?, ${column}_by = ?::jsonb, ${column}_at = now(), version = version + 1, updated_at = now() WHERE id = ?`, [change.state, JSON.stringify(change.by), id], 'run');
}

export interface StoredSensorRules extends SensorLimits {
  version: number;
  updatedAt: string | null;
}

/** Whether the device is the transaction's company's (RLS hides another's). */
export async function deviceExists(em: EntityManager, deviceId: string): Promise<boolean> {
  return (await em.execute<Array<{ id: string }>>('SELECT id FROM devices WHERE id = ?', [deviceId])).length === 1;
}

/** The device's limits as set; all null (and version 0) when none were. */
export async function sensorRules(em: EntityManager, deviceId: string): Promise<StoredSensorRules> {
  const [row] = await em.execute<Array<{ temperature_min_c: number | null; temperature_max_c: number | null; tilt_max_deg: number | null; version: number; updated_at: string }>>(
    `SELECT temperature_min_c, temperature_max_c, tilt_max_deg, version, ${iso('updated_at')} AS updated_at FROM device_sensor_rules WHERE device_id = ?`,
    [deviceId],
  );
  return row
    ? { temperatureMinC: row.temperature_min_c, temperatureMaxC: row.temperature_max_c, tiltMaxDeg: row.tilt_max_deg, version: row.version, updatedAt: row.updated_at }
    : { temperatureMinC: null, temperatureMaxC: null, tiltMaxDeg: null, version: 0, updatedAt: null };
}

/** Sets the device's limits (all of them: a null is no limit, or the default). */
export async function writeSensorRules(em: EntityManager, companyId: string, deviceId: string, limits: SensorLimits): Promise<void> {
  await em.execute(
    `INSERT INTO device_sensor_rules (device_id, company_id, temperature_min_c, temperature_max_c, tilt_max_deg) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (device_id) DO UPDATE SET temperature_min_c = EXCLUDED.temperature_min_c, temperature_max_c = EXCLUDED.temperature_max_c, tilt_max_deg = EXCLUDED.tilt_max_deg,
       version = device_sensor_rules.version + 1, updated_at = now()`,
    [deviceId, companyId, limits.temperatureMinC, limits.temperatureMaxC, limits.tiltMaxDeg],
    'run',
  );
}
