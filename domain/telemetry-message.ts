import { z } from 'zod';

/**
 * The telemetry message devices publish (JSON, version 1), validated to what PostgreSQL stores
 * (`telemetry_points` in db/migrations): a value the database would refuse is refused here,
 * one message at a time, never discovered by a failed batch.
 *
 * Two forms: one point (`{ "v": 1, "ts": …, "lat": …, … }`) or a batch of points from one
 * device (`{ "v": 1, "points": [ {…}, … ] }`: a device that was offline sends its buffer).
 * `v` may be omitted (devices of before the version existed); another version is refused.
 * A point is identified by (device, `ts`, `seq`): `seq` tells apart readings of one millisecond
 * and makes a redelivered point a duplicate, stored once.
 *
 * `telemetryMessage` (zod) is the published contract (`telemetryMessageJsonSchema` for devices
 * and the simulator); `decodeTelemetry` is its hand-written twin for the hot path (about ten
 * times cheaper per point than a zod parse), held to the same answers by
 * tests/unit/telemetry-message.test.ts.
 */
export const TELEMETRY_MESSAGE_VERSION = 1;
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;
export const MAX_POINTS_PER_MESSAGE = 1000;
export const MAX_SENSORS = 64;
export const MAX_SEQUENCE = Number.MAX_SAFE_INTEGER;

/** Why a message was refused: a short list, so the per-device counts stay a few rows each. */
export const REJECTION_REASONS = ['not_json', 'invalid', 'unsupported_version', 'future_timestamp', 'too_many_points', 'rate_limited', 'database_refused', 'topic_not_allowed'] as const;
export type RejectionReason = (typeof REJECTION_REASONS)[number];

/** A device's connection as ingest last saw it (devices.status). */
export const DEVICE_CONNECTION_STATUSES = ['NEVER_SEEN', 'ONLINE', 'OFFLINE'] as const;
export type DeviceConnectionStatus = (typeof DEVICE_CONNECTION_STATUSES)[number];

/** Column ranges of what is stored, shared by the schema and the hot-path decoder. */
const RANGES = {
  speedKmh: { min: 0, max: 400 },
  headingDeg: { min: 0, max: 360, maxExclusive: true },
  accuracyM: { min: 0, max: 100_000 },
  temperatureC: { min: -80, max: 200 },
  pressureKpa: { min: 0, max: 100_000 },
  tiltDeg: { min: 0, max: 180 },
} as const;
type Range = { min: number; max: number; maxExclusive?: boolean };

/**
 * What a number becomes in a `real` column: rounded to float32. A non-zero value that rounds to
 * 0 underflows (PostgreSQL: "out of range for type real"), and a CHECK sees the rounded value
 * (359.9999999 is stored as 360). Returns the problem, or undefined.
 */
function realProblem(value: number, bounds: Range): string | undefined {
  const stored = Math.fround(value);
  if (!Number.isFinite(stored) || (stored === 0 && value !== 0)) return 'is not representable as real';
  if (stored < bounds.min) return `must be at least ${bounds.min} as stored (real)`;
  if (bounds.maxExclusive ? stored >= bounds.max : stored > bounds.max) return `must be ${bounds.maxExclusive ? 'below' : 'at most'} ${bounds.max} as stored (real)`;
  return undefined;
}

