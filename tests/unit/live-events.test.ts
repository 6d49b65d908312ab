import { describe, expect, it } from 'vitest';
import { chunkLiveEvents, LIVE_PAYLOAD_MAX_BYTES, parseLiveEnvelope, type LiveEvent } from '../../domain/live-events.js';

const company = '11111111-1111-4111-8111-111111111111';
const position = (i: number): LiveEvent => ({ type: 'position', vehicleId: null, deviceId: '22222222-2222-4222-8222-222222222222', at: '2026-12-01T08:00:00.000Z', lat: -37.8, lon: 144 + i / 1000, speedKmh: 80, headingDeg: 90 });

describe('live feed payloads', () => {
  it('splits a batch into NOTIFY payloads under the limit, every event once and in order', () => {
    const events = Array.from({ length: 500 }, (_, i) => position(i));
    const payloads = chunkLiveEvents(company, events);
    expect(payloads.length).toBeGreaterThan(1);
    for (const payload of payloads) expect(Buffer.byteLength(payload)).toBeLessThan(LIVE_PAYLOAD_MAX_BYTES + 1);
    const parsed = payloads.map((payload) => parseLiveEnvelope(payload)!);
    expect(parsed.every((envelope) => envelope.companyId === company)).toBe(true);
    expect(parsed.flatMap((envelope) => envelope.events)).toEqual(events);
  });

  it('counts bytes, not characters, and cuts only the message of an alarm too large to fit', () => {
    const alarm: LiveEvent = { type: 'alarm', alarmId: 'a', state: 'ACTIVE_UNACK', severity: 'HIGH', rule: 'leak', vehicleId: null, deviceId: 'd', at: '2026-12-01T08:00:00.000Z', message: 'é'.repeat(6000) };
    const [payload, ...rest] = chunkLiveEvents(company, [alarm]);
    expect(rest).toEqual([]);
    expect(Buffer.byteLength(payload!)).toBeLessThan(LIVE_PAYLOAD_MAX_BYTES);
    expect(parseLiveEnvelope(payload!)!.events).toEqual([{ ...alarm, message: 'é'.repeat(1000) }]);
    // Multi-byte text: 40 events of ~300 bytes but 150 characters each do not fit in one payload.
    const wide = Array.from({ length: 40 }, () => ({ ...alarm, message: 'é'.repeat(150) }));
    expect(chunkLiveEvents(company, wide).every((p) => Buffer.byteLength(p) < LIVE_PAYLOAD_MAX_BYTES)).toBe(true);
  });

  it('reads nothing from a payload that is not an envelope, and drops events of unknown types', () => {
    expect(parseLiveEnvelope('not json')).toBeNull();
    expect(parseLiveEnvelope('{"events": []}')).toBeNull();
    expect(parseLiveEnvelope(JSON.stringify({ companyId: company, events: [{ type: 'gossip' }, position(1)] }))!.events).toEqual([position(1)]);
    expect(chunkLiveEvents(company, [])).toEqual([]);
  });
});
