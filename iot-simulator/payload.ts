import type { DeviceStatusMessage, TelemetryMessage, TelemetryPointMessage } from '../domain/telemetry-message.js';

/**
 * What a simulated device publishes on its telemetry topic: the versioned message of
 * domain/telemetry-message.ts (one point, or a batch when the device has points saved up).
 */
export type SensorReadings = {
  temperatureC: number;
  pressureKpa: number;
  tiltDeg: number;
  leak: boolean;
  doorOpen: boolean;
};

export interface SimPoint {
  /** Device time (its clock, skew included), epoch milliseconds. */
  ts: number;
  /** The device's own counter: with ts it names the point, so a redelivery is stored once. */
  seq: number;
  lat: number;
  lon: number;
  speedKmh: number;
  headingDeg: number;
  accuracyM: number;
  sensors: SensorReadings;
}

const wirePoint = (point: SimPoint): TelemetryPointMessage => ({
  ts: new Date(point.ts).toISOString(),
  seq: point.seq,
  lat: point.lat,
  lon: point.lon,
  speedKmh: point.speedKmh,
  headingDeg: point.headingDeg,
  accuracyM: point.accuracyM,
  sensors: point.sensors,
});

// Typed by the server's contract (a type import: nothing of the server runs here), so a new version fails to compile until the simulator follows it.
const VERSION: NonNullable<TelemetryMessage['v']> = 1;

export function encodePoints(points: readonly SimPoint[]): Buffer {
  if (points.length === 0) throw new Error('nothing to encode');
  const body: TelemetryMessage = points.length === 1 ? { v: VERSION, ...wirePoint(points[0]!) } : { v: VERSION, points: points.map(wirePoint) };
  return Buffer.from(JSON.stringify(body));
}

export function encodeStatus(status: DeviceStatusMessage['status'], at?: number): Buffer {
  const body: DeviceStatusMessage = { v: VERSION, status, ...(at === undefined ? {} : { ts: new Date(at).toISOString() }) };
  return Buffer.from(JSON.stringify(body));
}
