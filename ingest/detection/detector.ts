import { randomUUID } from 'node:crypto';
import { deviceSensorLimits, raiseAlarm, saveVehicleRoadStates, vehicleRoadContexts, type VehicleRoadContext } from '../../db/alarms.js';
import { geofencesCovering } from '../../db/geofences.js';
import { notifyLive } from '../../db/live-feed.js';
import { insertTelemetryEvents, type NewTelemetryEvent } from '../../db/telemetry-events.js';
import type { AlarmRule } from '../../domain/alarm-lifecycle.js';
import { EMPTY_ROAD_STATE, mustWriteRoadState, stepRoad, type RoadEvent, type RoadState } from '../../domain/geofence-rules.js';
import type { LiveEvent } from '../../domain/live-events.js';
import { sensorViolations, type SensorLimits, type SensorReadings } from '../../domain/sensor-rules.js';
import type { IncidentInput } from '../../workflows/contracts/incident.js';
import { incidentWorkflowId } from '../../workflows/contracts/incident.js';
import { shipmentWorkflowId } from '../../workflows/contracts/shipment.js';
import type { Detector, StoredPoint } from '../pipeline.js';
import type { GeofenceIndex } from './geofence-index.js';

const NO_LIMITS: SensorLimits = { temperatureMinC: null, temperatureMaxC: null, tiltMaxDeg: null };

/** The named readings of a point, each only when it has the type its rule reads. */
function readingsOf(sensors: StoredPoint['sensors']): SensorReadings {
  const readings: SensorReadings = {};
  const number = (name: keyof SensorReadings) => {
    const value = sensors[name];
    return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
  };
  const flag = (name: keyof SensorReadings) => (typeof sensors[name] === 'boolean' ? (sensors[name] as boolean) : undefined);
  const temperatureC = number('temperatureC');
  const tiltDeg = number('tiltDeg');
  const leak = flag('leak');
  const doorOpen = flag('doorOpen');
  if (temperatureC !== undefined) readings.temperatureC = temperatureC;
  if (tiltDeg !== undefined) readings.tiltDeg = tiltDeg;
  if (leak !== undefined) readings.leak = leak;
  if (doorOpen !== undefined) readings.doorOpen = doorOpen;
  return readings;
}

const byDeviceTime = (a: StoredPoint, b: StoredPoint) => a.recordedAt.getTime() - b.recordedAt.getTime() || a.sequence - b.sequence;

/**
 * Geofence crossings, shipment road events and sensor alarms of a batch, all written in the
 * points' transaction: the events into the outbox (telemetry_events, sent to Temporal by the
 * relay), the alarms into `alarms` and the live feed. Per company and batch: one read of the
 * vehicles' remembered state and shipments, one write of the states that changed, one of the
 * events; PostGIS is asked again only when the in-memory index says a vehicle crossed an edge.
 */
