import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { inspectionActivities } from '../../activities/inspections.js';
import type { Activities } from '../../activities/index.js';
import { inTenant, type Database } from '../../db/orm.js';
import { addInterval, dayOf, INSPECTION_TYPE_DEFINITIONS, type ItemResult } from '../../domain/inspection-lifecycle.js';
import { historyQuery, inspectionWorkflowId, openProgramUpdate, recordResultUpdate, retireUpdate, stateQuery, type Actor } from '../../workflows/contracts/inspection.js';
import type { inspectionWorkflow } from '../../workflows/inspection.js';
import { addSearchAttributes } from '../../services/search-attributes.js';
import { ACME, testDatabase, testEnv } from '../support/stack.js';

type Notice = Parameters<Activities['notifyCompany']>[0];

/**
 * The inspection workflow on Temporal's time-skipping server, with its real activities on the test
 * database: a year of reminders and due dates skipped, not waited. Notifications are the one
 * activity played here (A's channels are tested with their own servers): each call is handed to
 * the test, which waits for it, so every assertion reads what the workflow has already written.
 */
describe('inspection workflow on the time-skipping server', () => {
  let env: TestWorkflowEnvironment;
  let db: Database;
  beforeAll(async () => {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    [env, db] = await Promise.all([TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: testEnv().TEMPORAL_TEST_SERVER_PATH! } } }), testDatabase()]);
    await addSearchAttributes(env.connection, env.namespace ?? 'default');
  });
  afterAll(async () => {
    await env?.teardown();
    await db?.close();
  });

  /** Notifications in the order the workflow sent them; `next()` waits for the one after those already taken. */
  function noticeInbox() {
    const received: Notice[] = [];
    const waiting: Array<(notice: Notice) => void> = [];
    let taken = 0;
    return {
      received,
      async notifyCompany(notice: Notice) {
        received.push(notice);
        waiting.shift()?.(notice);
        return { sent: 1 };
      },
      next(): Promise<Notice> {
        const index = taken++;
        return index < received.length ? Promise.resolve(received[index]!) : new Promise((resolve) => waiting.push(resolve));
      },
    };
  }

  const sql = <T>(query: string, params: unknown[]) => inTenant(db, ACME, (em) => em.execute<T[]>(query, params));
  const vehicleRow = async (id: string) =>
    (await sql<{ status: string; grounded_reason: string | null; expires: string | null }>(`SELECT status, grounded_reason, to_char(inspection_expires_on, 'YYYY-MM-DD') AS expires FROM vehicles WHERE id = ?`, [id]))[0]!;
  const programRow = async (vehicleId: string) => (await sql<{ status: string; next_due: string; grounded_reason: string | null }>(`SELECT status, to_char(next_due_on, 'YYYY-MM-DD') AS next_due, grounded_reason FROM inspection_programs WHERE vehicle_id = ?`, [vehicleId]))[0]!;
  async function newVehicle(suffix: string) {
    const registration = `TS${Date.now().toString(36).slice(-6)}${suffix}`.toUpperCase();
    const [row] = await sql<{ id: string }>(`INSERT INTO vehicles (company_id, registration, vehicle_type, capacity_kg, inspection_expires_on) VALUES (?, ?, 'TANKER', 20000, '2031-06-30') RETURNING id`, [ACME, registration]);
    return { id: row!.id, registration };
  }
  const checklist = (failed: Record<string, string> = {}): ItemResult[] =>
    INSPECTION_TYPE_DEFINITIONS.PERIODIC_DG.checklist.map((c) => (c.id in failed ? { item: c.id, result: 'FAIL', notes: failed[c.id] } : { item: c.id, result: 'PASS' }));
  const by: Actor = { subject: 'test', username: 'acme-manager' };
  const DAY = 86_400_000;

  it('reminds before the due date, grounds when overdue, grounds a failure with its items, lifts it with a pass, and carries the programme into the next run', async () => {
    const inbox = noticeInbox();
    const taskQueue = 'inspection-timers';
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: inject('workflowBundle'), activities: { ...inspectionActivities(db), notifyCompany: inbox.notifyCompany } });
    const vehicle = await newVehicle('A');
    const start = await env.currentTimeMs();
    // Due 40 days ahead: reminders on day 10 (30 days before) and day 33 (7 days before); overdue from day 41.
    const dueOn = dayOf(start + 40 * DAY);
    const workflowId = inspectionWorkflowId(vehicle.id, 'PERIODIC_DG');

    await worker.runUntil(async () => {
      const handle = await env.client.workflow.start<typeof inspectionWorkflow>('inspectionWorkflow', { taskQueue, workflowId, args: [{ companyId: ACME, vehicleId: vehicle.id, inspectionType: 'PERIODIC_DG' }] });
      const firstRunId = handle.firstExecutionRunId;
      const opened = await handle.executeUpdate(openProgramUpdate, { args: [{ firstDueOn: dueOn, by }] });
      expect(opened).toMatchObject({ status: 'CURRENT', nextDueOn: dueOn, groundedReason: null });
      // The programme keeps the vehicle's DG inspection expiry from now on.
      expect(await vehicleRow(vehicle.id)).toEqual({ status: 'ACTIVE', grounded_reason: null, expires: dueOn });
      const again = await handle.executeUpdate(openProgramUpdate, { args: [{ firstDueOn: dueOn, by }] }).catch((error: unknown) => (error instanceof WorkflowUpdateFailedError ? error.cause?.message : error));
      expect(again).toBe(`a PERIODIC_DG inspection programme already runs for this vehicle (next due on ${dueOn})`);

      await env.sleep(11 * DAY);
      expect(await inbox.next()).toEqual({
        companyId: ACME,
        audience: 'managers',
        subject: `annual DG vehicle inspection of vehicle ${vehicle.registration} due on ${dueOn}`,
        text: `The annual DG vehicle inspection of vehicle ${vehicle.registration} is due on ${dueOn} (in 30 days). Not recorded by then, the vehicle is grounded.`,
        idempotencyKey: `inspection-reminder-${vehicle.id}-PERIODIC_DG-${dueOn}-30`,
      });
      expect(await programRow(vehicle.id)).toEqual({ status: 'DUE_SOON', next_due: dueOn, grounded_reason: null });
      await env.sleep(23 * DAY);
      expect((await inbox.next()).idempotencyKey).toBe(`inspection-reminder-${vehicle.id}-PERIODIC_DG-${dueOn}-7`);
      expect(await vehicleRow(vehicle.id)).toMatchObject({ status: 'ACTIVE' });

      // The due date passes with nothing recorded: grounded, and the managers told.
      await env.sleep(8 * DAY);
      const overdue = `annual DG vehicle inspection overdue (was due on ${dueOn})`;
      expect(await inbox.next()).toMatchObject({ subject: `Vehicle ${vehicle.registration} grounded: annual DG vehicle inspection overdue`, idempotencyKey: `inspection-overdue-${vehicle.id}-PERIODIC_DG-${dueOn}` });
      expect(await vehicleRow(vehicle.id)).toEqual({ status: 'GROUNDED', grounded_reason: overdue, expires: dueOn });
      expect(await programRow(vehicle.id)).toEqual({ status: 'OVERDUE', next_due: dueOn, grounded_reason: overdue });

      // A failing inspection: still grounded, now naming what failed; the due date stays.
      const now = await env.currentTimeMs();
      const failedAt = new Date(now - 60 * 60_000).toISOString();
      const failed = await handle.executeUpdate(recordResultUpdate, { args: [{ items: checklist({ 'brake-system': 'air leak at the trailer coupling', 'cab-body': 'dented door' }), inspector: 'I. Inspector', performedAt: failedAt, photoDocumentIds: [], by }] });
      const failure = `annual DG vehicle inspection failed on ${dayOf(failedAt)}: Brake system (air leak at the trailer coupling)`;
      expect(failed.inspection.result).toBe('FAIL');
      expect(failed.vehicle).toEqual({ registration: vehicle.registration, status: 'GROUNDED', groundedReason: failure, inspectionExpiresOn: dueOn });
      expect(await vehicleRow(vehicle.id)).toEqual({ status: 'GROUNDED', grounded_reason: failure, expires: dueOn });
      expect((await inbox.next()).text).toBe(`Vehicle ${vehicle.registration} is grounded: ${failure}. A passing annual DG vehicle inspection lifts it.`);

      // One from the future, or older than the failure, is refused and changes nothing.
      const refused = (performedAt: string) =>
        handle.executeUpdate(recordResultUpdate, { args: [{ items: checklist(), inspector: 'I. Inspector', performedAt, photoDocumentIds: [], by }] }).catch((error: unknown) => (error instanceof WorkflowUpdateFailedError ? error.cause?.message : error));
      const future = new Date(now + DAY).toISOString();
      expect(await refused(future)).toBe(`performedAt ${future} is in the future`);
      const older = new Date(now - 2 * 60 * 60_000).toISOString();
      expect(await refused(older)).toBe(`performedAt ${older} is not after the last PERIODIC_DG inspection recorded (${failedAt})`);
      expect(await refused(failedAt)).toBe(`performedAt ${failedAt} is not after the last PERIODIC_DG inspection recorded (${failedAt})`);

      // The repair passes: the grounding lifts, the next due date is a year from the pass, and the cycle continues as new.
      const passedAt = new Date(now - 30 * 60_000).toISOString();
      const photo = '0b6f3f1e-2d1c-4c55-9a57-3f6de1e0a001';
      const passed = await handle.executeUpdate(recordResultUpdate, { args: [{ items: checklist(), inspector: 'I. Inspector', performedAt: passedAt, photoDocumentIds: [photo], by }] });
      const nextDue = addInterval(dayOf(passedAt), { count: 1, unit: 'year' });
      expect(passed.vehicle).toEqual({ registration: vehicle.registration, status: 'ACTIVE', groundedReason: null, inspectionExpiresOn: nextDue });
      expect(await vehicleRow(vehicle.id)).toEqual({ status: 'ACTIVE', grounded_reason: null, expires: nextDue });
      expect(await programRow(vehicle.id)).toEqual({ status: 'CURRENT', next_due: nextDue, grounded_reason: null });
      expect(await sql<{ result: string; photos: string[] }>('SELECT result, photo_document_ids::text[] AS photos FROM inspections WHERE vehicle_id = ? ORDER BY performed_at', [vehicle.id])).toEqual([
        { result: 'FAIL', photos: [] },
        { result: 'PASS', photos: [photo] },
      ]);

      const described = await handle.describe();
      expect(described.runId).not.toBe(firstRunId);
      const { events } = await env.client.workflow.getHandle(workflowId, firstRunId).fetchHistory();
      expect(events!.at(-1)!.workflowExecutionContinuedAsNewEventAttributes).toBeTruthy();
      const carried = await handle.query(stateQuery);
      expect(carried).toMatchObject({ programId: opened.programId, status: 'CURRENT', nextDueOn: nextDue, groundedReason: null, remindersSent: [], lastPerformedAt: passedAt });
      expect((await handle.query(historyQuery)).map((r) => r.result)).toEqual(['PASS', 'FAIL']);

      // The next run keeps the timers: the 30-day reminder of the next due date comes.
      await env.sleep(Date.parse(`${nextDue}T00:00:00Z`) - 29 * DAY - (await env.currentTimeMs()));
      expect((await inbox.next()).idempotencyKey).toBe(`inspection-reminder-${vehicle.id}-PERIODIC_DG-${nextDue}-30`);

      // Retired (the vehicle is sold): the programme ends, its inspections stay.
      await handle.executeUpdate(retireUpdate, { args: [{ reason: 'vehicle sold', by }] });
      expect(await handle.result()).toMatchObject({ status: 'RETIRED' });
      expect(await programRow(vehicle.id)).toMatchObject({ status: 'RETIRED' });
    });
    expect(inbox.received).toHaveLength(5);
  });

  it('lifts only the grounding of its own type: by a pass, or by retiring the programme', async () => {
    const inbox = noticeInbox();
    const taskQueue = 'inspection-types';
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: inject('workflowBundle'), activities: { ...inspectionActivities(db), notifyCompany: inbox.notifyCompany } });
    const vehicle = await newVehicle('B');
    const now = await env.currentTimeMs();
    const yesterday = dayOf(now - DAY);
    await worker.runUntil(async () => {
      const start = (type: 'BRAKES' | 'TANK_LEAKAGE') =>
        env.client.workflow.start<typeof inspectionWorkflow>('inspectionWorkflow', { taskQueue, workflowId: inspectionWorkflowId(vehicle.id, type), args: [{ companyId: ACME, vehicleId: vehicle.id, inspectionType: type }] });
      const [brakes, leakage] = await Promise.all([start('BRAKES'), start('TANK_LEAKAGE')]);
      // Both start overdue (due yesterday): grounded at once, each type with its reason.
      await Promise.all([brakes.executeUpdate(openProgramUpdate, { args: [{ firstDueOn: yesterday, by }] }), leakage.executeUpdate(openProgramUpdate, { args: [{ firstDueOn: yesterday, by }] })]);
      expect([(await inbox.next()).subject, (await inbox.next()).subject].sort()).toEqual([
        `Vehicle ${vehicle.registration} grounded: brake inspection overdue`,
        `Vehicle ${vehicle.registration} grounded: cargo tank leakage test overdue`,
      ]);
      expect(await vehicleRow(vehicle.id)).toEqual({
        status: 'GROUNDED',
        grounded_reason: `brake inspection overdue (was due on ${yesterday}); cargo tank leakage test overdue (was due on ${yesterday})`,
        // The leakage test is a DG-relevant type: its due date is the vehicle's inspection expiry now.
        expires: yesterday,
      });

      // The tank is no longer in DG service: retiring its programme gives up its reason, the brakes' stays.
      // (Its run completes on its own: waiting for it here would let the time-skipping server skip the brakes' run to its 10-year timeout.)
      await leakage.executeUpdate(retireUpdate, { args: [{ reason: 'tank taken out of service', by }] });
      expect(await vehicleRow(vehicle.id)).toEqual({ status: 'GROUNDED', grounded_reason: `brake inspection overdue (was due on ${yesterday})`, expires: yesterday });

      const items: ItemResult[] = INSPECTION_TYPE_DEFINITIONS.BRAKES.checklist.map((c) => ({ item: c.id, result: 'PASS' }));
      const passed = await brakes.executeUpdate(recordResultUpdate, { args: [{ items, inspector: 'B. Rake', performedAt: new Date(now).toISOString(), photoDocumentIds: [], by }] });
      expect(passed.vehicle).toMatchObject({ status: 'ACTIVE', groundedReason: null });
      expect(await vehicleRow(vehicle.id)).toEqual({ status: 'ACTIVE', grounded_reason: null, expires: yesterday });
      await brakes.executeUpdate(retireUpdate, { args: [{ reason: 'vehicle sold', by }] });
      await brakes.result();
    });
    expect(inbox.received).toHaveLength(2);
  });
});
