import { describe, expect, it } from 'vitest';
import { ACTIVE_ALARM_STATES, ALARM_STATES, alarmRefusal } from '../../domain/alarm-lifecycle.js';
import { DEFAULT_TILT_MAX_DEG, DOOR_IN_TRANSIT_MIN_SPEED_KMH, TEMPERATURE_CONTROL_CITATION, isTemperatureControlled, sensorViolations, type SensorLimits } from '../../domain/sensor-rules.js';

const NONE: SensorLimits = { temperatureMinC: null, temperatureMaxC: null, tiltMaxDeg: null };
const parked = { temperatureControlledLoad: false, speedKmh: 0 };

describe('sensor rules', () => {
  it('a temperature-controlled load above its control temperature is a CRITICAL alarm and an incident, citing 49 CFR 173.21(f)', () => {
    const [violation, ...rest] = sensorViolations({ temperatureC: -3.5 }, { ...NONE, temperatureMaxC: -5 }, { temperatureControlledLoad: true, speedKmh: 80 });
    expect(rest).toEqual([]);
    expect(violation).toMatchObject({ rule: 'temperature.band', severity: 'CRITICAL', value: -3.5, citation: TEMPERATURE_CONTROL_CITATION, incidentKind: 'SENSOR_ALARM' });
    expect(violation!.message).toContain('above its control temperature');
    expect(TEMPERATURE_CONTROL_CITATION).toContain('49 CFR 173.21(f)');
  });

  it('a band without a temperature-controlled good, or below the band, is a HIGH alarm without an incident', () => {
    expect(sensorViolations({ temperatureC: 9 }, { temperatureMinC: 2, temperatureMaxC: 8, tiltMaxDeg: null }, parked)).toEqual([
      { rule: 'temperature.band', severity: 'HIGH', message: 'temperature 9 °C outside the band 2…8 °C', value: 9, citation: null, incidentKind: null },
    ]);
    expect(sensorViolations({ temperatureC: -20 }, { ...NONE, temperatureMinC: -18, temperatureMaxC: -5 }, { temperatureControlledLoad: true, speedKmh: 0 })).toMatchObject([{ severity: 'HIGH', incidentKind: null, citation: TEMPERATURE_CONTROL_CITATION }]);
  });

  it('inside the band, or with no band set, a temperature breaks nothing', () => {
    expect(sensorViolations({ temperatureC: 8 }, { temperatureMinC: 2, temperatureMaxC: 8, tiltMaxDeg: null }, parked)).toEqual([]);
    expect(sensorViolations({ temperatureC: 60 }, NONE, parked)).toEqual([]);
  });

  it('any leak reading is a CRITICAL LEAK incident; a dry sensor is nothing', () => {
    expect(sensorViolations({ leak: true }, NONE, parked)).toMatchObject([{ rule: 'leak', severity: 'CRITICAL', incidentKind: 'LEAK', value: 1 }]);
    expect(sensorViolations({ leak: false }, NONE, parked)).toEqual([]);
  });

  it('tilt beyond the default angle, or the device limit, is a rollover; either side counts', () => {
    expect(sensorViolations({ tiltDeg: DEFAULT_TILT_MAX_DEG }, NONE, parked)).toEqual([]);
    expect(sensorViolations({ tiltDeg: -(DEFAULT_TILT_MAX_DEG + 1) }, NONE, parked)).toMatchObject([{ rule: 'tilt', severity: 'CRITICAL', incidentKind: 'ROLLOVER', value: -(DEFAULT_TILT_MAX_DEG + 1) }]);
    expect(sensorViolations({ tiltDeg: 25 }, { ...NONE, tiltMaxDeg: 20 }, parked)).toMatchObject([{ rule: 'tilt', message: 'tilt 25° beyond 20°: rollover suspected' }]);
  });

  it('a door open counts only while the vehicle moves', () => {
    expect(sensorViolations({ doorOpen: true }, NONE, { temperatureControlledLoad: false, speedKmh: DOOR_IN_TRANSIT_MIN_SPEED_KMH - 1 })).toEqual([]);
    expect(sensorViolations({ doorOpen: true }, NONE, { temperatureControlledLoad: false, speedKmh: null })).toEqual([]);
    expect(sensorViolations({ doorOpen: true }, NONE, { temperatureControlledLoad: false, speedKmh: 60 })).toMatchObject([{ rule: 'door.in-transit', severity: 'HIGH', incidentKind: 'SECURITY' }]);
  });

  it('several rules broken at once are each reported, in rule order', () => {
    expect(sensorViolations({ temperatureC: 30, leak: true, tiltDeg: 90, doorOpen: true }, { ...NONE, temperatureMaxC: 25 }, { temperatureControlledLoad: false, speedKmh: 50 }).map((v) => v.rule)).toEqual(['temperature.band', 'leak', 'tilt', 'door.in-transit']);
  });

  it('the catalogue names the entries that travel temperature controlled', () => {
    expect(isTemperatureControlled('Organic peroxide type B, liquid, temperature controlled')).toBe(true);
    expect(isTemperatureControlled('Self-reactive solid type D, temperature controlled')).toBe(true);
    expect(isTemperatureControlled('Organic peroxide type D, liquid')).toBe(false);
  });
});

describe('alarm lifecycle', () => {
  it('ACTIVE_UNACK → ACTIVE_ACK → CLEARED; an unacknowledged alarm may be cleared at once', () => {
    expect(alarmRefusal('ACTIVE_UNACK', 'acknowledge')).toBeNull();
    expect(alarmRefusal('ACTIVE_ACK', 'clear')).toBeNull();
    expect(alarmRefusal('ACTIVE_UNACK', 'clear')).toBeNull();
  });

  it('refuses what the table does not allow, saying from where it would be', () => {
    expect(alarmRefusal('ACTIVE_ACK', 'acknowledge')).toBe('cannot acknowledge an alarm that is ACTIVE_ACK; acknowledge is allowed only from ACTIVE_UNACK');
    expect(alarmRefusal('CLEARED', 'clear')).toBe('cannot clear an alarm that is CLEARED; clear is allowed only from ACTIVE_UNACK, ACTIVE_ACK');
    expect(alarmRefusal('CLEARED', 'acknowledge')).not.toBeNull();
  });

  it('every state but CLEARED is active', () => {
    expect(ALARM_STATES.filter((s) => !ACTIVE_ALARM_STATES.includes(s))).toEqual(['CLEARED']);
  });
});
