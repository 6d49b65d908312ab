import { randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Client as TemporalClient, Connection } from '@temporalio/client';
import { Client as TypesenseClient } from 'typesense';
import { createApp } from '../../api/app.js';
import { openDatabase, type Database } from '../../db/orm.js';
import { seedDemoData } from '../../db/seed.js';
import { governmentActivities, SHIPPED_CATALOGUE } from '../../activities/government.js';
import { startWorker, type RunningWorker } from '../../services/worker.js';
import { searchIndexWorkflowId } from '../../workflows/contracts/search.js';
import { hashDeviceSecret } from '../../security/device-secrets.js';
import { externalSearchEngine, type SearchEngine } from '../../search/index.js';
import { postgresSearchEngine } from '../../search/postgres.js';
import { ACME, isolatedDatabase, passwordToken, silentLog, testConfig, testDatabase, testEnv } from '../support/stack.js';

/**
 * One contract, both engines: what staff type (misspelt, with synonyms, a UN number however
 * written) finds the right thing first, only in their own company, and the index follows every
 * create, update and delete. PostgreSQL always runs (the shared test database; the triggers index
 * in the writer's transaction). Typesense runs when TYPESENSE_URL (and TYPESENSE_API_KEY) are set:
 * an isolated database, a collection of the run's own, the worker mirroring the outbox into it;
 * without them the suite is reported as skipped, which `npm test` allows for this marker only.
 */

interface Hit {
  type: string;
  id: string;
  title: string;
  unNumbers: string[];
  classes: string[];
  fields: Record<string, string | null>;
  highlights: Array<{ field: string; snippet: string }>;
}
interface Answer {
  found: number;
  items: Hit[];
  facets: { type: Array<{ value: string; count: number }>; class: Array<{ value: string; count: number }> };
}

interface Harness {
  /** The engine the API searches with, for its write side (upsert, remove). */
  engine: SearchEngine;
  call(username: string, path: string, init?: { method?: string; body?: unknown; headers?: Record<string, string> }): Promise<Response>;
  /** PostgreSQL indexes in the writer's transaction: checked once. Typesense mirrors the outbox: checked until it holds (at most 20 s). */
  settled(check: () => Promise<void>): Promise<void>;
  close(): Promise<void>;
}

const TYPESENSE_URL = process.env.TYPESENSE_URL;
const TYPESENSE_API_KEY = process.env.TYPESENSE_API_KEY;

async function serve(config: ReturnType<typeof testConfig>, db: Database) {
  const temporal = Connection.lazy({ address: config.TEMPORAL_ADDRESS });
  const server: Server = createApp({ config, db, temporal, log: silentLog }).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const tokens = new Map<string, Promise<string>>();
  const call: Harness['call'] = async (username, path, init = {}) => {
    if (!tokens.has(username)) tokens.set(username, passwordToken(username));
    const headers: Record<string, string> = { Authorization: `Bearer ${await tokens.get(username)!}`, ...init.headers };
    if (init.body !== undefined) headers['Content-Type'] = 'application/json';
    return fetch(`${base}${path}`, { method: init.method ?? 'GET', headers, ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}) });
  };
  const close = async () => {
    await new Promise((resolve) => server.close(resolve));
    server.closeAllConnections();
    await temporal.close();
  };
  return { call, close };
}

async function postgresHarness(): Promise<Harness> {
  const db = await testDatabase();
  const api = await serve(testConfig({ SEARCH_ENGINE: 'postgres' }), db);
  return {
    engine: postgresSearchEngine(db),
    call: api.call,
    settled: (check) => check(),
    async close() {
      await api.close();
      await db.close();
    },
  };
}

