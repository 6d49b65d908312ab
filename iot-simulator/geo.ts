import type { Route, Waypoint } from './routes.js';

const EARTH_RADIUS_KM = 6371.0088;
const rad = (deg: number) => (deg * Math.PI) / 180;
const deg = (r: number) => (r * 180) / Math.PI;

/** Great-circle distance (haversine). */
export function distanceKm(a: Waypoint, b: Waypoint): number {
  const dLat = rad(b.lat - a.lat);
  const dLon = rad(b.lon - a.lon);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Initial bearing from a to b, degrees clockwise from north in [0, 360). */
export function bearingDeg(a: Waypoint, b: Waypoint): number {
  const y = Math.sin(rad(b.lon - a.lon)) * Math.cos(rad(b.lat));
  const x = Math.cos(rad(a.lat)) * Math.sin(rad(b.lat)) - Math.sin(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.cos(rad(b.lon - a.lon));
  return (deg(Math.atan2(y, x)) + 360) % 360;
}

/** The point `km` east and north of a place (small offsets: a GPS jump, a spread of start points). */
export function offsetKm(from: { lat: number; lon: number }, northKm: number, eastKm: number): { lat: number; lon: number } {
  const lat = from.lat + deg(northKm / EARTH_RADIUS_KM);
  const lon = from.lon + deg(eastKm / (EARTH_RADIUS_KM * Math.cos(rad(from.lat))));
  return { lat: Math.max(-90, Math.min(90, lat)), lon: ((((lon + 180) % 360) + 360) % 360) - 180 };
}

export interface RoutePosition {
  lat: number;
  lon: number;
  headingDeg: number;
  /** The leg's start and end waypoints' names. */
  between: [string, string];
}

/** A route measured once: where a vehicle is after driving `km` from its start (clamped to the end). */
export class MeasuredRoute {
  readonly lengthKm: number;
  private readonly starts: number[];

  constructor(readonly route: Route) {
    if (route.waypoints.length < 2) throw new Error(`route ${route.name} needs at least two waypoints`);
    this.starts = [0];
    for (let i = 1; i < route.waypoints.length; i++) this.starts.push(this.starts[i - 1]! + distanceKm(route.waypoints[i - 1]!, route.waypoints[i]!));
    this.lengthKm = this.starts[this.starts.length - 1]!;
  }

  /** Distance along the route to a named waypoint. */
  kmTo(name: string): number {
    const index = this.route.waypoints.findIndex((waypoint) => waypoint.name === name);
    if (index < 0) throw new Error(`route ${this.route.name} has no waypoint ${name}`);
    return this.starts[index]!;
  }

  at(km: number): RoutePosition {
    const clamped = Math.max(0, Math.min(this.lengthKm, km));
    let leg = 0;
    while (leg < this.starts.length - 2 && this.starts[leg + 1]! <= clamped) leg++;
    const a = this.route.waypoints[leg]!;
    const b = this.route.waypoints[leg + 1]!;
    const legKm = this.starts[leg + 1]! - this.starts[leg]!;
    const f = legKm === 0 ? 0 : (clamped - this.starts[leg]!) / legKm;
    return { lat: a.lat + (b.lat - a.lat) * f, lon: a.lon + (b.lon - a.lon) * f, headingDeg: bearingDeg(a, b), between: [a.name, b.name] };
  }
}
