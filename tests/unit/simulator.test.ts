import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { Aedes } from 'aedes';
import { ROUTES, BURNLEY_TUNNEL } from '../../iot-simulator/routes.js';
import { MeasuredRoute, distanceKm } from '../../iot-simulator/geo.js';
import { encodePoints, encodeStatus, type SimPoint } from '../../iot-simulator/payload.js';
import { faultFromCommand, parseFault } from '../../iot-simulator/faults.js';
import { startFleet, type Fleet } from '../../iot-simulator/fleet.js';
import { decodeDeviceStatus, decodeTelemetry, telemetryMessage } from '../../domain/telemetry-message.js';

describe('routes', () => {
  it('the Hume Highway passes its towns in order, Sydney to Melbourne, then the Burnley Tunnel', () => {
    expect(ROUTES.hume.waypoints.map((waypoint) => waypoint.name)).toEqual([
      'Sydney', 'Campbelltown', 'Goulburn', 'Yass', 'Gundagai', 'Holbrook', 'Albury', 'Wangaratta', 'Benalla', 'Seymour', 'Melbourne',
      'CityLink Southbank (Burnley Tunnel west portal)', 'Burnley Tunnel (CityLink)', 'Burnley (Burnley Tunnel east portal)',
    ]);
    const hume = new MeasuredRoute(ROUTES.hume);
    // Straight legs between the towns: shorter than the highway's 880 km by road, longer than the 713 km great circle.
    expect(hume.kmTo('Melbourne')).toBeGreaterThan(740);
    expect(hume.kmTo('Melbourne')).toBeLessThan(880);
    expect(distanceKm(ROUTES.hume.waypoints[0]!, ROUTES.hume.waypoints[10]!)).toBeCloseTo(713, -1);
  });

  it('a position along a route is on its leg, heading towards the leg’s end', () => {
    const hume = new MeasuredRoute(ROUTES.hume);
    expect(hume.at(0)).toMatchObject({ lat: -33.8688, lon: 151.2093, between: ['Sydney', 'Campbelltown'] });
    const mid = hume.at(hume.kmTo('Campbelltown') / 2);
    expect(mid.lat).toBeCloseTo((-33.8688 + -34.065) / 2, 6);
    expect(mid.lon).toBeCloseTo((151.2093 + 150.8142) / 2, 6);
    // Campbelltown is south-west of Sydney.
    expect(mid.headingDeg).toBeGreaterThan(225);
    expect(mid.headingDeg).toBeLessThan(250);
    expect(hume.at(hume.lengthKm + 10)).toMatchObject({ lat: -37.829, lon: 145.023 });
  });

  it('the routes through Melbourne cross the demo Burnley Tunnel geofence (db/seed.ts: centre 145.0067, -37.8277, half-side 0.006°)', () => {
    for (const route of [ROUTES.hume, ROUTES['west-gate-monash']]) {
      const measured = new MeasuredRoute(route);
      const inside = measured.at(measured.kmTo(BURNLEY_TUNNEL.name));
      expect(Math.abs(inside.lon - 145.0067)).toBeLessThan(0.006);
      expect(Math.abs(inside.lat - -37.8277)).toBeLessThan(0.006);
    }
  });
});

describe('payload', () => {
  const point = (seq: number): SimPoint => ({
    ts: Date.parse('2026-11-30T08:00:00Z') + seq,
    seq,
    lat: -35.0653,
    lon: 148.105,
    speedKmh: 92.4,
    headingDeg: 231.5,
    accuracyM: 4.2,
    sensors: { temperatureC: 18.2, pressureKpa: 101.3, tiltDeg: 1.4, leak: false, doorOpen: false },
  });
  const now = new Date('2026-11-30T08:01:00Z');

  it('one point and a batch are messages the server’s schema and decoder accept, field for field', () => {
    for (const payload of [encodePoints([point(7)]), encodePoints([point(1), point(2), point(3)])]) {
      expect(telemetryMessage.safeParse(JSON.parse(payload.toString())).success).toBe(true);
    }
    expect(decodeTelemetry(encodePoints([point(7)]), now)).toEqual({
      ok: true,
      points: [{ recordedAt: new Date('2026-11-30T08:00:00.007Z'), sequence: 7, lat: -35.0653, lon: 148.105, speedKmh: 92.4, headingDeg: 231.5, accuracyM: 4.2, sensors: point(7).sensors }],
    });
    const batch = decodeTelemetry(encodePoints([point(1), point(2), point(3)]), now);
    expect(batch.ok && batch.points.map((p) => p.sequence)).toEqual([1, 2, 3]);
  });

  it('status messages (and the last will) are what the server decodes', () => {
    expect(decodeDeviceStatus(encodeStatus('offline'))).toEqual({ ok: true, online: false, at: undefined });
    expect(decodeDeviceStatus(encodeStatus('online', now.getTime()))).toEqual({ ok: true, online: true, at: now });
  });
});

