import type { Logger } from '../config/logger.js';
import type { Database, EntityManager } from '../db/orm.js';
import { deviceCredentials } from '../db/devices.js';
import { notifyLive } from '../db/live-feed.js';
import { commitTelemetry, countRejections, isRowError, recordDevicePresence, type DevicePresence, type RejectionCount, type TelemetryPoint } from '../db/telemetry.js';
import type { LiveEvent } from '../domain/live-events.js';
import { decodeDeviceStatus, decodeTelemetry, type RejectionReason } from '../domain/telemetry-message.js';
import type { PublishKind } from '../domain/telemetry-topics.js';
import { Batcher } from './batcher.js';

/**
 * The telemetry pipeline: decode → validate → batch → commit → detect, shared by every
 * transport (ingest/transports/aedes.ts embedded, ingest/transports/external.ts through an
 * external broker). A transport hands each message to `accept` and acknowledges it to the
 * device (or the broker) only when the outcome says so.
 */
export interface InboundMessage {
  /** The device's MQTT username (the topic's, for a transport that sees every device's topics). */
  username: string;
  kind: PublishKind;
  payload: Buffer;
  receivedAt: Date;
  /** The device, when the transport has authenticated it already (the embedded broker's session); else looked up by username. */
  device?: DeviceIdentity;
}

/**
 * `ok`: committed (or a duplicate of a committed point): acknowledge.
 * Permanent refusal (invalid payload, unknown or revoked device, rate limited): counted; a broker
 * should acknowledge it so a poison message is not redelivered forever. Transient (the pipeline
 * is closing, the database is unreachable at shutdown): do not acknowledge; it comes again.
 */
export type Outcome = { ok: true } | { ok: false; permanent: boolean; reason: string };

export interface Pipeline {
  accept(message: InboundMessage): Promise<Outcome>;
  /** Stops taking messages and commits what is held (retrying a database outage for `drainRetryMs` at most). */
  drain(): Promise<void>;
}

/** The identity points are filed under. */
export interface DeviceIdentity {
  deviceId: string;
  companyId: string;
  vehicleId: string | null;
}

/** A point newly stored by this commit (a duplicate of a stored point is not one). */
export type StoredPoint = TelemetryPoint;

/**
 * Detection (ingest/detection): called inside the commit transaction, once per company, after
 * the points are inserted, so what it writes (alarms, its outbox) commits with them or not at all.
 */
export interface Detector {
  detect(tx: EntityManager, companyId: string, points: StoredPoint[]): Promise<void>;
}

export interface PipelineOptions {
  /** Points per commit, at most. */
  batchMaxPoints: number;
  /** Batches committing at once (group commit: see Batcher). */
  maxConcurrentCommits: number;
  /** Points accepted but not yet committed, at most: past it `accept` waits, so a transport stops reading (backpressure). */
  maxInFlightPoints: number;
  /** Messages per second a device may publish, and the burst it may save up. */
  deviceMessagesPerSecond: number;
  deviceMessageBurst: number;
  /** Whether device credential changes are heard (else the directory re-reads every message's device). */
  hearingChanges?: () => boolean;
  /** How long a drain keeps retrying a commit that fails for the database's sake. */
  drainRetryMs?: number;
  /** How often presence and rejection counts are written. */
  bookkeepingMs?: number;
}

export interface RunningPipeline extends Pipeline {
  /** A connection's presence, from the transport (connected / gone without a will). */
  presence(device: DeviceIdentity, online: boolean, at: Date): void;
  /** A refusal the transport decided itself (a topic the device may not use), counted like the pipeline's own. */
  refused(device: DeviceIdentity, reason: RejectionReason, at: Date): void;
  /** A device's credentials changed (heard from PostgreSQL): forget what was looked up about it. */
  credentialsChanged(username: string): void;
  everythingMayHaveChanged(): void;
  /** Points accepted and not yet committed. */
  readonly inFlightPoints: number;
  close(): Promise<void>;
}

/** Devices as looked up by username (for a transport that did not authenticate them itself), kept until a change of their credentials is heard. */
class DeviceDirectory {
  private readonly known = new Map<string, Promise<DeviceIdentity | undefined>>();

  constructor(
    private readonly db: Database,
    private readonly hearingChanges: () => boolean,
  ) {}

  lookup(username: string): Promise<DeviceIdentity | undefined> {
    if (!this.hearingChanges()) return this.read(username);
    let found = this.known.get(username);
    if (!found) {
      found = this.read(username);
      this.known.set(username, found);
      // Only a device found is remembered: a failed lookup, or a username not (yet) provisioned, is read again next time.
      found.then(
        (device) => {
          if (!device) this.known.delete(username);
        },
        () => this.known.delete(username),
      );
    }
    return found;
  }

  private async read(username: string): Promise<DeviceIdentity | undefined> {
    const credentials = await deviceCredentials(this.db, username);
    return credentials && { deviceId: credentials.deviceId, companyId: credentials.companyId, vehicleId: credentials.vehicleId };
  }

  forget(username: string): void {
    this.known.delete(username);
  }

