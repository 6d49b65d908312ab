import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Transform, type TransformCallback, pipeline } from 'node:stream';
import busboy from 'busboy';
import { fileTypeFromBuffer } from 'file-type';
import { DOCUMENT_MEDIA_TYPES, isDocumentMediaType, sanitizeFileName, type DocumentMediaType } from '../domain/documents.js';
import type { DocumentStore, StagedObject } from './store.js';

/** Why an upload is refused, as the HTTP status that says it (the API turns it into a problem answer). */
export class UploadRefused extends Error {
  constructor(
    readonly status: 400 | 413 | 415 | 422,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export interface ReceivedFile {
  staged: StagedObject;
  sha256: string;
  sizeBytes: number;
  /** As sniffed from the bytes. */
  mediaType: DocumentMediaType;
  /** The client's name for it, sanitised: metadata only. */
  originalName: string;
}

export interface ReceivedUpload {
  fields: Record<string, string>;
  file: ReceivedFile;
}

/** What file-type needs to tell every accepted type apart. */
const SNIFF_BYTES = 4100;
const ACCEPTED = Object.keys(DOCUMENT_MEDIA_TYPES).join(', ');

/**
 * Passes the file through while counting, hashing, and deciding its type from its first bytes:
 * a type not accepted stops the stream (415) before the rest is read; an empty file ends it (422).
 */
class Inspector extends Transform {
  private readonly hash = createHash('sha256');
  private head: Buffer[] = [];
  private headBytes = 0;
  size = 0;
  mediaType: DocumentMediaType | undefined;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    if (this.mediaType !== undefined || this.headBytes + chunk.length < SNIFF_BYTES) {
      if (this.mediaType === undefined) {
        this.head.push(chunk);
        this.headBytes += chunk.length;
      }
      done(null, chunk);
      return;
    }
    this.head.push(chunk);
    this.sniff().then(() => done(null, chunk), done);
  }

  override _flush(done: TransformCallback): void {
    if (this.size === 0) return done(new UploadRefused(422, 'The file is empty', 'file'));
    if (this.mediaType !== undefined) return done();
    this.sniff().then(() => done(), done);
  }

  private async sniff(): Promise<void> {
    const found = await fileTypeFromBuffer(Buffer.concat(this.head));
    this.head = [];
    if (!isDocumentMediaType(found?.mime)) throw new UploadRefused(415, `The file is ${found ? found.mime : 'of no type this API recognises'} (judged by its content, not its name or declared type); accepted: ${ACCEPTED}`, 'file');
    this.mediaType = found.mime;
  }

  get sha256(): string {
    return this.hash.digest('hex');
  }
}

export interface UploadOptions {
  store: DocumentStore;
  /** The key the file is stored under once accepted. */
  key: string;
  maxBytes: number;
  /** The form's text fields; any other is refused. */
  fields: readonly string[];
  /** The name of the one file part. */
  fileField: string;
}

/**
 * Reads a `multipart/form-data` request as a stream: its text fields, and its one file straight
 * into the store's staging (never whole in memory), hashed and sniffed on the way. Resolves once
 * the request is read and the file staged; rejects with UploadRefused (nothing staged is left)
 * when the body is not a form, the file is too large, of a type not accepted, empty, missing or
 * doubled, or the client goes away before the end.
 */
export function receiveUpload(request: IncomingMessage, options: UploadOptions): Promise<ReceivedUpload> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: request.headers,
        // Browsers send a file name's UTF-8 bytes as they are, not as RFC 2231 `filename*`.
        defParamCharset: 'utf8',
        limits: { fileSize: options.maxBytes, files: 1, fields: options.fields.length, fieldSize: 1024, fieldNameSize: 100, parts: options.fields.length + 1 },
      });
    } catch {
      reject(new UploadRefused(415, 'Send the body as multipart/form-data with a boundary'));
      return;
    }
    const fields: Record<string, string> = {};
    let staging: Promise<ReceivedFile> | undefined;
    let inspector: Inspector | undefined;
    let settled = false;

    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      const refusal = error instanceof UploadRefused ? error : new UploadRefused(400, `The multipart body is malformed: ${(error as Error).message}`);
      // Stop reading: the rest of the body is not wanted (the route closes the connection after answering).
      request.unpipe(parser);
      inspector?.destroy(refusal);
      // The refusal is answered once nothing staged is left: the staging rejects (and cleans up) with the inspector's error, or is discarded here.
      const cleanup = staging ? staging.then((file) => file.staged.discard(), () => undefined) : Promise.resolve();
      void cleanup.catch(() => undefined).finally(() => reject(refusal));
    };

    parser.on('field', (name, value, info) => {
      if (!options.fields.includes(name)) return fail(new UploadRefused(422, `"${name}" is not a field of this form; it takes ${[...options.fields, options.fileField].join(', ')}`, name));
      if (info.valueTruncated) return fail(new UploadRefused(422, `"${name}" is longer than 1024 bytes`, name));
      if (Object.hasOwn(fields, name)) return fail(new UploadRefused(422, `"${name}" is given twice`, name));
      fields[name] = value;
    });
    parser.on('file', (name, stream, info) => {
      if (name !== options.fileField || staging) {
        stream.resume();
        return fail(new UploadRefused(422, name === options.fileField ? 'Send one file per upload' : `"${name}" is not a field of this form; the file goes in "${options.fileField}"`, name));
      }
      const inspecting = new Inspector();
      inspector = inspecting;
      stream.once('limit', () => fail(new UploadRefused(413, `The file exceeds ${options.maxBytes} bytes`, options.fileField)));
      const body = pipeline(stream, inspecting, () => undefined);
      staging = options.store.stage(options.key, body).then((staged) => ({
        staged,
        sha256: inspecting.sha256,
        sizeBytes: inspecting.size,
        mediaType: inspecting.mediaType!,
        originalName: sanitizeFileName(info.filename),
      }));
      staging.catch(fail);
    });
    parser.on('fieldsLimit', () => fail(new UploadRefused(422, `The form takes ${options.fields.length} text fields at most`)));
    parser.on('partsLimit', () => fail(new UploadRefused(422, 'The form has too many parts')));
    parser.on('filesLimit', () => fail(new UploadRefused(422, 'Send one file per upload', options.fileField)));
    parser.on('error', fail);
    parser.on('close', () => {
      if (settled) return;
      if (!staging) return fail(new UploadRefused(422, `The form has no file part "${options.fileField}"`, options.fileField));
      staging.then((file) => {
        if (settled) return file.staged.discard();
        settled = true;
        resolve({ fields, file });
      }, fail);
    });
    request.on('close', () => {
      if (!request.complete) fail(new UploadRefused(400, 'The upload was interrupted before the end of the body'));
    });
    request.pipe(parser);
  });
}
