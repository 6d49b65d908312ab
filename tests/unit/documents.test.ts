import { describe, expect, it } from 'vitest';
import { downloadFileName, parseRange, sanitizeFileName } from '../../domain/documents.js';
import { compareManifest, declaredLines, pageLines, parseLine, type ConsignmentLine, type DeclaredLine } from '../../domain/manifest-extraction.js';
import { currentRevisionIds, isExpired, productKey, reviewDueOn } from '../../domain/sds.js';
import { assessCompliance, complianceInputSchema, type ComplianceInput } from '../../domain/dangerous-goods/compliance.js';
import { catalogue, rules } from './dg/helpers.js';
import { loadConfig } from '../../config/env.js';

describe('a DG line read from manifest text', () => {
  const one = (text: string) => {
    const lines = parseLine(text, 1);
    expect(lines).toHaveLength(1);
    return lines[0]!;
  };

  it('reads number, name, class, packing group and quantity however the fields are separated', () => {
    const expected = { page: 1, unNumber: 'UN1203', properShippingName: 'Petrol', hazardClass: '3', subsidiaryRisks: [], packingGroup: 'II', quantity: 200, unit: 'L' };
    expect(one('UN1203 Petrol 3 II 200 L')).toEqual(expected);
    expect(one('UN1203, Petrol, 3, PG II, 200 L')).toEqual(expected);
    expect(one('1. UN 1203 Petrol Class 3 Packing Group II 200L')).toEqual(expected);
    expect(one('UN No. 1203 Petrol Class 3 PG:II 200 litres')).toEqual(expected);
  });

  it('keeps subsidiary risks apart, and a gas without packing group', () => {
    expect(one('UN1017 CHLORINE 2.3 (5.1, 8) 50 kg')).toEqual({ page: 1, unNumber: 'UN1017', properShippingName: 'CHLORINE', hazardClass: '2.3', subsidiaryRisks: ['5.1', '8'], packingGroup: null, quantity: 50, unit: 'kg' });
  });

  it('does not end a long name at a number inside it, nor take a quantity for the class', () => {
    expect(one('UN2014 Hydrogen peroxide, aqueous solution with not less than 8 percent hydrogen peroxide 5.1 (8) II 1,000 L')).toMatchObject({
      properShippingName: 'Hydrogen peroxide, aqueous solution with not less than 8 percent hydrogen peroxide',
      hazardClass: '5.1',
      subsidiaryRisks: ['8'],
      packingGroup: 'II',
      quantity: 1000,
      unit: 'L',
    });
    expect(one('UN1830 Sulphuric acid 8 II 8 L')).toMatchObject({ properShippingName: 'Sulphuric acid', hazardClass: '8', packingGroup: 'II', quantity: 8, unit: 'L' });
    expect(one('UN1993 Flammable liquid, n.o.s. (contains xylene) 3 III 20 kg')).toMatchObject({ properShippingName: 'Flammable liquid, n.o.s. (contains xylene)', hazardClass: '3', packingGroup: 'III', quantity: 20, unit: 'kg' });
  });

  it('takes what it can from a partial description, and nothing from a line without an identification number', () => {
    expect(one('UN9999 Mystery liquid')).toEqual({ page: 1, unNumber: 'UN9999', properShippingName: 'Mystery liquid', hazardClass: null, subsidiaryRisks: [], packingGroup: null, quantity: null, unit: null });
    expect(one('UN1090')).toMatchObject({ unNumber: 'UN1090', properShippingName: null, hazardClass: null });
    expect(parseLine('Consignor: Acme Chemicals, 12 Dock Road, shipment ID 4411', 1)).toEqual([]);
    expect(parseLine('UNKNOWN 1234 and NA1993 Diesel fuel 3 III', 2).map((l) => [l.unNumber, l.properShippingName, l.page])).toEqual([['NA1993', 'Diesel fuel', 2]]);
  });

  it('splits a line that names several numbers, one description each', () => {
    expect(parseLine('UN1203 Petrol 3 II 200 L UN1090 Acetone 3 II 100 L', 1).map((l) => [l.unNumber, l.properShippingName, l.quantity])).toEqual([
      ['UN1203', 'Petrol', 200],
      ['UN1090', 'Acetone', 100],
    ]);
  });

  it('joins the runs of a text layer into lines, top to bottom, without splitting a word cut into two runs', () => {
    const run = (str: string, x: number, y: number, width = str.length * 6) => ({ str, x, y, width, height: 12 });
    expect(pageLines([run('200 L', 300, 700), run('UN1203 Petrol', 50, 700.4), run('3 II', 200, 700), run('UN10', 50, 680, 24), run('90 Acetone', 74, 680), run(' ', 0, 650)])).toEqual([
      'UN1203 Petrol 3 II 200 L',
      'UN1090 Acetone',
    ]);
    expect(declaredLines([['UN1203 Petrol 3 II 200 L'], [], ['UN1017 Chlorine 2.3 50 kg']]).map((l) => [l.unNumber, l.page])).toEqual([
      ['UN1203', 1],
      ['UN1017', 3],
    ]);
  });
});

