import { describe, expect, it } from 'vitest';
import { decodeDeviceStatus, decodeTelemetry, MAX_POINTS_PER_MESSAGE, telemetryMessage, telemetryMessageJsonSchema } from '../../domain/telemetry-message.js';
import { parsePublishTopic, publishKind, statusTopic, telemetryTopic } from '../../domain/telemetry-topics.js';

const now = new Date('2026-11-26T10:00:00Z');
const decode = (body: unknown) => decodeTelemetry(Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)), now);
const point = (over: Partial<Record<string, unknown>> = {}) => ({ recordedAt: now, sequence: 0, lat: null, lon: null, speedKmh: null, headingDeg: null, accuracyM: null, sensors: {}, ...over });

describe('telemetry decoding', () => {
  it('one point: ISO or epoch-millisecond timestamps, the known fields, named sensors', () => {
    expect(decode({ v: 1, ts: '2026-11-26T09:59:00Z', seq: 7, lat: -37.8, lon: 144.9, speedKmh: 80, accuracyM: 4.5, sensors: { temperatureC: 21.5, leak: false, doorOpen: true, tiltDeg: 3, pressureKpa: 101, custom: 'x' } })).toEqual({
      ok: true,
      points: [point({ recordedAt: new Date('2026-11-26T09:59:00Z'), sequence: 7, lat: -37.8, lon: 144.9, speedKmh: 80, accuracyM: 4.5, sensors: { temperatureC: 21.5, leak: false, doorOpen: true, tiltDeg: 3, pressureKpa: 101, custom: 'x' } })],
    });
    // No version: version 1.
    expect(decode({ ts: now.getTime() })).toEqual({ ok: true, points: [point()] });
  });

  it('a batch: every point with its own time and sequence, late ones included', () => {
    const late = new Date(now.getTime() - 3 * 86_400_000);
    expect(decode({ v: 1, points: [{ ts: late.toISOString(), seq: 1, lat: 1, lon: 2 }, { ts: now.getTime(), seq: 2 }] })).toEqual({
      ok: true,
      points: [point({ recordedAt: late, sequence: 1, lat: 1, lon: 2 }), point({ sequence: 2 })],
    });
  });

  it.each([
    ['{oops', 'not_json', 'payload is not JSON'],
    [[1], 'invalid', '(root): Invalid input'],
    [{ lat: 1, lon: 1 }, 'invalid', 'ts: Invalid input'],
    [{ v: 2, ts: now.getTime() }, 'unsupported_version', 'version 2 is not supported'],
    [{ ts: now.getTime(), lat: 91, lon: 0 }, 'invalid', 'lat: Too big'],
    [{ ts: now.getTime(), lat: 10 }, 'invalid', 'lat and lon come together'],
    [{ ts: now.getTime(), seq: -1 }, 'invalid', 'seq: '],
    [{ ts: now.getTime(), seq: 1.5 }, 'invalid', 'seq: '],
    [{ ts: now.getTime(), speedKmh: -1 }, 'invalid', 'speedKmh: must be at least 0'],
    [{ ts: now.getTime(), accuracyM: -1 }, 'invalid', 'accuracyM: must be at least 0'],
    [{ ts: now.getTime(), extra: 1 }, 'invalid', 'Unrecognized key: "extra"'],
    [{ ts: now.getTime() + 6 * 60_000 }, 'future_timestamp', 'ts is in the future'],
    [{ ts: '2026-11-26 09:00' }, 'invalid', 'ts: Invalid input'],
    [{ ts: now.getTime(), sensors: { temperatureC: 'hot' } }, 'invalid', 'sensors.temperatureC: Invalid input: expected number'],
    [{ ts: now.getTime(), sensors: { leak: 1 } }, 'invalid', 'sensors.leak: Invalid input: expected boolean'],
    [{ ts: now.getTime(), sensors: { tiltDeg: 181 } }, 'invalid', 'sensors.tiltDeg: must be at most 180'],
    [{ ts: now.getTime(), sensors: { nested: { a: 1 } } }, 'invalid', 'sensors.nested: Invalid input'],
    [{ ts: now.getTime(), sensors: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`s${i}`, i])) }, 'invalid', 'at most 64 sensors'],
    [{ points: [] }, 'invalid', 'points: '],
    [{ points: [{ ts: now.getTime() }], ts: now.getTime() }, 'invalid', 'Unrecognized key: "ts"'],
    [{ points: [{ ts: now.getTime() }, { ts: now.getTime(), v: 1 }] }, 'invalid', 'points.1.: Unrecognized key: "v"'],
    [{ points: [{ ts: now.getTime() }, { ts: now.getTime(), lat: 100, lon: 0 }] }, 'invalid', 'points.1.lat: Too big'],
    [{ points: Array.from({ length: MAX_POINTS_PER_MESSAGE + 1 }, () => ({ ts: now.getTime() })) }, 'too_many_points', 'at most 1000'],
    // Values PostgreSQL refuses: each would fail the batch it lands in.
    [{ ts: now.getTime(), headingDeg: 359.9999999 }, 'invalid', 'headingDeg: must be below 360 as stored (real)'],
    [{ ts: now.getTime(), speedKmh: 1e-50 }, 'invalid', 'speedKmh: is not representable as real'],
    [{ ts: now.getTime(), sensors: { temperatureC: -1e-46 } }, 'invalid', 'sensors.temperatureC: is not representable as real'],
    [{ ts: now.getTime(), sensors: { note: 'a\u0000b' } }, 'invalid', 'sensors.note: contains NUL or a lone surrogate'],
    [{ ts: now.getTime(), sensors: { note: 'x\udc00' } }, 'invalid', 'sensors.note: contains NUL or a lone surrogate'],
    [{ ts: now.getTime(), sensors: { 'k\ud800': 1 } }, 'invalid', 'Invalid key in record'],
  ])('refuses %j: %s (%s)', (body, reason, detail) => {
    const result = decode(body);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toBe(reason);
    expect(!result.ok && result.detail).toContain(detail);
  });

  it('accepts values at the edges of their columns', () => {
    expect(decode({ ts: now.getTime(), headingDeg: 359.99997, speedKmh: 1e-45, seq: Number.MAX_SAFE_INTEGER, sensors: { note: 'ok \ud83d\ude00', n: 5e-324 } }).ok).toBe(true);
  });
});

