import { DeleteObjectCommand, GetObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Readable } from 'node:stream';
import { checkedKey, type ByteRange, type DocumentStore, type StagedObject } from './store.js';

export interface S3StoreOptions {
  bucket: string;
  region: string;
  /** A compatible store's address (MinIO, Ceph); unset for AWS itself. */
  endpoint?: string | undefined;
  forcePathStyle?: boolean;
  /** Unset: the SDK's default chain (instance or task role, AWS_* variables). */
  credentials?: { accessKeyId: string; secretAccessKey: string } | undefined;
}

/**
 * Documents in an S3-compatible bucket under `<companyId>/<documentId>`. An upload streams as a
 * multipart upload (`@aws-sdk/lib-storage`, 5 MiB parts, two in flight: memory stays bounded
 * whatever the file's size); S3 shows an object only once its upload completes, and a failed
 * stream aborts the multipart upload, so nothing partial is ever visible. The object is written
 * under its final key: `commit` has nothing left to do, `discard` deletes it.
 */
export class S3DocumentStore implements DocumentStore {
  private readonly client: S3Client;
  private readonly bucket: string;

  constructor(options: S3StoreOptions) {
    const config: S3ClientConfig = {
      region: options.region,
      forcePathStyle: options.forcePathStyle ?? false,
      ...(options.credentials ? { credentials: options.credentials } : {}),
    };
    if (options.endpoint) {
      config.endpoint = options.endpoint;
      // Compatible stores do not all take the trailing checksums of streamed chunked uploads that AWS does.
      config.requestChecksumCalculation = 'WHEN_REQUIRED';
      config.responseChecksumValidation = 'WHEN_REQUIRED';
    }
    this.client = new S3Client(config);
    this.bucket = options.bucket;
  }

  async stage(key: string, body: Readable): Promise<StagedObject> {
    const Key = checkedKey(key);
    const upload = new Upload({ client: this.client, params: { Bucket: this.bucket, Key, Body: body }, partSize: 5 * 1024 * 1024, queueSize: 2, leavePartsOnError: false });
    const failed = new Promise<never>((_, reject) => body.once('error', reject));
    try {
      // The body's own error (a refused or interrupted upload) wins over whatever the upload makes of it.
      await Promise.race([upload.done(), failed]);
    } catch (error) {
      await upload.abort().catch(() => undefined);
      await this.remove(Key).catch(() => undefined);
      throw error;
    }
    return {
      commit: async () => undefined,
      discard: () => this.remove(Key),
    };
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    const answer = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: checkedKey(key), ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) }));
    if (!(answer.Body instanceof Readable)) throw new Error(`the object store answered ${key} without a readable body`);
    return answer.Body;
  }

  async remove(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: checkedKey(key) }));
  }
}