describe('manifest findings against the catalogue and the consignment', () => {
  const line = (text: string, page = 1): DeclaredLine => parseLine(text, page)[0]!;
  const consignment: ConsignmentLine[] = [
    { unNumber: 'UN1203', properShippingName: 'Gasoline', packingGroup: 'II', quantity: 200, unit: 'L' },
    { unNumber: 'UN1017', properShippingName: 'Chlorine', packingGroup: null, quantity: 75, unit: 'kg' },
    { unNumber: 'UN1090', properShippingName: 'Acetone', packingGroup: 'II', quantity: 100, unit: 'L' },
  ];
  const lines = [line('UN1203 Petrol 3 II 200 L'), line('UN1017 Chlorine 2.3 (5.1, 8) 50 kg'), line('UN9999 Mystery liquid 3', 2)];

  it('matched, mismatched, unknown, missing and needs-OCR, each with its page and why', () => {
    const findings = compareManifest({ lines, catalogue, consignment, pagesWithoutText: [3] });
    expect(findings.map((f) => [f.kind, f.page, f.unNumber, f.detail])).toEqual([
      ['NEEDS_OCR', 3, null, 'page 3 has no text layer (a scanned image?): its dangerous goods cannot be read without OCR'],
      ['MATCHED', 1, 'UN1203', 'as consigned (200 L); the name "Petrol" is not the catalogue\'s ("Gasoline includes gasoline mixed with ethyl alcohol, with not more than 10% alcohol")'],
      ['MISMATCHED', 1, 'UN1017', '50 kg declared; the consignment has 75 kg'],
      ['UNKNOWN', 2, 'UN9999', 'UN9999 is not in the dangerous goods catalogue (49 CFR 172.101)'],
      ['MISSING', null, 'UN1090', 'UN1090 (100 L) is consigned but not in the document'],
    ]);
    expect(findings[4]).toMatchObject({ properShippingName: 'Acetone', hazardClass: '3', packingGroup: 'II', quantity: 100, unit: 'L' });
  });

  it('a class or packing group the catalogue does not give is a mismatch, whatever the consignment says', () => {
    const [wrongClass, wrongGroup, groupOnAGas] = compareManifest({ lines: [line('UN1203 Petrol 8 II 200 L'), line('UN1090 Acetone 3 III 100 L'), line('UN1017 Chlorine 2.3 II 75 kg')], catalogue, consignment, pagesWithoutText: [] });
    expect(wrongClass).toMatchObject({ kind: 'MISMATCHED', detail: expect.stringContaining('class 8 declared; the catalogue gives 3') });
    expect(wrongGroup).toMatchObject({ kind: 'MISMATCHED', detail: 'packing group III declared; the catalogue gives II; packing group III declared; the consignment has II' });
    expect(groupOnAGas).toMatchObject({ kind: 'MISMATCHED', detail: 'packing group II declared; UN1017 has none' });
  });

  it('a line the consignment does not hold is a mismatch; quantities are totalled per number over lines and items', () => {
    const split = [line('UN1203 Petrol 3 II 120 L'), line('UN1203 Petrol 3 II 80 L', 2), line('UN1090 Acetone 3 II 100 L'), line('UN1017 Chlorine 2.3 75 kg'), line('UN1005 Ammonia, anhydrous 2.3 (8) 10 kg')];
    expect(compareManifest({ lines: split, catalogue, consignment, pagesWithoutText: [] }).map((f) => [f.kind, f.unNumber])).toEqual([
      ['MATCHED', 'UN1203'],
      ['MATCHED', 'UN1203'],
      ['MATCHED', 'UN1090'],
      ['MATCHED', 'UN1017'],
      ['MISMATCHED', 'UN1005'],
    ]);
    expect(compareManifest({ lines: [line('UN1090 Acetone 3 II 100 kg')], catalogue, consignment: [consignment[2]!], pagesWithoutText: [] })[0]).toMatchObject({ kind: 'MISMATCHED', detail: '100 kg declared; the consignment has 100 L' });
  });

  it('without a shipment, lines are checked against the catalogue only', () => {
    expect(compareManifest({ lines, catalogue, consignment: null, pagesWithoutText: [] }).map((f) => [f.kind, f.unNumber])).toEqual([
      ['MATCHED', 'UN1203'],
      ['MATCHED', 'UN1017'],
      ['UNKNOWN', 'UN9999'],
    ]);
  });
});

