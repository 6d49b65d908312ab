import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Fault } from './faults.js';
import { faultFromCommand } from './faults.js';
import { offsetKm, type MeasuredRoute } from './geo.js';
import { encodePoints, encodeStatus, type SimPoint } from './payload.js';
import type { Waypoint } from './routes.js';
import { topics } from './topics.js';

export interface DeviceCredentials {
  username: string;
  secret: string;
}

export interface DeviceOptions {
  mqttUrl: string;
  route: MeasuredRoute;
  /** Where on the route the vehicle starts, km from its first waypoint. */
  startKm: number;
  speedKmh: number;
  /** Simulated seconds per real second for the vehicle's motion (a 900 km route in minutes). */
  timeScale: number;
  qos: 0 | 1;
  pointsPerMessage: number;
  /** Messages a device may have unacknowledged; further points wait in its buffer (a real device's memory). */
  maxInflight: number;
  /** Points kept while offline; beyond it the oldest are discarded (and counted). */
  maxBufferedPoints: number;
  /** Points per message when a backlog is sent (after a network drop or a slow broker). */
  burstPointsPerMessage: number;
  /** Listen for faults on the device's commands topic. */
  commands: boolean;
  /** Publish `online` on the status topic at each connect (the last will says `offline`). */
  status: boolean;
  /** Make a new message whenever the in-flight window has room (a throughput test), instead of on a clock. */
  flood: boolean;
  random: () => number;
  mqtt?: IClientOptions;
  now?: () => number;
  onAck?: (latencyMs: number, points: readonly SimPoint[]) => void;
  onEvent?: (event: DeviceEvent) => void;
}

export type DeviceEvent =
  | { type: 'connected'; username: string }
  | { type: 'disconnected'; username: string; reason?: string }
  | { type: 'fault'; username: string; fault: Fault };

export interface DeviceCounters {
  /** Points made by the device (its sequence numbers used). */
  generated: number;
  /** Points whose message the broker acknowledged (QoS 1: committed; QoS 0: written to the socket). */
  acked: number;
  ackedMessages: number;
  /** Points discarded because the buffer was full while offline. */
  discarded: number;
  buffered: number;
  inflightMessages: number;
}

interface Inflight {
  points: SimPoint[];
  sentAt: number;
}

/** CONNACK return code 3 (MQTT 3.1.1), reason code 136 (MQTT 5). */
const SERVER_UNAVAILABLE_CODES = new Set([3, 136]);
const BASELINE = { temperatureC: 18, pressureKpa: 101.3, tiltDeg: 1.5 };

/** One vehicle's tracker: drives its route, reads its sensors, publishes and keeps what is not acknowledged. */
export class SimulatedDevice {
  readonly topics: ReturnType<typeof topics>;
  private client: MqttClient | undefined;
  private km: number;
  private direction: 1 | -1 = 1;
  private seq = 0;
  private lastMotionAt: number;
  private readonly buffer: SimPoint[] = [];
  private readonly inflight = new Set<Inflight>();
  private readonly counters = { generated: 0, acked: 0, ackedMessages: 0, discarded: 0 };
  private readonly faults: {
    temperatureC?: number;
    leak?: boolean;
    tiltDeg?: number;
    doorOpen?: boolean;
    jumpKm?: number;
    parkedAt?: Waypoint;
    skewMs?: number;
  } = {};
  private offlineUntil = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private halted = false;
  private stopped = false;
  private readonly idleWaiters: Array<() => void> = [];
  private readonly now: () => number;

  constructor(
    readonly credentials: DeviceCredentials,
    private readonly options: DeviceOptions,
  ) {
    this.topics = topics(credentials.username);
    this.km = options.startKm;
    this.now = options.now ?? Date.now;
    this.lastMotionAt = this.now();
  }

