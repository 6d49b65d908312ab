import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { PDFDocument, StandardFonts } from '@cantoo/pdf-lib';
import { inTenant } from '../../db/orm.js';
import { documentWorkflowId, type DocumentProcessingResult } from '../../workflows/contracts/document.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { ACME, BOREAL, testConfig, testEnv } from '../support/stack.js';

/**
 * Documents end to end on the real stack: uploads through the API into a storage folder of this
 * file's own, manifest processing on the Temporal dev server with a worker beside the API, the
 * findings in PostgreSQL, the shipment's compliance view, the SDS library, and every refusal.
 */

const LIMIT = 64 * 1024;
const run = Date.now().toString(36).toUpperCase();
// A 1×1 PNG: the "scan" on an image-only page, and the photo disguised as a PDF.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

/** A PDF whose pages hold these lines of text, or (`'scan'`) only a picture; encrypted with a user password when asked. */
async function pdf(pages: Array<string[] | 'scan'>, options: { password?: string } = {}): Promise<Buffer> {
  const document = await PDFDocument.create();
  document.setTitle(`test ${run} ${randomBytes(4).toString('hex')}`);
  const font = await document.embedFont(StandardFonts.Helvetica);
  const image = await document.embedPng(PNG);
  for (const content of pages) {
    const page = document.addPage([595, 842]);
    if (content === 'scan') page.drawImage(image, { x: 0, y: 0, width: 595, height: 842 });
    else content.forEach((line, i) => page.drawText(line, { x: 50, y: 780 - i * 20, size: 11, font }));
  }
  if (options.password) document.encrypt({ userPassword: options.password, ownerPassword: `${options.password}-owner` });
  return Buffer.from(await document.save());
}

