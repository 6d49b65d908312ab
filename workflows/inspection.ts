import { ActivityFailure, ApplicationFailure, allHandlersFinished, condition, continueAsNew, log, proxyActivities, setHandler, sleep, upsertSearchAttributes, uuid4, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import {
  afterOverdue,
  afterResult,
  daysUntil,
  dueInstant,
  INSPECTION_TYPE_DEFINITIONS,
  inspectionResult,
  nextTimer,
  remindersCovered,
  resultRefusal,
  type ProgramStanding,
} from '../domain/inspection-lifecycle.js';
import {
  historyQuery,
  INSPECTION_REFUSED,
  InspectionSearchAttributes,
  openProgramUpdate,
  RECENT_RESULTS,
  recordResultUpdate,
  retireUpdate,
  stateQuery,
  type Actor,
  type InspectionInput,
  type InspectionProgramState,
  type InspectionRecord,
  type OpenProgram,
} from './contracts/inspection.js';

const { openInspectionProgram, recordInspectionProgram } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});
// A notification is worth retrying for a while, not forever: the grounding, not the message, is what keeps the vehicle off the road.
const { notifyCompany } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '5 seconds', maximumInterval: '10 minutes', maximumAttempts: 10 },
});

const refuse = (reason: string): never => {
  throw ApplicationFailure.nonRetryable(reason, INSPECTION_REFUSED);
};

/**
 * One vehicle's programme for one inspection type (domain/inspection-lifecycle.ts). Opened by an
 * update sent with the start; then it sleeps on timers to the next reminder (managers notified) and
 * to the due date (overdue: the vehicle is grounded), and takes results as validated updates: a PASS
 * sets the next due date and lifts this type's grounding, a FAIL grounds the vehicle naming the
 * failed items. Every change reaches the programme's and the vehicle's rows through one activity,
 * the only writer of a vehicle's status. Changes run one at a time, in arrival order. Each cycle
 * (a PASS) continues as new, carrying the programme's state; `retire` ends it.
 */
