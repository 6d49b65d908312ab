/**
 * Sensor rules: which readings of a device break a rule, how serious it is, and whether it is an
 * incident. Plain data and pure functions; ingest/detection applies them to every stored point.
 */
import type { AlarmRule, AlarmSeverity } from './alarm-lifecycle.js';
import type { IncidentKind } from './incident-lifecycle.js';

/** The named readings a point may carry (domain/telemetry-message.ts's sensors). */
export interface SensorReadings {
  temperatureC?: number;
  pressureKpa?: number;
  tiltDeg?: number;
  leak?: boolean;
  doorOpen?: boolean;
}

/** A device's limits (device_sensor_rules), each null when the company set none: the default applies, or the rule is off. */
export interface SensorLimits {
  temperatureMinC: number | null;
  temperatureMaxC: number | null;
  tiltMaxDeg: number | null;
}

/**
 * A tanker's static rollover threshold is about 0.3–0.4 g of lateral acceleration, reached near
 * 20° of roll; a body tilted past 45° is on its side or falling there, never a road camber.
 */
export const DEFAULT_TILT_MAX_DEG = 45;

/** Moving at this speed or more counts as in transit for the door rule (a GPS standing still wanders a few km/h). */
export const DOOR_IN_TRANSIT_MIN_SPEED_KMH = 8;

/**
 * 49 CFR 173.21(f): a self-reactive material (Division 4.1) or organic peroxide (Division 5.2)
 * whose proper shipping name says "temperature controlled" may be offered only with its
 * temperature kept at or below its control temperature (173.224(b)(4), 173.225(c)/(f)); ADG 7.x
 * 2.4.2.3.4 / 2.5.3.4 say the same. The control temperature is the formulation's, not the catalogue
 * entry's: the company sets it as the device's band.
 */
export const TEMPERATURE_CONTROL_CITATION = '49 CFR 173.21(f); 49 CFR 173.224(b)(4), 173.225(c); ADG 7.x 2.4.2.3.4, 2.5.3.4';

/** What the catalogue's proper shipping name says of an entry that must travel temperature controlled. */
export function isTemperatureControlled(properShippingName: string): boolean {
  return /temperature controlled/i.test(properShippingName);
}

export interface SensorContext {
  /** The vehicle's current load holds a temperature-controlled dangerous good. */
  temperatureControlledLoad: boolean;
  speedKmh: number | null;
}

export interface Violation {
  rule: AlarmRule;
  severity: AlarmSeverity;
  message: string;
  /** The reading that broke the rule (a boolean reading as 1). */
  value: number;
  citation: string | null;
  /** The incident it raises, if it is one. */
  incidentKind: IncidentKind | null;
}

/** The rules a point's readings break, in ALARM_RULES order. */
export function sensorViolations(readings: SensorReadings, limits: SensorLimits, context: SensorContext): Violation[] {
  const found: Violation[] = [];
  const t = readings.temperatureC;
  if (t !== undefined && Number.isFinite(t)) {
    const above = limits.temperatureMaxC !== null && t > limits.temperatureMaxC;
    const below = limits.temperatureMinC !== null && t < limits.temperatureMinC;
    if (above || below) {
      const band = `${limits.temperatureMinC ?? '-∞'}…${limits.temperatureMaxC ?? '+∞'} °C`;
      // Above the control temperature a self-reactive or peroxide load may run away: an incident. A cold-chain band alone is an alarm.
      const runaway = context.temperatureControlledLoad && above;
      found.push({
        rule: 'temperature.band',
        severity: runaway ? 'CRITICAL' : 'HIGH',
        message: `temperature ${t} °C outside the band ${band}${runaway ? ' with a temperature-controlled dangerous good on board (above its control temperature)' : ''}`,
        value: t,
        citation: context.temperatureControlledLoad ? TEMPERATURE_CONTROL_CITATION : null,
        incidentKind: runaway ? 'SENSOR_ALARM' : null,
      });
    }
  }
  if (readings.leak === true) {
    found.push({ rule: 'leak', severity: 'CRITICAL', message: 'leak sensor reports a leak', value: 1, citation: null, incidentKind: 'LEAK' });
  }
  const tilt = readings.tiltDeg;
  const tiltMax = limits.tiltMaxDeg ?? DEFAULT_TILT_MAX_DEG;
  if (tilt !== undefined && Number.isFinite(tilt) && Math.abs(tilt) > tiltMax) {
    found.push({ rule: 'tilt', severity: 'CRITICAL', message: `tilt ${tilt}° beyond ${tiltMax}°: rollover suspected`, value: tilt, citation: null, incidentKind: 'ROLLOVER' });
  }
  if (readings.doorOpen === true && context.speedKmh !== null && context.speedKmh >= DOOR_IN_TRANSIT_MIN_SPEED_KMH) {
    found.push({ rule: 'door.in-transit', severity: 'HIGH', message: `cargo door open at ${context.speedKmh} km/h`, value: 1, citation: null, incidentKind: 'SECURITY' });
  }
  return found;
}
