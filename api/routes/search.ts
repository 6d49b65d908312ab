import Router from '@koa/router';
import { z } from 'zod';
import { HAZARD_CLASS_FILTER, SEARCH_DOCUMENT_TYPES, SEARCH_LIMIT_MAX, SEARCH_QUERY_MAX_LENGTH, SUGGEST_LIMIT, SUGGEST_QUERY_MAX_LENGTH } from '../../domain/search-query.js';
import type { SearchEngine } from '../../search/engine.js';
import { securedRouteWithoutTenantData as route, type ApiState, type RouteDeps } from '../routing.js';
import { parse } from '../validation.js';

const hazardClass = z.string().regex(HAZARD_CLASS_FILTER, 'must be a class (1–9) or a division such as 6.1');
/**
 * What was typed, as typed (the analysis trims it): one pattern says both rules, something besides
 * spaces and no NUL (PostgreSQL stores none), so the contract refuses exactly what the handler does.
 */
// eslint-disable-next-line no-control-regex -- NUL is exactly what it refuses
const typed = (max: number) => z.string().min(1).max(max).regex(/^[^\u0000]*[^\s\u0000][^\u0000]*$/, 'must contain something besides spaces, and no NUL character');

export const searchQuery = z.strictObject({
  q: typed(SEARCH_QUERY_MAX_LENGTH),
  type: z.enum(SEARCH_DOCUMENT_TYPES).optional(),
  class: hazardClass.optional(),
  limit: z.coerce.number().int().min(1).max(SEARCH_LIMIT_MAX).default(20),
});

export const suggestionsQuery = z.strictObject({
  q: typed(SUGGEST_QUERY_MAX_LENGTH),
});

/**
 * Unified search (the DG catalogue, which every company sees, and the caller's own shipments,
 * vehicles, drivers, documents and SDS) and suggestions as you type. The engine scopes every query
 * to the caller's company (PostgreSQL: row-level security as well; Typesense: a filter it always
 * adds); the request never names a company.
 */
export function searchRoutes(deps: RouteDeps, engine: SearchEngine): Router<ApiState> {
  const router = new Router<ApiState>({ prefix: '/api/v1' });

  route(router, deps, 'GET /api/v1/search', async (ctx, caller) => {
    const query = parse(searchQuery, ctx.query, 400);
    const result = await engine.search({ companyId: caller.companyId }, { q: query.q, ...(query.type ? { types: [query.type] } : {}), ...(query.class ? { hazardClass: query.class } : {}), limit: query.limit });
    ctx.body = { query: query.q.trim(), found: result.found, foundExact: result.foundExact, items: result.hits, facets: result.facets };
  });

  route(router, deps, 'GET /api/v1/search/suggestions', async (ctx, caller) => {
    const query = parse(suggestionsQuery, ctx.query, 400);
    ctx.body = { items: await engine.suggest({ companyId: caller.companyId }, query.q, SUGGEST_LIMIT) };
  });

  return router;
}

/**
 * The routes' part of the OpenAPI contract (api/openapi.ts), built when the document is: schemas
 * made now carry `.openapi()` (the generator extends zod before it calls this).
 */