describe('the SDS library rules', () => {
  const sds = (id: string, product: string, revisionDate: string, createdAt = '2026-01-01T00:00:00.000Z') => ({ id, product, revisionDate, createdAt });

  it('the newest revision of each product is current; products are named without regard to case or spacing', () => {
    const revisions = [sds('a1', 'Acetone', '2022-03-01'), sds('a2', ' ACETONE ', '2025-07-15'), sds('a3', 'acetone', '2024-01-01'), sds('x1', 'Xylene  blend', '2019-01-01'), sds('x2', 'xylene blend', '2019-01-01', '2026-02-01T00:00:00.000Z')];
    expect([...currentRevisionIds(revisions)].sort()).toEqual(['a2', 'x2']);
    expect(productKey('  Xylene\tBLEND ')).toBe('xylene blend');
  });

  it('an SDS revised more than five years before the day asked about is expired; on the fifth anniversary it is not yet', () => {
    expect(reviewDueOn('2021-06-01')).toBe('2026-06-01');
    expect(isExpired('2021-06-01', '2026-06-01')).toBe(false);
    expect(isExpired('2021-06-01', '2026-06-02')).toBe(true);
    expect(reviewDueOn('2024-02-29')).toBe('2029-02-28');
    expect(isExpired('2024-02-29', '2029-03-01')).toBe(true);
  });
});

describe('an SDS alone is not emergency information (compliance engine)', () => {
  const input = (regime: 'adg' | '49cfr', emergency: ComplianceInput['emergency']): ComplianceInput => ({
    regime,
    asOf: '2026-06-15',
    load: { items: [{ unNumber: 'UN1017', quantity: 500, unit: 'kg', receptacleCapacity: 50, receptacleCount: 10 }] },
    emergency,
  });
  const check = (regime: 'adg' | '49cfr', emergency: ComplianceInput['emergency']) => assessCompliance(complianceInputSchema.parse(input(regime, emergency)), catalogue, rules).checks.find((c) => c.id === 'emergency-information');

  it('fails under either regime with its citation, while the emergency information itself passes', () => {
    expect(check('49cfr', { responseInformation: true, responseInformationSource: 'safety-data-sheet', contactPhone: '+1 800 424 9300' })).toEqual({
      id: 'emergency-information',
      status: 'fail',
      message: 'a safety data sheet alone is not accepted as emergency response information: it counts only when it holds every item 172.602(a) lists; carry the emergency response information itself',
      citation: '49 CFR 172.602(a)',
    });
    expect(check('adg', { responseInformationSource: 'safety-data-sheet' })).toMatchObject({ status: 'fail', citation: 'ADG 7.x 11.2 (emergency information)' });
    expect(check('adg', { responseInformation: true, responseInformationSource: 'emergency-response-document' })).toMatchObject({ status: 'pass' });
  });
});

