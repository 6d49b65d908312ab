// `safeshipper dg …`: the DG rules core on a load read from stdin, with no server or database.
import { parseLoad, resolveLoad } from '../domain/dangerous-goods/load.js';
import type { ResolvedItem } from '../domain/dangerous-goods/load.js';
import { checkCompatibility } from '../domain/dangerous-goods/segregation.js';
import { determinePlacards } from '../domain/dangerous-goods/placards.js';
import { assessCompliance, complianceInputSchema } from '../domain/dangerous-goods/compliance.js';
import type { ResolutionPurpose } from '../domain/dangerous-goods/catalogue.js';
import { formatPath } from '../domain/dangerous-goods/load.js';
import { loadDgData } from '../data/load.js';
import { UsageError } from './errors.js';

function resolvedOrThrow(input: unknown, purpose: ResolutionPurpose): readonly ResolvedItem[] {
  const parsed = parseLoad(input);
  if (!parsed.ok) throw new UsageError('invalid load', parsed.errors.map((e) => `${e.field}: ${e.message}`));
  const { catalogue } = loadDgData();
  const r = resolveLoad(catalogue, parsed.value, purpose);
  if (!r.ok) throw new UsageError('items could not be resolved against 49 CFR 172.101', r.problems.map((p) => `${p.field}: ${p.message}`));
  return r.items;
}

export function checkCompatibilityCommand(input: unknown): unknown {
  const items = resolvedOrThrow(input, 'segregation');
  return checkCompatibility(items, loadDgData().rules);
}

export function placardsCommand(input: unknown, regime: 'adg' | '49cfr', domestic: boolean): unknown {
  const items = resolvedOrThrow(input, 'placards');
  return determinePlacards(items, regime, { domestic });
}

export function complianceCommand(input: unknown): unknown {
  const parsed = complianceInputSchema.safeParse(input);
  if (!parsed.success) {
    throw new UsageError(
      'invalid compliance input',
      parsed.error.issues.map((i) => `${formatPath(i.path.filter((p): p is string | number => typeof p !== 'symbol'))}: ${i.message}`),
    );
  }
  const { catalogue, rules } = loadDgData();
  return assessCompliance(parsed.data, catalogue, rules);
}
