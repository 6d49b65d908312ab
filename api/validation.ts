import type { z } from 'zod';
import { validationFailed, type FieldError } from './problem.js';

/** zod issues as field errors: one per unknown key, named by its own path. */
export function fieldErrors(issues: readonly z.core.$ZodIssue[]): FieldError[] {
  return issues.flatMap((issue) => {
    const base = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => ({ path: [...base, key].join('.'), message: 'is not a recognised field' }));
    return [{ path: base.join('.') || '(body)', message: issue.message }];
  });
}

/** Parses untrusted input with a zod schema; failures become 400/422 with field paths. */
export function parse<T extends z.ZodType>(schema: T, input: unknown, status: 400 | 422 = 422): z.infer<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw validationFailed(fieldErrors(result.error.issues), status);
}
