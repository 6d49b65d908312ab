// `safeshipper dg …`: the DG rules core on a load read from stdin, with no server or database.
import { parseCompatibilityRequest, parseLoad, resolveLoad } from '../domain/dangerous-goods/load.js';
import type { Load, ResolvedItem } from '../domain/dangerous-goods/load.js';
import { checkCompatibility } from '../domain/dangerous-goods/segregation.js';
import { determinePlacards } from '../domain/dangerous-goods/placards.js';
import { assessCompliance, complianceInputSchema } from '../domain/dangerous-goods/compliance.js';
import type { ResolutionPurpose } from '../domain/dangerous-goods/catalogue.js';
import { formatPath } from '../domain/dangerous-goods/load.js';
import { isRegime, REGIMES } from '../domain/dangerous-goods/regime.js';
import type { Regime } from '../domain/dangerous-goods/regime.js';
import { loadDgData } from '../data/load.js';
import { UsageError } from './errors.js';

const REGIME_CHOICES = REGIMES.map((r) => `"${r}"`).join(' or ');

/** The --regime flag merged into the input, which may name the regime itself ("regime": …); the two must agree. */
function withRegime(input: unknown, flag: string | undefined): unknown {
  if (flag === undefined) return input;
  if (!isRegime(flag)) throw new UsageError(`--regime must be ${REGIME_CHOICES}`);
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return input;
  const given = (input as Record<string, unknown>)['regime'];
  if (given !== undefined && given !== flag) throw new UsageError(`--regime ${flag} contradicts "regime": ${JSON.stringify(given)} in the input`);
  return { ...input, regime: flag };
}

function resolvedOrThrow(load: Load, purpose: ResolutionPurpose): readonly ResolvedItem[] {
  const { catalogue } = loadDgData();
  const r = resolveLoad(catalogue, load, purpose);
  if (!r.ok) throw new UsageError('items could not be resolved against 49 CFR 172.101', r.problems.map((p) => `${p.field}: ${p.message}`));
  return r.items;
}

function loadOrThrow(input: unknown): Load {
  const parsed = parseLoad(input);
  if (!parsed.ok) throw new UsageError('invalid load', parsed.errors.map((e) => `${e.field}: ${e.message}`));
  return parsed.value;
}

/** The regime comes from --regime or the input's "regime"; there is no company here to default to. */
export function checkCompatibilityCommand(input: unknown, regimeFlag: string | undefined): unknown {
  const parsed = parseCompatibilityRequest(withRegime(input, regimeFlag));
  if (!parsed.ok) throw new UsageError('invalid load', parsed.errors.map((e) => `${e.field}: ${e.message}`));
  const { regime, ...load } = parsed.value;
  if (regime === undefined) throw new UsageError(`--regime must be ${REGIME_CHOICES} (or "regime" given in the input)`);
  return checkCompatibility(resolvedOrThrow(load, 'segregation'), loadDgData().rules, regime);
}

export function placardsCommand(input: unknown, regime: Regime, domestic: boolean): unknown {
  const items = resolvedOrThrow(loadOrThrow(input), 'placards');
  return determinePlacards(items, regime, { domestic });
}

export function complianceCommand(input: unknown, regimeFlag: string | undefined): unknown {
  const parsed = complianceInputSchema.safeParse(withRegime(input, regimeFlag));
  if (!parsed.success) {
    throw new UsageError(
      'invalid compliance input',
      parsed.error.issues.map((i) => `${formatPath(i.path.filter((p): p is string | number => typeof p !== 'symbol'))}: ${i.message}`),
    );
  }
  const { catalogue, rules } = loadDgData();
  return assessCompliance(parsed.data, catalogue, rules);
}
