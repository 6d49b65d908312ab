import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import type { Activities } from '../../activities/index.js';
import type { IncidentSeverity, IncidentStatus } from '../../domain/incident-lifecycle.js';
import { acknowledgeUpdate, closeIncidentUpdate, incidentStateQuery, resolveUpdate, startResponseUpdate, type Actor, type IncidentInput } from '../../workflows/contracts/incident.js';
import type { incidentWorkflow } from '../../workflows/incident.js';
import { addSearchAttributes } from '../../services/search-attributes.js';
import { testEnv } from '../support/stack.js';

type IncidentActivities = Pick<Activities, 'recordIncident' | 'enrichIncident' | 'recordIncidentTransition' | 'recordIncidentEscalation' | 'notifyCompany' | 'fileGovernmentIncidentReport'>;

/** What the stub activities saw, in order. */
interface Seen {
  recorded: number;
  notified: string[];
  escalations: Array<{ step: number; audience: string; severity: IncidentSeverity }>;
  transitions: Array<{ event: string; status: IncidentStatus; by: string }>;
  reports: number;
}

function stubActivities(options: { serious?: boolean; reportRefused?: boolean } = {}): { activities: IncidentActivities; seen: Seen } {
  const seen: Seen = { recorded: 0, notified: [], escalations: [], transitions: [], reports: 0 };
  const activities: IncidentActivities = {
    async recordIncident(input) {
      seen.recorded += 1;
      return { id: input.incidentId, incidentNumber: 'INC-00007', status: 'REPORTED', severity: input.severity, shipmentNumber: null, vehicleId: input.vehicleId, created: seen.recorded === 1 };
    },
    async enrichIncident() {
      const criteria = options.serious ? [{ criterion: 'hospitalisation', detail: '1 person(s) admitted to hospital', citation: '49 CFR 171.15(b)(1)(ii)' }] : [];
      return { enrichment: { regime: '49cfr', vehicleId: null, shipmentNumbers: [], dangerousGoods: [], lastPosition: null }, serious: Boolean(options.serious), criteria };
    },
    async recordIncidentTransition(change) {
      seen.transitions.push({ event: change.event, status: change.status, by: change.by.username ?? change.by.subject });
    },
    async recordIncidentEscalation(escalation) {
      seen.escalations.push({ step: escalation.step, audience: escalation.audience, severity: escalation.severity });
    },
    async notifyCompany(request) {
      seen.notified.push(request.audience);
      return { sent: 2 };
    },
    async fileGovernmentIncidentReport() {
      seen.reports += 1;
      if (options.reportRefused) throw ApplicationFailure.nonRetryable('the authority refused the report: 400 missing location', 'GovernmentReportRefused');
      return { reference: 'GOV-1', filedAt: new Date().toISOString(), problem: null };
    },
  };
  return { activities, seen };
}