const real = (bounds: Range) =>
  z.number().superRefine((value, ctx) => {
    const problem = realProblem(value, bounds);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

// `jsonb` refuses \u0000 and unpaired UTF-16 surrogates (with the u flag a paired one is one code point).
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
const jsonbSafe = (value: string) => !value.includes('\u0000') && !LONE_SURROGATE.test(value);
const jsonbText = (max: number) => z.string().max(max).refine(jsonbSafe, 'contains NUL or a lone surrogate');

/** Named sensor readings; other names may carry a number, a boolean or a short text. */
export const KNOWN_SENSORS = {
  temperatureC: real(RANGES.temperatureC).describe('Load or tank temperature, °C'),
  pressureKpa: real(RANGES.pressureKpa).describe('Tank pressure, kPa'),
  tiltDeg: real(RANGES.tiltDeg).describe('Tilt from upright, degrees'),
  leak: z.boolean().describe('A leak sensor reading wet'),
  doorOpen: z.boolean().describe('A load compartment door open'),
};
const otherReading = z.union([z.number(), z.boolean(), jsonbText(256)]);

const sensors = z
  .strictObject(Object.fromEntries(Object.entries(KNOWN_SENSORS).map(([name, schema]) => [name, schema.optional()])) as { [K in keyof typeof KNOWN_SENSORS]: z.ZodOptional<(typeof KNOWN_SENSORS)[K]> })
  .catchall(otherReading)
  .superRefine((value, ctx) => {
    const names = Object.keys(value);
    if (names.length > MAX_SENSORS) ctx.addIssue({ code: 'custom', message: `at most ${MAX_SENSORS} sensors` });
    for (const name of names) if (name.length > 64 || !jsonbSafe(name)) ctx.addIssue({ code: 'custom', path: [name], message: 'Invalid key in record' });
  });

const timestamp = z
  .union([z.iso.datetime({ offset: true }), z.number().int().positive()])
  .describe('Device time: ISO 8601 with offset, or milliseconds since the epoch');

export const telemetryPoint = z.strictObject({
  ts: timestamp,
  seq: z.number().int().min(0).max(MAX_SEQUENCE).optional().describe('Sequence number; (device, ts, seq) identifies a point. Default 0'),
  lat: z.number().min(-90).max(90).optional(),
  lon: z.number().min(-180).max(180).optional(),
  speedKmh: real(RANGES.speedKmh).optional(),
  headingDeg: real(RANGES.headingDeg).optional(),
  accuracyM: real(RANGES.accuracyM).optional().describe('Horizontal accuracy of the fix, metres'),
  sensors: sensors.optional(),
});

const version = z.literal(TELEMETRY_MESSAGE_VERSION).optional().describe('Message format version; absent means 1');

export const telemetryMessage = z.union([
  telemetryPoint.extend({ v: version }),
  z.strictObject({ v: version, points: z.array(telemetryPoint).min(1).max(MAX_POINTS_PER_MESSAGE) }),
]);
/** Sensor readings as a device sends them: the named ones typed, any others a number, boolean or short text. */
export type SensorReadingsMessage = {
  temperatureC?: number;
  pressureKpa?: number;
  tiltDeg?: number;
  leak?: boolean;
  doorOpen?: boolean;
} & Record<string, number | boolean | string>;

/** One point as a device sends it (the wire form of `telemetryPoint`). */
export interface TelemetryPointMessage {
  /** ISO 8601 with offset, or epoch milliseconds. */
  ts: string | number;
  seq?: number;
  lat?: number;
  lon?: number;
  speedKmh?: number;
  headingDeg?: number;
  accuracyM?: number;
  sensors?: SensorReadingsMessage;
}
export type TelemetryMessage = (TelemetryPointMessage & { v?: typeof TELEMETRY_MESSAGE_VERSION }) | { v?: typeof TELEMETRY_MESSAGE_VERSION; points: TelemetryPointMessage[] };
// The hand-written wire types and the schema describe one format: each compiles only while they agree.
const sameAsSchema: z.input<typeof telemetryMessage> = {} as TelemetryMessage;
void sameAsSchema;

/** A device's status message (`.../status`, also its MQTT last will). */
export const deviceStatusMessage = z.strictObject({ v: version, status: z.enum(['online', 'offline']), ts: timestamp.optional() });
export interface DeviceStatusMessage {
  v?: typeof TELEMETRY_MESSAGE_VERSION;
  status: 'online' | 'offline';
  ts?: string | number;
}

/** JSON Schema (draft 2020-12) of the payloads, for devices and the simulator. */
export const telemetryMessageJsonSchema = () => z.toJSONSchema(telemetryMessage, { io: 'input', unrepresentable: 'any' });
export const deviceStatusJsonSchema = () => z.toJSONSchema(deviceStatusMessage, { io: 'input', unrepresentable: 'any' });

/** A decoded point: what is stored, before the device's identity is attached. */
export interface DecodedPoint {
  recordedAt: Date;
  sequence: number;
  lat: number | null;
  lon: number | null;
  speedKmh: number | null;
  headingDeg: number | null;
  accuracyM: number | null;
  sensors: Record<string, number | boolean | string>;
}

export type DecodedTelemetry = { ok: true; points: DecodedPoint[] } | { ok: false; reason: RejectionReason; detail: string };

class Invalid extends Error {
  constructor(
    readonly reason: RejectionReason,
    detail: string,
  ) {
    super(detail);
  }
}
const invalid = (path: string, message: string) => new Invalid('invalid', `${path}: ${message}`);

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const POINT_KEYS = new Set(['ts', 'seq', 'lat', 'lon', 'speedKmh', 'headingDeg', 'accuracyM', 'sensors']);
// What z.iso.datetime({ offset: true }) accepts: a date, a time to the minute or finer, Z or ±hh:mm.
const ISO_DATETIME = /^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d+)?)?(?:Z|[+-](?:[01]\d|2[0-3]):?[0-5]\d)$/;

