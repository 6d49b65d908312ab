// Median and p99 of checkCompatibility on 100-item loads (4,950 pairs), in-process, with the
// catalogue and rules loaded once, per regime (ADG adds the placard-load test on the same items).
// Run: npx tsx bench/dg-compatibility.ts
import { loadDgData } from '../data/load.js';
import { resolveItem } from '../domain/dangerous-goods/catalogue.js';
import type { CatalogueEntry } from '../domain/dangerous-goods/catalogue.js';
import { checkCompatibility } from '../domain/dangerous-goods/segregation.js';
import type { SegregationItem } from '../domain/dangerous-goods/segregation.js';
import type { Regime } from '../domain/dangerous-goods/regime.js';

const { catalogue, rules } = loadDgData();

// Deterministic pseudo-random numbers so runs are comparable.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s / 2 ** 32;
  };
}

function entriesWhere(pred: (e: CatalogueEntry) => boolean): CatalogueEntry[] {
  const out: CatalogueEntry[] = [];
  for (const [un, rows] of catalogue.byIdNumber) {
    const first = rows[0];
    if (!first || !pred(first)) continue;
    const r = resolveItem(catalogue, { unNumber: un, packingGroup: first.packingGroup ?? undefined }, 'segregation');
    if (r.ok) out.push(r.entry);
  }
  return out;
}

function load(pool: readonly CatalogueEntry[], seed: number, food: boolean): SegregationItem[] {
  const next = rng(seed);
  return Array.from({ length: 100 }, (_, i) => ({
    entry: pool[Math.floor(next() * pool.length)] as CatalogueEntry,
    state: 'liquid' as const,
    quantity: 20,
    unit: 'L' as const,
    receptacleCapacity: 20,
    food: food && i % 10 === 0,
  }));
}

function measure(name: string, loads: readonly SegregationItem[][], regime: Regime = '49cfr'): void {
  for (let i = 0; i < 200; i++) checkCompatibility(loads[i % loads.length] as SegregationItem[], rules, regime);
  const times: number[] = [];
  let conflicts = 0;
  for (let i = 0; i < 2000; i++) {
    const l = loads[i % loads.length] as SegregationItem[];
    const t0 = performance.now();
    const r = checkCompatibility(l, rules, regime);
    times.push(performance.now() - t0);
    conflicts += r.conflicts.length;
  }
  times.sort((a, b) => a - b);
  const q = (p: number): string => `${((times[Math.min(times.length - 1, Math.floor(p * times.length))] ?? 0) * 1000).toFixed(0)} µs`;
  console.log(`${name.padEnd(44)} median ${q(0.5).padStart(8)}   p99 ${q(0.99).padStart(8)}   (${(conflicts / times.length).toFixed(0)} conflicts/load)`);
}

const all = entriesWhere(() => true);
const regulatedMix = entriesWhere((e) => e.classNumber !== null && e.classNumber !== 1);
const flammables = entriesWhere((e) => e.hazardClass === '3' && e.subsidiaryRisks.length === 0);
console.log(`100 items, 4,950 pairs per load; ${all.length} resolvable UN numbers in the pool`);
measure('random catalogue entries (all classes)', Array.from({ length: 20 }, (_, s) => load(all, s + 1, false)));
measure('random non-explosive entries, 10 food lines', Array.from({ length: 20 }, (_, s) => load(regulatedMix, s + 101, true)));
measure('Class 3 only (compatible, fast path)', Array.from({ length: 20 }, (_, s) => load(flammables, s + 201, false)));
measure('ADG: random catalogue entries (placard load)', Array.from({ length: 20 }, (_, s) => load(all, s + 1, false)), 'adg');
