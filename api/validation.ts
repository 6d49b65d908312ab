import type { z } from 'zod';
import { validationFailed } from './problem.js';

/** Parses untrusted input with a zod schema; failures become 400/422 with field paths. */
export function parse<T extends z.ZodType>(schema: T, input: unknown, status: 400 | 422 = 422): z.infer<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw validationFailed(
    result.error.issues.map((issue) => ({ path: issue.path.join('.') || '(body)', message: issue.message })),
    status,
  );
}
