import type { EntityManager } from './orm.js';
import type { IncidentConsequences, IncidentKind, IncidentSeverity, IncidentSource, IncidentStatus, ReportingCriterion } from '../domain/incident-lifecycle.js';

/** Who did something to an incident, as stored ({subject, username}). */
export interface StoredActor {
  subject: string;
  username: string | null;
}

export interface NewIncident {
  id: string;
  companyId: string;
  kind: IncidentKind;
  severity: IncidentSeverity;
  source: IncidentSource;
  shipmentId: string | null;
  vehicleId: string | null;
  description: string;
  location: { lat: number; lon: number } | null;
  consequences: IncidentConsequences;
  occurredAt: string;
  reportedBy: StoredActor | null;
}

export interface IncidentSummary {
  id: string;
  incidentNumber: string;
  status: IncidentStatus;
  severity: IncidentSeverity;
  shipmentNumber: string | null;
  vehicleId: string | null;
  /** False when the row already existed (a retried activity, or the API wrote it first). */
  created: boolean;
}

const SUMMARY = `i.id, i.incident_number, i.status, i.severity, i.vehicle_id, (SELECT s.shipment_number FROM shipments s WHERE s.id = i.shipment_id) AS shipment_number`;
type SummaryRow = { id: string; incident_number: string; status: IncidentStatus; severity: IncidentSeverity; vehicle_id: string | null; shipment_number: string | null };
const summary = (row: SummaryRow, created: boolean): IncidentSummary => ({ id: row.id, incidentNumber: row.incident_number, status: row.status, severity: row.severity, shipmentNumber: row.shipment_number, vehicleId: row.vehicle_id, created });

/**
 * Makes sure the incident's row exists, numbered INC-00001, … per company (the counter row is
 * locked to the end of the transaction, so concurrent reports of one company get consecutive
 * numbers). Idempotent on the id: an existing row is answered as it is.
 */
export async function ensureIncident(em: EntityManager, incident: NewIncident): Promise<IncidentSummary> {
  const [existing] = await em.execute<SummaryRow[]>(`SELECT ${SUMMARY} FROM incidents i WHERE i.id = ?`, [incident.id]);
  if (existing) return summary(existing, false);
  const [inserted] = await em.execute<SummaryRow[]>(
    `WITH counter AS (
       INSERT INTO incident_counters (company_id, last_number) VALUES (?, 1)
       ON CONFLICT (company_id) DO UPDATE SET last_number = incident_counters.last_number + 1 RETURNING last_number
     ), i AS (
       INSERT INTO incidents (id, company_id, incident_number, kind, severity, reported_severity, source, shipment_id, vehicle_id, description, location, consequences, occurred_at, reported_by)
       SELECT ?, ?, 'INC-' || lpad(counter.last_number::text, 5, '0'), ?, ?, ?, ?, ?, ?, ?,
              CASE WHEN ?::float8 IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint(?::float8, ?::float8), 4326)::geography END,
              ?::jsonb, ?, ?::jsonb
         FROM counter
       ON CONFLICT (id) DO NOTHING
       RETURNING *
     )
     SELECT ${SUMMARY} FROM i`,
    [
      incident.companyId,
      incident.id,
      incident.companyId,
      incident.kind,
      incident.severity,
      incident.severity,
      incident.source,
      incident.shipmentId,
      incident.vehicleId,
      incident.description,
      incident.location?.lon ?? null,
      incident.location?.lon ?? null,
      incident.location?.lat ?? null,
      JSON.stringify(incident.consequences),
      incident.occurredAt,
      incident.reportedBy ? JSON.stringify(incident.reportedBy) : null,
    ],
  );
  if (inserted) return summary(inserted, true);
  // Written meanwhile by a concurrent twin (the API and the workflow's first activity).
  const [raced] = await em.execute<SummaryRow[]>(`SELECT ${SUMMARY} FROM incidents i WHERE i.id = ?`, [incident.id]);
  return summary(raced!, false);
}

