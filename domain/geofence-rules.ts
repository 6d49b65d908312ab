/**
 * What the road means for a vehicle: geofence enter/exit, and for the shipment it carries, leaving
 * the origin, reaching the destination, entering a DG-restricted zone and reporting its position.
 * Plain data and pure functions; ingest/detection feeds them each vehicle's stored points in
 * device-time order and keeps the state between batches (vehicle_road_state).
 */
import type { ShipmentStatus } from './shipment-lifecycle.js';

/** The events detection records (telemetry_events.kind); the road's and the alarms'. */
export const TELEMETRY_EVENT_KINDS = ['geofence.entered', 'geofence.exited', 'shipment.left-origin', 'shipment.arrived', 'shipment.restricted-zone', 'shipment.position', 'alarm.raised'] as const;
export type TelemetryEventKind = (typeof TELEMETRY_EVENT_KINDS)[number];

/**
 * Within this distance of the shipment's origin point the vehicle is at the origin; a vehicle seen
 * there and then beyond it has left. A depot yard and its gate fit in 500 m; a GPS fix (±10–50 m) does not
 * move a parked truck out of it.
 */
export const ORIGIN_RADIUS_M = 500;
/** Within this distance of the destination point the vehicle has arrived. */
export const ARRIVAL_RADIUS_M = 500;
/** A shipment hears of its vehicle's position at most this often (device time): enough for the no-position alert (15 min by default). */
export const POSITION_SIGNAL_EVERY_MS = 60_000;

/**
 * The shipments a vehicle may be carrying, most telling first: on the road, then waiting to leave,
 * then arrived (a restricted zone entered after arrival still concerns the load until delivery).
 */
export const ROAD_SHIPMENT_STATUSES: readonly ShipmentStatus[] = ['IN_TRANSIT', 'READY', 'ARRIVED'];

export interface LatLon {
  lat: number;
  lon: number;
}

const EARTH_RADIUS_M = 6_371_008.8;
const rad = (deg: number) => (deg * Math.PI) / 180;

/** Great-circle distance (haversine on the mean Earth radius; within 0.5 % of the WGS 84 geodesic PostGIS computes). */
export function distanceM(a: LatLon, b: LatLon): number {
  const dLat = rad(b.lat - a.lat);
  const dLon = rad(b.lon - a.lon);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** What detection remembers of a vehicle; times are epoch milliseconds of device time. */
export interface RoadState {
  /** The newest point applied: an older (late) point changes nothing, so a late fix never re-enters a zone left since. */
  lastAt: number | null;
  /** The geofences the vehicle is inside, by id. */
  inside: string[];
  /** The shipment the flags below are about. */
  shipmentId: string | null;
  visitedOrigin: boolean;
  leftOriginAt: number | null;
  arrivedAt: number | null;
  positionSignalledAt: number | null;
}

export const EMPTY_ROAD_STATE: RoadState = { lastAt: null, inside: [], shipmentId: null, visitedOrigin: false, leftOriginAt: null, arrivedAt: null, positionSignalledAt: null };

export interface RoadShipment {
  id: string;
  status: ShipmentStatus;
  origin: LatLon;
  destination: LatLon;
}

export type RoadEvent =
  | { kind: 'geofence.entered' | 'geofence.exited'; geofenceId: string }
  | { kind: 'shipment.restricted-zone'; geofenceId: string }
  | { kind: 'shipment.left-origin' | 'shipment.arrived' | 'shipment.position' };

/**
 * One point applied to a vehicle's state: the geofences it entered and left (`insideNow` is where
 * the point lies, `restricted` says which geofences are RESTRICTED_DG), and what its shipment must
 * hear. Each shipment signal happens once per shipment, except the position report, at most every
 * POSITION_SIGNAL_EVERY_MS.
 */
export function stepRoad(before: RoadState, point: LatLon & { at: number }, insideNow: readonly string[], restricted: (geofenceId: string) => boolean, shipment: RoadShipment | null): { state: RoadState; events: RoadEvent[] } {
  if (before.lastAt !== null && point.at <= before.lastAt) return { state: before, events: [] };
  const events: RoadEvent[] = [];
  const was = new Set(before.inside);
  const now = new Set(insideNow);
  for (const id of insideNow) if (!was.has(id)) events.push({ kind: 'geofence.entered', geofenceId: id });
  for (const id of before.inside) if (!now.has(id)) events.push({ kind: 'geofence.exited', geofenceId: id });

  const sameShipment = shipment !== null && shipment.id === before.shipmentId;
  const state: RoadState = {
    lastAt: point.at,
    inside: [...now].sort(),
    shipmentId: shipment?.id ?? null,
    visitedOrigin: sameShipment && before.visitedOrigin,
    leftOriginAt: sameShipment ? before.leftOriginAt : null,
    arrivedAt: sameShipment ? before.arrivedAt : null,
    positionSignalledAt: sameShipment ? before.positionSignalledAt : null,
  };
  if (!shipment) return { state, events };

  for (const event of [...events]) {
    if (event.kind === 'geofence.entered' && restricted(event.geofenceId)) events.push({ kind: 'shipment.restricted-zone', geofenceId: event.geofenceId });
  }
  // Left the origin already told: the workflow is (or is about to be) IN_TRANSIT, whatever the row says yet.
  const status = shipment.status === 'READY' && state.leftOriginAt !== null ? 'IN_TRANSIT' : shipment.status;
  if (status === 'READY') {
    if (distanceM(point, shipment.origin) <= ORIGIN_RADIUS_M) state.visitedOrigin = true;
    else if (state.visitedOrigin) {
      state.leftOriginAt = point.at;
      events.push({ kind: 'shipment.left-origin' });
    }
  }
  const inTransit = status === 'IN_TRANSIT' || state.leftOriginAt === point.at;
  if (inTransit) {
    if (state.positionSignalledAt === null || point.at - state.positionSignalledAt >= POSITION_SIGNAL_EVERY_MS) {
      state.positionSignalledAt = point.at;
      events.push({ kind: 'shipment.position' });
    }
    if (state.arrivedAt === null && distanceM(point, shipment.destination) <= ARRIVAL_RADIUS_M) {
      state.arrivedAt = point.at;
      events.push({ kind: 'shipment.arrived' });
    }
  }
  return { state, events };
}

/**
 * How stale the stored `lastAt` may be: a vehicle whose only change is time is written at most
 * this often (device time), not once per batch (at 1,000 vehicles a batch would otherwise rewrite
 * 1,000 rows). The price: a point up to this much older than the newest applied one, arriving in a
 * later batch, is applied as if current (it may cross an edge back and forth once).
 */
export const LAST_AT_WRITE_EVERY_MS = 30_000;

/** Whether a vehicle's state must be written: anything but time changed, or time moved on by LAST_AT_WRITE_EVERY_MS. */
export function mustWriteRoadState(stored: RoadState | null, now: RoadState): boolean {
  if (stored === null) return true;
  const same =
    stored.shipmentId === now.shipmentId &&
    stored.visitedOrigin === now.visitedOrigin &&
    stored.leftOriginAt === now.leftOriginAt &&
    stored.arrivedAt === now.arrivedAt &&
    stored.positionSignalledAt === now.positionSignalledAt &&
    stored.inside.length === now.inside.length &&
    stored.inside.every((id, i) => id === now.inside[i]);
  return !same || (now.lastAt ?? 0) - (stored.lastAt ?? 0) >= LAST_AT_WRITE_EVERY_MS;
}
