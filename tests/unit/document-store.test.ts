import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalDocumentStore } from '../../documents/local-store.js';
import { S3DocumentStore } from '../../documents/s3-store.js';
import { documentKey, type DocumentStore } from '../../documents/store.js';

/**
 * Both document stores keep one contract: staged bytes are invisible until committed, a failed
 * stream leaves nothing, reads honour a byte range, discard and remove are final. No S3 service
 * exists here: a small local HTTP server plays one (path-style PutObject, the multipart upload
 * calls, GetObject with Range, DeleteObject), as an S3-compatible store such as MinIO answers them.
 */

interface FakeS3 {
  endpoint: string;
  objects: Map<string, Buffer>;
  calls: string[];
  close(): Promise<void>;
}

async function fakeS3(): Promise<FakeS3> {
  const objects = new Map<string, Buffer>();
  const uploads = new Map<string, Map<number, Buffer>>();
  const calls: string[] = [];
  const body = async (request: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  };
  const server: Server = createServer((request, response) => {
    void (async () => {
      const url = new URL(request.url!, 'http://s3.test');
      const key = decodeURIComponent(url.pathname.replace(/^\/documents\//, ''));
      const uploadId = url.searchParams.get('uploadId');
      const xml = (status: number, text: string) => {
        response.writeHead(status, { 'Content-Type': 'application/xml' });
        response.end(`<?xml version="1.0" encoding="UTF-8"?>${text}`);
      };
      if (request.method === 'POST' && url.searchParams.has('uploads')) {
        const id = randomUUID();
        uploads.set(id, new Map());
        calls.push('CreateMultipartUpload');
        return xml(200, `<InitiateMultipartUploadResult><Bucket>documents</Bucket><Key>${key}</Key><UploadId>${id}</UploadId></InitiateMultipartUploadResult>`);
      }
      if (request.method === 'PUT' && uploadId) {
        const part = Number(url.searchParams.get('partNumber'));
        uploads.get(uploadId)!.set(part, await body(request));
        calls.push(`UploadPart ${part}`);
        response.writeHead(200, { ETag: `"part-${part}"` });
        return response.end();
      }
      if (request.method === 'POST' && uploadId) {
        await body(request);
        const parts = uploads.get(uploadId)!;
        objects.set(key, Buffer.concat([...parts.keys()].sort((a, b) => a - b).map((n) => parts.get(n)!)));
        uploads.delete(uploadId);
        calls.push('CompleteMultipartUpload');
        return xml(200, `<CompleteMultipartUploadResult><Bucket>documents</Bucket><Key>${key}</Key><ETag>"whole"</ETag></CompleteMultipartUploadResult>`);
      }
      if (request.method === 'DELETE' && uploadId) {
        uploads.delete(uploadId);
        calls.push('AbortMultipartUpload');
        response.writeHead(204);
        return response.end();
      }
      if (request.method === 'PUT') {
        objects.set(key, await body(request));
        calls.push('PutObject');
        response.writeHead(200, { ETag: '"single"' });
        return response.end();
      }
      if (request.method === 'GET') {
        const object = objects.get(key);
        if (!object) return xml(404, '<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>');
        const range = /^bytes=(\d+)-(\d+)$/.exec(request.headers.range ?? '');
        const [start, end] = range ? [Number(range[1]), Number(range[2])] : [0, object.length - 1];
        response.writeHead(range ? 206 : 200, { 'Content-Length': end - start + 1, ...(range ? { 'Content-Range': `bytes ${start}-${end}/${object.length}` } : {}) });
        return response.end(object.subarray(start, end + 1));
      }
      if (request.method === 'DELETE') {
        objects.delete(key);
        calls.push('DeleteObject');
        response.writeHead(204);
        return response.end();
      }
      response.writeHead(405);
      response.end();
    })();
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    objects,
    calls,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const text = async (stream: Readable) => {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};

/** A body that delivers `bytes` in chunks, then fails as an interrupted upload does. */
const failingAfter = (bytes: Buffer) =>
  Readable.from(
    (async function* () {
      for (let at = 0; at < bytes.length; at += 64 * 1024) yield bytes.subarray(at, at + 64 * 1024);
      throw new Error('client went away');
    })(),
  );

const key = () => documentKey(randomUUID(), randomUUID());

function contract(name: string, make: () => { store: DocumentStore; leftovers(): Promise<number> }) {
  describe(`${name}: the document store contract`, () => {
    it('stages, commits, reads whole and by range, discards', async () => {
      const { store, leftovers } = make();
      const k = key();
      const bytes = randomBytes(300_000);
      const staged = await store.stage(k, Readable.from([bytes]));
      await staged.commit();
      expect((await text(await store.read(k))).equals(bytes)).toBe(true);
      expect((await text(await store.read(k, { start: 1000, end: 1999 }))).equals(bytes.subarray(1000, 2000))).toBe(true);
      await staged.discard();
      await expect(store.read(k)).rejects.toThrow();
      expect(await leftovers()).toBe(0);
    });

    it('a body that fails mid-stream rejects with its own error and leaves nothing', async () => {
      const { store, leftovers } = make();
      const k = key();
      await expect(store.stage(k, failingAfter(randomBytes(6 * 1024 * 1024)))).rejects.toThrow('client went away');
      await expect(store.read(k)).rejects.toThrow();
      expect(await leftovers()).toBe(0);
    });
  });
}

let s3: FakeS3;
let root: string;
beforeAll(async () => {
  s3 = await fakeS3();
  root = await mkdtemp(join(tmpdir(), 'safeshipper-store-'));
});
afterAll(async () => {
  await s3?.close();
  await rm(root, { recursive: true, force: true });
});

// The SDK's notice that its 2027 releases need Node 22 is for operators, not this test's output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const s3Store = () => new S3DocumentStore({ bucket: 'documents', region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });

contract('local disk', () => {
  const store = new LocalDocumentStore(root);
  return {
    store,
    // Every file still on disk: staged parts and committed objects.
    leftovers: async () => (await readdir(root, { recursive: true, withFileTypes: true })).filter((entry) => entry.isFile()).length,
  };
});
contract('S3-compatible', () => ({ store: s3Store(), leftovers: async () => s3.objects.size }));

describe('S3-compatible store', () => {
  it('streams a large file as a multipart upload, and aborts it when the body fails', async () => {
    const store = s3Store();
    const k = key();
    const bytes = randomBytes(11 * 1024 * 1024);
    s3.calls.length = 0;
    await (await store.stage(k, Readable.from((function* () {
      for (let at = 0; at < bytes.length; at += 256 * 1024) yield bytes.subarray(at, at + 256 * 1024);
    })()))).commit();
    expect(s3.calls).toEqual(['CreateMultipartUpload', 'UploadPart 1', 'UploadPart 2', 'UploadPart 3', 'CompleteMultipartUpload']);
    expect(s3.objects.get(k)?.equals(bytes)).toBe(true);
    await store.remove(k);

    s3.calls.length = 0;
    await expect(store.stage(key(), failingAfter(randomBytes(7 * 1024 * 1024)))).rejects.toThrow('client went away');
    expect(s3.calls).toContain('AbortMultipartUpload');
    expect(s3.calls).not.toContain('CompleteMultipartUpload');
  });
});