/** The incident workflow on Temporal's time-skipping server: escalation timers of 5 and 15 minutes skipped, not waited. */
describe('incident workflow on the time-skipping server', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: testEnv().TEMPORAL_TEST_SERVER_PATH! } } });
    await addSearchAttributes(env.connection, env.namespace ?? 'default');
  });
  afterAll(async () => {
    await env?.teardown();
  });

  const manager: Actor = { subject: 'sub-manager', username: 'acme-manager' };
  const input = (id: string, over: Partial<IncidentInput> = {}): IncidentInput => ({
    companyId: '11111111-1111-4111-8111-111111111111',
    incidentId: id,
    kind: 'LEAK',
    severity: 'MEDIUM',
    shipmentId: null,
    vehicleId: null,
    description: 'valve weeping at the rear',
    reportedBy: { subject: 'sub-driver', username: 'acme-driver' },
    occurredAt: '2026-12-01T10:00:00.000Z',
    location: { lat: -37.8, lon: 144.9 },
    source: 'api',
    ...over,
  });

  it('not acknowledged: the managers after 5 minutes, everyone after 15 with the severity one level up, each once', async () => {
    const { activities, seen } = stubActivities();
    const taskQueue = 'incident-escalation';
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: inject('workflowBundle'), activities });
    const state = await worker.runUntil(async () => {
      const handle = await env.client.workflow.start<typeof incidentWorkflow>('incidentWorkflow', { taskQueue, workflowId: 'incident-escalation', args: [input('00000000-0000-4000-8000-0000000000e1')] });
      await env.sleep('4 minutes');
      expect(seen.notified).toEqual(['emergency-contacts']);
      await env.sleep('2 minutes');
      expect(seen.notified).toEqual(['emergency-contacts', 'managers']);
      expect(seen.escalations).toEqual([{ step: 1, audience: 'managers', severity: 'MEDIUM' }]);
      await env.sleep('8 minutes');
      expect(seen.notified).toHaveLength(2);
      await env.sleep('2 minutes');
      expect(seen.notified).toEqual(['emergency-contacts', 'managers', 'everyone']);
      expect(seen.escalations).toEqual([
        { step: 1, audience: 'managers', severity: 'MEDIUM' },
        { step: 2, audience: 'everyone', severity: 'HIGH' },
      ]);
      // The policy is exhausted: an hour more brings nothing.
      await env.sleep('1 hour');
      expect(seen.notified).toHaveLength(3);
      await handle.executeUpdate(acknowledgeUpdate, { args: [manager] });
      return handle.query(incidentStateQuery);
    });
    expect(state).toMatchObject({ status: 'ACKNOWLEDGED', severity: 'HIGH', escalations: 2 });
    expect(state.timeline.map((e) => `${e.event}:${e.severity}`)).toEqual(['report:MEDIUM', 'enrich:MEDIUM', 'notify:MEDIUM', 'escalate:MEDIUM', 'notify:MEDIUM', 'escalate:HIGH', 'notify:HIGH', 'acknowledge:HIGH']);
    expect(state.timeline.find((e) => e.event === 'escalate')!.detail).toBe('not acknowledged within 5 minutes: managers notified');
  });

  it('acknowledged within 5 minutes: no escalation at all; then responds, resolves and closes, each with who; a refused government report is recorded', async () => {
    const { activities, seen } = stubActivities({ serious: true, reportRefused: true });
    const taskQueue = 'incident-acknowledged';
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: inject('workflowBundle'), activities });
    const result = await worker.runUntil(async () => {
      const handle = await env.client.workflow.start<typeof incidentWorkflow>('incidentWorkflow', { taskQueue, workflowId: 'incident-acknowledged', args: [input('00000000-0000-4000-8000-0000000000e2')] });
      await env.sleep('3 minutes');
      await handle.executeUpdate(acknowledgeUpdate, { args: [manager] });
      await env.sleep('1 hour');
      expect(seen.notified).toEqual(['emergency-contacts']);
      // Closing before resolving is refused by the validator, and nothing is recorded.
      await expect(handle.executeUpdate(closeIncidentUpdate, { args: [manager] })).rejects.toMatchObject({ cause: { message: 'cannot close an incident that is ACKNOWLEDGED; close is allowed only from RESOLVED' } });
      await handle.executeUpdate(startResponseUpdate, { args: [{ subject: 'sub-crew', username: 'acme-admin' }] });
      await handle.executeUpdate(resolveUpdate, { args: [{ resolution: 'valve tightened, 2 L absorbed', by: manager }] });
      await handle.executeUpdate(closeIncidentUpdate, { args: [manager] });
      return handle.result();
    });
    expect(seen.escalations).toEqual([]);
    expect(seen.transitions).toEqual([
      { event: 'acknowledge', status: 'ACKNOWLEDGED', by: 'acme-manager' },
      { event: 'start-response', status: 'RESPONDING', by: 'acme-admin' },
      { event: 'resolve', status: 'RESOLVED', by: 'acme-manager' },
      { event: 'close', status: 'CLOSED', by: 'acme-manager' },
    ]);
    expect(result.status).toBe('CLOSED');
    expect(seen.reports).toBe(1);
    expect(result.governmentReport).toMatchObject({ serious: true, reference: null, problem: 'the authority refused the report: 400 missing location' });
    const entries = result.timeline.map((e) => `${e.event}:${e.status}:${e.by}`);
    // The first notice and the report go out side by side: either may finish first.
    expect(entries.slice(2, 4).sort()).toEqual(['government-report:REPORTED:null', 'notify:REPORTED:null']);
    expect([...entries.slice(0, 2), ...entries.slice(4)]).toEqual([
      'report:REPORTED:acme-driver',
      'enrich:REPORTED:null',
      'acknowledge:ACKNOWLEDGED:acme-manager',
      'start-response:RESPONDING:acme-admin',
      'resolve:RESOLVED:acme-manager',
      'close:CLOSED:acme-manager',
    ]);
    expect(result.timeline.find((e) => e.event === 'resolve')!.detail).toBe('valve tightened, 2 L absorbed');
  });

  it('continues as new when its history grows, carrying the state: nothing recorded, notified or escalated twice', async () => {
    const { activities, seen } = stubActivities();
    const taskQueue = 'incident-continue';
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: inject('workflowBundle'), activities });
    const workflowId = 'incident-continue';
    const { runs, state } = await worker.runUntil(async () => {
      const handle = await env.client.workflow.start<typeof incidentWorkflow>('incidentWorkflow', { taskQueue, workflowId, args: [input('00000000-0000-4000-8000-0000000000e3', { continueAsNewAfterEvents: 30 })] });
      await env.sleep('6 minutes');
      await env.sleep('10 minutes');
      await handle.executeUpdate(acknowledgeUpdate, { args: [manager] });
      await handle.executeUpdate(startResponseUpdate, { args: [manager] });
      const first = await env.client.workflow.getHandle(workflowId, handle.firstExecutionRunId).fetchHistory();
      const latest = await env.client.workflow.getHandle(workflowId).describe();
      return { runs: { continued: Boolean(first.events!.at(-1)!.workflowExecutionContinuedAsNewEventAttributes), latestIsAnother: latest.runId !== handle.firstExecutionRunId }, state: await handle.query(incidentStateQuery) };
    });
    expect(runs).toEqual({ continued: true, latestIsAnother: true });
    expect(seen.recorded).toBe(1);
    expect(seen.notified).toEqual(['emergency-contacts', 'managers', 'everyone']);
    expect(seen.escalations.map((e) => e.step)).toEqual([1, 2]);
    expect(state).toMatchObject({ incidentNumber: 'INC-00007', status: 'RESPONDING', severity: 'HIGH', escalations: 2 });
    expect(state.timeline.map((e) => e.event)).toEqual(['report', 'enrich', 'notify', 'escalate', 'notify', 'escalate', 'notify', 'acknowledge', 'start-response']);
  });
});