describe('faults as typed', () => {
  it.each([
    ['leak', { kind: 'leak' }],
    ['temperature-excursion', { kind: 'temperature-excursion' }],
    ['temperature-excursion=62.5', { kind: 'temperature-excursion', celsius: 62.5 }],
    ['crash-tilt=70', { kind: 'crash-tilt', deg: 70 }],
    ['clock-skew=-3600', { kind: 'clock-skew', seconds: -3600 }],
    ['network-drop=5', { kind: 'network-drop', seconds: 5 }],
  ])('%s', (text, fault) => expect(parseFault(text)).toEqual(fault));

  it.each([['melt', /unknown fault melt/], ['clock-skew', /needs seconds/], ['leak=3', /takes no value/], ['gps-jump=far', /not a number/]])('refuses %s', (text, message) => {
    expect(() => parseFault(text)).toThrow(message);
  });

  it('reads a fault from a commands-topic message, ignores anything else', () => {
    expect(faultFromCommand(Buffer.from('{"simulate":{"kind":"gps-jump","km":40}}'))).toEqual({ kind: 'gps-jump', km: 40 });
    expect(faultFromCommand(Buffer.from('{"reboot":true}'))).toBeUndefined();
    expect(faultFromCommand(Buffer.from('not json'))).toBeUndefined();
  });
});

/**
 * The simulator against a bare MQTT broker (aedes, no ingest): what its devices put on the wire.
 * The platform's side is tests/integration/simulator.test.ts.
 */
