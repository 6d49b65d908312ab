import { describe, expect, it } from 'vitest';
import { allowedTypos, analyzeQuery, classGroups, editDistance, withinEdits, highlight, highlightTerms, normalizeSearchText, pickCorrections, SEARCH_SYNONYMS, unNumberPrefix } from '../../domain/search-query.js';
import { titleVariants, tsqueryText } from '../../search/postgres.js';

describe('UN numbers, however they are typed', () => {
  it.each([
    ['UN 1O17', 'UN1017'],
    ['un1017', 'UN1017'],
    ['UN-1017', 'UN1017'],
    ['UN1o17', 'UN1017'],
    ['1017', 'UN1017'],
    ['what is UN 1017?', 'UN1017'],
    ['NA1993', 'NA1993'],
    ['id 8000', 'ID8000'],
  ])('%s → %s', (typed, un) => {
    expect(analyzeQuery(typed).unNumbers).toEqual([un]);
  });

  it('reads a letter O as zero only inside a number-looking token, never in a word', () => {
    expect(analyzeQuery('ozone').unNumbers).toEqual([]);
    expect(analyzeQuery('oooo').unNumbers).toEqual([]);
    expect(analyzeQuery('UN OOOO').unNumbers).toEqual([]);
    // Without the prefix a number must start with a digit: "o017" is not taken for UN0017.
    expect(analyzeQuery('o017').unNumbers).toEqual([]);
    expect(analyzeQuery('chlorine 10172').unNumbers).toEqual([]);
  });

  it('matches a prefixed number only as a UN number, a bare one also as a plain number (a shipment number, a registration)', () => {
    expect(analyzeQuery('UN 1O17 ').slots).toEqual([{ text: 'un1017', phrases: [['un1017']], unNumber: 'UN1017', prefix: false, correctable: false }]);
    expect(analyzeQuery('SS-1042').slots.map((slot) => slot.phrases)).toEqual([[['ss']], [['un1042'], ['1042']]]);
  });

  it('takes a UN number still being typed as a prefix ("UN 10" → un10*)', () => {
    expect(analyzeQuery('UN 10').slots).toEqual([{ text: 'un10', phrases: [['un10']], unNumber: null, prefix: true, correctable: false }]);
    expect(unNumberPrefix('UN 1O')).toBe('UN10');
    expect(unNumberPrefix('un-101')).toBe('UN101');
    expect(unNumberPrefix('10')).toBeNull();
    expect(unNumberPrefix('UN O1')).toBeNull();
    expect(unNumberPrefix('chlor')).toBeNull();
  });
});

describe('query analysis', () => {
  it('normalises like the index (case, accents, ligatures, punctuation)', () => {
    expect(normalizeSearchText('Łódź São-Paulo ÆRØ Straße, n.o.s. 6.1')).toBe('lodz sao paulo aero strasse n o s 6 1');
  });

  it('drops the words of a question and keeps the type asked for as a hint', () => {
    const query = analyzeQuery('the chlorine shipment to Geelong');
    expect(query.slots.map((slot) => slot.text)).toEqual(['chlorine', 'geelong']);
    expect(query.typeHints).toEqual(['shipment']);
    expect(analyzeQuery('the SDS for our acetone')).toMatchObject({ text: 'acetone', typeHints: ['sds'] });
    // A type word alone is what is looked for.
    expect(analyzeQuery('shipment')).toMatchObject({ text: 'shipment', typeHints: [] });
  });

  it('expands synonyms both ways, the longest phrase first', () => {
    expect(analyzeQuery('petrol').slots[0]!.phrases).toEqual([['petrol'], ['gasoline'], ['motor', 'spirit']]);
    expect(analyzeQuery('motor spirit').slots).toHaveLength(1);
    expect(analyzeQuery('motor spirit').slots[0]!.phrases).toEqual([['motor', 'spirit'], ['petrol'], ['gasoline']]);
    expect(analyzeQuery('LPG').slots[0]!.phrases).toEqual([['lpg'], ['liquefied', 'petroleum', 'gas'], ['propane']]);
    expect(analyzeQuery('gas oil').slots[0]!.phrases).toContainEqual(['diesel']);
    expect(analyzeQuery('sulphuric acid').slots.map((slot) => slot.phrases)).toEqual([[['sulphuric'], ['sulfuric']], [['acid']]]);
    // Every group is data: lower case, each phrase once.
    for (const group of SEARCH_SYNONYMS) {
      expect(group.every((phrase) => phrase === normalizeSearchText(phrase))).toBe(true);
      expect(new Set(group).size).toBe(group.length);
    }
  });

  it('treats the last word as a prefix while it is typed (not after a space, not under 3 letters, not a synonym)', () => {
    expect(analyzeQuery('chlorin').slots[0]).toMatchObject({ prefix: true, correctable: true });
    expect(analyzeQuery('chlorin ').slots[0]).toMatchObject({ prefix: false });
    expect(analyzeQuery('ch').slots[0]).toMatchObject({ prefix: false });
    expect(analyzeQuery('petrol').slots[0]).toMatchObject({ prefix: false });
  });
});