export function searchOperations() {
  const type = z.enum(SEARCH_DOCUMENT_TYPES).openapi({ description: 'dangerous-good: the DG catalogue (global); the others are your company’s' });
  const facet = z.array(z.object({ value: z.string(), count: z.number().int() }));
  const hit = z
    .object({
      type,
      id: z.uuid(),
      title: z.string(),
      fields: z.record(z.string(), z.string().nullable()).openapi({ description: 'What the hit shows and was searched on, by type: a shipment’s origin, destination and goods; a catalogue entry’s UN number, class and packing group; … (long texts cut to 1,000 characters)' }),
      unNumbers: z.array(z.string()).openapi({ example: ['UN1017'] }),
      classes: z.array(z.string()).openapi({ description: 'Classes or divisions, e.g. "2.3"', example: ['2.3'] }),
      status: z.string().nullable(),
      highlights: z
        .array(z.object({ field: z.string().openapi({ description: '`title`, a key of `fields`, or `unNumbers`' }), snippet: z.string().openapi({ description: 'The text (HTML-escaped) with each matched word in `<mark>`…`</mark>`, cut around the first match', example: '<mark>Chlorine</mark>' }) }))
        .openapi({ description: 'Where the query matched, typos and synonyms included' }),
    })
    .openapi('SearchHit');
  const page = z
    .object({
      query: z.string(),
      found: z.number().int().openapi({ description: 'How many documents match, over all of them (not only this answer)' }),
      foundExact: z.boolean().openapi({ description: 'false when the PostgreSQL engine ranked and counted a bounded set (your company’s 100 newest matches, every catalogue match, the titles as typed): at least `found` match, and the facets count that set' }),
      items: z.array(hit),
      facets: z.object({
        type: facet.openapi({ description: 'The matches `found` counts, by type, most first' }),
        class: facet.openapi({ description: 'The matches `found` counts, by class 1–9 (a division counts for its class), in class order' }),
      }),
    })
    .openapi('SearchResult');
  const suggestion = z
    .object({
      text: z.string().openapi({ description: 'The title to complete the query with', example: 'Chlorine' }),
      type,
      id: z.uuid(),
      unNumber: z.string().nullable().openapi({ example: 'UN1017' }),
    })
    .openapi('SearchSuggestion');
  return {
    'GET /api/v1/search': {
      operationId: 'search',
      summary: 'Search everything',
      description:
        'The DG catalogue and your company’s shipments (number, origin, destination, status, goods and UN numbers on board), vehicles, drivers, documents and SDS, in one ranked list. A UN number is recognised however it is typed (`UN 1017`, `un1017`, `UN-1017`, `1017`, `UN 1O17`); names are matched with one typo from 4 letters and two from 7 (`acetne`, `chlorin`), the last word also as a prefix, and with synonyms (petrol/gasoline/motor spirit, diesel/gas oil, LPG/liquefied petroleum gas/propane, Australian and US spelling…). Ranked: the exact UN number first (its catalogue entry before what carries it), the types the query names ("shipment", "SDS"), titles equal to the query, titles it starts, then full-text rank and title similarity. When no document has every word, the documents with some of them are ranked instead.',
      tag: 'Search' as const,
      query: z.object({
        q: searchQuery.shape.q.clone().openapi({ description: `What to find (1–${SEARCH_QUERY_MAX_LENGTH} characters)`, example: 'UN 1017' }),
        type: searchQuery.shape.type.clone().openapi({ description: 'Only documents of this type' }),
        class: searchQuery.shape.class.clone().openapi({ description: 'Only documents of this class (`3`) or division (`6.1`): a catalogue entry’s own, the goods on a shipment', example: '3' }),
        limit: searchQuery.shape.limit.clone().openapi({ description: `Hits in the answer (1–${SEARCH_LIMIT_MAX})` }),
      }),
      success: { status: 200 as const, description: 'The hits, ranked, with their highlights, and the facets of every match.', schema: page },
      errors: { 400: 'A query parameter is missing, unknown or invalid (`errors` names it).' },
    },
    'GET /api/v1/search/suggestions': {
      operationId: 'searchSuggestions',
      summary: 'Suggestions as you type',
      description: `Up to ${SUGGEST_LIMIT} titles that start as typed (or have a word that does), the catalogue’s and your company’s, the full match and the shortest first; a UN number being typed (\`UN 10\`) suggests the catalogue entries from that number on.`,
      tag: 'Search' as const,
      query: z.object({ q: suggestionsQuery.shape.q.clone().openapi({ description: `What has been typed so far (1–${SUGGEST_QUERY_MAX_LENGTH} characters)`, example: 'chlor' }) }),
      success: { status: 200 as const, description: 'The suggestions, best first.', schema: z.object({ items: z.array(suggestion) }).openapi('SearchSuggestions') },
      errors: { 400: 'A query parameter is missing, unknown or invalid (`errors` names it).' },
    },
  };
}
