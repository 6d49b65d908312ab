import { describe, expect, it } from 'vitest';
import { CatalogueSourceInvalid, fetchText } from '../../../activities/government.js';
import { sourceUrlProblem } from '../../../domain/dangerous-goods/catalogue-sync.js';

describe('government DG sync sources: https: only (file: for the shipped data)', () => {
  it('accepts https: and file: URLs', () => {
    expect(sourceUrlProblem('https://www.ecfr.gov/hmt.jsonl')).toBeUndefined();
    expect(sourceUrlProblem('file:///srv/data/hmt.jsonl')).toBeUndefined();
  });

  it('refuses http: and every other scheme, and what is not a URL, saying what is accepted', () => {
    expect(sourceUrlProblem('http://www.ecfr.gov/hmt.jsonl')).toBe('http://www.ecfr.gov/hmt.jsonl: only https: URLs are accepted (file: for local copies); http: can be altered in transit');
    for (const url of ['ftp://regulator.example/hmt.jsonl', 'data:text/plain,{}', 'HTTP://regulator.example/hmt.jsonl']) {
      expect(sourceUrlProblem(url)).toMatch(/: only https: URLs are accepted \(file: for local copies\)/);
    }
    expect(sourceUrlProblem('hmt.jsonl')).toBe('hmt.jsonl: not a URL; give an https: URL (file: for local copies)');
  });

  it('the activity refuses an http: source before any request is made', async () => {
    const refusal = fetchText('http://127.0.0.1:9/hmt.jsonl');
    await expect(refusal).rejects.toBeInstanceOf(CatalogueSourceInvalid);
    await expect(refusal).rejects.toThrow('http://127.0.0.1:9/hmt.jsonl: only https: URLs are accepted (file: for local copies); http: can be altered in transit');
  });
});