function optionalNumber(body: Record<string, unknown>, key: string, path: string, check: (value: number) => string | undefined): number | null {
  const value = body[key];
  if (value === undefined) return null;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(`${path}${key}`, 'Invalid input: expected number');
  const problem = check(value);
  if (problem) throw invalid(`${path}${key}`, problem);
  return value;
}

const within = (min: number, max: number) => (value: number) => (value < min ? `Too small: expected number to be >=${min}` : value > max ? `Too big: expected number to be <=${max}` : undefined);

function decodeSensors(value: unknown, path: string): Record<string, number | boolean | string> {
  if (value === undefined) return {};
  if (!isObject(value)) throw invalid(path, 'Invalid input: expected object');
  let count = 0;
  for (const name in value) {
    count += 1;
    if (name.length > 64 || !jsonbSafe(name)) throw invalid(path, 'Invalid key in record');
    const reading = value[name];
    const known = (KNOWN_SENSORS_CHECK as Record<string, ((v: unknown) => string | undefined) | undefined>)[name];
    if (known) {
      const problem = known(reading);
      if (problem) throw invalid(`${path}.${name}`, problem);
    } else if (typeof reading === 'number') {
      if (!Number.isFinite(reading)) throw invalid(`${path}.${name}`, 'Invalid input');
    } else if (typeof reading === 'string') {
      if (reading.length > 256) throw invalid(`${path}.${name}`, 'Too big: expected string to have <=256 characters');
      if (!jsonbSafe(reading)) throw invalid(`${path}.${name}`, 'contains NUL or a lone surrogate');
    } else if (typeof reading !== 'boolean') throw invalid(`${path}.${name}`, 'Invalid input');
  }
  if (count > MAX_SENSORS) throw invalid(path, `at most ${MAX_SENSORS} sensors`);
  return value as Record<string, number | boolean | string>;
}

const realCheck = (bounds: Range) => (value: unknown) => (typeof value !== 'number' || !Number.isFinite(value) ? 'Invalid input: expected number' : realProblem(value, bounds));
const booleanCheck = (value: unknown) => (typeof value === 'boolean' ? undefined : 'Invalid input: expected boolean');
const KNOWN_SENSORS_CHECK: Record<keyof typeof KNOWN_SENSORS, (value: unknown) => string | undefined> = {
  temperatureC: realCheck(RANGES.temperatureC),
  pressureKpa: realCheck(RANGES.pressureKpa),
  tiltDeg: realCheck(RANGES.tiltDeg),
  leak: booleanCheck,
  doorOpen: booleanCheck,
};

