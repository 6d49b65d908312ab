import type { EntityManager } from './orm.js';
import type { InspectionResult, InspectionType, ItemResult, ProgramStatus, VehicleStatus } from '../domain/inspection-lifecycle.js';

/** Every statement runs inside `inTenant`: row-level security confines it to the caller's company. */

const day = (column: string, as = column) => `to_char(${column}, 'YYYY-MM-DD') AS ${as}`;
const instant = (column: string, as = column) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ${as}`;

export interface VehicleRow {
  registration: string;
  status: VehicleStatus;
  groundedReason: string | null;
  inspectionExpiresOn: string | null;
}

/** The vehicle, locked until the transaction ends: changes of its programmes (one workflow per type) derive its standing one at a time. Null: no such vehicle. */
export async function lockVehicle(em: EntityManager, vehicleId: string): Promise<VehicleRow | null> {
  const [row] = await em.execute<Array<{ registration: string; status: VehicleStatus; grounded_reason: string | null; expires: string | null }>>(
    `SELECT registration, status, grounded_reason, ${day('inspection_expires_on', 'expires')} FROM vehicles WHERE id = ? FOR UPDATE`,
    [vehicleId],
  );
  return row ? { registration: row.registration, status: row.status, groundedReason: row.grounded_reason, inspectionExpiresOn: row.expires } : null;
}

/** Whether the vehicle is in the caller's company (the routes' 404). */
export async function vehicleExists(em: EntityManager, vehicleId: string): Promise<boolean> {
  const rows = await em.execute<Array<{ one: number }>>('SELECT 1 AS one FROM vehicles WHERE id = ?', [vehicleId]);
  return rows.length > 0;
}

/** Writes the vehicle's standing when it differs; a change bumps its version, so a PATCH read before it is stale (412). */
export async function writeVehicleStanding(em: EntityManager, vehicleId: string, before: VehicleRow, after: Omit<VehicleRow, 'registration'>): Promise<boolean> {
  if (before.status === after.status && before.groundedReason === after.groundedReason && before.inspectionExpiresOn === after.inspectionExpiresOn) return false;
  await em.execute('UPDATE vehicles SET status = ?, grounded_reason = ?, inspection_expires_on = ?::date, version = version + 1, updated_at = now() WHERE id = ?', [
    after.status,
    after.groundedReason,
    after.inspectionExpiresOn,
    vehicleId,
  ]);
  return true;
}

export interface ProgramRow {
  id: string;
  vehicleId: string;
  inspectionType: InspectionType;
  interval: string;
  nextDueOn: string;
  status: ProgramStatus;
  groundedReason: string | null;
  workflowId: string;
  retiredAt: string | null;
  retiredReason: string | null;
  createdAt: string;
  updatedAt: string;
}

const PROGRAM_COLUMNS = `id, vehicle_id, inspection_type, interval, ${day('next_due_on')}, status, grounded_reason, workflow_id, ${instant('retired_at')}, retired_reason, ${instant('created_at')}, ${instant('updated_at')}`;
type ProgramRecord = { id: string; vehicle_id: string; inspection_type: InspectionType; interval: string; next_due_on: string; status: ProgramStatus; grounded_reason: string | null; workflow_id: string; retired_at: string | null; retired_reason: string | null; created_at: string; updated_at: string };
const program = (r: ProgramRecord): ProgramRow => ({
  id: r.id,
  vehicleId: r.vehicle_id,
  inspectionType: r.inspection_type,
  interval: r.interval,
  nextDueOn: r.next_due_on,
  status: r.status,
  groundedReason: r.grounded_reason,
  workflowId: r.workflow_id,
  retiredAt: r.retired_at,
  retiredReason: r.retired_reason,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/**
 * The running programme of this vehicle and type, made if there is none. One left running by a
 * workflow that no longer exists is adopted with the new first due date; a failure it records
 * still grounds (only a PASS lifts that), an overdue standing is decided anew by the new date.
 */
export async function openProgramRow(em: EntityManager, open: { companyId: string; vehicleId: string; inspectionType: InspectionType; interval: string; firstDueOn: string; workflowId: string }): Promise<{ program: ProgramRow; made: boolean }> {
  const made = await em.execute<ProgramRecord[]>(
    `INSERT INTO inspection_programs (company_id, vehicle_id, inspection_type, interval, next_due_on, status, workflow_id)
     VALUES (?, ?, ?, ?, ?::date, 'CURRENT', ?)
     ON CONFLICT (vehicle_id, inspection_type) WHERE status <> 'RETIRED' DO NOTHING
     RETURNING ${PROGRAM_COLUMNS}`,
    [open.companyId, open.vehicleId, open.inspectionType, open.interval, open.firstDueOn, open.workflowId],
  );
  if (made[0]) return { program: program(made[0]), made: true };
  const [adopted] = await em.execute<ProgramRecord[]>(
    `UPDATE inspection_programs
        SET next_due_on = ?::date, workflow_id = ?, interval = ?,
            status = CASE WHEN status = 'FAILED' THEN 'FAILED' ELSE 'CURRENT' END,
            grounded_reason = CASE WHEN status = 'FAILED' THEN grounded_reason END,
            version = version + 1, updated_at = now()
      WHERE vehicle_id = ? AND inspection_type = ? AND status <> 'RETIRED'
      RETURNING ${PROGRAM_COLUMNS}`,
    [open.firstDueOn, open.workflowId, open.interval, open.vehicleId, open.inspectionType],
  );
  return { program: program(adopted!), made: false };
}

/** The programme, locked until the transaction ends; null when it does not exist (or is another company's). */
export async function lockProgram(em: EntityManager, programId: string): Promise<ProgramRow | null> {
  const [row] = await em.execute<ProgramRecord[]>(`SELECT ${PROGRAM_COLUMNS} FROM inspection_programs WHERE id = ? FOR UPDATE`, [programId]);
  return row ? program(row) : null;
}

export async function writeProgramStanding(em: EntityManager, programId: string, standing: { status: ProgramStatus; nextDueOn: string; groundedReason: string | null }, retiredReason: string | null): Promise<void> {
  await em.execute(
    `UPDATE inspection_programs
        SET status = ?, next_due_on = ?::date, grounded_reason = ?,
            retired_at = CASE WHEN ? = 'RETIRED' THEN coalesce(retired_at, now()) END,
            retired_reason = CASE WHEN ? = 'RETIRED' THEN ? END,
            version = version + 1, updated_at = now()
      WHERE id = ?`,
    [standing.status, standing.nextDueOn, standing.groundedReason, standing.status, standing.status, retiredReason, programId],
  );
}

/** What the vehicle's running programmes say about it: each type's standing, due date and grounding reason. */
export async function runningPrograms(em: EntityManager, vehicleId: string): Promise<Array<{ type: InspectionType; status: ProgramStatus; nextDueOn: string; reason: string | null }>> {
  const rows = await em.execute<Array<{ inspection_type: InspectionType; status: ProgramStatus; next_due_on: string; grounded_reason: string | null }>>(
    `SELECT inspection_type, status, ${day('next_due_on')}, grounded_reason FROM inspection_programs WHERE vehicle_id = ? AND status <> 'RETIRED'`,
    [vehicleId],
  );
  return rows.map((r) => ({ type: r.inspection_type, status: r.status, nextDueOn: r.next_due_on, reason: r.grounded_reason }));
}

/** A vehicle's programmes, running ones first, then by type and age. */
export async function listPrograms(em: EntityManager, vehicleId: string): Promise<ProgramRow[]> {
  const rows = await em.execute<ProgramRecord[]>(`SELECT ${PROGRAM_COLUMNS} FROM inspection_programs WHERE vehicle_id = ? ORDER BY status = 'RETIRED', inspection_type, created_at DESC, id`, [vehicleId]);
  return rows.map(program);
}

export async function programOfVehicle(em: EntityManager, vehicleId: string, programId: string): Promise<ProgramRow | null> {
  const [row] = await em.execute<ProgramRecord[]>(`SELECT ${PROGRAM_COLUMNS} FROM inspection_programs WHERE vehicle_id = ? AND id = ?`, [vehicleId, programId]);
  return row ? program(row) : null;
}

/** The time of the latest inspection of this type on the vehicle, across its programmes (null: none). */
export async function lastPerformedAt(em: EntityManager, vehicleId: string, inspectionType: InspectionType): Promise<string | null> {
  const [row] = await em.execute<Array<{ last: string | null }>>(`SELECT ${instant('max(performed_at)', 'last')} FROM inspections WHERE vehicle_id = ? AND inspection_type = ?`, [vehicleId, inspectionType]);
  return row?.last ?? null;
}

export interface InspectionRow {
  id: string;
  inspectionType: InspectionType;
  result: InspectionResult;
  items: ItemResult[];
  inspector: string;
  performedAt: string;
  photoDocumentIds: string[];
  nextDueOn: string;
  recordedBy: string;
  createdAt: string;
}

/** Adds an inspection once: a retried activity finds it there and adds nothing (false). */
export async function insertInspection(
  em: EntityManager,
  record: { id: string; companyId: string; vehicleId: string; programId: string; inspectionType: InspectionType; result: InspectionResult; items: ItemResult[]; inspector: string; performedAt: string; photoDocumentIds: string[]; nextDueOn: string; by: { subject: string; username: string | null } },
): Promise<boolean> {
  const rows = await em.execute<Array<{ id: string }>>(
    `INSERT INTO inspections (id, company_id, vehicle_id, program_id, inspection_type, result, items, inspector_name, performed_at, photo_document_ids, next_due_on, recorded_by_subject, recorded_by_username)
     VALUES (?, ?, ?, ?, ?, ?, ?::jsonb, ?, ?::timestamptz, ARRAY(SELECT jsonb_array_elements_text(?::jsonb)::uuid), ?::date, ?, ?)
     ON CONFLICT (id) DO NOTHING RETURNING id`,
    [
      record.id,
      record.companyId,
      record.vehicleId,
      record.programId,
      record.inspectionType,
      record.result,
      JSON.stringify(record.items),
      record.inspector,
      record.performedAt,
      JSON.stringify(record.photoDocumentIds),
      record.nextDueOn,
      record.by.subject,
      record.by.username,
    ],
  );
  return rows.length > 0;
}

/** A page of the vehicle's inspections, newest first; `after` is the last row of the previous page. */
export async function listInspections(em: EntityManager, vehicleId: string, page: { limit: number; inspectionType?: InspectionType | undefined; after?: { performedAt: string; id: string } | undefined }): Promise<InspectionRow[]> {
  const rows = await em.execute<Array<{ id: string; inspection_type: InspectionType; result: InspectionResult; items: ItemResult[]; inspector_name: string; performed_at: string; photo_document_ids: string[]; next_due_on: string; recorded_by: string; created_at: string }>>(
    `SELECT id, inspection_type, result, items, inspector_name, ${instant('performed_at')}, photo_document_ids::text[] AS photo_document_ids, ${day('next_due_on')},
            coalesce(recorded_by_username, recorded_by_subject) AS recorded_by, ${instant('created_at')}
       FROM inspections
      WHERE vehicle_id = ? AND (?::text IS NULL OR inspection_type = ?)
        AND (?::timestamptz IS NULL OR (performed_at, id) < (?::timestamptz, ?::uuid))
      ORDER BY performed_at DESC, id DESC LIMIT ?`,
    [vehicleId, page.inspectionType ?? null, page.inspectionType ?? null, page.after?.performedAt ?? null, page.after?.performedAt ?? null, page.after?.id ?? null, page.limit],
  );
  return rows.map((r) => ({
    id: r.id,
    inspectionType: r.inspection_type,
    result: r.result,
    items: r.items,
    inspector: r.inspector_name,
    performedAt: r.performed_at,
    photoDocumentIds: r.photo_document_ids,
    nextDueOn: r.next_due_on,
    recordedBy: r.recorded_by,
    createdAt: r.created_at,
  }));
}

/** The DG-relevant types running on the vehicle: while any runs, its inspection expiry is theirs to keep. */
export async function runningDgProgramTypes(em: EntityManager, vehicleId: string, dgTypes: readonly InspectionType[]): Promise<InspectionType[]> {
  const rows = await em.execute<Array<{ inspection_type: InspectionType }>>(
    `SELECT inspection_type FROM inspection_programs WHERE vehicle_id = ? AND status <> 'RETIRED' AND inspection_type IN (SELECT jsonb_array_elements_text(?::jsonb)) ORDER BY inspection_type`,
    [vehicleId, JSON.stringify(dgTypes)],
  );
  return rows.map((r) => r.inspection_type);
}
