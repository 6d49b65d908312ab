/**
 * Which skipped tests `npm test` accepts. A skip proves nothing, so only one kind is allowed: a
 * test that needs an optional external system no registry here can install, declared in its name
 * as `[needs VARIABLE]`, while that variable is unset. Anything else skipped fails the run, and so
 * does a declared test skipped although its variable is set (it should have run).
 */

/** The optional external systems, by the variable that points at one, and the name said in the summary. */
export const OPTIONAL_SYSTEMS: Readonly<Record<string, string>> = {
  TYPESENSE_URL: 'typesense',
};

const MARKER = /\[needs ([A-Z][A-Z0-9_]*)\]/g;

export interface SkipVerdict {
  allowed: Array<{ name: string; system: string; variable: string }>;
  refused: Array<{ name: string; reason: string }>;
}

export function judgeSkips(skipped: readonly string[], env: Readonly<Record<string, string | undefined>>): SkipVerdict {
  const verdict: SkipVerdict = { allowed: [], refused: [] };
  for (const name of skipped) {
    const variables = [...name.matchAll(MARKER)].map((match) => match[1]!);
    const undeclared = variables.find((variable) => !(variable in OPTIONAL_SYSTEMS));
    const set = variables.find((variable) => env[variable]);
    const missing = variables.find((variable) => variable in OPTIONAL_SYSTEMS && !env[variable]);
    if (variables.length === 0) verdict.refused.push({ name, reason: 'skipped, and its name declares no optional system ([needs VARIABLE])' });
    else if (undeclared) verdict.refused.push({ name, reason: `[needs ${undeclared}] is not a declared optional system (infra/test-skips.ts)` });
    else if (set) verdict.refused.push({ name, reason: `skipped although ${set} is set: it should have run` });
    else verdict.allowed.push({ name, system: OPTIONAL_SYSTEMS[missing!]!, variable: missing! });
  }
  return verdict;
}

/** The run's last line: "N passed, N failed" and, when some were allowed to skip, how many and why ("1 skipped (typesense: TYPESENSE_URL not set)"). */
export function summaryLine(passed: number, failed: number, verdict: SkipVerdict): string {
  const skipped = verdict.allowed.length + verdict.refused.length;
  if (skipped === 0) return `${passed} passed, ${failed} failed`;
  const reasons = [...new Set(verdict.allowed.map((skip) => `${skip.system}: ${skip.variable} not set`))];
  if (verdict.refused.length) reasons.push(`${verdict.refused.length} not allowed`);
  return `${passed} passed, ${failed} failed, ${skipped} skipped (${reasons.join('; ')})`;
}

/** The vitest JSON reporter's skipped tests, by full name. */
export function skippedTests(report: { testResults?: Array<{ assertionResults?: Array<{ fullName?: string; title?: string; status?: string }> }> }): string[] {
  return (report.testResults ?? []).flatMap((file) =>
    (file.assertionResults ?? []).filter((test) => ['skipped', 'pending', 'todo', 'disabled'].includes(test.status ?? '')).map((test) => test.fullName ?? test.title ?? '(unnamed)'),
  );
}
