/**
 * What the live stream carries (GET /api/v1/live): a company's vehicle positions and alarm
 * changes, written by ingest inside its commit transaction (db/live-feed.ts notifyLive) and
 * fanned out by each API process to the company's subscribers. Plain data, JSON as it is.
 */
export interface LivePosition {
  type: 'position';
  vehicleId: string | null;
  deviceId: string;
  /** The device's time of the fix, ISO 8601. */
  at: string;
  lat: number;
  lon: number;
  speedKmh: number | null;
  headingDeg: number | null;
}

export interface LiveAlarm {
  type: 'alarm';
  alarmId: string;
  /** The alarm's lifecycle state (domain/alarm-lifecycle.ts), e.g. ACTIVE_UNACK. */
  state: string;
  severity: string;
  rule: string;
  vehicleId: string | null;
  deviceId: string;
  at: string;
  message: string;
}

export type LiveEvent = LivePosition | LiveAlarm;

export const LIVE_EVENT_TYPES = ['position', 'alarm'] as const satisfies ReadonlyArray<LiveEvent['type']>;
export type LiveEventType = (typeof LIVE_EVENT_TYPES)[number];

/** The PostgreSQL channel every API process LISTENs on, once. */
export const LIVE_CHANNEL = 'safeshipper_live';

/** PostgreSQL refuses a NOTIFY payload of 8000 bytes or more; a chunk stays below with room for the envelope. */
export const LIVE_PAYLOAD_MAX_BYTES = 7900;

/** One NOTIFY payload: a company and some of its events, in the order they were committed. */
export interface LiveEnvelope {
  companyId: string;
  events: LiveEvent[];
}

const ALARM_MESSAGE_MAX = 1000;
const byteLength = (text: string) => new TextEncoder().encode(text).length;

/**
 * Splits a company's events into NOTIFY payloads under the limit, keeping their order. An alarm
 * whose message alone would not fit is sent with the message cut (the alarm itself is in the
 * alarms table); nothing is dropped.
 */
export function chunkLiveEvents(companyId: string, events: readonly LiveEvent[], maxBytes = LIVE_PAYLOAD_MAX_BYTES): string[] {
  const envelopeBytes = byteLength(JSON.stringify({ companyId, events: [] }));
  const payloads: string[] = [];
  let current: string[] = [];
  let currentBytes = envelopeBytes;
  const flush = () => {
    if (current.length === 0) return;
    payloads.push(`{"companyId":${JSON.stringify(companyId)},"events":[${current.join(',')}]}`);
    current = [];
    currentBytes = envelopeBytes;
  };
  for (const event of events) {
    let json = JSON.stringify(event);
    if (event.type === 'alarm' && byteLength(json) + envelopeBytes > maxBytes) json = JSON.stringify({ ...event, message: event.message.slice(0, ALARM_MESSAGE_MAX) });
    const bytes = byteLength(json) + 1;
    if (currentBytes + bytes > maxBytes) flush();
    current.push(json);
    currentBytes += bytes;
  }
  flush();
  return payloads;
}

/** Reads a NOTIFY payload; anything malformed is null (the channel is ours, but a listener never trusts it blindly). */
export function parseLiveEnvelope(payload: string): LiveEnvelope | null {
  try {
    const value = JSON.parse(payload) as Partial<LiveEnvelope>;
    if (typeof value.companyId !== 'string' || !Array.isArray(value.events)) return null;
    return { companyId: value.companyId, events: value.events.filter((e): e is LiveEvent => typeof e === 'object' && e !== null && LIVE_EVENT_TYPES.includes((e as LiveEvent).type)) };
  } catch {
    return null;
  }
}