  get username(): string {
    return this.credentials.username;
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  stats(): DeviceCounters {
    return { ...this.counters, buffered: this.buffer.length, inflightMessages: this.inflight.size };
  }

  /** Where the vehicle is now (without a fault's false GPS reading). */
  position(): { lat: number; lon: number; headingDeg: number; km: number } {
    if (this.faults.parkedAt) return { lat: this.faults.parkedAt.lat, lon: this.faults.parkedAt.lon, headingDeg: 0, km: this.km };
    const at = this.options.route.at(this.km);
    return { lat: at.lat, lon: at.lon, headingDeg: this.direction === 1 ? at.headingDeg : (at.headingDeg + 180) % 360, km: this.km };
  }

  /** Puts the vehicle at a distance along its route, or at one of its waypoints by name. */
  moveTo(place: number | string): void {
    this.km = typeof place === 'number' ? place : this.options.route.kmTo(place);
    this.lastMotionAt = this.now();
  }

  /**
   * Connects; resolves at CONNACK, rejects when the broker refuses (wrong secret, revoked device).
   * "Server unavailable" (a busy broker, a throttle) is retried after a pause, as a device would.
   */
  async connect(attempts = 10): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.connectOnce();
      } catch (error) {
        if (!SERVER_UNAVAILABLE_CODES.has((error as { code?: number }).code ?? -1) || attempt >= attempts || this.stopped) throw error;
        await new Promise((resolve) => setTimeout(resolve, 500 * attempt + this.options.random() * 1000));
      }
    }
  }

  private connectOnce(): Promise<void> {
    const client = mqtt.connect(this.options.mqttUrl, {
      username: this.credentials.username,
      password: this.credentials.secret,
      clientId: `${this.credentials.username}:sim`,
      clean: true,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      // The broker tells the platform the device is gone when the connection dies without a goodbye.
      will: { topic: this.topics.status, payload: encodeStatus('offline'), qos: 1, retain: false },
      ...this.options.mqtt,
    });
    this.client = client;
    return new Promise<void>((resolve, reject) => {
      const refused = (error: Error & { code?: number }) => {
        client.removeListener('connect', accepted);
        client.end(true);
        reject(Object.assign(new Error(`${this.credentials.username}: ${error.message}`), { code: error.code }));
      };
      const accepted = () => {
        client.removeListener('error', refused);
        resolve();
      };
      client.once('connect', accepted);
      client.once('error', refused);
    }).then(() => {
      client.on('connect', () => {
        this.options.onEvent?.({ type: 'connected', username: this.username });
        void this.announce().catch(() => undefined);
        this.send();
      });
      client.on('close', () => this.options.onEvent?.({ type: 'disconnected', username: this.username }));
      client.on('error', (error) => this.options.onEvent?.({ type: 'disconnected', username: this.username, reason: error.message }));
      this.options.onEvent?.({ type: 'connected', username: this.username });
      if (this.options.commands) {
        client.on('message', (_topic, payload) => {
          const fault = faultFromCommand(payload);
          if (fault) this.inject(fault);
        });
        client.subscribe(this.topics.commands, { qos: 1 });
      }
      this.send();
      // Connected means announced: with QoS 1 the platform has recorded the device online.
      return this.announce();
    });
  }

  private announce(): Promise<void> {
    const client = this.client;
    if (!this.options.status || !client) return Promise.resolve();
    return new Promise((resolve, reject) =>
      client.publish(this.topics.status, encodeStatus('online', this.now()), { qos: this.options.qos }, (error) => (error ? reject(error) : resolve())),
    );
  }

  /** Makes `count` points (the vehicle moves on between them) and sends what the in-flight window allows. */
  produce(count = this.options.pointsPerMessage): void {
    for (let i = 0; i < count; i++) this.keep(this.read());
    this.send();
  }

  /** Makes `count` points and resolves when every point made so far is acknowledged. */
  async step(count = 1): Promise<void> {
    this.produce(count);
    await this.idle();
  }

  /** Resolves when nothing is buffered or in flight. */
  idle(): Promise<void> {
    if (this.buffer.length === 0 && this.inflight.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  inject(fault: Fault): void {
    this.options.onEvent?.({ type: 'fault', username: this.username, fault });
    switch (fault.kind) {
      case 'temperature-excursion':
        this.faults.temperatureC = fault.celsius ?? 75;
        break;
      case 'leak':
        this.faults.leak = true;
        break;
      case 'crash-tilt':
        this.faults.tiltDeg = fault.deg ?? 85;
        break;
      case 'door-open':
        this.faults.doorOpen = true;
        break;
      case 'gps-jump':
        this.faults.jumpKm = fault.km ?? 25;
        break;
      case 'restricted-zone': {
        const zone = this.options.route.route.restrictedZone;
        if (this.options.route.route.waypoints.some((waypoint) => waypoint.name === zone.name)) this.moveTo(zone.name);
        else this.faults.parkedAt = zone;
        break;
      }
      case 'network-drop':
        this.dropNetwork((fault.seconds ?? 10) * 1000);
        break;
      case 'clock-skew':
        this.faults.skewMs = fault.seconds * 1000;
        break;
      case 'clear':
        for (const key of Object.keys(this.faults) as Array<keyof typeof this.faults>) delete this.faults[key];
        break;
    }
  }

  /** Stops making points (a flood stops refilling its window); what is buffered is still sent. */
  halt(): void {
    this.halted = true;
  }

  async stop(): Promise<void> {
    this.halted = true;
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    const client = this.client;
    if (!client) return;
    // A clean DISCONNECT waits for what is in flight; a broker that is gone would keep it waiting forever.
    let timer: NodeJS.Timeout | undefined;
    const ended = new Promise<void>((resolve) => client.end(false, {}, () => resolve()));
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), 2000)));
    if ((await Promise.race([ended, late])) === 'late') await new Promise<void>((resolve) => client.end(true, {}, () => resolve()));
    clearTimeout(timer);
  }

  private read(): SimPoint {
    const now = this.now();
    const crashed = this.faults.tiltDeg !== undefined;
    const speedKmh = crashed || this.faults.parkedAt ? 0 : Math.max(0, this.options.speedKmh + (this.options.random() - 0.5) * 10);
    this.advance(now, speedKmh);
    const here = this.position();
    let { lat, lon } = here;
    if (this.faults.jumpKm !== undefined) {
      ({ lat, lon } = offsetKm(here, this.faults.jumpKm * 0.6, this.faults.jumpKm * 0.8));
      delete this.faults.jumpKm;
    }
    this.counters.generated++;
    const jitter = () => (this.options.random() - 0.5) * 0.4;
    return {
      ts: now + (this.faults.skewMs ?? 0),
      seq: this.seq++,
      lat: round(lat, 6),
      lon: round(lon, 6),
      speedKmh: round(speedKmh, 1),
      headingDeg: round(here.headingDeg, 1) % 360,
      accuracyM: round(3 + this.options.random() * 5, 1),
      sensors: {
        temperatureC: round(this.faults.temperatureC ?? BASELINE.temperatureC + jitter(), 2),
        pressureKpa: round(BASELINE.pressureKpa + jitter(), 2),
        tiltDeg: round(this.faults.tiltDeg ?? BASELINE.tiltDeg + jitter(), 2),
        leak: this.faults.leak ?? false,
        doorOpen: this.faults.doorOpen ?? false,
      },
    };
  }

  /** The vehicle drives on for the time since it last moved, turning back at either end of its route. */
  private advance(now: number, speedKmh: number): void {
    const hours = ((now - this.lastMotionAt) / 3_600_000) * this.options.timeScale;
    this.lastMotionAt = now;
    this.km += this.direction * speedKmh * hours;
    const length = this.options.route.lengthKm;
    if (this.km >= length) {
      this.km = length;
      this.direction = -1;
    } else if (this.km <= 0) {
      this.km = 0;
      this.direction = 1;
    }
  }

  private keep(point: SimPoint): void {
    this.buffer.push(point);
    const excess = this.buffer.length - this.options.maxBufferedPoints;
    if (excess > 0) {
      this.buffer.splice(0, excess);
      this.counters.discarded += excess;
    }
  }

  /** Sends buffered points while the in-flight window has room: a backlog goes in bigger messages. */
  private send(): void {
    const client = this.client;
    if (!client?.connected || this.now() < this.offlineUntil) return;
    while (this.inflight.size < this.options.maxInflight) {
      if (this.buffer.length === 0) {
        if (!this.options.flood || this.halted) break;
        for (let i = 0; i < this.options.pointsPerMessage; i++) this.keep(this.read());
      }
      // More than a message's worth waiting is a backlog (after a drop, or acks slower than the clock): it goes in bigger messages.
      const size = this.buffer.length > this.options.pointsPerMessage ? this.options.burstPointsPerMessage : this.options.pointsPerMessage;
      const message: Inflight = { points: this.buffer.splice(0, size), sentAt: this.now() };
      this.inflight.add(message);
      client.publish(this.topics.telemetry, encodePoints(message.points), { qos: this.options.qos }, (error) => this.settled(message, error));
    }
    this.wakeIdle();
  }

  private settled(message: Inflight, error: Error | undefined): void {
    this.inflight.delete(message);
    if (error) {
      // Not acknowledged (connection closed, or the broker refused it): kept and sent again, in order, after reconnecting.
      if (!this.stopped) this.buffer.unshift(...message.points);
    } else {
      this.counters.acked += message.points.length;
      this.counters.ackedMessages++;
      this.options.onAck?.(this.now() - message.sentAt, message.points);
    }
    this.send();
  }

  private dropNetwork(ms: number): void {
    const client = this.client;
    if (!client) return;
    this.offlineUntil = this.now() + ms;
    client.options.reconnectPeriod = 0;
    // A forced end fails the unacknowledged publishes, which puts their points back into the buffer.
    client.end(true, {}, () => {
      this.reconnectTimer = setTimeout(() => {
        if (this.stopped) return;
        client.options.reconnectPeriod = this.options.mqtt?.reconnectPeriod ?? 1000;
        client.reconnect();
      }, ms);
    });
  }

  private wakeIdle(): void {
    if (this.buffer.length > 0 || this.inflight.size > 0) return;
    for (const wake of this.idleWaiters.splice(0)) wake();
  }
}

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;