/** The shipment and vehicle a report names, as the caller's company sees them (RLS): null when not theirs. */
export async function incidentReferences(em: EntityManager, refs: { shipmentId: string | null; vehicleId: string | null }): Promise<{ shipment: { number: string; vehicleId: string | null } | null; vehicle: boolean }> {
  const [row] = await em.execute<Array<{ shipment_number: string | null; shipment_vehicle: string | null; vehicle: boolean }>>(
    `SELECT (SELECT shipment_number FROM shipments WHERE id = ?) AS shipment_number, (SELECT vehicle_id FROM shipments WHERE id = ?) AS shipment_vehicle,
            EXISTS (SELECT 1 FROM vehicles WHERE id = ?) AS vehicle`,
    [refs.shipmentId, refs.shipmentId, refs.vehicleId],
  );
  return { shipment: row?.shipment_number ? { number: row.shipment_number, vehicleId: row.shipment_vehicle } : null, vehicle: row?.vehicle ?? false };
}

const TRANSITION_COLUMNS = { acknowledge: 'acknowledged', 'start-response': 'responding', resolve: 'resolved', close: 'closed' } as const;

/** Writes a transition the workflow made: the status, who and when (and the resolution); returns the status before, or null when the incident is gone. */
export async function writeIncidentTransition(
  em: EntityManager,
  change: { incidentId: string; event: keyof typeof TRANSITION_COLUMNS; status: IncidentStatus; by: StoredActor; at: string; resolution?: string },
): Promise<IncidentStatus | null> {
  const [before] = await em.execute<Array<{ status: IncidentStatus }>>('SELECT status FROM incidents WHERE id = ? FOR UPDATE', [change.incidentId]);
  if (!before) return null;
  const column = TRANSITION_COLUMNS[change.event];
  await em.execute(
    `UPDATE incidents SET status = ?, ${column}_by = ?::jsonb, ${column}_at = ?, resolution = coalesce(?, resolution), version = version + 1, updated_at = now() WHERE id = ?`,
    [change.status, JSON.stringify(change.by), change.at, change.resolution ?? null, change.incidentId],
  );
  return before.status;
}

/** An escalation raised the severity; returns the severity before, or null when the incident is gone. */
export async function writeIncidentSeverity(em: EntityManager, incidentId: string, severity: IncidentSeverity): Promise<IncidentSeverity | null> {
  const [before] = await em.execute<Array<{ severity: IncidentSeverity }>>('SELECT severity FROM incidents WHERE id = ? FOR UPDATE', [incidentId]);
  if (!before) return null;
  if (before.severity !== severity) await em.execute('UPDATE incidents SET severity = ?, version = version + 1, updated_at = now() WHERE id = ?', [severity, incidentId]);
  return before.severity;
}

export async function writeIncidentEnrichment(em: EntityManager, incidentId: string, facts: { enrichment: unknown; serious: boolean; criteria: ReportingCriterion[] }): Promise<void> {
  await em.execute('UPDATE incidents SET enrichment = ?::jsonb, serious = ?, reporting_criteria = ?::jsonb, version = version + 1, updated_at = now() WHERE id = ?', [
    JSON.stringify(facts.enrichment),
    facts.serious,
    JSON.stringify(facts.criteria),
    incidentId,
  ]);
}

/** What a government report carries, and the reference once filed. */
export interface ReportableIncident {
  id: string;
  incidentNumber: string;
  kind: IncidentKind;
  severity: IncidentSeverity;
  description: string;
  occurredAt: string;
  location: { lat: number; lon: number } | null;
  consequences: IncidentConsequences;
  enrichment: unknown;
  criteria: ReportingCriterion[];
  reference: string | null;
  reportedAt: string | null;
}

export async function reportableIncident(em: EntityManager, incidentId: string, options: { lock?: boolean } = {}): Promise<ReportableIncident | null> {
  const [row] = await em.execute<
    Array<{ id: string; incident_number: string; kind: IncidentKind; severity: IncidentSeverity; description: string; occurred_at: Date; lat: number | null; lon: number | null; consequences: IncidentConsequences; enrichment: unknown; reporting_criteria: ReportingCriterion[] | null; government_report_reference: string | null; government_reported_at: Date | null }>
  >(
    `SELECT id, incident_number, kind, severity, description, occurred_at, ST_Y(location::geometry) AS lat, ST_X(location::geometry) AS lon, consequences, enrichment, reporting_criteria,
            government_report_reference, government_reported_at
       FROM incidents WHERE id = ? ${options.lock ? 'FOR UPDATE' : ''}`,
    [incidentId],
  );
  if (!row) return null;
  return {
    id: row.id,
    incidentNumber: row.incident_number,
    kind: row.kind,
    severity: row.severity,
    description: row.description,
    occurredAt: new Date(row.occurred_at).toISOString(),
    location: row.lat === null || row.lon === null ? null : { lat: row.lat, lon: row.lon },
    consequences: row.consequences,
    enrichment: row.enrichment,
    criteria: row.reporting_criteria ?? [],
    reference: row.government_report_reference,
    reportedAt: row.government_reported_at ? new Date(row.government_reported_at).toISOString() : null,
  };
}