describe('uploaded file names and downloads', () => {
  it('keeps only a harmless last segment of the client name, and names a download after the type the bytes are', () => {
    expect(sanitizeFileName('../../etc/passwd')).toBe('passwd');
    expect(sanitizeFileName('..\\..\\windows\\system32\\evil.pdf')).toBe('evil.pdf');
    expect(sanitizeFileName('..')).toBe('document');
    expect(sanitizeFileName('a\u0000b\u202e.pdf\r\n')).toBe('ab.pdf');
    expect(sanitizeFileName(undefined)).toBe('document');
    expect(sanitizeFileName('x'.repeat(500))).toHaveLength(200);
    expect(downloadFileName('manifest.pdf', 'image/png')).toBe('manifest.png');
    expect(downloadFileName('photo.JPEG', 'image/jpeg')).toBe('photo.JPEG');
    expect(downloadFileName('scan', 'application/pdf')).toBe('scan.pdf');
  });

  it('serves one byte range, the whole for what it does not serve as a part, 416 beyond the end', () => {
    expect(parseRange(undefined, 100)).toEqual({ kind: 'whole' });
    expect(parseRange('bytes=0-9', 100)).toEqual({ kind: 'partial', start: 0, end: 9 });
    expect(parseRange('bytes=90-', 100)).toEqual({ kind: 'partial', start: 90, end: 99 });
    expect(parseRange('bytes=-10', 100)).toEqual({ kind: 'partial', start: 90, end: 99 });
    expect(parseRange('bytes=50-500', 100)).toEqual({ kind: 'partial', start: 50, end: 99 });
    expect(parseRange('bytes=100-', 100)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=-0', 100)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=0-1,5-6', 100)).toEqual({ kind: 'whole' });
    expect(parseRange('items=0-1', 100)).toEqual({ kind: 'whole' });
    expect(parseRange('bytes=9-2', 100)).toEqual({ kind: 'whole' });
  });
});

describe('document storage settings', () => {
  const valid = {
    DATABASE_URL: 'postgresql://app:pw@db:5432/safeshipper',
    TEMPORAL_ADDRESS: 'temporal:7233',
    OIDC_ISSUER: 'https://id.example.com/realms/safeshipper',
    OIDC_AUDIENCE: 'safeshipper-api',
    OIDC_ALLOWED_CLIENTS: 'safeshipper-web',
    DATA_ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64'),
    AUDIT_CHECKPOINT_KEY: Buffer.alloc(32, 2).toString('base64'),
  };

  it('local disk by default with a 25 MiB limit; S3 needs its bucket, and both keys or neither', () => {
    expect(loadConfig(valid)).toMatchObject({ DOCUMENT_STORE: 'local', DOCUMENT_STORE_DIR: '/var/lib/safeshipper/documents', DOCUMENT_MAX_BYTES: 26_214_400 });
    expect(() => loadConfig({ ...valid, DOCUMENT_STORE: 's3' })).toThrow('S3_BUCKET: is required when DOCUMENT_STORE=s3');
    expect(() => loadConfig({ ...valid, DOCUMENT_STORE: 's3', S3_BUCKET: 'docs', S3_ACCESS_KEY_ID: 'AKIA' })).toThrow('S3_SECRET_ACCESS_KEY: S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY come together');
    expect(loadConfig({ ...valid, DOCUMENT_STORE: 's3', S3_BUCKET: 'docs', S3_ENDPOINT: 'http://minio:9000', S3_FORCE_PATH_STYLE: 'true' })).toMatchObject({ S3_BUCKET: 'docs', S3_REGION: 'us-east-1', S3_FORCE_PATH_STYLE: true });
  });
});
