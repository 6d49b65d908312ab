import { bodyParser } from '@koa/bodyparser';
import type { Context } from 'koa';
import { Problem } from '../problem.js';

/** Largest body accepted: room for a 1,000-item load with every field, far below what could hurt. */
export const MAX_BODY = '2mb';

const parse = bodyParser({
  enableTypes: ['json'],
  jsonLimit: MAX_BODY,
  jsonStrict: true,
  onError: (error: Error & { status?: number }) => {
    if (error.status === 413) throw new Problem(413, 'Content Too Large', `The body exceeds ${MAX_BODY}`);
    throw new Problem(400, 'Bad Request', 'The body is not well-formed JSON');
  },
});

/**
 * Reads the request's JSON body into `ctx.request.body`. Called by the route wrappers (api/routing.ts)
 * only once the caller is authenticated and authorised: an anonymous client cannot make the API
 * read and parse 2 MB. A body that is not JSON is 415, malformed JSON 400, too large 413 — each a
 * problem+json answer, and nothing reaches a handler. No body at all reads as `undefined`.
 */
export async function readJsonBody(ctx: Context): Promise<void> {
  const hasBody = ctx.request.length !== undefined ? ctx.request.length > 0 : ctx.get('transfer-encoding') !== '';
  if (['POST', 'PUT', 'PATCH'].includes(ctx.method) && hasBody && !ctx.is('application/json', 'application/*+json')) {
    throw new Problem(415, 'Unsupported Media Type', 'Send the body as application/json');
  }
  await parse(ctx, async () => undefined);
  // The parser stands in `{}` for a missing body; a route that needs one must see it missing (400), not empty.
  if (!hasBody) ctx.request.body = undefined;
}
