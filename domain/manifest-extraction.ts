/**
 * Manifest processing as pure rules: the text of a manifest or DG declaration (page by page) →
 * its dangerous-goods lines (UN number, proper shipping name, class, packing group, quantity) →
 * findings against the DG catalogue and the shipment's consignment. No I/O: the activity reads the
 * PDF and the database and hands the pieces in.
 *
 * A DG description is written in a known order (ADG 7.x 5.4.1.4, 49 CFR 172.202(a)): identification
 * number, proper shipping name, class or division (subsidiary risks in parentheses), packing group,
 * then the quantity. The parser relies on that order and nothing else (no column positions), so a
 * line laid out as "UN1203, Petrol, 3, PG II, 200 L" reads like "UN 1203 PETROL Class 3 Packing Group II 200L".
 */
import type { Catalogue, CatalogueEntry, PackingGroup } from './dangerous-goods/catalogue.js';
import type { FindingKind } from './documents.js';

/** A positioned run of text on a page, as a PDF text layer gives it (PDF user space: y grows upwards). */
export interface TextRun {
  str: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

export type Unit = 'kg' | 'L';

/** One dangerous-goods line found in a document. */
export interface DeclaredLine {
  page: number;
  unNumber: string;
  properShippingName: string | null;
  hazardClass: string | null;
  subsidiaryRisks: string[];
  packingGroup: PackingGroup | null;
  quantity: number | null;
  unit: Unit | null;
}

/** A consignment item as the shipment records it (db/shipments.ts `shipmentLoadLines`). */
export interface ConsignmentLine {
  unNumber: string | null;
  properShippingName: string;
  packingGroup: PackingGroup | null;
  quantity: number;
  unit: Unit;
}

export interface Finding {
  kind: FindingKind;
  /** The page the line is on (1-based); null for what is not on any page (a consignment item missing from the document, an unreadable file). */
  page: number | null;
  unNumber: string | null;
  properShippingName: string | null;
  hazardClass: string | null;
  packingGroup: PackingGroup | null;
  quantity: number | null;
  unit: Unit | null;
  detail: string;
}

/** Lines a document may hold before the rest is ignored: a bound on the findings one upload can write. */
export const MAX_DECLARED_LINES = 1000;

// ---------------------------------------------------------------------------------------------
// Text layer → lines
// ---------------------------------------------------------------------------------------------

/**
 * The lines of a page, top to bottom: runs on one baseline (within half a run's height) joined
 * left to right, with a space where the runs do not touch (a word split into two runs stays whole).
 */
export function pageLines(runs: readonly TextRun[]): string[] {
  const sorted = runs.filter((r) => r.str.trim() !== '').sort((a, b) => b.y - a.y || a.x - b.x);
  const lines: TextRun[][] = [];
  for (const run of sorted) {
    const line = lines.at(-1);
    const tolerance = Math.max(1, (line?.[0]?.height ?? run.height) / 2);
    if (line && Math.abs(line[0]!.y - run.y) <= tolerance) line.push(run);
    else lines.push([run]);
  }
  return lines.map((line) => {
    let text = '';
    let end = -Infinity;
    for (const run of line.sort((a, b) => a.x - b.x)) {
      const touching = run.x - end < Math.max(0.5, run.height * 0.15);
      text += text === '' || touching ? run.str : ` ${run.str}`;
      end = run.x + run.width;
    }
    return text.replace(/\s+/g, ' ').trim();
  });
}

// ---------------------------------------------------------------------------------------------
// Lines → DG lines
// ---------------------------------------------------------------------------------------------

// UN and NA numbers; ID8000 (consumer commodity) is the only ID number, and "ID 1234" is far more often a reference than a DG line.
const ID_NUMBER = /\b(UN|NA)(?:\s*No\.?)?[\s:-]*(\d{4})(?!\d)|\b(ID)\s?(8000)(?!\d)/gi;
const CLASS = /^(?:1\.[1-6][A-HJKLNS]?|2\.[1-3]|3|4\.[1-3]|5\.[12]|6\.[12]|7|8|9)$/i;
const LABEL_WORDS = new Set(['class', 'cl', 'cl.', 'div', 'div.', 'division', 'hazard', 'dg']);
const PG_WORDS = new Set(['pg', 'p.g.', 'pg:', 'packing', 'group', 'group:']);
const ROMAN: Record<string, PackingGroup> = { I: 'I', II: 'II', III: 'III' };
const UNITS: Record<string, Unit> = {
  kg: 'kg',
  kgs: 'kg',
  kilogram: 'kg',
  kilograms: 'kg',
  l: 'L',
  ltr: 'L',
  ltrs: 'L',
  litre: 'L',
  litres: 'L',
  liter: 'L',
  liters: 'L',
};
const NUMBER = /^(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$/;
const NUMBER_WITH_UNIT = /^((?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?)([a-z]+)$/i;

const bare = (token: string) => token.replace(/^[,;:]+|[,;:]+$/g, '');
const toNumber = (text: string) => Number(text.replace(/,/g, ''));

/** "PGII", "PG:II", "II" → the packing group; anything else → null. */
function packingGroupOf(token: string): PackingGroup | null {
  const roman = bare(token).replace(/^(?:P\.?G\.?:?)/i, '').toUpperCase();
  return ROMAN[roman] ?? null;
}

/** A quantity at `i` ("200 L", "200L", "1,000 litres"): its value, unit and how many tokens it took. */
function quantityAt(tokens: readonly string[], i: number): { quantity: number; unit: Unit; taken: number } | null {
  const token = bare(tokens[i] ?? '');
  const joined = NUMBER_WITH_UNIT.exec(token);
  if (joined && UNITS[joined[2]!.toLowerCase()]) return { quantity: toNumber(joined[1]!), unit: UNITS[joined[2]!.toLowerCase()]!, taken: 1 };
  const unit = UNITS[bare(tokens[i + 1] ?? '').replace(/\.$/, '').toLowerCase()];
  if (NUMBER.test(token) && unit) return { quantity: toNumber(token), unit, taken: 2 };
  return null;
}

/**
 * The description after an identification number: the class is the last class or division outside
 * parentheses that is not a quantity ("8 kg"), so numbers inside a long name ("… not less than 8
 * percent …") do not end the name early; before it, the name; after it, subsidiary risks in
 * parentheses, the packing group and the first quantity.
 */
function describe(segment: string): Omit<DeclaredLine, 'page' | 'unNumber'> {
  const tokens = segment.split(/\s+/).filter((t) => t !== '');
  let depth = 0;
  const inParentheses = tokens.map((token) => {
    const opened = depth > 0 || token.startsWith('(');
    depth += (token.match(/\(/g)?.length ?? 0) - (token.match(/\)/g)?.length ?? 0);
    depth = Math.max(depth, 0);
    return opened;
  });
  let classAt = -1;
  for (let i = tokens.length - 1; i >= 0; i -= 1) {
    if (!inParentheses[i] && CLASS.test(bare(tokens[i]!)) && !quantityAt(tokens, i)) {
      classAt = i;
      break;
    }
  }
  let nameEnd = classAt >= 0 ? classAt : tokens.length;
  let packingGroup: PackingGroup | null = null;
  let quantity: { quantity: number; unit: Unit } | null = null;
  const subsidiaryRisks: string[] = [];
  const rest = classAt >= 0 ? classAt + 1 : tokens.length;
  if (classAt < 0) {
    // No class: the name runs to the first packing group or quantity.
    for (let i = 0; i < tokens.length; i += 1) {
      if (quantityAt(tokens, i) || (PG_WORDS.has(bare(tokens[i]!).toLowerCase()) && packingGroupOf(tokens[i + 1] ?? ''))) {
        nameEnd = i;
        break;
      }
    }
  }
  for (let i = classAt >= 0 ? rest : nameEnd; i < tokens.length; i += 1) {
    const token = tokens[i]!;
    if (inParentheses[i]) {
      for (const risk of token.replace(/[()]/g, ' ').split(/[\s,]+/)) if (CLASS.test(risk)) subsidiaryRisks.push(risk);
      continue;
    }
    if (PG_WORDS.has(bare(token).toLowerCase())) continue;
    if (!packingGroup && !quantity && packingGroupOf(token)) {
      packingGroup = packingGroupOf(token);
      continue;
    }
    const found = quantityAt(tokens, i);
    if (found && !quantity) {
      quantity = found;
      i += found.taken - 1;
    }
  }
  const nameTokens = tokens.slice(0, nameEnd);
  while (nameTokens.length && LABEL_WORDS.has(bare(nameTokens.at(-1)!).toLowerCase())) nameTokens.pop();
  const name = nameTokens.join(' ').replace(/^[\s,;:.-]+|[\s,;:-]+$/g, '');
  return {
    properShippingName: name === '' ? null : name,
    hazardClass: classAt >= 0 ? bare(tokens[classAt]!).toUpperCase() : null,
    subsidiaryRisks,
    packingGroup,
    quantity: quantity?.quantity ?? null,
    unit: quantity?.unit ?? null,
  };
}

/** The DG lines of one line of text: one per identification number on it, each described by the text up to the next. */
export function parseLine(text: string, page: number): DeclaredLine[] {
  const matches = [...text.matchAll(ID_NUMBER)];
  return matches.map((match, i) => {
    const unNumber = match[1] ? `${match[1].toUpperCase()}${match[2]}` : `ID${match[4]}`;
    const segment = text.slice(match.index + match[0].length, matches[i + 1]?.index ?? text.length);
    return { page, unNumber, ...describe(segment) };
  });
}

/** Every DG line of a document, given the lines of text of each page (page 1 first), at most MAX_DECLARED_LINES. */
export function declaredLines(pages: readonly (readonly string[])[]): DeclaredLine[] {
  return pages.flatMap((lines, index) => lines.flatMap((line) => parseLine(line, index + 1))).slice(0, MAX_DECLARED_LINES);
}

// ---------------------------------------------------------------------------------------------
// DG lines → findings
// ---------------------------------------------------------------------------------------------

const words = (name: string) => name.toLowerCase().replace(/[^a-z0-9]+/g, ' ').trim();

/** The catalogue's names for an entry: "A or B" gives both; "see also …" is a pointer, not a name. */
const catalogueNames = (entry: CatalogueEntry) => entry.properShippingName.replace(/,?\s+see also\b.*$/i, '').split(/\s+or\s+/i).map(words);

/** Whether the declared name is recognisably the catalogue's: one begins with the other's first word. */
function nameAgrees(declared: string, entries: readonly CatalogueEntry[]): boolean {
  const mine = words(declared);
  const first = mine.split(' ')[0] ?? '';
  return entries.some((entry) => catalogueNames(entry).some((name) => name.startsWith(first) || mine.startsWith(name.split(' ')[0] ?? '\u0000')));
}

const distinct = <T>(values: readonly T[]) => [...new Set(values)];
const amount = (quantity: number, unit: Unit) => `${Number(quantity.toFixed(3))} ${unit}`;

/** Where the declared line disagrees with the catalogue's entries for its number (empty when it agrees). */
function catalogueDisagreements(line: DeclaredLine, entries: readonly CatalogueEntry[]): string[] {
  const problems: string[] = [];
  if (line.hazardClass !== null) {
    const classes = distinct(entries.flatMap((e) => [e.hazardClassRaw.toUpperCase(), e.hazardClass ?? '']).filter((c) => c !== ''));
    if (!classes.includes(line.hazardClass)) problems.push(`class ${line.hazardClass} declared; the catalogue gives ${distinct(entries.map((e) => e.hazardClassRaw)).join(' or ')}`);
  }
  if (line.packingGroup !== null) {
    const groups = distinct(entries.map((e) => e.packingGroup).filter((g): g is PackingGroup => g !== null));
    if (groups.length === 0) problems.push(`packing group ${line.packingGroup} declared; ${line.unNumber} has none`);
    else if (!groups.includes(line.packingGroup)) problems.push(`packing group ${line.packingGroup} declared; the catalogue gives ${groups.join(' or ')}`);
  }
  return problems;
}

const findingOf = (kind: FindingKind, line: DeclaredLine, detail: string): Finding => ({
  kind,
  page: line.page,
  unNumber: line.unNumber,
  properShippingName: line.properShippingName,
  hazardClass: line.hazardClass,
  packingGroup: line.packingGroup,
  quantity: line.quantity,
  unit: line.unit,
  detail,
});

/**
 * The findings of a processed document: pages without a text layer need OCR; each DG line is
 * checked against the catalogue (unknown number; class or packing group that the entry does not
 * have) and, when the document belongs to a shipment (`consignment` not null), against its
 * consignment items of the same number (packing group; quantity, totalled per number and unit over
 * the document's lines and the items); each consignment item whose number the document never
 * mentions is missing. A name that is not the catalogue's is noted, not a mismatch: the ADG names
 * ("Petrol", "Motor spirit") differ from 49 CFR's ("Gasoline") for the same entry.
 */
export function compareManifest(input: { lines: readonly DeclaredLine[]; catalogue: Catalogue; consignment: readonly ConsignmentLine[] | null; pagesWithoutText: readonly number[] }): Finding[] {
  const { lines, catalogue, consignment } = input;
  const findings: Finding[] = input.pagesWithoutText.map((page) => ({
    kind: 'NEEDS_OCR',
    page,
    unNumber: null,
    properShippingName: null,
    hazardClass: null,
    packingGroup: null,
    quantity: null,
    unit: null,
    detail: `page ${page} has no text layer (a scanned image?): its dangerous goods cannot be read without OCR`,
  }));
  const declaredTotal = (un: string, unit: Unit) => lines.filter((l) => l.unNumber === un && l.unit === unit).reduce((sum, l) => sum + (l.quantity ?? 0), 0);

  for (const line of lines) {
    const entries = catalogue.byIdNumber.get(line.unNumber) ?? [];
    if (entries.length === 0) {
      findings.push(findingOf('UNKNOWN', line, `${line.unNumber} is not in the dangerous goods catalogue (49 CFR 172.101)`));
      continue;
    }
    const notes = line.properShippingName !== null && !nameAgrees(line.properShippingName, entries) ? [`the name "${line.properShippingName}" is not the catalogue's ("${entries[0]!.properShippingName}")`] : [];
    const problems = catalogueDisagreements(line, entries);
    if (consignment === null) {
      findings.push(problems.length ? findingOf('MISMATCHED', line, [...problems, ...notes].join('; ')) : findingOf('MATCHED', line, ['in the catalogue; the document is not attached to a shipment', ...notes].join('; ')));
      continue;
    }
    const items = consignment.filter((item) => item.unNumber === line.unNumber);
    if (items.length === 0) {
      findings.push(findingOf('MISMATCHED', line, [`${line.unNumber} is in the document but not among the shipment's consignment items`, ...problems, ...notes].join('; ')));
      continue;
    }
    const groups = distinct(items.map((item) => item.packingGroup).filter((g): g is PackingGroup => g !== null));
    if (line.packingGroup !== null && groups.length > 0 && !groups.includes(line.packingGroup)) problems.push(`packing group ${line.packingGroup} declared; the consignment has ${groups.join(' or ')}`);
    if (line.quantity !== null && line.unit !== null) {
      const unit = line.unit;
      const inConsignment = items.filter((item) => item.unit === unit).reduce((sum, item) => sum + item.quantity, 0);
      const declared = declaredTotal(line.unNumber, unit);
      if (!items.some((item) => item.unit === unit)) problems.push(`${amount(declared, unit)} declared; the consignment has ${items.map((item) => amount(item.quantity, item.unit)).join(' + ')}`);
      else if (Math.abs(declared - inConsignment) > 0.0005) problems.push(`${amount(declared, unit)} declared; the consignment has ${amount(inConsignment, unit)}`);
    }
    const consigned = items.map((item) => amount(item.quantity, item.unit)).join(' + ');
    findings.push(problems.length ? findingOf('MISMATCHED', line, [...problems, ...notes].join('; ')) : findingOf('MATCHED', line, [`as consigned (${consigned})`, ...notes].join('; ')));
  }

  if (consignment !== null) {
    const mentioned = new Set(lines.map((line) => line.unNumber));
    for (const item of consignment) {
      if (item.unNumber !== null && mentioned.has(item.unNumber)) continue;
      findings.push({
        kind: 'MISSING',
        page: null,
        unNumber: item.unNumber,
        properShippingName: item.properShippingName,
        hazardClass: catalogue.byIdNumber.get(item.unNumber ?? '')?.[0]?.hazardClassRaw ?? null,
        packingGroup: item.packingGroup,
        quantity: item.quantity,
        unit: item.unit,
        detail: `${item.unNumber ?? item.properShippingName} (${amount(item.quantity, item.unit)}) is consigned but not in the document`,
      });
    }
  }
  return findings;
}

/** The one finding of a document that cannot be read at all. */
export function unreadableFinding(reason: string): Finding {
  return { kind: 'UNREADABLE', page: null, unNumber: null, properShippingName: null, hazardClass: null, packingGroup: null, quantity: null, unit: null, detail: reason };
}