async function typesenseHarness(): Promise<Harness> {
  const run = randomBytes(4).toString('hex');
  const database = await isolatedDatabase(`search_${run}`);
  const overrides = {
    DATABASE_URL: database.url,
    SEARCH_ENGINE: 'typesense',
    TYPESENSE_URL: TYPESENSE_URL!,
    TYPESENSE_API_KEY: TYPESENSE_API_KEY!,
    TYPESENSE_COLLECTION: `safeshipper_test_${run}`,
    // A prefix of its own: the run's other workers (PostgreSQL) end any mirroring workflow under theirs.
    TEMPORAL_TASK_QUEUE_PREFIX: `${testEnv().TEMPORAL_TASK_QUEUE_PREFIX}ts${run}-`,
  };
  const config = testConfig(overrides);
  const db = await openDatabase({ url: database.url, poolSize: 4 });
  await seedDemoData(db, await hashDeviceSecret('not-used-here'));
  await governmentActivities({ catalogueDatabaseUrl: database.catalogueUrl }).syncDangerousGoodsCatalogue(SHIPPED_CATALOGUE);
  const worker: RunningWorker = await startWorker(config, db, silentLog, { bundle: inject('workflowBundle') });
  const api = await serve(config, db);
  const settled: Harness['settled'] = async (check) => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        return await check();
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  };
  return {
    engine: externalSearchEngine(config)!,
    call: api.call,
    settled,
    async close() {
      await api.close();
      const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
      await new TemporalClient({ connection, namespace: config.TEMPORAL_NAMESPACE }).workflow.getHandle(searchIndexWorkflowId(config.TEMPORAL_TASK_QUEUE_PREFIX)).terminate('test done').catch(() => undefined);
      await connection.close();
      await worker.shutdown();
      await db.close();
      await database.drop();
      const typesense = new TypesenseClient({ nodes: [{ url: TYPESENSE_URL! }], apiKey: TYPESENSE_API_KEY!, logLevel: 'error' });
      for (const collection of await typesense.collections().retrieve()) if (collection.name.startsWith(`${overrides.TYPESENSE_COLLECTION}_`)) await typesense.collections(collection.name).delete();
      await typesense.aliases(overrides.TYPESENSE_COLLECTION).delete().catch(() => undefined);
    },
  };
}

const ENGINES = [
  { engine: 'postgres', title: 'search contract on PostgreSQL', run: true, harness: postgresHarness },
  { engine: 'typesense', title: 'search contract on Typesense [needs TYPESENSE_URL]', run: !!TYPESENSE_URL && !!TYPESENSE_API_KEY, harness: typesenseHarness },
];

