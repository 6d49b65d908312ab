import type { Context, Next } from 'koa';
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

function toProblem(error: unknown): Problem {
  if (error instanceof Problem) return error;
  const http = error as HttpLikeError;
  if (typeof http.status === 'number' && http.status >= 400 && http.status < 500 && http.expose) {
    const titles: Record<number, string> = { 400: 'Bad Request', 413: 'Content Too Large', 415: 'Unsupported Media Type' };
    return new Problem(http.status, titles[http.status] ?? 'Bad Request', http.message);
  }
  return new Problem(500, 'Internal Server Error', 'An unexpected error occurred; it has been logged with the request id.');
}