export async function writeGovernmentReport(em: EntityManager, incidentId: string, reference: string): Promise<void> {
  await em.execute('UPDATE incidents SET government_report_reference = ?, government_reported_at = now(), version = version + 1, updated_at = now() WHERE id = ? AND government_report_reference IS NULL', [reference, incidentId]);
}

export interface GoodsLine {
  shipmentNumber: string;
  unNumber: string | null;
  properShippingName: string;
  technicalName: string | null;
  hazardClass: string | null;
  packingGroup: 'I' | 'II' | 'III' | null;
  subsidiaryRisks: string[];
  poisonInhalationHazard: boolean;
  inhalationHazardZone: string | null;
  quantity: number;
  unit: 'kg' | 'L';
}

/** Statuses in which a shipment's goods are on its vehicle. */
const LOADED = ['READY', 'IN_TRANSIT', 'ARRIVED'];

/**
 * The dangerous goods on board: the named shipment's consignment items, or else those of every
 * shipment loaded on the named vehicle; and the vehicle the shipment is assigned to.
 */
export async function goodsOnBoard(em: EntityManager, refs: { shipmentId: string | null; vehicleId: string | null }): Promise<{ vehicleId: string | null; lines: GoodsLine[] }> {
  let vehicleId = refs.vehicleId;
  if (refs.shipmentId && !vehicleId) {
    const [shipment] = await em.execute<Array<{ vehicle_id: string | null }>>('SELECT vehicle_id FROM shipments WHERE id = ?', [refs.shipmentId]);
    vehicleId = shipment?.vehicle_id ?? null;
  }
  if (!refs.shipmentId && !vehicleId) return { vehicleId: null, lines: [] };
  const rows = await em.execute<
    Array<{ shipment_number: string; un_number: string | null; proper_shipping_name: string; technical_name: string | null; hazard_class: string | null; packing_group: 'I' | 'II' | 'III' | null; subsidiary_risks: string[]; poison_inhalation_hazard: boolean; inhalation_hazard_zone: string | null; quantity: string; unit: 'kg' | 'L' }>
  >(
    `SELECT s.shipment_number, dg.un_number, dg.proper_shipping_name, ci.technical_name, dg.hazard_class, dg.packing_group, dg.subsidiary_risks,
            dg.poison_inhalation_hazard, dg.inhalation_hazard_zone, ci.quantity, ci.unit
       FROM shipments s JOIN consignment_items ci ON ci.shipment_id = s.id JOIN dangerous_goods dg ON dg.id = ci.dangerous_good_id
      WHERE ${refs.shipmentId ? 's.id = ?' : `s.vehicle_id = ? AND s.status IN (${LOADED.map(() => '?').join(', ')})`}
      ORDER BY s.shipment_number, ci.created_at, ci.id`,
    refs.shipmentId ? [refs.shipmentId] : [vehicleId, ...LOADED],
  );
  return {
    vehicleId,
    lines: rows.map((r) => ({
      shipmentNumber: r.shipment_number,
      unNumber: r.un_number,
      properShippingName: r.proper_shipping_name,
      technicalName: r.technical_name,
      hazardClass: r.hazard_class,
      packingGroup: r.packing_group,
      subsidiaryRisks: r.subsidiary_risks,
      poisonInhalationHazard: r.poison_inhalation_hazard,
      inhalationHazardZone: r.inhalation_hazard_zone,
      quantity: Number(r.quantity),
      unit: r.unit,
    })),
  };
}

