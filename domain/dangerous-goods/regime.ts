// The regulatory regime a dangerous-goods answer is given under: the one list every layer (engine,
// CLI, API, the company setting) takes its values from.

/** adg: the Australian Dangerous Goods Code 7.x (road and rail); 49cfr: the US Hazardous Materials Regulations. */
export const REGIMES = ['adg', '49cfr'] as const;
export type Regime = (typeof REGIMES)[number];

/** A company's regime until its admin says otherwise: the seed serves Australian carriers first. */
export const DEFAULT_REGIME: Regime = 'adg';

export function isRegime(value: unknown): value is Regime {
  return typeof value === 'string' && (REGIMES as readonly string[]).includes(value);
}

/**
 * Where limited-quantity eligibility comes from. The shipped data is the US table; under ADG its
 * column (8A) stands in for the ADG Dangerous Goods List, and the answer says so.
 */
export function limitedQuantitySource(regime: Regime): string {
  return regime === '49cfr'
    ? '49 CFR 172.101(i)(8A)'
    : '49 CFR 172.101 column (8A) used as a stand-in for ADG 7.x 3.4 (limited quantities); the ADG Dangerous Goods List is not in the shipped data';
}
