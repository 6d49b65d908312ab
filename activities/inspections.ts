import { ApplicationFailure } from '@temporalio/activity';
import { appendAudit } from '../db/audit.js';
import { insertInspection, lastPerformedAt, lockProgram, lockVehicle, openProgramRow, runningPrograms, writeProgramStanding, writeVehicleStanding, type VehicleRow } from '../db/inspections.js';
import { inTenant, type Database, type EntityManager } from '../db/orm.js';
import { INSPECTION_TYPE_DEFINITIONS, inspectionExpiry, intervalText, vehicleGrounding, type InspectionType, type ProgramStanding, type ProgramStatus } from '../domain/inspection-lifecycle.js';
import type { Actor, InspectionRecord, VehicleStanding } from '../workflows/contracts/inspection.js';

/** The workflow itself, when a change is the programme's doing (a reminder, the due date passing) rather than a person's. */
const WORKFLOW_ACTOR: Actor = { subject: 'workflow:inspection', username: null };

const gone = (vehicleId: string) => ApplicationFailure.nonRetryable(`vehicle ${vehicleId} is not in the company`, 'VehicleGone');

/**
 * The vehicle's standing derived from its running programmes (grounded while any gives a reason;
 * DG inspection expiry = the earliest due date of its DG-relevant ones), written when it changed and
 * audited as the vehicle's own change. Called with the vehicle row locked.
 */
async function settleVehicle(em: EntityManager, companyId: string, vehicleId: string, before: VehicleRow, by: Actor): Promise<VehicleStanding> {
  const programs = await runningPrograms(em, vehicleId);
  const grounding = vehicleGrounding(programs);
  const after = { ...grounding, inspectionExpiresOn: inspectionExpiry(programs) ?? before.inspectionExpiresOn };
  if (await writeVehicleStanding(em, vehicleId, before, after)) {
    const { registration: _, ...was } = before;
    const action = before.status === after.status ? 'vehicle.inspection_standing' : after.status === 'GROUNDED' ? 'vehicle.grounded' : 'vehicle.ungrounded';
    await appendAudit(em, { companyId, actorSubject: by.subject, actorUsername: by.username, action, entityType: 'vehicle', entityId: vehicleId, before: was, after });
  }
  return { registration: before.registration, ...after };
}

/** Activities of the inspection lifecycle that talk to PostgreSQL; the only writers of a vehicle's status and grounding reason. */
export function inspectionActivities(db: Database) {
  return {
    /** Opens (or adopts) the running programme of the vehicle and type, settles the vehicle, audits who opened it. */
    async openInspectionProgram(request: { companyId: string; vehicleId: string; inspectionType: InspectionType; firstDueOn: string; workflowId: string; by: Actor }): Promise<{ programId: string; status: ProgramStatus; nextDueOn: string; groundedReason: string | null; lastPerformedAt: string | null }> {
      return inTenant(db, request.companyId, async (em) => {
        const vehicle = await lockVehicle(em, request.vehicleId);
        if (!vehicle) throw gone(request.vehicleId);
        const { program, made } = await openProgramRow(em, { ...request, interval: intervalText(INSPECTION_TYPE_DEFINITIONS[request.inspectionType].interval) });
        await appendAudit(em, {
          companyId: request.companyId,
          actorSubject: request.by.subject,
          actorUsername: request.by.username,
          action: made ? 'inspection.program_opened' : 'inspection.program_adopted',
          entityType: 'inspection_program',
          entityId: program.id,
          after: { vehicleId: request.vehicleId, inspectionType: program.inspectionType, interval: program.interval, nextDueOn: program.nextDueOn, status: program.status },
        });
        await settleVehicle(em, request.companyId, request.vehicleId, vehicle, request.by);
        return { programId: program.id, status: program.status, nextDueOn: program.nextDueOn, groundedReason: program.groundedReason, lastPerformedAt: await lastPerformedAt(em, request.vehicleId, request.inspectionType) };
      });
    },

    /**
     * Writes a programme's new standing — a reminder, the due date passed, a result (with its
     * inspection, once however often retried), a retirement — then settles the vehicle, all in one
     * transaction with their audit entries; answers how the vehicle now stands.
     */
    async recordInspectionProgram(change: {
      companyId: string;
      vehicleId: string;
      programId: string;
      inspectionType: InspectionType;
      event: 'reminder' | 'overdue' | 'result' | 'retire';
      standing: ProgramStanding;
      by: Actor | null;
      detail: string | null;
      inspection?: InspectionRecord;
    }): Promise<VehicleStanding> {
      const by = change.by ?? WORKFLOW_ACTOR;
      return inTenant(db, change.companyId, async (em) => {
        const vehicle = await lockVehicle(em, change.vehicleId);
        if (!vehicle) throw gone(change.vehicleId);
        const before = await lockProgram(em, change.programId);
        if (!before) throw ApplicationFailure.nonRetryable(`inspection programme ${change.programId} does not exist`, 'ProgramGone');
        const audit = { companyId: change.companyId, actorSubject: by.subject, actorUsername: by.username };
        const { inspection } = change;
        if (inspection) {
          const added = await insertInspection(em, { ...inspection, id: inspection.inspectionId, companyId: change.companyId, vehicleId: change.vehicleId, programId: change.programId, by });
          // Already recorded by an earlier attempt of this activity, which committed: nothing more to write.
          if (!added) return settleVehicle(em, change.companyId, change.vehicleId, vehicle, by);
          const { inspectionId: _, ...recorded } = inspection;
          await appendAudit(em, { ...audit, action: 'inspection.recorded', entityType: 'inspection', entityId: inspection.inspectionId, after: { ...recorded, vehicleId: change.vehicleId, programId: change.programId } });
        }
        await writeProgramStanding(em, change.programId, change.standing, change.event === 'retire' ? change.detail : null);
        await appendAudit(em, {
          ...audit,
          action: `inspection.${change.event}`,
          entityType: 'inspection_program',
          entityId: change.programId,
          before: { status: before.status, nextDueOn: before.nextDueOn, groundedReason: before.groundedReason },
          after: { ...change.standing, ...(change.detail ? { detail: change.detail } : {}) },
        });
        return settleVehicle(em, change.companyId, change.vehicleId, vehicle, by);
      });
    },
  };
}