function decodePoint(body: unknown, path: string, latest: number, allowVersion: boolean): DecodedPoint {
  if (!isObject(body)) throw invalid(path || '(root)', 'Invalid input: expected object');
  for (const key in body) if (!POINT_KEYS.has(key) && !(allowVersion && key === 'v')) throw invalid(path || '(root)', `Unrecognized key: "${key}"`);
  const ts = body.ts;
  let time: number;
  if (typeof ts === 'number') {
    if (!Number.isInteger(ts) || ts <= 0) throw invalid(`${path}ts`, 'Invalid input');
    time = ts;
  } else if (typeof ts === 'string' && ISO_DATETIME.test(ts)) time = Date.parse(ts);
  else throw invalid(`${path}ts`, 'Invalid input');
  if (Number.isNaN(time)) throw invalid(`${path}ts`, 'Invalid input');
  if (time > latest) throw new Invalid('future_timestamp', `${path}ts is in the future`);
  const seq = body.seq;
  if (seq !== undefined && (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0)) throw invalid(`${path}seq`, 'Invalid input: expected a non-negative integer');
  const lat = optionalNumber(body, 'lat', path, within(-90, 90));
  const lon = optionalNumber(body, 'lon', path, within(-180, 180));
  if ((lat === null) !== (lon === null)) throw invalid(path || '(root)', 'lat and lon come together');
  return {
    recordedAt: new Date(time),
    sequence: (seq as number | undefined) ?? 0,
    lat,
    lon,
    speedKmh: optionalNumber(body, 'speedKmh', path, (v) => realProblem(v, RANGES.speedKmh)),
    headingDeg: optionalNumber(body, 'headingDeg', path, (v) => realProblem(v, RANGES.headingDeg)),
    accuracyM: optionalNumber(body, 'accuracyM', path, (v) => realProblem(v, RANGES.accuracyM)),
    sensors: decodeSensors(body.sensors, `${path}sensors`),
  };
}

/**
 * Decodes a telemetry message into its points, or says why it is refused (the reason is one of
 * REJECTION_REASONS, the detail names the field). All or nothing: one bad point refuses the message.
 */
export function decodeTelemetry(payload: Buffer, now: Date): DecodedTelemetry {
  let json: unknown;
  try {
    json = JSON.parse(payload.toString('utf8'));
  } catch {
    return { ok: false, reason: 'not_json', detail: 'payload is not JSON' };
  }
  try {
    if (!isObject(json)) throw invalid('(root)', 'Invalid input: expected object');
    if (json.v !== undefined && json.v !== TELEMETRY_MESSAGE_VERSION) throw new Invalid('unsupported_version', `v: version ${JSON.stringify(json.v)} is not supported (${TELEMETRY_MESSAGE_VERSION} is)`);
    const latest = now.getTime() + MAX_CLOCK_SKEW_MS;
    if (json.points === undefined) return { ok: true, points: [decodePoint(json, '', latest, true)] };
    for (const key in json) if (key !== 'v' && key !== 'points') throw invalid('(root)', `Unrecognized key: "${key}"`);
    const points = json.points;
    if (!Array.isArray(points) || points.length === 0) throw invalid('points', 'Invalid input: expected a non-empty array');
    if (points.length > MAX_POINTS_PER_MESSAGE) throw new Invalid('too_many_points', `points: at most ${MAX_POINTS_PER_MESSAGE} per message`);
    return { ok: true, points: points.map((point, i) => decodePoint(point, `points.${i}.`, latest, false)) };
  } catch (error) {
    if (error instanceof Invalid) return { ok: false, reason: error.reason, detail: error.message };
    throw error;
  }
}

export type DecodedStatus = { ok: true; online: boolean; at: Date | undefined } | { ok: false; reason: RejectionReason; detail: string };

/** Decodes a status message; rare, so the zod schema itself does it. */
export function decodeDeviceStatus(payload: Buffer): DecodedStatus {
  let json: unknown;
  try {
    json = JSON.parse(payload.toString('utf8'));
  } catch {
    return { ok: false, reason: 'not_json', detail: 'payload is not JSON' };
  }
  const parsed = deviceStatusMessage.safeParse(json);
  if (!parsed.success) return { ok: false, reason: 'invalid', detail: parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ') };
  return { ok: true, online: parsed.data.status === 'online', at: parsed.data.ts === undefined ? undefined : new Date(parsed.data.ts) };
}