describe('a simulated device on the wire', () => {
  let broker: Aedes;
  let server: Server;
  let url: string;
  let fleet: Fleet;
  const messages: Array<{ topic: string; body: Record<string, unknown> }> = [];
  const received = (topic: string) => messages.filter((message) => message.topic === topic).map((message) => message.body);
  const points = (topic: string) => received(topic).flatMap((body) => (Array.isArray(body.points) ? (body.points as Array<Record<string, unknown>>) : [body]));

  beforeAll(async () => {
    broker = await Aedes.createBroker();
    broker.on('publish', (packet, client) => {
      if (client) messages.push({ topic: packet.topic, body: JSON.parse(packet.payload.toString()) as Record<string, unknown> });
    });
    server = createServer(broker.handle);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // Road time runs 60× wall time: the positions asserted below move by metres per second of a slow machine, not by degrees.
    fleet = await startFleet({ mqttUrl: url, devices: [{ username: 'sim-a', secret: 'x' }, { username: 'sim-b', secret: 'y' }], mode: 'manual', routes: ['hume'], startAt: 'Gundagai', timeScale: 60 });
  });
  afterAll(async () => {
    await fleet?.stop({ drainMs: 1000 });
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    await new Promise((resolve) => server.close(resolve));
  });

  it('announces itself online, then publishes numbered points along its route', async () => {
    const device = fleet.device('sim-a');
    await device.step(3);
    expect(received(device.topics.status)).toEqual([{ v: 1, status: 'online', ts: expect.any(String) }]);
    const sent = points(device.topics.telemetry);
    expect(sent.map((point) => point.seq)).toEqual([0, 1, 2]);
    expect(sent[0]).toMatchObject({ sensors: { leak: false, doorOpen: false } });
    expect(Math.abs((sent[0]!.lat as number) - -35.0653)).toBeLessThan(0.5);
    expect(fleet.stats()).toMatchObject({ devices: 2, connected: 2, generated: 3, acked: 3, buffered: 0, inflightMessages: 0 });
  });

  it('shows each fault in its readings', async () => {
    const device = fleet.device('sim-b');
    const next = async () => {
      await device.step(1);
      return points(device.topics.telemetry).at(-1)!;
    };
    const before = await next();
    fleet.inject('sim-b', { kind: 'temperature-excursion', celsius: 61 });
    fleet.inject('sim-b', { kind: 'leak' });
    fleet.inject('sim-b', { kind: 'door-open' });
    expect(await next()).toMatchObject({ sensors: { temperatureC: 61, leak: true, doorOpen: true } });
    fleet.inject('sim-b', { kind: 'crash-tilt' });
    expect(await next()).toMatchObject({ speedKmh: 0, sensors: { tiltDeg: 85 } });
    fleet.inject('sim-b', { kind: 'clear' });
    const cleared = await next();
    expect(cleared).toMatchObject({ sensors: { leak: false, doorOpen: false } });
    expect(cleared.speedKmh).toBeGreaterThan(0);

    fleet.inject('sim-b', { kind: 'gps-jump', km: 50 });
    const jumped = await next();
    const after = await next();
    const km = (a: Record<string, unknown>, b: Record<string, unknown>) => distanceKm({ name: 'a', lat: a.lat as number, lon: a.lon as number }, { name: 'b', lat: b.lat as number, lon: b.lon as number });
    expect(km(jumped, cleared)).toBeGreaterThan(45);
    expect(km(after, cleared)).toBeLessThan(20);

    fleet.inject('sim-b', { kind: 'clock-skew', seconds: 3600 });
    const skewed = await next();
    expect(Date.parse(skewed.ts as string) - Date.now()).toBeGreaterThan(3500_000);
    fleet.inject('sim-b', { kind: 'clear' });

    fleet.inject('sim-b', { kind: 'restricted-zone' });
    const inZone = await next();
    expect(Math.abs((inZone.lon as number) - 145.0067)).toBeLessThan(0.006);
    expect(Math.abs((inZone.lat as number) - -37.8277)).toBeLessThan(0.006);
    expect(Date.parse(before.ts as string)).toBeLessThan(Date.parse(inZone.ts as string));
  });

  it('a fault on the commands topic reaches the device', async () => {
    const device = fleet.device('sim-a');
    await new Promise<void>((resolve) => broker.publish({ cmd: 'publish', topic: device.topics.commands, payload: Buffer.from('{"simulate":{"kind":"leak"}}'), qos: 1, retain: false, dup: false }, () => resolve()));
    // The command is delivered to the device asynchronously: step until it shows.
    let last: Record<string, unknown> | undefined;
    for (let i = 0; i < 50 && !(last?.sensors as { leak?: boolean } | undefined)?.leak; i++) {
      await device.step(1);
      last = points(device.topics.telemetry).at(-1);
    }
    expect(last).toMatchObject({ sensors: { leak: true } });
    fleet.inject('sim-a', { kind: 'clear' });
  });

  it('a network drop keeps the points made meanwhile and sends them as one burst on reconnect', async () => {
    const device = fleet.device('sim-a');
    const seqsBefore = points(device.topics.telemetry).map((point) => point.seq as number);
    const messagesBefore = received(device.topics.telemetry).length;
    fleet.inject('sim-a', { kind: 'network-drop', seconds: 0.3 });
    device.produce(5);
    expect(device.stats()).toMatchObject({ buffered: 5 });
    await device.idle();
    const burst = received(device.topics.telemetry).slice(messagesBefore);
    expect(burst).toHaveLength(1);
    expect((burst[0]!.points as unknown[]).length).toBe(5);
    const seqs = points(device.topics.telemetry).map((point) => point.seq as number);
    expect(seqs).toEqual([...seqsBefore, ...[0, 1, 2, 3, 4].map((i) => seqsBefore.length + i)]);
  });
});