describe('typo tolerance', () => {
  it('allows one typo from 4 letters and two from 7', () => {
    expect([allowedTypos('gas'), allowedTypos('acid'), allowedTypos('acetne'), allowedTypos('chlorin')]).toEqual([0, 1, 1, 2]);
  });

  it('tells whether a word is within so many edits without building the whole table', () => {
    for (const [a, b] of [['acetne', 'acetone'], ['chlroine', 'chlorine'], ['acetne', 'acetate'], ['geelong', 'gelong'], ['abc', 'xyz'], ['', 'ab'], ['same', 'same']]) {
      for (const max of [0, 1, 2]) expect([a, b, max, withinEdits(a!, b!, max)]).toEqual([a, b, max, editDistance(a!, b!) <= max]);
    }
  });

  it('counts edits, a swap of neighbours as one', () => {
    expect(editDistance('acetne', 'acetone')).toBe(1);
    expect(editDistance('chlorin', 'chlorine')).toBe(1);
    expect(editDistance('chlroine', 'chlorine')).toBe(1);
    expect(editDistance('acetne', 'acetate')).toBe(2);
    expect(editDistance('', 'abc')).toBe(3);
  });

  it('picks corrections within the allowance, a continuation of the word being typed first', () => {
    expect(pickCorrections('acetne', ['acetone', 'acetate', 'acetyl', 'acetal'])).toEqual(['acetone']);
    expect(pickCorrections('chlorin', ['chloric', 'chloride', 'chlorine'])).toEqual(['chloric', 'chlorine', 'chloride']);
    expect(pickCorrections('chlorin', ['chloric', 'chloride', 'chlorine'], { completing: true })).toEqual(['chlorine', 'chloric', 'chloride']);
    expect(pickCorrections('acid', ['acids', 'acrid', 'amid', 'acetic'], { max: 2 })).toEqual(['acids', 'acrid']);
  });
});

describe('the PostgreSQL query built from the analysis', () => {
  it('ANDs the slots and ORs each slot’s phrases, corrections and, while typing, a prefix', () => {
    const query = analyzeQuery('petrol geelnog');
    expect(tsqueryText(query, { geelnog: ['geelong'] }, 'and')).toBe(`('petrol' | 'gasoline' | 'motor' <-> 'spirit') & ('geelnog':* | 'geelong')`);
    expect(tsqueryText(query, {}, 'or')).toBe(`('petrol' | 'gasoline' | 'motor' <-> 'spirit') | ('geelnog':*)`);
    expect(tsqueryText(analyzeQuery('UN 1O17 '), {}, 'and')).toBe(`('un1017')`);
    // The last number, still being typed, is also the start of a shipment number or registration.
    expect(tsqueryText(analyzeQuery('1017'), {}, 'and')).toBe(`('un1017' | '1017':*)`);
    expect(tsqueryText(analyzeQuery('SS-0042'), {}, 'and')).toBe(`('ss') & ('un0042' | '0042':*)`);
  });

  it('names the titles the query may mean: typed, synonyms and corrections combined', () => {
    expect(titleVariants(analyzeQuery('sulphuric acid '), {})).toEqual(['sulphuric acid', 'sulfuric acid']);
    expect(titleVariants(analyzeQuery('acetne'), { acetne: ['acetone'] })).toEqual(['acetne', 'acetone']);
  });
});

describe('highlights', () => {
  it('marks words that match exactly, by prefix, or within the typo allowance, and escapes the rest', () => {
    const terms = highlightTerms(analyzeQuery('chlorin'), { chlorin: ['chlorine'] });
    expect(highlight('Chlorine <b>gas</b>', terms)).toBe('<mark>Chlorine</mark> &lt;b&gt;gas&lt;/b&gt;');
    expect(highlight('Acetone', highlightTerms(analyzeQuery('acetne')))).toBe('<mark>Acetone</mark>');
    expect(highlight('Gasoline includes gasoline', highlightTerms(analyzeQuery('petrol')))).toBe('<mark>Gasoline</mark> includes <mark>gasoline</mark>');
    expect(highlight('Sodium chlorate', highlightTerms(analyzeQuery('acetone')))).toBeNull();
  });

  it('marks a UN number written with a space, and cuts a long text around the first match', () => {
    expect(highlight('Contains UN 1017 (chlorine)', highlightTerms(analyzeQuery('UN1017')))).toBe('Contains <mark>UN 1017</mark> (chlorine)');
    const long = `${'filler words here '.repeat(30)}the acetone drum ${'more words '.repeat(30)}`;
    const snippet = highlight(long, highlightTerms(analyzeQuery('acetone')))!;
    expect(snippet.startsWith('…')).toBe(true);
    expect(snippet.endsWith('…')).toBe(true);
    expect(snippet).toContain('<mark>acetone</mark> drum');
    expect(snippet.length).toBeLessThan(200);
  });
});

describe('class facets', () => {
  it('counts a division for its class', () => {
    expect(classGroups(['6.1', '2.3', '2.1', '3', 'Forbidden'])).toEqual(['2', '3', '6']);
  });
});
