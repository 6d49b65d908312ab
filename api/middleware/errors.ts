import type { Context, Next } from 'koa';
import { OptimisticLockError } from '@mikro-orm/core';
import type { Logger } from '../../config/logger.js';
import { Problem } from '../problem.js';

/** Koa/http-errors raised by body parsing etc. carry `status` and `expose`. */
interface HttpLikeError {
  status?: number;
  expose?: boolean;
  message?: string;
}

/** Turns every failure into application/problem+json; unexpected ones are logged, never leaked. */
export function problemDetails(log: Logger) {
  return async (ctx: Context, next: Next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw new Problem(404, 'Not Found', `No route for ${ctx.method} ${ctx.path}`);
    } catch (error) {
      const problem = toProblem(error);
      if (problem.status >= 500) log.error({ err: error, requestId: ctx.state.requestId }, 'request failed');
      // Validation should have refused it first: the schema is looser than the column.
      else if (sqlState(error) !== undefined && problem.status === 400) log.warn({ err: error, requestId: ctx.state.requestId }, 'the database refused a value validation let through');
      ctx.status = problem.status;
      for (const [name, value] of Object.entries(problem.extra.headers ?? {})) ctx.set(name, value);
      ctx.type = 'application/problem+json';
      ctx.body = {
        type: 'about:blank',
        title: problem.title,
        status: problem.status,
        ...(problem.detail ? { detail: problem.detail } : {}),
        instance: ctx.path,
        requestId: ctx.state.requestId,
        ...(problem.extra.errors ? { errors: problem.extra.errors } : {}),
      };
    }
  };
}

/** The SQLSTATE of a PostgreSQL refusal caused by the data sent: class 22 (data exception) or 23 (integrity constraint). */
function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^2[23][0-9A-Z]{3}$/.test(code) ? code : undefined;
}

function toProblem(error: unknown): Problem {
  if (error instanceof Problem) return error;
  // Another request changed the row between this one's read and its write (e.g. two rotations of one device secret).
  if (error instanceof OptimisticLockError) return new Problem(409, 'Conflict', 'The resource changed while this request ran; read it again and retry');
  const state = sqlState(error);
  if (state === '23505') return new Problem(409, 'Conflict', 'A resource with these unique values already exists');
  if (state === '23503') return new Problem(409, 'Conflict', 'The resource is referenced by others, or references something that does not exist');
  // Bad input is never a server error, whatever refused it.
  if (state !== undefined) return new Problem(400, 'Bad Request', 'The request holds a value the database cannot store');
  const http = error as HttpLikeError;
  if (typeof http.status === 'number' && http.status >= 400 && http.status < 500 && http.expose) {
    const titles: Record<number, string> = { 400: 'Bad Request', 413: 'Content Too Large', 415: 'Unsupported Media Type' };
    return new Problem(http.status, titles[http.status] ?? 'Bad Request', http.message);
  }
  return new Problem(500, 'Internal Server Error', 'An unexpected error occurred; it has been logged with the request id.');
}
