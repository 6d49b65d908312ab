import type { IClientOptions } from 'mqtt';
import { SimulatedDevice, type DeviceCounters, type DeviceCredentials, type DeviceEvent } from './device.js';
import type { Fault } from './faults.js';
import { MeasuredRoute } from './geo.js';
import type { SimPoint } from './payload.js';
import { provisionDevices, type ProvisionOptions } from './provision.js';
import { ROUTES, type RouteName } from './routes.js';

export interface FleetOptions {
  /** The broker devices connect to: mqtt://, mqtts://, ws:// or wss://. */
  mqttUrl: string;
  /** Devices with their credentials, or provision `count` of them through the API first. */
  devices: readonly DeviceCredentials[] | { provision: ProvisionOptions };
  /** Routes given to devices in turn (default: every route). */
  routes?: readonly RouteName[];
  /**
   * `rate`: each device makes `pointsPerSecond` points on a clock (default);
   * `flood`: each device keeps `maxInflight` messages unacknowledged, as fast as the broker acknowledges;
   * `manual`: nothing is made until the caller says (`device.step()`), for tests.
   */
  mode?: 'rate' | 'flood' | 'manual';
  /** Per device, in `rate` mode (default 1). */
  pointsPerSecond?: number;
  /** Points per MQTT message (default 1: one point; more: a batch). */
  pointsPerMessage?: number;
  /** Unacknowledged messages per device (default 10). */
  maxInflight?: number;
  /** Points a device keeps while offline (default 100,000). */
  maxBufferedPoints?: number;
  /** Points per message when a device sends a backlog (default 100). */
  burstPointsPerMessage?: number;
  qos?: 0 | 1;
  speedKmh?: number;
  /** Simulated seconds per real second, for the motion only (default 1): 60 drives an hour a minute. */
  timeScale?: number;
  /** Where every device starts: km along its route or a waypoint's name. Default: spread along their routes. */
  startAt?: number | string;
  /** Devices listen for faults on their commands topic (default true). */
  commands?: boolean;
  /** Devices publish `online` on their status topic at connect (default true). */
  status?: boolean;
  /** CONNECTs at once (default 100). */
  connectConcurrency?: number;
  /** Seed of the readings' noise: the same seed, the same readings. */
  seed?: number;
  /** Extra mqtt.js options for every device (protocolVersion 5 through an external broker, keepalive, …). */
  mqtt?: IClientOptions;
  onEvent?: (event: DeviceEvent) => void;
  /** Each acknowledged message's points (QoS 1: committed by the platform), as sent. */
  onAcked?: (username: string, points: readonly SimPoint[]) => void;
}

export interface FleetStats extends Omit<DeviceCounters, 'inflightMessages'> {
  devices: number;
  connected: number;
  inflightMessages: number;
  /** Publish → acknowledgement of each acknowledged message, ms (QoS 1: the point is committed). */
  latencyMs: { count: number; p50: number; p99: number; max: number };
}

export interface Fleet {
  devices: readonly SimulatedDevice[];
  device(username: string): SimulatedDevice;
  /** A fault on one device (by username) or on every device ('all'). */
  inject(target: string, fault: Fault): void;
  stats(): FleetStats;
  /** Forgets the latencies seen so far (a benchmark's warm-up). */
  resetLatencies(): void;
  /** Resolves when no device has anything buffered or in flight. */
  idle(): Promise<void>;
  /** Stops making points, sends what is buffered (up to `drainMs`, default 10 s), disconnects. */
  stop(options?: { drainMs?: number }): Promise<void>;
}

/** mulberry32: a small seeded generator, so a run's readings can be repeated. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/**
 * Starts a fleet of simulated trackers: each connects with its own credentials (resolving once
 * all are connected; a refused CONNECT rejects), drives its route and publishes its points.
 */
