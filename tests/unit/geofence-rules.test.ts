import { describe, expect, it } from 'vitest';
import { ARRIVAL_RADIUS_M, EMPTY_ROAD_STATE, ORIGIN_RADIUS_M, LAST_AT_WRITE_EVERY_MS, POSITION_SIGNAL_EVERY_MS, distanceM, mustWriteRoadState, stepRoad, type RoadShipment, type RoadState } from '../../domain/geofence-rules.js';

const SYDNEY = { lat: -33.8688, lon: 151.2093 };
const MELBOURNE = { lat: -37.8136, lon: 144.9631 };
const T0 = Date.parse('2026-11-30T00:00:00Z');
const never = () => false;

/** A point `metres` north of `from` (1° of latitude ≈ 111,195 m on the mean sphere). */
const north = (from: { lat: number; lon: number }, metres: number) => ({ lat: from.lat + metres / 111_195, lon: from.lon });

const shipment = (status: RoadShipment['status']): RoadShipment => ({ id: 'ship-1', status, origin: SYDNEY, destination: MELBOURNE });

/** Applies points one after the other, as detection does, collecting the event kinds. */
function run(points: Array<{ lat: number; lon: number; at: number; inside?: string[] }>, ship: RoadShipment | null, start: RoadState = EMPTY_ROAD_STATE, restricted: (id: string) => boolean = never) {
  let state = start;
  const kinds: string[] = [];
  for (const p of points) {
    const step = stepRoad(state, p, p.inside ?? [], restricted, ship);
    state = step.state;
    kinds.push(...step.events.map((e) => ('geofenceId' in e ? `${e.kind}:${e.geofenceId}` : e.kind)));
  }
  return { state, kinds };
}

describe('geofence rules', () => {
  it('distance: Sydney to Melbourne is about 714 km', () => {
    expect(distanceM(SYDNEY, MELBOURNE) / 1000).toBeCloseTo(713.4, 0);
    expect(distanceM(SYDNEY, north(SYDNEY, 500))).toBeCloseTo(500, 0);
  });

  it('enter and exit once per crossing, not once per point', () => {
    const { kinds, state } = run(
      [
        { ...SYDNEY, at: T0, inside: [] },
        { ...SYDNEY, at: T0 + 1000, inside: ['depot'] },
        { ...SYDNEY, at: T0 + 2000, inside: ['depot'] },
        { ...SYDNEY, at: T0 + 3000, inside: ['depot', 'tunnel'] },
        { ...SYDNEY, at: T0 + 4000, inside: [] },
      ],
      null,
    );
    expect(kinds).toEqual(['geofence.entered:depot', 'geofence.entered:tunnel', 'geofence.exited:depot', 'geofence.exited:tunnel']);
    expect(state.inside).toEqual([]);
    expect(state.lastAt).toBe(T0 + 4000);
  });

  it('a late point (device time not after the last applied) changes nothing', () => {
    const first = run([{ ...SYDNEY, at: T0 + 5000, inside: ['depot'] }], null);
    const late = stepRoad(first.state, { ...SYDNEY, at: T0 + 1000 }, [], never, null);
    expect(late.events).toEqual([]);
    expect(late.state).toBe(first.state);
    expect(stepRoad(first.state, { ...SYDNEY, at: T0 + 5000 }, [], never, null).events).toEqual([]);
  });

  it('a READY shipment leaves its origin when its vehicle, seen there, goes beyond the radius; then reports positions and arrives once', () => {
    const ship = shipment('READY');
    const { kinds, state } = run(
      [
        { ...north(SYDNEY, ORIGIN_RADIUS_M - 50), at: T0 },
        { ...north(SYDNEY, ORIGIN_RADIUS_M + 50), at: T0 + 10_000 },
        { ...north(SYDNEY, 5000), at: T0 + 20_000 },
        { ...north(SYDNEY, 9000), at: T0 + 10_000 + POSITION_SIGNAL_EVERY_MS },
        { ...north(MELBOURNE, ARRIVAL_RADIUS_M - 10), at: T0 + 3_600_000 },
        { ...MELBOURNE, at: T0 + 3_700_000 },
      ],
      ship,
    );
    expect(kinds).toEqual(['shipment.left-origin', 'shipment.position', 'shipment.position', 'shipment.position', 'shipment.arrived', 'shipment.position']);
    expect(state).toMatchObject({ shipmentId: 'ship-1', visitedOrigin: true, leftOriginAt: T0 + 10_000, arrivedAt: T0 + 3_600_000 });
  });

  it('a vehicle never seen at the origin does not leave it (the driver departs through the API)', () => {
    expect(run([{ ...north(SYDNEY, 2000), at: T0 }, { ...north(SYDNEY, 9000), at: T0 + 1000 }], shipment('READY')).kinds).toEqual([]);
  });

  it('an IN_TRANSIT shipment arrives within the radius, not outside it', () => {
    expect(run([{ ...north(MELBOURNE, ARRIVAL_RADIUS_M + 20), at: T0 }], shipment('IN_TRANSIT')).kinds).toEqual(['shipment.position']);
    expect(run([{ ...north(MELBOURNE, ARRIVAL_RADIUS_M - 20), at: T0 }], shipment('IN_TRANSIT')).kinds).toEqual(['shipment.position', 'shipment.arrived']);
  });

  it('a restricted zone entered with a shipment aboard is told to the shipment; other zones and no shipment are crossings only', () => {
    const restricted = (id: string) => id === 'burnley';
    expect(run([{ ...MELBOURNE, at: T0, inside: ['burnley', 'depot'] }], shipment('ARRIVED'), EMPTY_ROAD_STATE, restricted).kinds).toEqual(['geofence.entered:burnley', 'geofence.entered:depot', 'shipment.restricted-zone:burnley']);
    expect(run([{ ...MELBOURNE, at: T0, inside: ['burnley'] }], null, EMPTY_ROAD_STATE, restricted).kinds).toEqual(['geofence.entered:burnley']);
  });

  it('another shipment on the vehicle starts its flags afresh', () => {
    const done = run([{ ...north(MELBOURNE, 10), at: T0 }], shipment('IN_TRANSIT')).state;
    const next = stepRoad(done, { ...SYDNEY, at: T0 + 1000 }, [], never, { ...shipment('READY'), id: 'ship-2' });
    expect(next.state).toMatchObject({ shipmentId: 'ship-2', visitedOrigin: true, arrivedAt: null, positionSignalledAt: null, leftOriginAt: null });
    expect(mustWriteRoadState(done, next.state)).toBe(true);
  });

  it('a state whose only change is time is written once it moved on LAST_AT_WRITE_EVERY_MS, not per batch', () => {
    const stored: RoadState = { ...EMPTY_ROAD_STATE, lastAt: T0, inside: ['depot'] };
    expect(mustWriteRoadState(null, stored)).toBe(true);
    expect(mustWriteRoadState(stored, { ...stored, lastAt: T0 + LAST_AT_WRITE_EVERY_MS - 1 })).toBe(false);
    expect(mustWriteRoadState(stored, { ...stored, lastAt: T0 + LAST_AT_WRITE_EVERY_MS })).toBe(true);
    expect(mustWriteRoadState(stored, { ...stored, lastAt: T0 + 1, inside: [] })).toBe(true);
    expect(mustWriteRoadState(stored, { ...stored, lastAt: T0 + 1, positionSignalledAt: T0 + 1 })).toBe(true);
  });
});