  clear(): void {
    this.known.clear();
  }
}

/** A token bucket per device: `rate` messages per second, up to `burst` saved. */
class DeviceRateLimit {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly rate: number,
    private readonly burst: number,
  ) {}

  take(deviceId: string, now: number): boolean {
    let bucket = this.buckets.get(deviceId);
    if (!bucket) this.buckets.set(deviceId, (bucket = { tokens: this.burst, at: now }));
    else {
      bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.rate);
      bucket.at = now;
    }
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Buckets full again are forgotten: a fleet that comes and goes leaves no trace. */
  sweep(now: number): void {
    for (const [deviceId, bucket] of this.buckets) if (bucket.tokens + ((now - bucket.at) / 1000) * this.rate >= this.burst) this.buckets.delete(deviceId);
  }
}

/** Waits for room when too many points are in flight; wakes waiters in order as commits finish. */
class InFlight {
  count = 0;
  private readonly waiting: Array<{ n: number; go: () => void }> = [];

  constructor(private readonly max: number) {}

  async enter(n: number): Promise<void> {
    // A message larger than the whole budget still passes, alone.
    if (this.waiting.length === 0 && (this.count + n <= this.max || this.count === 0)) {
      this.count += n;
      return;
    }
    await new Promise<void>((go) => this.waiting.push({ n, go }));
  }

