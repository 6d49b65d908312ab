import type { Readable } from 'node:stream';
import type { Config } from '../config/env.js';
import { LocalDocumentStore } from './local-store.js';
import { S3DocumentStore } from './s3-store.js';

/** An object written under a temporary name: nothing reads it until it is committed. */
export interface StagedObject {
  /** Puts the object under its key; from now on `read(key)` finds it. */
  commit(): Promise<void>;
  /** Throws the object away, committed or not; doing it twice is harmless. */
  discard(): Promise<void>;
}

/** Inclusive byte offsets, as an HTTP range names them. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Where document bytes live. Keys are the server's own (`<companyId>/<documentId>`, both UUIDs):
 * nothing a client sends becomes part of a path or an object name.
 */
export interface DocumentStore {
  /**
   * Streams `body` to a temporary object meant for `key` and resolves once every byte is stored.
   * When the stream fails (the upload is refused or interrupted) it rejects with the stream's
   * error and leaves nothing behind.
   */
  stage(key: string, body: Readable): Promise<StagedObject>;
  /** The object's bytes (only `range`, when given). */
  read(key: string, range?: ByteRange): Promise<Readable>;
  /** Removes the object; an object already gone is not an error. */
  remove(key: string): Promise<void>;
}

const KEY = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The storage key of a company's document. */
export function documentKey(companyId: string, documentId: string): string {
  const key = `${companyId}/${documentId}`.toLowerCase();
  return checkedKey(key);
}

/** Refuses anything but a key `documentKey` makes: the stores trust no other. */
export function checkedKey(key: string): string {
  if (!KEY.test(key)) throw new Error(`not a document storage key: ${JSON.stringify(key)}`);
  return key;
}

export function documentStoreFromConfig(config: Config): DocumentStore {
  if (config.DOCUMENT_STORE === 's3') {
    return new S3DocumentStore({
      bucket: config.S3_BUCKET!,
      region: config.S3_REGION,
      endpoint: config.S3_ENDPOINT,
      forcePathStyle: config.S3_FORCE_PATH_STYLE,
      credentials: config.S3_ACCESS_KEY_ID && config.S3_SECRET_ACCESS_KEY ? { accessKeyId: config.S3_ACCESS_KEY_ID, secretAccessKey: config.S3_SECRET_ACCESS_KEY } : undefined,
    });
  }
  return new LocalDocumentStore(config.DOCUMENT_STORE_DIR);
}
