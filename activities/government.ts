import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { ApplicationFailure, asyncLocalStorage } from '@temporalio/activity';
import { z } from 'zod';
import { inTenant, openDatabase, type Database } from '../db/orm.js';
import { applyCatalogue, CatalogueSyncRefused, type SyncOutcome } from '../db/dangerous-goods.js';
import { appendAudit } from '../db/audit.js';
import { reportableIncident, writeGovernmentReport } from '../db/incidents.js';
import { CATALOGUE_SOURCE_REJECTED } from '../workflows/contracts/integrations.js';
import { parseHmtJsonl, parseSpecialProvisions, sourceUrlProblem, type SourceProblem } from '../domain/dangerous-goods/catalogue-sync.js';
import { PermanentDeliveryFailure } from '../integrations/notifications/channel.js';
import { postJson } from '../integrations/notifications/http.js';

/** Where the regulator's tables are read from: https: URLs in production, file: URLs for the shipped data. */
export interface CatalogueSources {
  hazardousMaterialsTable: string;
  specialProvisions: string;
}

export const SHIPPED_CATALOGUE: CatalogueSources = {
  hazardousMaterialsTable: new URL('../data/hmt-49cfr-172.101.jsonl', import.meta.url).href,
  specialProvisions: new URL('../data/special-provisions-49cfr-172.102.json', import.meta.url).href,
};

const MAX_BYTES = 32 * 1024 * 1024;

/** The published table could not be used; nothing was written. */
export class CatalogueSourceInvalid extends Error {
  constructor(
    message: string,
    readonly problems: readonly SourceProblem[] = [],
  ) {
    super(message);
  }
}

export async function fetchText(url: string): Promise<string> {
  const refused = sourceUrlProblem(url);
  if (refused) throw new CatalogueSourceInvalid(refused);
  const parsed = new URL(url);
  if (parsed.protocol === 'file:') return readFile(fileURLToPath(parsed), 'utf8');
  const response = await fetch(parsed, { signal: AbortSignal.timeout(60_000) });
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  const length = Number(response.headers.get('content-length') ?? 0);
  if (length > MAX_BYTES) throw new CatalogueSourceInvalid(`${url} is ${length} bytes; more than ${MAX_BYTES} is not a DG table`);
  const text = await response.text();
  if (text.length > MAX_BYTES) throw new CatalogueSourceInvalid(`${url} is larger than ${MAX_BYTES} bytes`);
  return text;
}

/**
 * The government DG sync: read the published tables, validate them whole, apply the differences.
 * `catalogue` must connect as the catalogue role (DATABASE_CATALOGUE_URL): the app role may only read the catalogue.
 */
export async function syncCatalogue(catalogue: Database, sources: CatalogueSources, progress: (phase: 'fetching' | 'validating' | 'applying') => void = () => undefined): Promise<SyncOutcome> {
  progress('fetching');
  const [tableText, provisionsText] = await Promise.all([fetchText(sources.hazardousMaterialsTable), fetchText(sources.specialProvisions)]);
  progress('validating');
  const rows = parseHmtJsonl(tableText);
  if (!rows.ok) throw new CatalogueSourceInvalid(`${sources.hazardousMaterialsTable}: ${rows.problems.length} invalid line(s)`, rows.problems);
  const provisions = parseSpecialProvisions(provisionsText);
  if (!provisions.ok) throw new CatalogueSourceInvalid(`${sources.specialProvisions}: invalid`, provisions.problems);
  const checksum = createHash('sha256').update(tableText).update('\0').update(provisionsText).digest('hex');
  progress('applying');
  try {
    return await applyCatalogue(catalogue, { source: sources.hazardousMaterialsTable, rows: rows.value, specialProvisions: provisions.value, checksum });
  } catch (error) {
    if (error instanceof CatalogueSyncRefused) throw new CatalogueSourceInvalid(error.message);
    throw error;
  }
}

/**
 * Activities that talk to government data sources. A sync is rare (scheduled or on demand), so
 * it opens its own connection as the catalogue role for its duration rather than holding a pool.
 */
