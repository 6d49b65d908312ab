import type { TelemetryEventKind } from '../domain/geofence-rules.js';
import type { Database, EntityManager } from './orm.js';

/** The channel detection notifies (with the company's id) when it committed events bound for Temporal. */
export const PENDING_EVENTS_CHANNEL = 'telemetry_events_pending';

export interface NewTelemetryEvent {
  kind: TelemetryEventKind;
  deviceId: string | null;
  vehicleId: string | null;
  shipmentId: string | null;
  geofenceId: string | null;
  alarmId: string | null;
  occurredAt: Date;
  /** The workflow the relay sends it to; null: recorded only. */
  workflowId: string | null;
  payload: Record<string, unknown>;
}

/**
 * Records a batch's events in the writer's transaction (one statement), and when some are bound
 * for Temporal, wakes the relays at commit (NOTIFY is dropped on rollback, like the events).
 */
export async function insertTelemetryEvents(tx: EntityManager, companyId: string, events: readonly NewTelemetryEvent[]): Promise<void> {
  if (events.length === 0) return;
  await tx.execute(
    `INSERT INTO telemetry_events (company_id, kind, device_id, vehicle_id, shipment_id, geofence_id, alarm_id, occurred_at, workflow_id, payload)
     SELECT ?::uuid, e.kind, e.device_id, e.vehicle_id, e.shipment_id, e.geofence_id, e.alarm_id, e.occurred_at, e.workflow_id, e.payload
       FROM jsonb_to_recordset(?::jsonb) AS e(kind text, device_id uuid, vehicle_id uuid, shipment_id uuid, geofence_id uuid, alarm_id uuid, occurred_at timestamptz, workflow_id text, payload jsonb, ord int)
      ORDER BY e.ord`,
    [
      companyId,
      JSON.stringify(
        events.map((e, ord) => ({ kind: e.kind, device_id: e.deviceId, vehicle_id: e.vehicleId, shipment_id: e.shipmentId, geofence_id: e.geofenceId, alarm_id: e.alarmId, occurred_at: e.occurredAt.toISOString(), workflow_id: e.workflowId, payload: e.payload, ord })),
      ),
    ],
    'run',
  );
  if (events.some((e) => e.workflowId !== null)) await tx.execute('SELECT pg_notify(?, ?)', [PENDING_EVENTS_CHANNEL, companyId]);
}

export interface PendingTelemetryEvent {
  id: string;
  kind: TelemetryEventKind;
  workflowId: string;
  occurredAt: string;
  geofenceId: string | null;
  payload: Record<string, unknown>;
}

/** Companies with events waiting for the relay (a SECURITY DEFINER look-up across companies; the rest goes through RLS). */
export async function companiesWithPendingEvents(db: Database): Promise<string[]> {
  const rows = await db.em.fork().execute<Array<{ company_id: string }>>('SELECT company_id FROM pending_telemetry_event_companies()');
  return rows.map((row) => row.company_id);
}

/**
 * The company's oldest unsent events, locked until the caller's transaction ends; another relay
 * skips them rather than waiting, and sends the next ones.
 */
export async function claimPendingEvents(em: EntityManager, limit: number): Promise<PendingTelemetryEvent[]> {
  const rows = await em.execute<Array<{ id: string; kind: TelemetryEventKind; workflow_id: string; occurred_at: string; geofence_id: string | null; payload: Record<string, unknown> }>>(
    `SELECT id::text, kind, workflow_id, to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS occurred_at, geofence_id, payload
       FROM telemetry_events WHERE workflow_id IS NOT NULL AND sent_at IS NULL ORDER BY telemetry_events.id LIMIT ? FOR UPDATE SKIP LOCKED`,
    [limit],
  );
  return rows.map((row) => ({ id: row.id, kind: row.kind, workflowId: row.workflow_id, occurredAt: row.occurred_at, geofenceId: row.geofence_id, payload: row.payload }));
}

export async function markEventSent(em: EntityManager, id: string, outcome: string): Promise<void> {
  await em.execute('UPDATE telemetry_events SET sent_at = now(), outcome = ? WHERE id = ?', [outcome, id], 'run');
}
