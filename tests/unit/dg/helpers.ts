// Shared fixtures: the real catalogue and segregation tables from data/, loaded once per file.
import { loadDgData } from '../../../data/load.js';
import { resolveItem } from '../../../domain/dangerous-goods/catalogue.js';
import type { CatalogueEntry, ItemQuery, ResolutionPurpose } from '../../../domain/dangerous-goods/catalogue.js';
import type { SegregationItem } from '../../../domain/dangerous-goods/segregation.js';

export const { catalogue, rules } = loadDgData();

/** The one 172.101 entry a query resolves to; fails the test loudly otherwise. */
export function entry(unNumber: string, query: Omit<Partial<ItemQuery>, 'unNumber'> = {}, purpose: ResolutionPurpose = 'all'): CatalogueEntry {
  const r = resolveItem(catalogue, { unNumber, ...query }, purpose);
  if (!r.ok) throw new Error(`fixture ${unNumber}: ${r.problem.message}`);
  return r.entry;
}

export function seg(unNumber: string, extra: Omit<SegregationItem, 'entry'> & Omit<Partial<ItemQuery>, 'unNumber'> = {}): SegregationItem {
  const { packingGroup, properShippingName, hazardClass, inhalationHazardZone, variant, ...rest } = extra;
  return { ...rest, inhalationHazardZone, entry: entry(unNumber, { packingGroup, properShippingName, hazardClass, inhalationHazardZone, variant }, 'segregation') };
}

export const FOOD: SegregationItem = { entry: null, food: true };