describe('the hot-path decoder and the published schema agree', () => {
  // Every body above and a few more: the zod schema (the contract) and the hand-written decoder say yes or no alike.
  const bodies: unknown[] = [
    { ts: now.getTime() },
    { v: 1, ts: '2026-11-26T09:59:00.123+10:00', seq: 3, lat: 0, lon: 0, speedKmh: 0, headingDeg: 0, accuracyM: 0, sensors: {} },
    { v: 1, points: [{ ts: now.getTime(), sensors: { temperatureC: 5, x: true, y: 'z' } }] },
    { v: 2, ts: now.getTime() },
    { ts: 0 },
    { ts: -5 },
    { ts: 1.5 },
    { ts: '2026-11-26T09:59:00' },
    { ts: now.getTime(), seq: -1 },
    { ts: now.getTime(), lat: -91, lon: 0 },
    { ts: now.getTime(), lon: 181, lat: 0 },
    { ts: now.getTime(), speedKmh: 401 },
    { ts: now.getTime(), headingDeg: 360 },
    { ts: now.getTime(), accuracyM: 100_001 },
    { ts: now.getTime(), sensors: { temperatureC: 201 } },
    { ts: now.getTime(), sensors: { pressureKpa: -1 } },
    { ts: now.getTime(), sensors: { doorOpen: 'yes' } },
    { ts: now.getTime(), sensors: { s: 'x'.repeat(257) } },
    { ts: now.getTime(), sensors: { s: 'x'.repeat(256) } },
    { ts: now.getTime(), sensors: { ['k'.repeat(65)]: 1 } },
    { ts: now.getTime(), sensors: null },
    { points: [{ ts: now.getTime() }], extra: 1 },
    { points: 'many' },
    { v: 1, points: [{ ts: now.getTime(), seq: 1 }, { ts: now.getTime(), seq: 2, speedKmh: 'fast' }] },
  ];
  it.each(bodies.map((body) => [body]))('%j', (body) => {
    const decoded = decode(body);
    const parsed = telemetryMessage.safeParse(body);
    // The future-timestamp rule needs a clock: the schema is the shape, the decoder adds "not in the future".
    expect(decoded.ok).toBe(parsed.success);
  });

  it('publishes a JSON Schema devices can validate against', () => {
    const schema = telemetryMessageJsonSchema() as { anyOf: Array<{ properties: Record<string, unknown> }> };
    expect(schema.anyOf).toHaveLength(2);
    expect(Object.keys(schema.anyOf[0]!.properties)).toEqual(['ts', 'seq', 'lat', 'lon', 'speedKmh', 'headingDeg', 'accuracyM', 'sensors', 'v']);
    expect(Object.keys(schema.anyOf[1]!.properties)).toEqual(['v', 'points']);
  });
});

describe('status messages and topics', () => {
  it('decodes a status (the last will says offline)', () => {
    expect(decodeDeviceStatus(Buffer.from('{"status":"offline"}'))).toEqual({ ok: true, online: false, at: undefined });
    expect(decodeDeviceStatus(Buffer.from(JSON.stringify({ v: 1, status: 'online', ts: now.getTime() })))).toEqual({ ok: true, online: true, at: now });
    expect(decodeDeviceStatus(Buffer.from('{"status":"asleep"}')).ok).toBe(false);
  });

  it('a device publishes only to its own telemetry, events and status topics', () => {
    expect(publishKind(telemetryTopic('truck-7'), 'truck-7')).toBe('telemetry');
    expect(publishKind(statusTopic('truck-7'), 'truck-7')).toBe('status');
    expect(publishKind('safeshipper/v1/devices/truck-7/events', 'truck-7')).toBe('events');
    expect(publishKind('safeshipper/v1/devices/truck-7/commands', 'truck-7')).toBeUndefined();
    expect(publishKind(telemetryTopic('truck-8'), 'truck-7')).toBeUndefined();
    expect(publishKind('safeshipper/v1/devices/truck-7/telemetry/extra', 'truck-7')).toBeUndefined();
    expect(parsePublishTopic('safeshipper/v1/devices/truck-7/status')).toEqual({ username: 'truck-7', kind: 'status' });
    expect(parsePublishTopic('safeshipper/v1/devices/truck-7/commands')).toBeUndefined();
    expect(parsePublishTopic('safeshipper/v1/devices/a/b/telemetry')).toBeUndefined();
  });
});
