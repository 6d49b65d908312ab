import type { z } from 'zod';
import { validationFailed } from './problem.js';

/** Cursors are opaque to clients: base64url JSON of the last row's ordering key. */
export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export function decodeCursor<T extends z.ZodType>(cursor: string, schema: T): z.infer<T> {
  try {
    const parsed = schema.safeParse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    if (parsed.success) return parsed.data;
  } catch {
    // fall through to the same answer as a cursor that decodes to the wrong shape
  }
  throw validationFailed([{ path: 'cursor', message: 'is not a cursor this API issued' }], 400);
}
