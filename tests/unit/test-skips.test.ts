import { describe, expect, it } from 'vitest';
import { judgeSkips, skippedTests, summaryLine } from '../../infra/test-skips.js';

const TYPESENSE_TEST = 'search contract on Typesense [needs TYPESENSE_URL] finds what was meant';

describe('npm test accepts a skip only when declared and the optional system is not configured', () => {
  it('allows a test marked [needs TYPESENSE_URL] while TYPESENSE_URL is unset, and says so in the last line', () => {
    const verdict = judgeSkips([TYPESENSE_TEST], {});
    expect(verdict).toEqual({ allowed: [{ name: TYPESENSE_TEST, system: 'typesense', variable: 'TYPESENSE_URL' }], refused: [] });
    expect(summaryLine(120, 0, verdict)).toBe('120 passed, 0 failed, 1 skipped (typesense: TYPESENSE_URL not set)');
    expect(summaryLine(120, 0, judgeSkips([TYPESENSE_TEST, `${TYPESENSE_TEST} again`], { TYPESENSE_URL: '' }))).toBe('120 passed, 0 failed, 2 skipped (typesense: TYPESENSE_URL not set)');
  });

  it('refuses any other skip: no marker, an undeclared system, or the system configured after all', () => {
    const verdict = judgeSkips(['a flaky test', 'needs the moon [needs MOON_URL]', TYPESENSE_TEST], { TYPESENSE_URL: 'http://typesense:8108' });
    expect(verdict.allowed).toEqual([]);
    expect(verdict.refused.map((skip) => skip.reason)).toEqual([
      'skipped, and its name declares no optional system ([needs VARIABLE])',
      '[needs MOON_URL] is not a declared optional system (infra/test-skips.ts)',
      'skipped although TYPESENSE_URL is set: it should have run',
    ]);
    expect(summaryLine(10, 1, judgeSkips(['a flaky test', TYPESENSE_TEST], {}))).toBe('10 passed, 1 failed, 2 skipped (typesense: TYPESENSE_URL not set; 1 not allowed)');
  });

  it('reads the skipped tests from the vitest JSON report, todo and pending included; nothing skipped, nothing said', () => {
    const report = {
      testResults: [
        { assertionResults: [{ fullName: 'a passes', status: 'passed' }, { fullName: TYPESENSE_TEST, status: 'skipped' }] },
        { assertionResults: [{ fullName: 'later', status: 'todo' }, { fullName: 'old style', status: 'pending' }, { fullName: 'broke', status: 'failed' }] },
      ],
    };
    expect(skippedTests(report)).toEqual([TYPESENSE_TEST, 'later', 'old style']);
    expect(summaryLine(3, 0, judgeSkips([], {}))).toBe('3 passed, 0 failed');
  });
});