export async function inspectionWorkflow(input: InspectionInput, carried?: InspectionProgramState): Promise<InspectionProgramState> {
  const type = input.inspectionType;
  const { label } = INSPECTION_TYPE_DEFINITIONS[type];
  const state: InspectionProgramState = carried ?? { programId: null, status: null, nextDueOn: null, groundedReason: null, remindersSent: [], lastPerformedAt: null, recent: [], notices: [] };
  /** Bumped on every change the timers depend on: the main loop sleeps until it moves or a timer fires. */
  let revision = 0;
  let cycleEnded = false;
  let ended = false;
  let openFailed = false;

  /** Changes finished so far: a run ends only once no update was answered in the workflow task that ends it. */
  let finished = 0;
  // Changes queue behind one another (a promise chain: deterministic), so a result never interleaves with a reminder or the grounding.
  let tail: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(work: () => Promise<T>): Promise<T> => {
    const run = tail.then(work).finally(() => {
      finished += 1;
    });
    tail = run.catch(() => undefined);
    return run;
  };
  /** An activity's non-retryable refusal (the vehicle is gone) becomes the update's own, so the caller reads the reason. */
  const asRefusal = (error: unknown): never => {
    if (error instanceof ActivityFailure && error.cause instanceof ApplicationFailure && error.cause.nonRetryable) refuse(error.cause.message);
    throw error;
  };
  const standing = (): ProgramStanding => ({ status: state.status!, nextDueOn: state.nextDueOn!, groundedReason: state.groundedReason });
  const notice = (subject: string, text: string, idempotencyKey: string) => {
    state.notices.push({ subject, text, idempotencyKey });
  };
  const setDue = (nextDueOn: string) => upsertSearchAttributes([{ key: InspectionSearchAttributes.InspectionDueOn, value: dueInstant(nextDueOn) }]);

  /** Writes the programme's new standing (and the inspection, for a result) and answers how the vehicle now stands. */
  const apply = async (event: 'reminder' | 'overdue' | 'result' | 'retire', next: ProgramStanding, by: Actor | null, detail: string | null, inspection?: InspectionRecord) => {
    const vehicle = await recordInspectionProgram({ companyId: input.companyId, vehicleId: input.vehicleId, programId: state.programId!, inspectionType: type, event, standing: next, by, detail, ...(inspection ? { inspection } : {}) });
    state.status = next.status;
    state.nextDueOn = next.nextDueOn;
    state.groundedReason = next.groundedReason;
    revision += 1;
    return vehicle;
  };

  setHandler(stateQuery, () => state);
  setHandler(historyQuery, () => state.recent);

  const alreadyOpen = () => (state.programId !== null ? `a ${type} inspection programme already runs for this vehicle (next due on ${state.nextDueOn})` : null);
  setHandler(
    openProgramUpdate,
    ({ firstDueOn, by }) =>
      exclusive(async () => {
        const open = alreadyOpen();
        if (open) refuse(open);
        const opened = await openInspectionProgram({ companyId: input.companyId, vehicleId: input.vehicleId, inspectionType: type, firstDueOn, workflowId: workflowInfo().workflowId, by }).catch((error: unknown) => {
          openFailed = true;
          return asRefusal(error);
        });
        Object.assign(state, opened);
        setDue(opened.nextDueOn);
        revision += 1;
        return state;
      }),
    {
      validator: (_open: OpenProgram) => {
        const open = alreadyOpen();
        if (open) refuse(open);
      },
    },
  );

  const resultRefused = (submission: Parameters<typeof resultRefusal>[2]) => resultRefusal({ status: state.status, lastPerformedAt: state.lastPerformedAt }, type, submission, Date.now());
  setHandler(
    recordResultUpdate,
    (submission) =>
      exclusive(async () => {
        // Checked again in turn: a change queued ahead of this one (a retirement) may have settled it.
        const refused = resultRefused(submission);
        if (refused) refuse(refused);
        const next = afterResult(type, standing(), submission.performedAt, submission.items);
        const record: InspectionRecord = {
          inspectionId: uuid4(),
          inspectionType: type,
          result: inspectionResult(type, submission.items),
          items: submission.items,
          inspector: submission.inspector,
          performedAt: submission.performedAt,
          photoDocumentIds: submission.photoDocumentIds,
          recordedBy: submission.by.username ?? submission.by.subject,
          nextDueOn: next.nextDueOn,
        };
        const vehicle = await apply('result', next, submission.by, next.groundedReason, record);
        state.lastPerformedAt = submission.performedAt;
        state.recent = [record, ...state.recent].slice(0, RECENT_RESULTS);
        if (record.result === 'PASS') {
          state.remindersSent = [];
          setDue(next.nextDueOn);
          cycleEnded = true;
        } else {
          notice(`Vehicle ${vehicle.registration} grounded: ${label} failed`, `Vehicle ${vehicle.registration} is grounded: ${next.groundedReason}. A passing ${label} lifts it.`, `inspection-failed-${record.inspectionId}`);
        }
        return { inspection: record, program: state, vehicle };
      }),
    {
      validator: (submission) => {
        const refused = resultRefused(submission);
        if (refused) refuse(refused);
      },
    },
  );

  const notRetirable = () => (state.programId === null ? `no ${type} inspection programme runs for this vehicle` : state.status === 'RETIRED' ? `the ${type} inspection programme is already retired` : null);
  setHandler(
    retireUpdate,
    ({ reason, by }) =>
      exclusive(async () => {
        const refused = notRetirable();
        if (refused) refuse(refused);
        await apply('retire', { status: 'RETIRED', nextDueOn: state.nextDueOn!, groundedReason: null }, by, reason);
        ended = true;
        return state;
      }),
    {
      validator: (_retire: { reason: string; by: Actor }) => {
        const refused = notRetirable();
        if (refused) refuse(refused);
      },
    },
  );

  /** The timer that came due, acted on in turn (a result queued ahead of it may have moved the due date: then it is due no more). */
  const onTimer = () =>
    exclusive(async () => {
      const timer = state.status === null || state.nextDueOn === null ? null : nextTimer({ status: state.status, nextDueOn: state.nextDueOn, remindersSent: state.remindersSent }, type, Date.now());
      if (!timer || timer.at > Date.now()) return;
      const dueOn = state.nextDueOn!;
      if (timer.kind === 'reminder') {
        const days = daysUntil(dueOn, Date.now());
        const vehicle = await apply('reminder', { ...standing(), status: state.status === 'CURRENT' ? 'DUE_SOON' : state.status! }, null, `due on ${dueOn}, in ${days} days`);
        state.remindersSent = [...new Set([...state.remindersSent, ...remindersCovered(type, timer.leadDays)])];
        notice(
          `${label} of vehicle ${vehicle.registration} due on ${dueOn}`,
          `The ${label} of vehicle ${vehicle.registration} is due on ${dueOn} (in ${days} days). Not recorded by then, the vehicle is grounded.`,
          `inspection-reminder-${input.vehicleId}-${type}-${dueOn}-${timer.leadDays}`,
        );
        return;
      }
      const next = afterOverdue(type, standing());
      const vehicle = await apply('overdue', next, null, next.groundedReason);
      if (INSPECTION_TYPE_DEFINITIONS[type].noticeWhenOverdue) {
        notice(`Vehicle ${vehicle.registration} grounded: ${label} overdue`, `Vehicle ${vehicle.registration} is grounded: ${next.groundedReason}. A passing ${label} lifts it.`, `inspection-overdue-${input.vehicleId}-${type}-${dueOn}`);
      }
    });

  // Notifications go out beside the programme, never in its way: a slow channel delays no grounding and no update's answer.
  let stopNotifier = false;
  const notifier = (async () => {
    for (;;) {
      await condition(() => state.notices.length > 0 || stopNotifier);
      const next = state.notices[0];
      if (!next) return;
      await notifyCompany({ companyId: input.companyId, audience: 'managers', ...next }).catch((error: unknown) => {
        log.warn('inspection notification not sent', { idempotencyKey: next.idempotencyKey, error: String(error) });
      });
      state.notices.shift();
    }
  })();
  /**
   * Before the run ends or continues as new: notifications sent, every update answered — in a workflow
   * task before the last one, since an update completed in the same task as continue-as-new can be
   * lost to its caller (temporalio/temporal#6375).
   */
  const settle = async () => {
    stopNotifier = true;
    await notifier;
    for (;;) {
      await condition(allHandlersFinished);
      const seen = finished;
      await sleep(1);
      if (allHandlersFinished() && finished === seen) return;
    }
  };

  // A run the API started opens in its first update; one that was never opened (or failed to) ends.
  if (state.programId === null && !(await condition(() => state.programId !== null || openFailed, '1 hour'))) openFailed = true;
  if (openFailed && state.programId === null) {
    await settle();
    return state;
  }

  while (!ended) {
    if (cycleEnded || workflowInfo().continueAsNewSuggested) {
      await settle();
      // An update accepted while settling has run: if it retired the programme, the run ends here rather than continuing.
      if (ended) break;
      return continueAsNew<typeof inspectionWorkflow>(input, state);
    }
    const timer = nextTimer({ status: state.status!, nextDueOn: state.nextDueOn!, remindersSent: state.remindersSent }, type, Date.now());
    const seen = revision;
    const woken = () => revision !== seen || ended || cycleEnded || workflowInfo().continueAsNewSuggested;
    if (!timer) {
      await condition(woken);
      continue;
    }
    if (await condition(woken, Math.max(timer.at - Date.now(), 1))) continue;
    await onTimer();
  }
  await settle();
  return state;
}