export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const credentials = 'provision' in options.devices ? await provisionDevices(options.devices.provision) : options.devices;
  const routes = (options.routes ?? (Object.keys(ROUTES) as RouteName[])).map((name) => {
    const route = ROUTES[name];
    if (!route) throw new Error(`unknown route ${name}; one of ${Object.keys(ROUTES).join(', ')}`);
    return new MeasuredRoute(route);
  });
  const mode = options.mode ?? 'rate';
  const pointsPerMessage = options.pointsPerMessage ?? 1;
  const pointsPerSecond = options.pointsPerSecond ?? 1;
  if (!(pointsPerMessage >= 1) || !(pointsPerSecond > 0)) throw new Error('pointsPerMessage must be ≥ 1 and pointsPerSecond > 0');
  let latencies: number[] = [];
  const random = seeded(options.seed ?? 1);

  const devices = credentials.map((device, index) => {
    const route = routes[index % routes.length]!;
    const startKm =
      typeof options.startAt === 'string'
        ? route.kmTo(options.startAt)
        : (options.startAt ?? ((index * 0.618033988749895) % 1) * route.lengthKm);
    return new SimulatedDevice(device, {
      mqttUrl: options.mqttUrl,
      route,
      startKm,
      speedKmh: options.speedKmh ?? 90,
      timeScale: options.timeScale ?? 1,
      qos: options.qos ?? 1,
      pointsPerMessage,
      maxInflight: options.maxInflight ?? 10,
      maxBufferedPoints: options.maxBufferedPoints ?? 100_000,
      burstPointsPerMessage: options.burstPointsPerMessage ?? 100,
      commands: options.commands ?? true,
      status: options.status ?? true,
      flood: mode === 'flood',
      random: seeded(Math.floor(random() * 2 ** 32)),
      ...(options.mqtt ? { mqtt: options.mqtt } : {}),
      onAck: (ms, points) => {
        latencies.push(ms);
        options.onAcked?.(device.username, points);
      },
      ...(options.onEvent ? { onEvent: options.onEvent } : {}),
    });
  });
  const byName = new Map(devices.map((device) => [device.username, device]));

  let next = 0;
  const connectNext = async () => {
    while (next < devices.length) await devices[next++]!.connect();
  };
  try {
    await Promise.all(Array.from({ length: Math.min(options.connectConcurrency ?? 100, devices.length) }, connectNext));
  } catch (error) {
    await Promise.all(devices.map((device) => device.stop()));
    throw error;
  }

  // One clock for the fleet: each device owes pointsPerSecond × elapsed, made in whole messages.
  let ticker: NodeJS.Timeout | undefined;
  if (mode === 'rate') {
    const owed = new Float64Array(devices.length).map((_, index) => (index / devices.length) * pointsPerMessage);
    let last = performance.now();
    ticker = setInterval(() => {
      const now = performance.now();
      const earned = ((now - last) / 1000) * pointsPerSecond;
      last = now;
      for (let i = 0; i < devices.length; i++) {
        owed[i]! += earned;
        const messages = Math.floor(owed[i]! / pointsPerMessage);
        if (messages === 0) continue;
        owed[i]! -= messages * pointsPerMessage;
        devices[i]!.produce(messages * pointsPerMessage);
      }
    }, Math.max(10, Math.min(100, (1000 * pointsPerMessage) / pointsPerSecond / 2)));
  } else if (mode === 'flood') {
    for (const device of devices) device.produce(0);
  }

  const fleet: Fleet = {
    devices,
    device(username) {
      const device = byName.get(username);
      if (!device) throw new Error(`no simulated device ${username}`);
      return device;
    },
    inject(target, fault) {
      for (const device of target === 'all' ? devices : [fleet.device(target)]) device.inject(fault);
    },
    stats() {
      const total = { generated: 0, acked: 0, ackedMessages: 0, discarded: 0, buffered: 0, inflightMessages: 0 };
      let connected = 0;
      for (const device of devices) {
        const counters = device.stats();
        for (const key of Object.keys(total) as Array<keyof typeof total>) total[key] += counters[key];
        if (device.connected) connected++;
      }
      const sorted = Float64Array.from(latencies).sort();
      return {
        ...total,
        devices: devices.length,
        connected,
        latencyMs: { count: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.length ? sorted[sorted.length - 1]! : NaN },
      };
    },
    resetLatencies() {
      latencies = [];
    },
    async idle() {
      await Promise.all(devices.map((device) => device.idle()));
    },
    async stop({ drainMs = 10_000 } = {}) {
      clearInterval(ticker);
      for (const device of devices) device.halt();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([fleet.idle(), new Promise((resolve) => (timer = setTimeout(resolve, drainMs)))]);
      clearTimeout(timer);
      await Promise.all(devices.map((device) => device.stop()));
    },
  };
  return fleet;
}
