import { createReadStream } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import Router from '@koa/router';
import type { ApiState } from '../routing.js';
import { buildOpenApiDocument, type OpenApiOptions } from '../openapi.js';
import { telemetryMessageJsonSchema } from '../../domain/telemetry-message.js';

/** Swagger UI's files, served from the npm package (no CDN: the page works offline). */
const SWAGGER_UI = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'oauth2-redirect.html': 'text/html; charset=utf-8',
  'oauth2-redirect.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
  'favicon-16x16.png': 'image/png',
};

export const DOCS_PATH = '/api/v1/docs';
export const OPENAPI_PATH = '/api/v1/openapi.json';
/** The message devices publish over MQTT (domain/telemetry-message.ts), for device makers: JSON Schema 2020-12. */
export const TELEMETRY_SCHEMA_PATH = '/api/v1/telemetry/message.schema.json';
const ASSETS_PATH = `${DOCS_PATH}/assets`;

const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>SafeShipper API</title>
    <link rel="stylesheet" href="${ASSETS_PATH}/swagger-ui.css">
    <link rel="icon" type="image/png" href="${ASSETS_PATH}/favicon-32x32.png" sizes="32x32">
    <link rel="icon" type="image/png" href="${ASSETS_PATH}/favicon-16x16.png" sizes="16x16">
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="${ASSETS_PATH}/swagger-ui-bundle.js"></script>
    <script src="${ASSETS_PATH}/init.js"></script>
  </body>
</html>
`;

// No inline script (the page's CSP forbids it); no call to Swagger's online validator.
const INIT = `window.ui = SwaggerUIBundle({
  url: ${JSON.stringify(OPENAPI_PATH)},
  dom_id: '#swagger-ui',
  deepLinking: true,
  validatorUrl: null,
  oauth2RedirectUrl: window.location.origin + ${JSON.stringify(`${ASSETS_PATH}/oauth2-redirect.html`)},
  presets: [SwaggerUIBundle.presets.apis],
  layout: 'BaseLayout',
});
`;

/**
 * The API's contract and its interactive docs, public (they expose no data): `GET /api/v1/openapi.json`,
 * `GET /api/v1/docs` (Swagger UI) and the devices' MQTT message, `GET /api/v1/telemetry/message.schema.json`. These routes are outside the policy table: register this
 * router in createApp, not among apiRouters.
 */
export function docsRoutes(options: OpenApiOptions): Router<ApiState> {
  const router = new Router<ApiState>();
  let document: string | undefined;
  // Same-origin calls ("Try it out"), plus the identity provider for Swagger UI's OpenID Connect sign-in.
  const csp = [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    `connect-src 'self' ${new URL(options.oidcIssuer).origin}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');

  router.get(OPENAPI_PATH, (ctx) => {
    // Built on first request: a document that no longer matches the policy table fails here (and in its test), never the API's start.
    document ??= JSON.stringify(buildOpenApiDocument(options));
    ctx.type = 'application/json';
    ctx.set('Cache-Control', 'no-cache');
    ctx.body = document;
  });

  const telemetrySchema = JSON.stringify({ $id: TELEMETRY_SCHEMA_PATH, title: 'SafeShipper telemetry message, version 1', ...telemetryMessageJsonSchema() });
  router.get(TELEMETRY_SCHEMA_PATH, (ctx) => {
    ctx.type = 'application/schema+json';
    ctx.set('Cache-Control', 'no-cache');
    ctx.body = telemetrySchema;
  });

  router.get(DOCS_PATH, (ctx) => {
    ctx.type = 'text/html; charset=utf-8';
    ctx.set({ 'Content-Security-Policy': csp, 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-cache' });
    ctx.body = PAGE;
  });

  router.get(`${ASSETS_PATH}/:file`, (ctx) => {
    const file = ctx.params.file!;
    if (file === 'init.js') {
      ctx.type = 'text/javascript; charset=utf-8';
      ctx.body = INIT;
    } else if (Object.hasOwn(ASSETS, file)) {
      ctx.type = ASSETS[file]!;
      ctx.body = createReadStream(path.join(SWAGGER_UI, file));
    } else {
      return; // not an asset: the usual 404 problem
    }
    ctx.set({ 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'public, max-age=3600' });
  });

  return router;
}