for (const { title, run, harness } of ENGINES) {
  describe.skipIf(!run)(title, () => {
    let h: Harness;
    // Words no other test writes, far apart (Typesense forgives two typos in anything of 7 letters or more).
    const randomWord = () => Array.from(randomBytes(8), (byte) => String.fromCharCode(97 + (byte % 26))).join('');
    const [word, newRegistration, first, second] = [randomWord(), randomWord(), randomWord(), randomWord()];
    const number = word.slice(0, 6).toUpperCase();
    const ids: Record<string, string> = {};

    const json = async <T>(response: Response, status = 200): Promise<T> => {
      const body = (await response.json()) as T;
      expect({ status: response.status, body }).toMatchObject({ status });
      return body;
    };
    const search = async (username: string, query: Record<string, string>) => json<Answer>(await h.call(username, `/api/v1/search?${new URLSearchParams(query)}`));
    const suggest = async (username: string, q: string) => (await json<{ items: Array<{ text: string; type: string; id: string; unNumber: string | null }> }>(await h.call(username, `/api/v1/search/suggestions?${new URLSearchParams({ q })}`))).items;
    const create = async (username: string, path: string, body: unknown) => (await json<{ id: string }>(await h.call(username, path, { method: 'POST', body }), 201)).id;
    const catalogueId = async (un: string) => (await json<{ items: Array<{ id: string }> }>(await h.call('acme-viewer', `/api/v1/dangerous-goods/by-un/${un}`))).items[0]!.id;
    const shipment = (suffix: string, destination: string) => ({
      shipmentNumber: `SR-${number}-${suffix}`,
      origin: { address: 'Laverton North VIC', location: [144.77, -37.86] },
      destination: { address: destination, location: [144.36, -38.15] },
      pickupAt: '2030-01-01T08:00:00Z',
      deliverBy: '2030-01-01T12:00:00Z',
    });

    beforeAll(async () => {
      h = await harness();
      const [chlorine, acetone, gasoline] = [await catalogueId('UN1017'), await catalogueId('UN1090'), await catalogueId('UN1203')];
      ids.chlorineShipment = await create('acme-operator', '/api/v1/shipments', shipment('1', `Corio ${word} Geelong VIC`));
      await create('acme-operator', `/api/v1/shipments/${ids.chlorineShipment}/consignment-items`, { dangerousGoodId: chlorine, quantity: 900, unit: 'kg' });
      ids.mixedShipment = await create('acme-operator', '/api/v1/shipments', shipment('2', `${word} Dandenong VIC`));
      await create('acme-operator', `/api/v1/shipments/${ids.mixedShipment}/consignment-items`, { dangerousGoodId: acetone, quantity: 200, unit: 'L' });
      await create('acme-operator', `/api/v1/shipments/${ids.mixedShipment}/consignment-items`, { dangerousGoodId: chlorine, quantity: 50, unit: 'kg' });
      ids.vehicle = await create('acme-manager', '/api/v1/vehicles', { registration: word.toUpperCase(), vehicleType: 'TANKER', capacityKg: 20000 });
      ids.borealShipment = await create('boreal-operator', '/api/v1/shipments', shipment('9', `${word} Boreal yard`));
      await create('boreal-operator', `/api/v1/shipments/${ids.borealShipment}/consignment-items`, { dangerousGoodId: gasoline, quantity: 30000, unit: 'L' });
      // Typesense: the collection exported and the changes above mirrored before the first check.
      await h.settled(async () => expect((await search('acme-viewer', { q: word })).found).toBe(3));
    });
    afterAll(async () => {
      await h?.close();
    });

    it('finds what was meant despite the typing: acetne, chlorin, UN 1O17', async () => {
      for (const [q, title, un] of [
        ['acetne', 'Acetone', 'UN1090'],
        ['chlorin', 'Chlorine', 'UN1017'],
        ['UN 1O17', 'Chlorine', 'UN1017'],
        ['un-1017', 'Chlorine', 'UN1017'],
        ['chlroine', 'Chlorine', 'UN1017'],
      ] as const) {
        const first = (await search('acme-viewer', { q })).items[0];
        expect([q, first?.type, first?.title, first?.unNumbers]).toEqual([q, 'dangerous-good', title, [un]]);
      }
      const answer = await search('acme-viewer', { q: 'chlorin' });
      expect(answer.items[0]!.highlights).toContainEqual({ field: 'title', snippet: '<mark>Chlorine</mark>' });
    });

    it('ranks an exact UN number first: its catalogue entry, then the shipments carrying it, nothing that merely resembles it', async () => {
      const answer = await search('acme-viewer', { q: 'UN1017', limit: '50' });
      expect(answer.items[0]).toMatchObject({ type: 'dangerous-good', title: 'Chlorine', unNumbers: ['UN1017'] });
      expect(answer.items.every((hit) => hit.unNumbers.includes('UN1017'))).toBe(true);
      const ours = answer.items.filter((hit) => hit.id === ids.chlorineShipment || hit.id === ids.mixedShipment);
      expect(ours.map((hit) => hit.type)).toEqual(['shipment', 'shipment']);
      expect(ours[0]!.highlights).toContainEqual({ field: 'unNumbers', snippet: expect.stringContaining('<mark>UN1017</mark>') });
      // A question around the number finds the same entry first.
      expect((await search('acme-viewer', { q: 'what is UN 1017?' })).items[0]).toMatchObject({ title: 'Chlorine', unNumbers: ['UN1017'] });
    });

    it('answers each company its own documents and the catalogue, never another company’s', async () => {
      const acme = await search('acme-viewer', { q: word });
      expect(acme.items.map((hit) => hit.id).sort()).toEqual([ids.chlorineShipment, ids.mixedShipment, ids.vehicle].sort());
      const boreal = await search('boreal-viewer', { q: word });
      expect(boreal.items.map((hit) => [hit.type, hit.id])).toEqual([['shipment', ids.borealShipment]]);
      expect(boreal.facets.type).toEqual([{ value: 'shipment', count: 1 }]);
      // Not by its number, not by its goods, not as a suggestion.
      expect((await search('acme-viewer', { q: `SR-${number}-9` })).items.map((hit) => hit.id)).not.toContain(ids.borealShipment);
      expect((await search('acme-viewer', { q: `petrol ${word}` })).items.map((hit) => hit.id)).not.toContain(ids.borealShipment);
      expect((await suggest('acme-viewer', `SR-${number}`)).map((s) => s.id).sort()).toEqual([ids.chlorineShipment, ids.mixedShipment].sort());
      expect((await suggest('boreal-viewer', `SR-${number}`)).map((s) => s.id)).toEqual([ids.borealShipment]);
      // The catalogue is everyone's.
      expect((await search('boreal-viewer', { q: 'acetone' })).items[0]).toMatchObject({ type: 'dangerous-good', title: 'Acetone' });
    });

    it('counts every match by type and class, and filters by them', async () => {
      const all = await search('acme-viewer', { q: word, limit: '1' });
      expect(all.found).toBe(3);
      expect(all.items).toHaveLength(1);
      expect(all.facets).toEqual({ type: [{ value: 'shipment', count: 2 }, { value: 'vehicle', count: 1 }], class: [{ value: '2', count: 2 }, { value: '3', count: 1 }] });
      const flammable = await search('acme-viewer', { q: word, class: '3' });
      expect(flammable.items.map((hit) => hit.id)).toEqual([ids.mixedShipment]);
      expect((await search('acme-viewer', { q: word, class: '2.3' })).found).toBe(2);
      const vehicles = await search('acme-viewer', { q: word, type: 'vehicle' });
      expect(vehicles.items.map((hit) => [hit.type, hit.id, hit.title])).toEqual([['vehicle', ids.vehicle, word.toUpperCase()]]);
      // A question naming a type ranks that type first, and its words need not all match.
      expect((await search('acme-viewer', { q: `the chlorine shipment to ${word} Geelong` })).items[0]!.id).toBe(ids.chlorineShipment);
    });

    it('finds goods by their other names (petrol, diesel, LPG, Australian spelling)', async () => {
      const un = async (q: string) => (await search('acme-viewer', { q, type: 'dangerous-good', limit: '50' })).items.flatMap((hit) => hit.unNumbers);
      expect(await un('petrol')).toContain('UN1203');
      expect(await un('diesel')).toEqual(expect.arrayContaining(['UN1202', 'NA1993']));
      expect(await un('gas oil')).toContain('UN1202');
      expect(await un('LPG')).toEqual(expect.arrayContaining(['UN1075', 'UN1978']));
      expect(await un('sulphuric acid')).toContain('UN1830');
      // A company's shipment of gasoline is found as petrol.
      expect((await search('boreal-viewer', { q: `petrol ${word}` })).items.map((hit) => hit.id)).toEqual([ids.borealShipment]);
    });

    it('follows every change: a renamed vehicle is no longer found by its old name, a deleted one not at all, new goods at once', async () => {
      const before = word;
      const after = newRegistration.toUpperCase();
      const read = await h.call('acme-manager', `/api/v1/vehicles/${ids.vehicle}`);
      const renamed = await h.call('acme-manager', `/api/v1/vehicles/${ids.vehicle}`, { method: 'PATCH', body: { registration: after }, headers: { 'If-Match': read.headers.get('etag')! } });
      expect(renamed.status).toBe(200);
      await h.settled(async () => {
        expect((await search('acme-viewer', { q: before, type: 'vehicle' })).items.map((hit) => hit.id)).not.toContain(ids.vehicle);
        expect((await search('acme-viewer', { q: after, type: 'vehicle' })).items.map((hit) => [hit.id, hit.title])).toEqual([[ids.vehicle, after]]);
      });

      const [nitrogen] = (await json<{ items: Array<{ id: string }> }>(await h.call('acme-viewer', '/api/v1/dangerous-goods/by-un/UN1066'))).items;
      await create('acme-operator', `/api/v1/shipments/${ids.chlorineShipment}/consignment-items`, { dangerousGoodId: nitrogen!.id, quantity: 10, unit: 'kg' });
      await h.settled(async () => {
        expect((await search('acme-viewer', { q: `UN1066 ${word}` })).items.map((hit) => [hit.id, hit.unNumbers])).toEqual([[ids.chlorineShipment, ['UN1017', 'UN1066']]]);
      });

      expect((await h.call('acme-manager', `/api/v1/vehicles/${ids.vehicle}`, { method: 'DELETE' })).status).toBe(204);
      await h.settled(async () => {
        const answer = await search('acme-viewer', { q: word });
        expect(answer.items.map((hit) => hit.id)).not.toContain(ids.vehicle);
        expect(answer.facets.type).toEqual([{ value: 'shipment', count: 2 }]);
        expect((await search('acme-viewer', { q: after })).items.map((hit) => hit.id)).not.toContain(ids.vehicle);
      });
    });

    it('writes through one interface: upsert replaces a document whole, remove takes it out, the catalogue is no company’s to write', async () => {
      const id = randomUUID();
      const document = { type: 'document' as const, id, companyId: ACME, title: `Manifest ${first}`, fields: { text: `drums of acetone for ${first}` }, unNumbers: ['UN1090'], classes: ['3'], status: null };
      const found = async (username: string, q: string) => (await search(username, { q })).items.filter((hit) => hit.id === id);
      await h.engine.upsert(document);
      await h.settled(async () => {
        expect((await found('acme-viewer', `${first} acetone`)).map((hit) => [hit.type, hit.title, hit.unNumbers, hit.highlights])).toEqual([
          ['document', `Manifest ${first}`, ['UN1090'], [{ field: 'title', snippet: `Manifest <mark>${first}</mark>` }, { field: 'text', snippet: `drums of <mark>acetone</mark> for <mark>${first}</mark>` }]],
        ]);
        expect(await found('boreal-viewer', first)).toEqual([]);
      });
      await h.engine.upsert({ ...document, title: `Manifest ${second}`, fields: {} });
      await h.settled(async () => {
        expect(await found('acme-viewer', first)).toEqual([]);
        expect((await found('acme-viewer', second)).map((hit) => hit.fields)).toEqual([{}]);
      });
      await h.engine.remove('document', id, ACME);
      await h.settled(async () => expect(await found('acme-viewer', second)).toEqual([]));
      await expect(h.engine.upsert({ ...document, companyId: null })).rejects.toThrow(/catalogue/);
    });

    it('suggests as you type: the whole title first, then the shortest; a UN number from its first digits', async () => {
      const chlor = await suggest('acme-viewer', 'chlor');
      expect(chlor[0]).toMatchObject({ text: 'Chlorine', type: 'dangerous-good', unNumber: 'UN1017' });
      expect(chlor.length).toBeGreaterThan(3);
      expect(chlor.every((s) => /\bchlor/i.test(s.text))).toBe(true);
      expect((await suggest('acme-viewer', 'Acetone'))[0]).toMatchObject({ text: 'Acetone', unNumber: 'UN1090' });
      const numbers = (await suggest('acme-viewer', 'UN 101')).map((s) => s.unNumber);
      expect(numbers[0]).toBe('UN1010');
      expect(numbers.every((un) => un!.startsWith('UN101'))).toBe(true);
      expect(numbers).toContain('UN1017');
    });
  });
}

