import { randomUUID } from 'node:crypto';
import type { Context, Next } from 'koa';
import type { Logger } from '../../config/logger.js';

const ACCEPTABLE = /^[\w.-]{1,128}$/;

/** Accepts a caller's X-Request-Id (if sane) or makes one; echoes it and logs each request with it. */
export function requestId(log: Logger) {
  return async (ctx: Context, next: Next) => {
    const given = ctx.get('X-Request-Id');
    const id = ACCEPTABLE.test(given) ? given : randomUUID();
    ctx.state.requestId = id;
    ctx.set('X-Request-Id', id);
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      log.info({ requestId: id, method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(ms * 10) / 10 }, 'request');
    }
  };
}