export function createDetector(geofences: GeofenceIndex): Detector {
  return {
    async detect(tx, companyId, points) {
      if (points.length === 0) return;
      const sorted = [...points].sort(byDeviceTime);
      const vehicleIds = [...new Set(sorted.flatMap((p) => (p.vehicleId ? [p.vehicleId] : [])))];
      const contexts = await vehicleRoadContexts(tx, vehicleIds);
      const events: NewTelemetryEvent[] = [];
      const live: LiveEvent[] = [];

      // The road: each vehicle's located points in device-time order.
      const located = sorted.filter((p): p is StoredPoint & { vehicleId: string; lat: number; lon: number } => p.vehicleId !== null && p.lat !== null && p.lon !== null);
      if (located.length > 0) {
        const index = await geofences.forCompany(tx, companyId);
        const states = new Map<string, RoadState>();
        for (const vehicleId of vehicleIds) states.set(vehicleId, contexts.get(vehicleId)?.state ?? EMPTY_ROAD_STATE);
        for (const point of located) {
          const context = contexts.get(point.vehicleId);
          const before = states.get(point.vehicleId)!;
          if (before.lastAt !== null && point.recordedAt.getTime() <= before.lastAt) continue;
          // A geofence deleted since is left silently: it no longer exists to be exited.
          const known = before.inside.filter((id) => index.get(id));
          let insideNow = index.covering(point.lon, point.lat);
          if (insideNow.length !== known.length || insideNow.some((id, i) => id !== known[i])) {
            insideNow = await geofencesCovering(tx, [...new Set([...insideNow, ...known])], point);
          }
          const step = stepRoad({ ...before, inside: known }, { lat: point.lat, lon: point.lon, at: point.recordedAt.getTime() }, insideNow, (id) => index.get(id)?.kind === 'RESTRICTED_DG', context?.shipment ?? null);
          states.set(point.vehicleId, step.state);
          for (const event of step.events) events.push(roadEvent(event, point, context, (id) => index.get(id)?.name ?? id));
        }
        const changed = new Map([...states].filter(([vehicleId, state]) => mustWriteRoadState(contexts.get(vehicleId)?.state ?? null, state) && state.lastAt !== null));
        await saveVehicleRoadStates(tx, companyId, changed);
      }

      // Sensors: the first breach of each (device, rule) in the batch raises or counts its alarm.
      const readings = sorted.map((point) => ({ point, readings: readingsOf(point.sensors) })).filter(({ readings: r }) => Object.keys(r).length > 0);
      if (readings.length > 0) {
        const limited = [...new Set(readings.filter(({ readings: r }) => r.temperatureC !== undefined || r.tiltDeg !== undefined).map(({ point }) => point.deviceId))];
        const limits = await deviceSensorLimits(tx, limited);
        const seen = new Set<string>();
        for (const { point, readings: r } of readings) {
          const context = point.vehicleId ? contexts.get(point.vehicleId) : undefined;
          const violations = sensorViolations(r, limits.get(point.deviceId) ?? NO_LIMITS, { temperatureControlledLoad: context?.temperatureControlledLoad ?? false, speedKmh: point.speedKmh });
          for (const violation of violations) {
            const key = `${point.deviceId}|${violation.rule}`;
            if (seen.has(key)) continue;
            seen.add(key);
            const location = point.lat !== null && point.lon !== null ? { lat: point.lat, lon: point.lon } : null;
            const alarm = await raiseAlarm(tx, {
              companyId,
              deviceId: point.deviceId,
              vehicleId: point.vehicleId,
              rule: violation.rule,
              severity: violation.severity,
              message: violation.message,
              citation: violation.citation,
              value: violation.value,
              at: point.recordedAt,
              location,
              incidentId: violation.incidentKind ? randomUUID() : null,
            });
            if (!alarm.created) continue;
            live.push({ type: 'alarm', alarmId: alarm.id, state: 'ACTIVE_UNACK', severity: violation.severity, rule: violation.rule, vehicleId: point.vehicleId, deviceId: point.deviceId, at: point.recordedAt.toISOString(), message: violation.message });
            const incident: IncidentInput | null =
              alarm.incidentId && violation.incidentKind
                ? {
                    companyId,
                    incidentId: alarm.incidentId,
                    kind: violation.incidentKind,
                    severity: violation.severity,
                    shipmentId: context?.shipment?.id ?? null,
                    vehicleId: point.vehicleId,
                    description: `Alarm ${violation.rule}: ${violation.message}${violation.citation ? ` (${violation.citation})` : ''}`,
                    reportedBy: null,
                    occurredAt: point.recordedAt.toISOString(),
                    location,
                    source: 'alarm',
                  }
                : null;
            events.push({
              kind: 'alarm.raised',
              deviceId: point.deviceId,
              vehicleId: point.vehicleId,
              shipmentId: context?.shipment?.id ?? null,
              geofenceId: null,
              alarmId: alarm.id,
              occurredAt: point.recordedAt,
              workflowId: incident ? incidentWorkflowId(incident.incidentId) : null,
              payload: incident ? { rule: violation.rule satisfies AlarmRule, incident } : { rule: violation.rule },
            });
          }
        }
      }

      await insertTelemetryEvents(tx, companyId, events);
      await notifyLive(tx, companyId, live);
    },
  };
}

/** A road event as an outbox row: a shipment's events go to its workflow; crossings are recorded only. */
function roadEvent(event: RoadEvent, point: StoredPoint, context: VehicleRoadContext | undefined, geofenceName: (id: string) => string): NewTelemetryEvent {
  const shipmentId = context?.shipment?.id ?? null;
  const geofenceId = 'geofenceId' in event ? event.geofenceId : null;
  const toShipment = event.kind.startsWith('shipment.') && shipmentId !== null;
  return {
    kind: event.kind,
    deviceId: point.deviceId,
    vehicleId: point.vehicleId,
    shipmentId,
    geofenceId,
    alarmId: null,
    occurredAt: point.recordedAt,
    workflowId: toShipment ? shipmentWorkflowId(shipmentId) : null,
    payload: geofenceId ? { name: geofenceName(geofenceId) } : {},
  };
}
