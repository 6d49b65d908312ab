import { createHash } from 'node:crypto';
import type { Database, EntityManager } from './orm.js';
import { deriveEntry, type HmtRow } from '../domain/dangerous-goods/catalogue.js';
import { diffCatalogue, keyRows, shrinkProblem, type CatalogueDiff } from '../domain/dangerous-goods/catalogue-sync.js';

/** A stable id per catalogue row (UUID v5 layout over its identity key): the same row keeps its id across syncs. */
export function catalogueEntryId(key: string): string {
  const hash = createHash('sha1').update(`safeshipper:dangerous-goods:${key}`).digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Case- and accent-insensitive form of a name, as stored for search. */
export function searchForm(text: string): string {
  return text.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase().replace(/\s+/g, ' ').trim();
}

export interface SyncOutcome extends CatalogueDiff {
  status: 'applied' | 'up-to-date';
  revisionId: string | null;
  rowCount: number;
  specialProvisionsChanged: number;
}

export class CatalogueSyncRefused extends Error {}

/**
 * Applies a published table: every row upserted by its identity key (derived facts recomputed),
 * rows no longer published marked withdrawn, special provisions upserted, and one revision
 * recorded — all in one transaction, so readers see the old table or the new, never half.
 */
export async function applyCatalogue(db: Database, input: { source: string; rows: HmtRow[]; specialProvisions: Record<string, string>; checksum: string }): Promise<SyncOutcome> {
  const em = db.em.fork();
  return em.transactional(async (tx) => {
    // One sync at a time: a second waits, then finds the first's revision.
    await tx.execute(`SELECT pg_advisory_xact_lock(hashtext('dangerous-goods-sync'))`);
    const keyed = keyRows(input.rows);
    const current = await tx.execute<Array<{ entry_key: string; source_row: unknown; withdrawn: boolean }>>('SELECT entry_key, source_row, withdrawn_at IS NOT NULL AS withdrawn FROM dangerous_goods');
    const diff = diffCatalogue(current.map((row) => ({ key: row.entry_key, sourceRow: row.source_row, withdrawn: row.withdrawn })), keyed);
    const shrink = shrinkProblem(current.filter((row) => !row.withdrawn).length, keyed.length);
    if (shrink) throw new CatalogueSyncRefused(shrink);

    const existingProvisions = await tx.execute<Array<{ code: string; text: string }>>('SELECT code, text FROM special_provisions');
    const provisionText = new Map(existingProvisions.map((row) => [row.code, row.text]));
    const provisionsChanged = Object.entries(input.specialProvisions).filter(([code, text]) => provisionText.get(code) !== text);
    const unchanged = diff.added.length + diff.changed.length + diff.withdrawn.length + diff.reinstated.length + provisionsChanged.length === 0;
    // Derived facts are recomputed on every sync (the derivation code may have improved); a
    // revision is recorded only when the regulation's text changed.
    if (unchanged) {
      const latest = await latestRevisionId(tx);
      if (latest) {
        await upsertRows(tx, keyed, latest);
        return { ...diff, status: 'up-to-date', revisionId: latest, rowCount: keyed.length, specialProvisionsChanged: 0 };
      }
    }

    const [revision] = await tx.execute<Array<{ id: string }>>(
      `INSERT INTO dg_catalogue_revisions (source, checksum, row_count, added, changed, withdrawn, reinstated, special_provisions_changed)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
      [input.source, input.checksum, keyed.length, diff.added.length, diff.changed.length, diff.withdrawn.length, diff.reinstated.length, provisionsChanged.length],
    );
    const revisionId = revision!.id;

    await upsertRows(tx, keyed, revisionId);
    if (diff.withdrawn.length) await tx.execute('UPDATE dangerous_goods SET withdrawn_at = now(), updated_at = now() WHERE entry_key IN (SELECT jsonb_array_elements_text(?::jsonb))', [JSON.stringify(diff.withdrawn)]);
    for (const [code, text] of provisionsChanged) {
      await tx.execute('INSERT INTO special_provisions (code, text) VALUES (?, ?) ON CONFLICT (code) DO UPDATE SET text = excluded.text, updated_at = now()', [code, text]);
    }
    return { ...diff, status: 'applied', revisionId, rowCount: keyed.length, specialProvisionsChanged: provisionsChanged.length };
  });
}

/** Column → SQL type, in insert order; rows travel as one JSON document (jsonb_to_recordset). */
const UPSERT_COLUMNS = {
  id: 'uuid', entry_key: 'text', row_index: 'int', un_number: 'text', proper_shipping_name: 'text', search_name: 'text', hazard_class_raw: 'text',
  hazard_class: 'text', compatibility_group: 'text', packing_group: 'text', subsidiary_risks: 'text[]', labels: 'text[]', special_provisions: 'text[]',
  symbols: 'text[]', forbidden: 'boolean', technical_name_required: 'boolean', poison_inhalation_hazard: 'boolean', inhalation_hazard_zone: 'text',
  physical_state: 'text', limited_quantity_eligible: 'boolean', packaging: 'jsonb', quantity_limitations: 'jsonb', vessel_stowage: 'jsonb',
  source_row: 'jsonb', revision_id: 'uuid',
} as const;

async function upsertRows(tx: EntityManager, rows: ReturnType<typeof keyRows>, revisionId: string): Promise<void> {
  const records = rows.map(({ key, rowIndex, row }) => {
    const entry = deriveEntry(row, rowIndex);
    return {
      id: catalogueEntryId(key), entry_key: key, row_index: rowIndex, un_number: entry.idNumber, proper_shipping_name: entry.properShippingName,
      search_name: searchForm(entry.properShippingName), hazard_class_raw: entry.hazardClassRaw, hazard_class: entry.hazardClass,
      compatibility_group: entry.compatibilityGroup, packing_group: entry.packingGroup, subsidiary_risks: entry.subsidiaryRisks, labels: entry.labels,
      special_provisions: entry.specialProvisions, symbols: entry.symbols, forbidden: entry.forbidden, technical_name_required: entry.technicalNameRequired,
      poison_inhalation_hazard: entry.inhalationHazard.pih, inhalation_hazard_zone: entry.inhalationHazard.zone, physical_state: entry.physicalState.value,
      limited_quantity_eligible: entry.limitedQuantityEligible.value, packaging: row.packaging, quantity_limitations: row.quantityLimitations,
      vessel_stowage: row.vesselStowage, source_row: row, revision_id: revisionId,
    };
  });
  const columns = Object.keys(UPSERT_COLUMNS);
  const recordType = Object.entries(UPSERT_COLUMNS).map(([column, type]) => `${column} ${type}`).join(', ');
  const updates = columns.filter((column) => !['id', 'entry_key', 'revision_id'].includes(column)).map((column) => `${column} = excluded.${column}`);
  // A row's revision and updated_at move only when its published text changed or it returns.
  const textChanged = 'dangerous_goods.source_row IS DISTINCT FROM excluded.source_row OR dangerous_goods.withdrawn_at IS NOT NULL';
  await tx.execute(
    `INSERT INTO dangerous_goods (${columns.join(', ')})
     SELECT ${columns.join(', ')} FROM jsonb_to_recordset(?::jsonb) AS r(${recordType})
     ON CONFLICT (entry_key) DO UPDATE SET ${updates.join(', ')},
       revision_id = CASE WHEN ${textChanged} THEN excluded.revision_id ELSE dangerous_goods.revision_id END,
       updated_at = CASE WHEN ${textChanged} THEN now() ELSE dangerous_goods.updated_at END,
       withdrawn_at = NULL`,
    [JSON.stringify(records)],
  );
}

export interface DangerousGoodView {
  id: string;
  unNumber: string | null;
  properShippingName: string;
  hazardClass: string;
  division: string | null;
  compatibilityGroup: string | null;
  packingGroup: string | null;
  subsidiaryRisks: string[];
  labels: string[];
  specialProvisions: string[];
  symbols: string[];
  forbidden: boolean;
  technicalNameRequired: boolean;
  poisonInhalationHazard: boolean;
  inhalationHazardZone: string | null;
  physicalState: string | null;
  limitedQuantityEligible: boolean | null;
  packaging: unknown;
  quantityLimitations: unknown;
  vesselStowage: unknown;
  citation: string;
}

const VIEW_COLUMNS = `id, un_number, proper_shipping_name, hazard_class_raw, hazard_class, compatibility_group, packing_group, subsidiary_risks, labels,
  special_provisions, symbols, forbidden, technical_name_required, poison_inhalation_hazard, inhalation_hazard_zone, physical_state,
  limited_quantity_eligible, packaging, quantity_limitations, vessel_stowage, search_name`;

type ViewRow = Record<string, unknown> & { id: string; search_name: string };

const toView = (row: ViewRow): DangerousGoodView => ({
  id: row.id,
  unNumber: row.un_number as string | null,
  properShippingName: row.proper_shipping_name as string,
  hazardClass: row.hazard_class_raw as string,
  division: row.hazard_class as string | null,
  compatibilityGroup: row.compatibility_group as string | null,
  packingGroup: row.packing_group as string | null,
  subsidiaryRisks: row.subsidiary_risks as string[],
  labels: row.labels as string[],
  specialProvisions: row.special_provisions as string[],
  symbols: row.symbols as string[],
  forbidden: row.forbidden as boolean,
  technicalNameRequired: row.technical_name_required as boolean,
  poisonInhalationHazard: row.poison_inhalation_hazard as boolean,
  inhalationHazardZone: row.inhalation_hazard_zone as string | null,
  physicalState: row.physical_state as string | null,
  limitedQuantityEligible: row.limited_quantity_eligible as boolean | null,
  packaging: row.packaging,
  quantityLimitations: row.quantity_limitations,
  vesselStowage: row.vessel_stowage,
  citation: '49 CFR 172.101',
});

export interface DangerousGoodsQuery {
  search?: string | undefined;
  hazardClass?: string | undefined;
  packingGroup?: 'I' | 'II' | 'III' | undefined;
  after?: { name: string; id: string } | undefined;
  limit: number;
}

/**
 * Catalogue search, ordered by name then id so a cursor (the last row's name and id) pages
 * stably. `search` matches the name case- and accent-insensitively (trigram index), or an
 * identification number; `hazardClass` is a class ("1", "6") or a division ("6.1", "1.4").
 */
export async function listDangerousGoods(db: Database, query: DangerousGoodsQuery): Promise<{ items: DangerousGoodView[]; next: { name: string; id: string } | null }> {
  const where = ['withdrawn_at IS NULL'];
  const params: unknown[] = [];
  if (query.search) {
    const digits = /^(?:(UN|NA|ID)\s?)?(\d{4})$/i.exec(query.search.trim());
    if (digits) {
      where.push(digits[1] ? 'un_number = ?' : 'substr(un_number, 3) = ?');
      params.push(digits[1] ? `${digits[1].toUpperCase()}${digits[2]}` : digits[2]);
    } else {
      where.push(`search_name LIKE ? ESCAPE '\\'`);
      params.push(`%${searchForm(query.search).replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    }
  }
  if (query.hazardClass) {
    where.push(query.hazardClass.includes('.') ? 'hazard_class = ?' : `(hazard_class = ? OR hazard_class LIKE ?)`);
    params.push(query.hazardClass, ...(query.hazardClass.includes('.') ? [] : [`${query.hazardClass}.%`]));
  }
  if (query.packingGroup) {
    where.push('packing_group = ?');
    params.push(query.packingGroup);
  }
  if (query.after) {
    where.push('(search_name, id) > (?, ?::uuid)');
    params.push(query.after.name, query.after.id);
  }
  const rows = await db.em.fork().execute<ViewRow[]>(
    `SELECT ${VIEW_COLUMNS} FROM dangerous_goods WHERE ${where.join(' AND ')} ORDER BY search_name, id LIMIT ?`,
    [...params, query.limit + 1],
  );
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return { items: page.map(toView), next: rows.length > query.limit && last ? { name: last.search_name, id: last.id } : null };
}

export async function getDangerousGood(db: Database, id: string): Promise<(DangerousGoodView & { specialProvisionTexts: Array<{ code: string; text: string | null }> }) | undefined> {
  const em = db.em.fork();
  const [row] = await em.execute<ViewRow[]>(`SELECT ${VIEW_COLUMNS} FROM dangerous_goods WHERE id = ?`, [id]);
  if (!row) return undefined;
  const view = toView(row);
  const texts = await em.execute<Array<{ code: string; text: string }>>('SELECT code, text FROM special_provisions WHERE code IN (SELECT jsonb_array_elements_text(?::jsonb))', [JSON.stringify(view.specialProvisions)]);
  const byCode = new Map(texts.map((t) => [t.code, t.text]));
  return { ...view, specialProvisionTexts: view.specialProvisions.map((code) => ({ code, text: byCode.get(code) ?? null })) };
}

export async function dangerousGoodsByUn(db: Database, unNumber: string): Promise<DangerousGoodView[]> {
  const rows = await db.em.fork().execute<ViewRow[]>(`SELECT ${VIEW_COLUMNS} FROM dangerous_goods WHERE un_number = ? AND withdrawn_at IS NULL ORDER BY row_index`, [unNumber]);
  return rows.map(toView);
}

/** The rows in force, in table order: what the rules engine builds its in-memory catalogue from. */
export async function catalogueInForce(db: Database): Promise<{ revisionId: string | null; rows: HmtRow[] }> {
  const em = db.em.fork();
  const revisionId = await latestRevisionId(em);
  const rows = await em.execute<Array<{ source_row: HmtRow }>>('SELECT source_row FROM dangerous_goods WHERE withdrawn_at IS NULL ORDER BY row_index');
  return { revisionId, rows: rows.map((row) => row.source_row) };
}

export function latestCatalogueRevision(db: Database): Promise<string | null> {
  return latestRevisionId(db.em.fork());
}

async function latestRevisionId(em: EntityManager): Promise<string | null> {
  const [revision] = await em.execute<Array<{ id: string }>>('SELECT id FROM dg_catalogue_revisions ORDER BY applied_at DESC LIMIT 1');
  return revision?.id ?? null;
}
