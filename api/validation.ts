import { z } from 'zod';
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

/**
 * Text PostgreSQL can store: its text type holds no NUL character, so a request carrying one is
 * refused here (422, naming the field), not by the database.
 */
// eslint-disable-next-line no-control-regex -- NUL is exactly what it refuses
export const STORABLE_TEXT = /^[^\u0000]*$/;

/** Trimmed text of `min`–`max` characters that the database can store. */
export const text = (max: number, min = 1) => z.string().trim().min(min).max(max).regex(STORABLE_TEXT, 'must not contain NUL characters');