export function governmentActivities(deps: { catalogueDatabaseUrl: string | undefined; catalogueSources?: CatalogueSources }) {
  return {
    /**
     * Without `sources`, the configured ones (DG_SYNC_*_URL; the shipped tables by default): the scheduled sync names none.
     * A table the sync refuses (a bad line, the wrong format, a truncated download) is not retried: the same file would be refused again.
     */
    async syncDangerousGoodsCatalogue(sources?: CatalogueSources): Promise<SyncOutcome> {
      if (!deps.catalogueDatabaseUrl) throw new Error('DATABASE_CATALOGUE_URL is not set: the DG catalogue is written only by the catalogue sync role (safeshipper_catalogue)');
      const catalogue = await openDatabase({ url: deps.catalogueDatabaseUrl, poolSize: 1 });
      const heartbeat = heartbeatWhileRunning();
      try {
        return await syncCatalogue(catalogue, sources ?? deps.catalogueSources ?? SHIPPED_CATALOGUE, heartbeat.phase);
      } catch (error) {
        if (error instanceof CatalogueSourceInvalid) throw ApplicationFailure.nonRetryable(error.message, CATALOGUE_SOURCE_REJECTED, ...error.problems.slice(0, 20));
        throw error;
      } finally {
        heartbeat.stop();
        await catalogue.close();
      }
    },
  };
}

/**
 * Heartbeats every few seconds, and at each phase, while a long activity runs: a worker that died
 * mid-sync is noticed within the heartbeat timeout, not the whole start-to-close timeout. Outside
 * an activity (the CLI, setup scripts) it does nothing.
 */
function heartbeatWhileRunning(): { phase(name: string): void; stop(): void } {
  const context = asyncLocalStorage.getStore();
  if (!context) return { phase: () => undefined, stop: () => undefined };
  let current = 'starting';
  const beat = () => context.heartbeat({ phase: current });
  const timer = setInterval(beat, 5_000);
  return {
    phase(name) {
      current = name;
      beat();
    },
    stop: () => clearInterval(timer),
  };
}

/** The authority's dangerous-goods incident notification API (GOVERNMENT_INCIDENT_API_*). */
export interface GovernmentIncidentApi {
  url: string | undefined;
  token: string | undefined;
  timeoutMs: number;
}

export interface GovernmentReportOutcome {
  reference: string | null;
  filedAt: string | null;
  /** Why nothing was filed: no API configured. */
  problem: string | null;
}

const filedAnswer = z.object({ reference: z.string().trim().min(1).max(200) });

/** The report a serious incident files: the same key on every attempt, so the authority files it once. */
export const governmentReportKey = (incidentId: string) => `safeshipper-incident-${incidentId}`;

/**
 * Files serious incidents with the authority, idempotently: an incident whose row holds a
 * reference is never filed again, and every attempt for one incident carries the same
 * Idempotency-Key, so an attempt that timed out after the authority filed it gets the same
 * reference back rather than a second report. A refusal (4xx) is final: the workflow records it.
 */
export function governmentIncidentActivities(db: Database, api: GovernmentIncidentApi) {
  return {
    async fileGovernmentIncidentReport(request: { companyId: string; incidentId: string }): Promise<GovernmentReportOutcome> {
      const incident = await inTenant(db, request.companyId, (em) => reportableIncident(em, request.incidentId));
      if (!incident) throw ApplicationFailure.nonRetryable(`incident ${request.incidentId} no longer exists`, 'IncidentGone');
      if (incident.reference) return { reference: incident.reference, filedAt: incident.reportedAt, problem: null };
      if (!api.url) return { reference: null, filedAt: null, problem: 'GOVERNMENT_INCIDENT_API_URL is not set: file this report with the authority by hand' };
      const report = {
        reporterReference: incident.incidentNumber,
        occurredAt: incident.occurredAt,
        kind: incident.kind,
        severity: incident.severity,
        description: incident.description,
        location: incident.location,
        consequences: incident.consequences,
        reportingCriteria: incident.criteria,
        goods: incident.enrichment,
      };
      const headers = { 'Idempotency-Key': governmentReportKey(incident.id), ...(api.token ? { Authorization: `Bearer ${api.token}` } : {}) };
      let answer: { text: string };
      try {
        answer = await postJson(new URL(api.url), report, headers, api.timeoutMs);
      } catch (error) {
        if (error instanceof PermanentDeliveryFailure) throw ApplicationFailure.nonRetryable(`the authority refused the report: ${error.message}`, 'GovernmentReportRefused');
        throw error;
      }
      let parsed: z.infer<typeof filedAnswer>;
      try {
        parsed = filedAnswer.parse(JSON.parse(answer.text));
      } catch {
        throw new Error(`the authority accepted the report but its answer has no reference: ${answer.text.slice(0, 200)}`);
      }
      return inTenant(db, request.companyId, async (em) => {
        await writeGovernmentReport(em, incident.id, parsed.reference);
        const stored = await reportableIncident(em, incident.id);
        await appendAudit(em, { companyId: request.companyId, actorSubject: 'workflow:incident', actorUsername: null, action: 'incident.government-report', entityType: 'incident', entityId: incident.id, after: { reference: stored!.reference, criteria: incident.criteria } });
        return { reference: stored!.reference, filedAt: stored!.reportedAt, problem: null };
      });
    },
  };
}
