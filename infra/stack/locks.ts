import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import lockfile from 'proper-lockfile';
import { StackError } from './progress.js';

const WAIT_MS = 15 * 60_000;
const POLL_MS = 500;

/**
 * Runs `work` while holding an inter-process lock (a lock directory beside `path`, kept fresh
 * while held and taken over when its holder died), so two `npm start`/`npm test` started side by
 * side never run the same installer or start the same server twice. Waits up to 15 minutes: a
 * cold Keycloak download or apt transaction in the other process can take that long.
 */
export async function withLock<T>(path: string, what: string, work: () => Promise<T>, waitMs = WAIT_MS): Promise<T> {
  await mkdir(dirname(path), { recursive: true });
  const deadline = Date.now() + waitMs;
  let release: (() => Promise<void>) | undefined;
  while (!release) {
    try {
      release = await lockfile.lock(path, { realpath: false, stale: 20_000, update: 5_000 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') throw error;
      if (Date.now() > deadline) {
        throw new StackError(`timed out after ${Math.round(waitMs / 1000)}s waiting for another process to finish: ${what}`, `if no other SafeShipper command is running, remove ${path}.lock and retry`);
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }
  try {
    return await work();
  } finally {
    await release().catch(() => undefined);
  }
}
