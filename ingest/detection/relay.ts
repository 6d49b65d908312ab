import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import type { Logger } from '../../config/logger.js';
import { inTenant, type Database } from '../../db/orm.js';
import { claimPendingEvents, companiesWithPendingEvents, markEventSent, type PendingTelemetryEvent } from '../../db/telemetry-events.js';
import { INCIDENT_WORKFLOW_TYPE, type IncidentInput } from '../../workflows/contracts/incident.js';
import { arrivedAtDestinationSignal, enteredRestrictedZoneSignal, leftOriginSignal, positionReportedSignal } from '../../workflows/contracts/shipment.js';

const BATCH = 50;

/**
 * Sends the outbox's events to Temporal, oldest first per company, and marks each sent in the
 * transaction that claimed it. A crash between the send and the mark sends it again: the shipment
 * workflow applies each eventId (the outbox row's id) once, and an incident's workflow id is
 * taken once (REJECT_DUPLICATE, even after it closed), so each event takes effect exactly once.
 */
export class EventRelay {
  private readonly queued = new Set<string>();
  private running: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly db: Database,
    private readonly client: Client,
    private readonly incidentsTaskQueue: string,
    private readonly log: Logger,
  ) {}

  /** A company has events waiting (a NOTIFY from a commit, or the sweep). */
  wake(companyId: string): void {
    if (this.closed) return;
    this.queued.add(companyId);
    this.running ??= this.drain().finally(() => {
      this.running = null;
      if (this.queued.size > 0 && !this.closed) this.wake([...this.queued][0]!);
    });
  }

  /** Every company with events waiting: at start, after the listener reconnected, and on the periodic sweep. */
  async sweep(): Promise<void> {
    for (const companyId of await companiesWithPendingEvents(this.db)) this.wake(companyId);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.queued.clear();
    await this.running;
  }

  private async drain(): Promise<void> {
    while (this.queued.size > 0 && !this.closed) {
      const companyId = [...this.queued][0]!;
      this.queued.delete(companyId);
      try {
        // A full batch may have more behind it.
        while (!this.closed && (await this.sendBatch(companyId)) === BATCH);
      } catch (error) {
        // Left unsent: the sweep offers it again.
        this.log.warn({ err: error, companyId }, 'telemetry events not sent to Temporal; retried by the next sweep');
      }
    }
  }

  private async sendBatch(companyId: string): Promise<number> {
    return inTenant(this.db, companyId, async (em) => {
      const events = await claimPendingEvents(em, BATCH);
      for (const event of events) {
        const outcome = await this.send(event);
        await markEventSent(em, event.id, outcome);
      }
      return events.length;
    });
  }

  private async send(event: PendingTelemetryEvent): Promise<string> {
    if (event.kind === 'alarm.raised') {
      const incident = event.payload.incident as IncidentInput;
      try {
        await this.client.workflow.start(INCIDENT_WORKFLOW_TYPE, { workflowId: event.workflowId, taskQueue: this.incidentsTaskQueue, args: [incident], workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE });
        return 'started';
      } catch (error) {
        if (error instanceof WorkflowExecutionAlreadyStartedError) return 'already-started';
        throw error;
      }
    }
    const handle = this.client.workflow.getHandle(event.workflowId);
    const road = { eventId: event.id, at: event.occurredAt };
    try {
      switch (event.kind) {
        case 'shipment.left-origin':
          await handle.signal(leftOriginSignal, road);
          break;
        case 'shipment.arrived':
          await handle.signal(arrivedAtDestinationSignal, road);
          break;
        case 'shipment.restricted-zone':
          await handle.signal(enteredRestrictedZoneSignal, { ...road, geofenceId: event.geofenceId!, name: String(event.payload.name ?? event.geofenceId) });
          break;
        case 'shipment.position':
          await handle.signal(positionReportedSignal, road);
          break;
        default:
          return 'not-a-signal';
      }
      return 'signalled';
    } catch (error) {
      // The shipment's workflow has ended (closed, cancelled) or never ran: nobody is left to tell.
      if (error instanceof WorkflowNotFoundError) return 'workflow-not-running';
      throw error;
    }
  }
}