describe('documents, manifest processing and the SDS library', () => {
  let api: TestApi;
  let storage: string;
  let connection: Connection;
  let client: Client;
  let shipmentId: string;

  const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
  const json = async (response: Response, status: number) => {
    const body = (await response.json()) as Record<string, unknown>;
    expect({ status: response.status, body }).toMatchObject({ status, body: {} });
    return body;
  };
  /** Every file under the storage folder, relative to it. */
  const stored = async () => ((await readdir(storage, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(storage.length + 1))).sort();
  const rows = (sql: string, params: unknown[] = [], company = ACME) => inTenant(api.db, company, (em) => em.execute<Array<Record<string, unknown>>>(sql, params));

  async function upload(username: string, file: { bytes: Buffer; name: string; type?: string } | null, fields: Record<string, string>): Promise<Response> {
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    if (file) form.append('file', new Blob([file.bytes], { type: file.type ?? 'application/pdf' }), file.name);
    return fetch(`${api.base}/api/v1/documents`, { method: 'POST', headers: { Authorization: `Bearer ${await api.token(username)}` }, body: form });
  }
  const processed = (id: string) => client.workflow.getHandle(documentWorkflowId(id)).result() as Promise<DocumentProcessingResult>;

  beforeAll(async () => {
    storage = await mkdtemp(join(tmpdir(), 'safeshipper-documents-'));
    // Task queues of its own: a worker of another test file (on the run's shared queues) reads another storage folder.
    api = await startTestApi({ DOCUMENT_STORE_DIR: storage, DOCUMENT_MAX_BYTES: String(LIMIT), TEMPORAL_TASK_QUEUE_PREFIX: `${testEnv().TEMPORAL_TASK_QUEUE_PREFIX}documents-` }, { workflows: inject('workflowBundle'), contexts: ['documents', 'shipments'] });
    connection = await Connection.connect({ address: testConfig().TEMPORAL_ADDRESS });
    client = new Client({ connection, namespace: testConfig().TEMPORAL_NAMESPACE });
    const shipment = await json(
      await api.call('acme-operator', 'POST', '/api/v1/shipments', {
        body: { shipmentNumber: `DOC-${run}`, origin: { address: 'Laverton North VIC', location: [144.77, -37.86] }, destination: { address: 'Geelong VIC', location: [144.36, -38.15] }, pickupAt: '2030-01-01T08:00:00Z', deliverBy: '2030-01-01T12:00:00Z' },
      }),
      201,
    );
    shipmentId = shipment.id as string;
    for (const [un, quantity, unit] of [['UN1203', 200, 'L'], ['UN1017', 75, 'kg'], ['UN1090', 100, 'L']] as const) {
      const [entry] = (await json(await api.call('acme-viewer', 'GET', `/api/v1/dangerous-goods/by-un/${un}`), 200)).items as Array<{ id: string }>;
      await json(await api.call('acme-operator', 'POST', `/api/v1/shipments/${shipmentId}/consignment-items`, { body: { dangerousGoodId: entry!.id, quantity, unit } }), 201);
    }
  });
  afterAll(async () => {
    await connection?.close();
    await api?.close();
    await rm(storage, { recursive: true, force: true });
  });

  it('processes a manifest: findings with their pages in PostgreSQL, the compliance view, the search index', async () => {
    const manifest = await pdf([['Dangerous goods manifest', 'UN1203 Petrol 3 II 200 L', 'UN1017 Chlorine 2.3 (5.1, 8) 50 kg'], ['UN9999 Mystery liquid 3'], 'scan']);
    const created = await json(await upload('acme-operator', { bytes: manifest, name: 'manifest.pdf' }, { kind: 'MANIFEST', shipmentId, title: `Manifest ${run}` }), 201);
    expect(created).toMatchObject({ kind: 'MANIFEST', mediaType: 'application/pdf', sizeBytes: manifest.length, sha256: sha256(manifest), attachedTo: { type: 'shipment', id: shipmentId }, processing: { status: 'PENDING', processedAt: null } });
    expect(await processed(created.id as string)).toEqual({ outcome: 'COMPLETED', findings: { NEEDS_OCR: 1, MATCHED: 1, MISMATCHED: 1, UNKNOWN: 1, MISSING: 1 } });

    const findings = await rows('SELECT kind, page, un_number, quantity::float AS quantity, unit, detail FROM manifest_findings WHERE document_id = ? ORDER BY position', [created.id]);
    expect(findings.map((f) => [f.kind, f.page, f.un_number])).toEqual([
      ['NEEDS_OCR', 3, null],
      ['MATCHED', 1, 'UN1203'],
      ['MISMATCHED', 1, 'UN1017'],
      ['UNKNOWN', 2, 'UN9999'],
      ['MISSING', null, 'UN1090'],
    ]);
    expect(findings[2]).toMatchObject({ quantity: 50, unit: 'kg', detail: '50 kg declared; the consignment has 75 kg' });
    expect(await json(await api.call('acme-viewer', 'GET', `/api/v1/documents/${created.id}`), 200)).toMatchObject({ processing: { status: 'COMPLETED', processedAt: expect.any(String) } });
    const [indexed] = await rows(`SELECT un_numbers, fields ->> 'text' AS text FROM search_documents WHERE doc_type = 'document' AND doc_id = ?`, [created.id]);
    expect(indexed).toMatchObject({ un_numbers: ['UN1017', 'UN1203', 'UN9999'], text: expect.stringContaining('UN1017 Chlorine 2.3 (5.1, 8) 50 kg') });

    // Before booking the lifecycle has no verdict; the findings are there already.
    const before = await json(await api.call('acme-viewer', 'GET', `/api/v1/shipments/${shipmentId}/compliance`), 200);
    expect(before).toMatchObject({ shipmentId, compliance: null, emergencyInformation: { sdsAcceptedAlone: false, citation: 'ADG 7.x 11.2 (emergency information)' } });
    expect((before.manifestFindings as Array<{ kind: string; page: number | null; documentId: string }>).map((f) => [f.kind, f.page, f.documentId])).toEqual([
      ['NEEDS_OCR', 3, created.id],
      ['MATCHED', 1, created.id],
      ['MISMATCHED', 1, created.id],
      ['UNKNOWN', 2, created.id],
      ['MISSING', null, created.id],
    ]);
    await json(await api.call('acme-operator', 'POST', `/api/v1/shipments/${shipmentId}/book`), 200);
    const after = await json(await api.call('acme-viewer', 'GET', `/api/v1/shipments/${shipmentId}/compliance`), 200);
    expect(after.compliance).toMatchObject({ status: expect.stringMatching(/^(NON_)?COMPLIANT$/), regime: 'adg' });
    // Boreal cannot see it.
    expect((await api.call('boreal-admin', 'GET', `/api/v1/shipments/${shipmentId}/compliance`)).status).toBe(404);
  });

  it('ends a corrupt or an encrypted PDF with one UNREADABLE finding saying why', async () => {
    const corrupt = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(6000)]);
    const encrypted = await pdf([['UN1203 Petrol 3 II 200 L']], { password: 'secret' });
    for (const [bytes, reason] of [[corrupt, 'the PDF is corrupt: its structure cannot be read'], [encrypted, 'the PDF is encrypted (password-protected): its text cannot be read']] as const) {
      const created = await json(await upload('acme-operator', { bytes, name: 'declaration.pdf' }, { kind: 'DG_DECLARATION' }), 201);
      expect(await processed(created.id as string)).toEqual({ outcome: 'UNREADABLE', findings: { UNREADABLE: 1 } });
      expect(await rows('SELECT kind, page, detail FROM manifest_findings WHERE document_id = ?', [created.id])).toEqual([{ kind: 'UNREADABLE', page: null, detail: reason }]);
      expect(await json(await api.call('acme-viewer', 'GET', `/api/v1/documents/${created.id}`), 200)).toMatchObject({ processing: { status: 'UNREADABLE' } });
    }
  });

  it('keeps SDS revisions per product: the newest is current, one older than five years is flagged; the compliance view links the current ones', async () => {
    const sds = async (product: string, revisionDate: string, unNumbers: string[]) => {
      const document = await json(await upload('acme-operator', { bytes: await pdf([[`Safety data sheet ${product} ${revisionDate}`]]), name: `${product}.pdf` }, { kind: 'SDS' }), 201);
      return json(await api.call('acme-operator', 'POST', '/api/v1/sds', { body: { product, supplier: 'Acme Refining', revisionDate, unNumbers, documentId: document.id } }), 201);
    };
    const old = await sds(`Unleaded ${run}`, '2019-03-01', ['UN1203']);
    const latest = await sds(`UNLEADED ${run}`, '2024-05-01', ['un 1203']);
    const chlorine = await sds(`Chlorine ${run}`, '2020-01-15', ['UN1017']);
    expect(latest).toMatchObject({ current: true, expired: false, unNumbers: ['UN1203'], reviewDueOn: '2029-05-01' });
    expect(await json(await api.call('acme-viewer', 'GET', `/api/v1/sds/${old.id}`), 200)).toMatchObject({ current: false, expired: true, reviewDueOn: '2024-03-01' });
    const listed = (await json(await api.call('acme-viewer', 'GET', `/api/v1/sds?product=unleaded%20${run}&unNumber=UN1203`), 200)).items as Array<{ id: string; current: boolean }>;
    expect(listed.map((s) => [s.id, s.current])).toEqual([
      [latest.id, true],
      [old.id, false],
    ]);
    const view = await json(await api.call('acme-viewer', 'GET', `/api/v1/shipments/${shipmentId}/compliance`), 200);
    expect((view.safetyDataSheets as Array<{ unNumber: string; current: Array<{ id: string; expired: boolean }> }>).map((s) => [s.unNumber, s.current.map((c) => [c.id, c.expired])])).toEqual([
      ['UN1203', [[latest.id, false]]],
      ['UN1017', [[chlorine.id, true]]],
      ['UN1090', []],
    ]);
    // An SDS stands on a document of kind SDS in the company, and names catalogue entries.
    const manifest = ((await json(await api.call('acme-viewer', 'GET', `/api/v1/documents?kind=MANIFEST&shipmentId=${shipmentId}`), 200)).items as Array<{ id: string }>)[0]!;
    const refused = await json(await api.call('acme-operator', 'POST', '/api/v1/sds', { body: { product: 'X', supplier: 'Y', revisionDate: '2024-01-01', unNumbers: ['UN9999'], documentId: manifest.id } }), 422);
    expect((refused.errors as Array<{ path: string }>).map((e) => e.path)).toEqual(['unNumbers.0', 'documentId']);
    expect((await api.call('boreal-operator', 'POST', '/api/v1/sds', { body: { product: 'X', supplier: 'Y', revisionDate: '2024-01-01', unNumbers: ['UN1203'], documentId: old.documentId } })).status).toBe(422);
  });

  it('downloads with the sniffed type, HEAD, single ranges (206/416) and If-Range', async () => {
    // A photo sent as "manifest.pdf", application/pdf: stored as what it is, offered as a .png.
    const photo = Buffer.concat([PNG, Buffer.from(`proof of delivery ${run}`)]);
    const created = await json(await upload('acme-driver', { bytes: photo, name: 'manifest.pdf', type: 'application/pdf' }, { kind: 'PROOF_OF_DELIVERY', shipmentId }), 201);
    expect(created).toMatchObject({ mediaType: 'image/png', fileName: 'manifest.pdf', processing: null });
    const url = `/api/v1/documents/${created.id}/content`;
    const whole = await api.call('acme-viewer', 'GET', url);
    expect([whole.status, whole.headers.get('content-type'), whole.headers.get('content-disposition'), whole.headers.get('etag'), whole.headers.get('accept-ranges'), whole.headers.get('content-length')]).toEqual([
      200,
      'image/png',
      'attachment; filename="manifest.png"',
      `"${sha256(photo)}"`,
      'bytes',
      String(photo.length),
    ]);
    expect(Buffer.from(await whole.arrayBuffer()).equals(photo)).toBe(true);
    const head = await api.call('acme-viewer', 'HEAD', url);
    expect([head.status, head.headers.get('content-length'), head.headers.get('etag'), (await head.arrayBuffer()).byteLength]).toEqual([200, String(photo.length), `"${sha256(photo)}"`, 0]);
    const part = await api.call('acme-viewer', 'GET', url, { headers: { Range: 'bytes=8-15' } });
    expect([part.status, part.headers.get('content-range'), Buffer.from(await part.arrayBuffer()).equals(photo.subarray(8, 16))]).toEqual([206, `bytes 8-15/${photo.length}`, true]);
    const tail = await api.call('acme-viewer', 'GET', url, { headers: { Range: 'bytes=-4', 'If-Range': `"${sha256(photo)}"` } });
    expect([tail.status, Buffer.from(await tail.arrayBuffer()).toString()]).toEqual([206, run.slice(-4)]);
    const stale = await api.call('acme-viewer', 'GET', url, { headers: { Range: 'bytes=0-3', 'If-Range': '"0000"' } });
    expect([stale.status, (await stale.arrayBuffer()).byteLength]).toEqual([200, photo.length]);
    const beyond = await api.call('acme-viewer', 'GET', url, { headers: { Range: `bytes=${photo.length}-` } });
    expect([beyond.status, beyond.headers.get('content-range'), beyond.headers.get('content-type')]).toEqual([416, `bytes */${photo.length}`, 'application/problem+json']);
    await beyond.arrayBuffer();
    // Another company's document does not exist for Boreal.
    expect((await api.call('boreal-admin', 'GET', url)).status).toBe(404);
    expect((await api.call('boreal-admin', 'GET', `/api/v1/documents/${created.id}`)).status).toBe(404);
    expect((await api.call('boreal-admin', 'DELETE', `/api/v1/documents/${created.id}`)).status).toBe(404);

    // Deleted: row, bytes and download gone, and audited.
    expect((await api.call('acme-operator', 'DELETE', `/api/v1/documents/${created.id}`)).status).toBe(204);
    expect((await api.call('acme-viewer', 'GET', url)).status).toBe(404);
    expect(await stored()).not.toContain(`${ACME}/${created.id}`);
    expect(await rows(`SELECT action FROM audit_log WHERE entity_type = 'document' AND entity_id = ? ORDER BY id`, [created.id])).toEqual([{ action: 'create' }, { action: 'delete' }]);
  });

  describe('refusals leave no file and no row', () => {
    const documentsWith = async (sha: string) => (await rows('SELECT count(*)::int AS n FROM documents WHERE sha256 = ?', [sha]))[0]!.n;
    const staged = async () => (await stored()).filter((path) => path.startsWith('.staging/'));

    it('too large (413: streamed past the limit, or declared so and never read)', async () => {
      const big = Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(LIMIT, 0x20)]);
      const refused = await upload('acme-operator', { bytes: big, name: 'big.pdf' }, { kind: 'MANIFEST' });
      expect([refused.status, ((await refused.json()) as { detail: string }).detail]).toEqual([413, `The file exceeds ${LIMIT} bytes`]);
      const declared = await fetch(`${api.base}/api/v1/documents`, { method: 'POST', headers: { Authorization: `Bearer ${await api.token('acme-operator')}`, 'Content-Type': 'multipart/form-data; boundary=x', 'Content-Length': String(LIMIT * 10) }, body: Buffer.alloc(LIMIT * 10) });
      expect([declared.status, declared.headers.get('connection')]).toEqual([413, 'close']);
      expect(await staged()).toEqual([]);
      expect(await documentsWith(sha256(big))).toBe(0);
    });

    it('a disguised type: text named .pdf and declared application/pdf is 415', async () => {
      const text = Buffer.from(`UN1203 Petrol 3 II 200 L ${run}\n`.repeat(20));
      const refused = await upload('acme-operator', { bytes: text, name: 'manifest.pdf', type: 'application/pdf' }, { kind: 'MANIFEST' });
      expect([refused.status, ((await refused.json()) as { detail: string }).detail]).toEqual([415, expect.stringContaining('of no type this API recognises')]);
      expect(await staged()).toEqual([]);
      expect(await documentsWith(sha256(text))).toBe(0);
    });

    it('zero bytes (422), no file part (422), a duplicate (409 naming the first), a kind the role may not upload (403), a foreign shipment (422)', async () => {
      expect((await json(await upload('acme-operator', { bytes: Buffer.alloc(0), name: 'empty.pdf' }, { kind: 'MANIFEST' }), 422)).detail).toBe('The file is empty');
      expect((await json(await upload('acme-operator', null, { kind: 'MANIFEST' }), 422)).detail).toBe('The form has no file part "file"');
      const bytes = await pdf([[`Inspection ${run}`]]);
      const first = await json(await upload('acme-driver', { bytes, name: 'inspection.pdf' }, { kind: 'INSPECTION_PHOTO' }), 201);
      const again = await upload('acme-operator', { bytes, name: 'copy.pdf' }, { kind: 'SDS' });
      expect([again.status, again.headers.get('location'), ((await again.json()) as { detail: string }).detail]).toEqual([409, `/api/v1/documents/${first.id}`, `This file is already stored in your company as document ${first.id}`]);
      expect((await json(await upload('acme-driver', { bytes: await pdf([['x']]), name: 'm.pdf' }, { kind: 'MANIFEST' }), 403)).detail).toBe('Uploading a MANIFEST needs the "upload_documents" permission, which your role does not have');
      const boreal = await json(
        await api.call('boreal-operator', 'POST', '/api/v1/shipments', {
          body: { shipmentNumber: `DOCB-${run}`, origin: { address: 'A', location: [145.2, -37.99] }, destination: { address: 'B', location: [145.0, -37.9] }, pickupAt: '2030-01-01T08:00:00Z', deliverBy: '2030-01-01T12:00:00Z' },
        }),
        201,
      );
      const foreign = await json(await upload('acme-operator', { bytes: await pdf([['y']]), name: 'm.pdf' }, { kind: 'MANIFEST', shipmentId: boreal.id as string }), 422);
      expect(foreign.errors).toEqual([{ path: 'shipmentId', message: 'no such shipment in your company' }]);
      expect(await staged()).toEqual([]);
      expect(await documentsWith(sha256(bytes))).toBe(1);
    });

    it('an interrupted upload: the partial file is removed, no row is written', async () => {
      const boundary = `----safeshipper${run}`;
      const title = `Interrupted ${run}`;
      const head = `--${boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nMANIFEST\r\n--${boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\n${title}\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="slow.pdf"\r\nContent-Type: application/pdf\r\n\r\n`;
      const token = await api.token('acme-operator');
      const url = new URL(`${api.base}/api/v1/documents`);
      const req = request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': String(LIMIT) } });
      req.on('error', () => undefined);
      req.write(head);
      req.write(Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(8192, 0x20)]));
      // The server has started staging the file…
      for (let i = 0; i < 200 && (await staged()).length === 0; i += 1) await new Promise((resolve) => setTimeout(resolve, 25));
      expect((await staged()).length).toBe(1);
      // …when the client goes away mid-file.
      req.destroy();
      for (let i = 0; i < 200 && (await staged()).length > 0; i += 1) await new Promise((resolve) => setTimeout(resolve, 25));
      expect(await staged()).toEqual([]);
      expect(await rows('SELECT id FROM documents WHERE title = ?', [title])).toEqual([]);
    });

    it('path-traversal names never reach the file system: kept as a harmless name, stored under the server\'s key', async () => {
      for (const name of ['../../../../etc/passwd.pdf', '..\\..\\windows\\win.ini.pdf', '/absolute/evil.pdf', '..']) {
        const bytes = await pdf([[`${name} ${run}`]]);
        const created = await json(await upload('acme-operator', { bytes, name }, { kind: 'SDS' }), 201);
        expect(created.fileName).not.toMatch(/[/\\]|^\.\.?$/);
        const [row] = await rows('SELECT storage_key, original_name FROM documents WHERE id = ?', [created.id]);
        expect(row).toEqual({ storage_key: `${ACME}/${created.id}`, original_name: created.fileName });
        expect(await readFile(join(storage, ACME, created.id as string))).toEqual(bytes);
      }
      expect((await stored()).every((path) => path.startsWith(`${ACME}/`) || path.startsWith(`${BOREAL}/`))).toBe(true);
      // A name in UTF-8, as browsers send it, is kept as written.
      expect((await json(await upload('acme-operator', { bytes: await pdf([[`Äther ${run}`]]), name: 'Äther-Sicherheitsdatenblatt.pdf' }, { kind: 'SDS' }), 201)).fileName).toBe('Äther-Sicherheitsdatenblatt.pdf');
    });
  });
});
