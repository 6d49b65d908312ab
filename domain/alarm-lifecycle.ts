/**
 * An alarm's life, as plain data: raised by ingest when a sensor rule (domain/sensor-rules.ts) is
 * broken, acknowledged and cleared by people through the API. The database CHECKs hold the same
 * lists (written out in Migration20261202010000Alarms).
 */
import type { IncidentSeverity } from './incident-lifecycle.js';

export const ALARM_STATES = ['ACTIVE_UNACK', 'ACTIVE_ACK', 'CLEARED'] as const;
export type AlarmState = (typeof ALARM_STATES)[number];

/** The alarm severities are the incident ones: an alarm that raises an incident hands its severity on unchanged. */
export type AlarmSeverity = IncidentSeverity;

export const ALARM_RULES = ['temperature.band', 'leak', 'tilt', 'door.in-transit'] as const;
export type AlarmRule = (typeof ALARM_RULES)[number];

export const ALARM_EVENTS = ['acknowledge', 'clear'] as const;
export type AlarmEvent = (typeof ALARM_EVENTS)[number];

/** Event → the states it may leave from → the state it reaches. */
export const ALARM_TRANSITIONS: Readonly<Record<AlarmEvent, { readonly from: readonly AlarmState[]; readonly to: AlarmState }>> = {
  acknowledge: { from: ['ACTIVE_UNACK'], to: 'ACTIVE_ACK' },
  // Clearing says the condition is dealt with; an unacknowledged alarm may be cleared at once (acknowledged by clearing it).
  clear: { from: ['ACTIVE_UNACK', 'ACTIVE_ACK'], to: 'CLEARED' },
};

/** The states in which a new breach of the same rule on the same device is the same alarm, seen again. */
export const ACTIVE_ALARM_STATES: readonly AlarmState[] = ['ACTIVE_UNACK', 'ACTIVE_ACK'];

/** Why `event` cannot happen to an alarm in `state`, or null when it can. */
export function alarmRefusal(state: AlarmState, event: AlarmEvent): string | null {
  const { from } = ALARM_TRANSITIONS[event];
  if (from.includes(state)) return null;
  return `cannot ${event} an alarm that is ${state}; ${event} is allowed only from ${from.join(', ')}`;
}