describe('search API input', () => {
  let db: Database;
  let api: Awaited<ReturnType<typeof serve>>;
  beforeAll(async () => {
    db = await testDatabase();
    api = await serve(testConfig(), db);
  });
  afterAll(async () => {
    await api?.close();
    await db?.close();
  });

  it('refuses what it cannot answer with 400 naming the parameter, and answers nothing-to-find with an empty list', async () => {
    for (const [query, path] of [
      ['', 'q'],
      ['q=%20%20', 'q'],
      [`q=${'x'.repeat(201)}`, 'q'],
      ['q=acetone&limit=0', 'limit'],
      ['q=acetone&limit=51', 'limit'],
      ['q=acetone&class=10', 'class'],
      ['q=acetone&type=spaceship', 'type'],
      ['q=acetone&company=22222222-2222-4222-8222-222222222222', 'company'],
    ]) {
      const response = await api.call('acme-viewer', `/api/v1/search?${query}`);
      expect([query, response.status, response.headers.get('content-type')]).toEqual([query, 400, expect.stringContaining('application/problem+json')]);
      expect(((await response.json()) as { errors: Array<{ path: string }> }).errors.map((error) => error.path)).toContain(path);
    }
    const suggestion = await api.call('acme-viewer', `/api/v1/search/suggestions?q=${'x'.repeat(101)}`);
    expect(suggestion.status).toBe(400);
    const punctuation = await api.call('acme-viewer', '/api/v1/search?q=%21%3F%2A');
    expect(await punctuation.json()).toEqual({ query: '!?*', found: 0, foundExact: true, items: [], facets: { type: [], class: [] } });
  });

  it('on PostgreSQL, ranks and counts a company’s 100 newest matches of a word on more, newest first among equals, and says the count is a floor', async () => {
    const engine = postgresSearchEngine(db);
    const word = Array.from(randomBytes(8), (byte) => String.fromCharCode(97 + (byte % 26))).join('');
    const ids = Array.from({ length: 101 }, () => randomUUID());
    try {
      for (const [n, id] of ids.entries()) await engine.upsert({ type: 'document', id, companyId: ACME, title: `Memo ${word}`, fields: { n: String(n) }, unNumbers: [], classes: [], status: null });
      const answer = (await (await api.call('acme-viewer', `/api/v1/search?q=${word}&limit=50`)).json()) as Answer & { foundExact: boolean };
      expect({ found: answer.found, foundExact: answer.foundExact, facets: answer.facets.type }).toEqual({ found: 100, foundExact: false, facets: [{ value: 'document', count: 100 }] });
      expect(answer.items.map((hit) => hit.id)).toEqual(ids.slice(-50).reverse());
      // The catalogue's matches are all counted whatever the company holds.
      const catalogue = (await (await api.call('acme-viewer', '/api/v1/search?q=chlorine&type=dangerous-good')).json()) as Answer & { foundExact: boolean };
      expect(catalogue.foundExact).toBe(true);
      expect(catalogue.found).toBeGreaterThan(10);
    } finally {
      for (const id of ids) await engine.remove('document', id, ACME);
    }
  });
});
