import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { checkedKey, type ByteRange, type DocumentStore, type StagedObject } from './store.js';

/**
 * Documents on a local (or mounted, shared) file system: `<root>/<companyId>/<documentId>`.
 * An upload is written to `<root>/.staging/` first and renamed into place in one step on commit,
 * so a reader never sees half a file, and a refused or interrupted upload leaves nothing.
 */
export class LocalDocumentStore implements DocumentStore {
  readonly root: string;
  readonly staging: string;

  constructor(root: string) {
    this.root = resolve(root);
    this.staging = join(this.root, '.staging');
  }

  private path(key: string): string {
    return join(this.root, ...checkedKey(key).split('/'));
  }

  async stage(key: string, body: Readable): Promise<StagedObject> {
    const target = this.path(key);
    await mkdir(this.staging, { recursive: true });
    const temporary = join(this.staging, `${randomUUID()}.part`);
    try {
      await pipeline(body, createWriteStream(temporary, { flags: 'wx', mode: 0o600 }));
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
    let committed = false;
    return {
      commit: async () => {
        await mkdir(dirname(target), { recursive: true, mode: 0o700 });
        await rename(temporary, target);
        committed = true;
      },
      discard: async () => {
        await rm(committed ? target : temporary, { force: true });
      },
    };
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    const stream = createReadStream(this.path(key), range ? { start: range.start, end: range.end } : {});
    // Opened before answering: a missing file is this call's error, not a broken response later.
    await once(stream, 'open');
    return stream;
  }

  async remove(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }
}