/** The vehicle's last reported position (telemetry_points, newest first on its vehicle/time index). */
export async function lastKnownPosition(em: EntityManager, vehicleId: string): Promise<{ lat: number; lon: number; recordedAt: string } | null> {
  const [row] = await em.execute<Array<{ lat: number; lon: number; recorded_at: Date }>>(
    `SELECT ST_Y(location::geometry) AS lat, ST_X(location::geometry) AS lon, recorded_at FROM telemetry_points
      WHERE vehicle_id = ? AND location IS NOT NULL ORDER BY recorded_at DESC LIMIT 1`,
    [vehicleId],
  );
  return row ? { lat: row.lat, lon: row.lon, recordedAt: new Date(row.recorded_at).toISOString() } : null;
}

// ---------------------------------------------------------------------------------------------
// The API's reads
// ---------------------------------------------------------------------------------------------

const iso = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
const step = (name: string, extra = '') => `CASE WHEN ${name}_at IS NULL THEN NULL ELSE json_build_object('by', ${name}_by, 'at', ${iso(`${name}_at`)}${extra}) END`;

/** One incident as the API answers it, built by PostgreSQL (dates in UTC with milliseconds, location as {lat, lon}). */
const VIEW = `json_build_object(
    'id', id, 'incidentNumber', incident_number, 'kind', kind, 'severity', severity, 'reportedSeverity', reported_severity, 'status', status, 'source', source,
    'shipmentId', shipment_id, 'vehicleId', vehicle_id, 'description', description,
    'location', CASE WHEN location IS NULL THEN NULL ELSE json_build_object('lat', ST_Y(location::geometry), 'lon', ST_X(location::geometry)) END,
    'consequences', consequences, 'occurredAt', ${iso('occurred_at')}, 'reportedBy', reported_by,
    'acknowledged', ${step('acknowledged')}, 'responding', ${step('responding')}, 'resolved', ${step('resolved', `, 'resolution', resolution`)}, 'closed', ${step('closed')},
    'enrichment', enrichment, 'serious', serious, 'reportingCriteria', reporting_criteria,
    'governmentReport', CASE WHEN government_report_reference IS NULL THEN NULL ELSE json_build_object('reference', government_report_reference, 'reportedAt', ${iso('government_reported_at')}) END,
    'createdAt', ${iso('created_at')}, 'updatedAt', ${iso('updated_at')})`;

export async function incidentView(em: EntityManager, incidentId: string): Promise<{ version: number; view: Record<string, unknown> } | null> {
  const [row] = await em.execute<Array<{ version: number; view: Record<string, unknown> }>>(`SELECT version, ${VIEW} AS view FROM incidents WHERE id = ?`, [incidentId]);
  return row ?? null;
}

export interface IncidentListQuery {
  limit: number;
  /** Newest first; the cursor is the last row's (createdAt, id). */
  after?: { createdAt: string; id: string };
  status?: IncidentStatus;
  severity?: IncidentSeverity;
  kind?: IncidentKind;
  shipmentId?: string;
  vehicleId?: string;
}

export async function listIncidents(em: EntityManager, query: IncidentListQuery): Promise<{ items: Array<Record<string, unknown>>; last: { createdAt: string; id: string } | null; more: boolean }> {
  const where: string[] = [];
  const params: unknown[] = [];
  const filter = (sql: string, value: unknown) => {
    where.push(sql);
    params.push(value);
  };
  if (query.status) filter('status = ?', query.status);
  if (query.severity) filter('severity = ?', query.severity);
  if (query.kind) filter('kind = ?', query.kind);
  if (query.shipmentId) filter('shipment_id = ?', query.shipmentId);
  if (query.vehicleId) filter('vehicle_id = ?', query.vehicleId);
  if (query.after) {
    where.push('(created_at, id) < (?::timestamptz, ?::uuid)');
    params.push(query.after.createdAt, query.after.id);
  }
  const rows = await em.execute<Array<{ id: string; created: string; view: Record<string, unknown> }>>(
    // The cursor keeps microseconds: rows created within one millisecond are neither skipped nor repeated.
    `SELECT id, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created, ${VIEW} AS view FROM incidents ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT ?`,
    [...params, query.limit + 1],
  );
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return { items: page.map((r) => r.view), last: last ? { createdAt: last.created, id: last.id } : null, more: rows.length > query.limit };
}