  leave(n: number): void {
    this.count -= n;
    while (this.waiting.length > 0) {
      const next = this.waiting[0]!;
      if (this.count + next.n > this.max && this.count !== 0) break;
      this.waiting.shift();
      this.count += next.n;
      next.go();
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

class Closing extends Error {
  constructor() {
    super('ingest is closing');
  }
}

/**
 * Starts the pipeline. Points are committed by a Batcher (one transaction for a batch of every
 * company's points); a commit that fails for the database's sake (down, restarting, unreachable)
 * is retried with backoff until it succeeds, holding its messages unacknowledged, while
 * `maxInFlightPoints` keeps memory bounded: past it `accept` waits, so the embedded broker stops
 * reading sockets and an external broker's client stops taking deliveries. A batch refused for a
 * row's sake is bisected so only the points at fault are refused.
 */
export function startPipeline(db: Database, log: Logger, options: PipelineOptions & { detector?: Detector }): RunningPipeline {
  const hearingChanges = options.hearingChanges ?? (() => false);
  const directory = new DeviceDirectory(db, hearingChanges);
  const limits = new DeviceRateLimit(options.deviceMessagesPerSecond, options.deviceMessageBurst);
  const inFlight = new InFlight(options.maxInFlightPoints);
  const drainRetryMs = options.drainRetryMs ?? 10_000;
  let closing = false;
  let closingSince = 0;

  const afterInsert = async (tx: EntityManager, companyId: string, stored: TelemetryPoint[]) => {
    if (options.detector) await options.detector.detect(tx, companyId, stored);
    // The live map needs each vehicle's newest position of the batch, not every point.
    const newest = new Map<string, TelemetryPoint>();
    for (const point of stored) {
      if (point.lat === null || point.lon === null) continue;
      const key = point.vehicleId ?? point.deviceId;
      const held = newest.get(key);
      if (!held || held.recordedAt <= point.recordedAt) newest.set(key, point);
    }
    if (newest.size === 0) return;
    const events: LiveEvent[] = [...newest.values()].map((p) => ({ type: 'position', vehicleId: p.vehicleId, deviceId: p.deviceId, at: p.recordedAt.toISOString(), lat: p.lat!, lon: p.lon!, speedKmh: p.speedKmh, headingDeg: p.headingDeg }));
    await notifyLive(tx, companyId, events);
  };

  const commitWithRetry = async (points: TelemetryPoint[]) => {
    for (let attempt = 0; ; attempt += 1) {
      try {
        await commitTelemetry(db, points, afterInsert);
        if (attempt > 0) log.info({ points: points.length, attempts: attempt + 1 }, 'telemetry committed after the database came back');
        return;
      } catch (error) {
        // A row's fault is the batcher's to isolate; the database's is waited out.
        if (isRowError(error)) throw error;
        if (closing && Date.now() - closingSince > drainRetryMs) throw new Closing();
        if (attempt === 0) log.warn({ err: error, points: points.length }, 'telemetry commit failed; holding the points unacknowledged and retrying');
        await sleep(Math.min(2000, 50 * 2 ** Math.min(attempt, 6)));
      }
    }
  };

  const batcher = new Batcher<TelemetryPoint>(commitWithRetry, { maxSize: options.batchMaxPoints, maxConcurrent: options.maxConcurrentCommits, isolate: isRowError });

  // Bookkeeping written in the background, never in a point's way: presence and refusals.
  let presence = new Map<string, DevicePresence>();
  let rejections = new Map<string, RejectionCount>();
  const seen = (deviceId: string, at: Date) => {
    const held = presence.get(deviceId);
    if (!held) presence.set(deviceId, { deviceId, lastSeenAt: at, status: null, statusAt: null });
    else if (!held.lastSeenAt || held.lastSeenAt < at) held.lastSeenAt = at;
  };
  const setStatus = (deviceId: string, online: boolean, at: Date) => {
    const held = presence.get(deviceId) ?? { deviceId, lastSeenAt: null, status: null, statusAt: null };
    presence.set(deviceId, held);
    if (!held.statusAt || held.statusAt <= at) Object.assign(held, { status: online ? 'ONLINE' : 'OFFLINE', statusAt: at });
    if (online && (!held.lastSeenAt || held.lastSeenAt < at)) held.lastSeenAt = at;
  };
  const count = (deviceId: string, reason: RejectionReason, at: Date) => {
    const key = `${deviceId}|${reason}`;
    const held = rejections.get(key);
    if (held) {
      held.count += 1;
      held.lastAt = at;
    } else rejections.set(key, { deviceId, reason, count: 1, firstAt: at, lastAt: at });
  };
  let writing: Promise<void> = Promise.resolve();
  const writeBookkeeping = () => {
    writing = writing.then(async () => {
      const [p, r] = [presence, rejections];
      presence = new Map();
      rejections = new Map();
      try {
        await recordDevicePresence(db, [...p.values()]);
      } catch (error) {
        log.warn({ err: error }, 'device presence not written; kept for the next attempt');
        for (const [id, held] of p) if (!presence.has(id)) presence.set(id, held);
      }
      try {
        await countRejections(db, [...r.values()]);
      } catch (error) {
        log.warn({ err: error }, 'telemetry rejection counts not written; kept for the next attempt');
        for (const [key, held] of r) {
          const now = rejections.get(key);
          if (now) Object.assign(now, { count: now.count + held.count, firstAt: held.firstAt });
          else rejections.set(key, held);
        }
      }
      limits.sweep(Date.now());
    });
    return writing;
  };
  const bookkeeping = setInterval(() => void writeBookkeeping(), options.bookkeepingMs ?? 1000);
  bookkeeping.unref();

  const refuse = (device: DeviceIdentity, reason: RejectionReason, detail: string, at: Date): Outcome => {
    count(device.deviceId, reason, at);
    return { ok: false, permanent: true, reason: `${reason}: ${detail}` };
  };

  const accept = async (message: InboundMessage): Promise<Outcome> => {
    if (closing) return { ok: false, permanent: false, reason: 'ingest is closing' };
    const device = message.device ?? (await directory.lookup(message.username).catch(() => null));
    if (device === null) return { ok: false, permanent: false, reason: 'device credentials could not be read' };
    if (!device) return { ok: false, permanent: true, reason: 'unknown or revoked device' };
    const at = message.receivedAt;
    seen(device.deviceId, at);
    if (!limits.take(device.deviceId, at.getTime())) return refuse(device, 'rate_limited', `more than ${options.deviceMessagesPerSecond} messages per second`, at);

    if (message.kind === 'status') {
      const status = decodeDeviceStatus(message.payload);
      if (!status.ok) return refuse(device, status.reason, status.detail, at);
      setStatus(device.deviceId, status.online, at);
      return { ok: true };
    }

    const decoded = decodeTelemetry(message.payload, at);
    if (!decoded.ok) return refuse(device, decoded.reason, decoded.detail, at);
    const n = decoded.points.length;
    await inFlight.enter(n);
    try {
      if (closing) return { ok: false, permanent: false, reason: 'ingest is closing' };
      const adds: Array<Promise<void>> = new Array(n);
      for (let i = 0; i < n; i++) {
        const point = decoded.points[i]!;
        adds[i] = batcher.add({
          companyId: device.companyId,
          deviceId: device.deviceId,
          vehicleId: device.vehicleId,
          recordedAt: point.recordedAt,
          sequence: point.sequence,
          lat: point.lat,
          lon: point.lon,
          speedKmh: point.speedKmh,
          headingDeg: point.headingDeg,
          accuracyM: point.accuracyM,
          sensors: point.sensors,
          receivedAt: at,
        });
      }
      await (n === 1 ? adds[0] : Promise.all(adds));
      return { ok: true };
    } catch (error) {
      if (error instanceof Closing) return { ok: false, permanent: false, reason: error.message };
      if (isRowError(error)) {
        log.warn({ err: error, device: message.username }, 'telemetry refused by PostgreSQL');
        return refuse(device, 'database_refused', (error as Error).message, at);
      }
      return { ok: false, permanent: false, reason: `commit failed: ${(error as Error).message}` };
    } finally {
      inFlight.leave(n);
    }
  };

  const drain = async () => {
    if (!closing) {
      closing = true;
      closingSince = Date.now();
    }
    await batcher.drain();
  };

  return {
    accept,
    drain,
    presence: (device, online, at) => setStatus(device.deviceId, online, at),
    refused: (device, reason, at) => void count(device.deviceId, reason, at),
    credentialsChanged: (username) => directory.forget(username),
    everythingMayHaveChanged: () => directory.clear(),
    get inFlightPoints() {
      return inFlight.count;
    },
    async close() {
      await drain();
      clearInterval(bookkeeping);
      await writeBookkeeping();
    },
  };
}
