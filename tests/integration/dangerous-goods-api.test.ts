import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Connection } from '@temporalio/client';
import { createApp } from '../../api/app.js';
import type { Database } from '../../db/orm.js';
import { readHmtRows } from '../../data/load.js';
import { passwordToken, silentLog, testConfig, testDatabase } from '../support/stack.js';

const TABLE = readHmtRows();

describe('DG catalogue and rules over the API (real PostgreSQL, real Keycloak token)', () => {
  const config = testConfig();
  let db: Database;
  let server: Server;
  let base: string;
  let token: string;
  let temporal: Connection;

  const get = (path: string) => fetch(`${base}/api/v1${path}`, { headers: { Authorization: `Bearer ${token}` } });
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${base}/api/v1${path}`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });

  beforeAll(async () => {
    db = await testDatabase();
    temporal = Connection.lazy({ address: config.TEMPORAL_ADDRESS });
    server = createApp({ config, db, temporal, log: silentLog }).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    token = await passwordToken('acme-viewer');
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await temporal.close();
    await db.close();
  });

  describe('catalogue queries (49 CFR 172.101)', () => {
    it('finds every row of a UN number, in table order, with derived facts', async () => {
      const response = await get('/dangerous-goods/by-un/un1479');
      expect(response.status).toBe(200);
      const body = (await response.json()) as { unNumber: string; items: Array<Record<string, unknown>> };
      expect(body.unNumber).toBe('UN1479');
      expect(body.items.map((item) => [item.properShippingName, item.hazardClass, item.packingGroup, item.physicalState])).toEqual([
        ['Oxidizing solid, n.o.s.', '5.1', 'I', 'solid'],
        ['Oxidizing solid, n.o.s.', '5.1', 'II', 'solid'],
        ['Oxidizing solid, n.o.s.', '5.1', 'III', 'solid'],
      ]);
      const chlorine = (await (await get('/dangerous-goods/by-un/UN1017')).json()) as { items: Array<Record<string, unknown>> };
      expect(chlorine.items).toHaveLength(1);
      expect(chlorine.items[0]).toMatchObject({ properShippingName: 'Chlorine', hazardClass: '2.3', poisonInhalationHazard: true, inhalationHazardZone: 'B', physicalState: 'gas', citation: '49 CFR 172.101' });
    });

    it('answers 404 for a number not in the table and 400 for something that is not a number', async () => {
      const unknown = await get('/dangerous-goods/by-un/UN9999');
      expect(unknown.status).toBe(404);
      expect(await unknown.json()).toMatchObject({ detail: 'UN9999 is not in the Hazardous Materials Table (49 CFR 172.101)' });
      const bad = await get('/dangerous-goods/by-un/12');
      expect(bad.status).toBe(400);
      expect(await bad.json()).toMatchObject({ errors: [{ path: 'un' }] });
    });

    it('searches names case- and accent-insensitively', async () => {
      const body = (await (await get(`/dangerous-goods?search=${encodeURIComponent('ACÉTONE CYANOHYDRIN')}`)).json()) as { items: Array<{ properShippingName: string; unNumber: string }> };
      expect(body.items.map((item) => [item.unNumber, item.properShippingName])).toEqual([['UN1541', 'Acetone cyanohydrin, stabilized']]);
      const byNumber = (await (await get('/dangerous-goods?search=1090')).json()) as { items: Array<{ properShippingName: string }> };
      expect(byNumber.items.map((item) => item.properShippingName)).toEqual(['Acetone']);
    });

    it('pages a class with cursors: every row exactly once, none from another class', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const response = await get(`/dangerous-goods?class=8&limit=100${cursor ? `&cursor=${cursor}` : ''}`);
        expect(response.status).toBe(200);
        const page = (await response.json()) as { items: Array<{ id: string; division: string }>; nextCursor: string | null };
        for (const item of page.items) expect(item.division).toBe('8');
        seen.push(...page.items.map((item) => item.id));
        cursor = page.nextCursor;
        pages += 1;
      } while (cursor && pages < 20);
      expect(seen.length).toBe(TABLE.filter((row) => row.hazardClass === '8').length);
      expect(new Set(seen).size).toBe(seen.length);
      const explosives = (await (await get('/dangerous-goods?class=1&limit=100')).json()) as { items: Array<{ division: string }> };
      expect(new Set(explosives.items.map((item) => item.division.split('.')[0]))).toEqual(new Set(['1']));
    });

    it('shows one entry with its special provisions spelled out (172.102)', async () => {
      const list = (await (await get('/dangerous-goods/by-un/UN1017')).json()) as { items: Array<{ id: string }> };
      const response = await get(`/dangerous-goods/${list.items[0]!.id}`);
      expect(response.status).toBe(200);
      const entry = (await response.json()) as { specialProvisionTexts: Array<{ code: string; text: string }> };
      expect(entry.specialProvisionTexts[0]!.code).toBe('2');
      expect(entry.specialProvisionTexts[0]!.text).toMatch(/Hazard Zone B/);
      expect((await get('/dangerous-goods/00000000-0000-4000-8000-000000000000')).status).toBe(404);
      expect((await get('/dangerous-goods/not-a-uuid')).status).toBe(404);
    });

    it('refuses bad filters and forged cursors with 400 and the field named', async () => {
      expect(await (await get('/dangerous-goods?class=10')).json()).toMatchObject({ status: 400, errors: [{ path: 'class' }] });
      expect(await (await get('/dangerous-goods?limit=1000')).json()).toMatchObject({ status: 400, errors: [{ path: 'limit' }] });
      expect(await (await get('/dangerous-goods?cursor=eyJub3BlIjoxfQ')).json()).toMatchObject({ status: 400, errors: [{ path: 'cursor', message: 'is not a cursor this API issued' }] });
      expect(await (await get('/dangerous-goods?sort=name')).json()).toMatchObject({ status: 400, errors: [{ path: 'sort', message: 'is not a recognised field' }] });
    });
  });

  describe('check-compatibility (49 CFR 177.848)', () => {
    it('finds the chlorine/oxidiser "O" and says which rule decided it', async () => {
      const response = await post('/dangerous-goods/check-compatibility?regime=49cfr', { items: [{ unNumber: 'UN1017', quantity: 50, unit: 'kg' }, { unNumber: 'UN1479', packingGroup: 'II', quantity: 100, unit: 'kg' }] });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({
        regime: '49cfr',
        compatible: false,
        verdict: 'CONDITIONAL',
        conflicts: [
          {
            items: [0, 1],
            code: 'O',
            severity: 'conditional',
            hazards: ['Division 2.3 poison gas, Hazard Zone B', 'Division 5.1 oxidizer'],
            rule: '177.848(d): Division 2.3 poison gas, Hazard Zone B with Division 5.1 oxidizer is "O": may not be loaded together unless separated so that leaking packages could not commingle (177.848(e)(3))',
            citation: '49 CFR 177.848(d)',
          },
        ],
        indeterminate: [],
        notes: [],
        basis: [
          { rule: 'class-segregation', applies: true, message: 'every pair, on primary and subsidiary hazards, at any quantity', citation: '49 CFR 177.848' },
          { rule: 'food', applies: false, message: 'no food, feed or edible material in the load', citation: '49 CFR 177.841(e)' },
        ],
      });
    });

    it('a Division 6.1 PG I Hazard Zone A liquid with gasoline is X under 177.848(c)', async () => {
      const body = (await (await post('/dangerous-goods/check-compatibility?regime=49cfr', { items: [{ unNumber: 'UN3381' }, { unNumber: 'UN1203' }] })).json()) as { verdict: string; conflicts: Array<{ items: number[]; code: string; citation: string }> };
      expect(body.verdict).toBe('INCOMPATIBLE');
      expect(body.conflicts.map((conflict) => [conflict.items, conflict.code, conflict.citation])).toEqual([[[0, 1], 'X', '49 CFR 177.848(c)']]);
    });

    it('422 with field paths for unknown UN numbers, wrong packing groups and unknown fields; nothing guessed', async () => {
      const response = await post('/dangerous-goods/check-compatibility', { items: [{ unNumber: 'UN9999' }, { unNumber: 'UN1090', packingGroup: 'I' }] });
      expect(response.status).toBe(422);
      expect(response.headers.get('content-type')).toContain('application/problem+json');
      const body = (await response.json()) as { errors: Array<{ path: string; message: string }> };
      expect(body.errors.map((error) => error.path)).toEqual(['items[0].unNumber', 'items[1].packingGroup']);
      const unknownField = (await (await post('/dangerous-goods/check-compatibility', { items: [{ unNumber: 'UN1090', colour: 'red' }] })).json()) as { errors: Array<{ path: string }> };
      expect(unknownField.errors).toEqual([{ path: 'items[0].colour', message: 'is not a recognised field' }]);
      const negative = (await (await post('/dangerous-goods/check-compatibility', { items: [{ unNumber: 'UN1090', quantity: -5, unit: 'L' }] })).json()) as { errors: Array<{ path: string }> };
      expect(negative.errors.map((error) => error.path)).toEqual(['items[0].quantity']);
    });

    it('10,000 items: 422 naming the limit, not a 500 and not a slow answer', async () => {
      const response = await post('/dangerous-goods/check-compatibility', { items: Array.from({ length: 10_000 }, () => ({ unNumber: 'UN1090' })) });
      expect(response.status).toBe(422);
      expect(await response.json()).toMatchObject({ errors: [{ path: 'items', message: 'must hold at most 1000 items (got 10000)' }] });
    });

    it('malformed JSON is 400, a non-JSON body 415, a huge body 413', async () => {
      const malformed = await post('/dangerous-goods/check-compatibility', '{"items": [');
      expect(malformed.status).toBe(400);
      expect(await malformed.json()).toMatchObject({ title: 'Bad Request', detail: 'The body is not well-formed JSON' });
      const text = await post('/dangerous-goods/check-compatibility', 'items=1', { 'Content-Type': 'text/plain' });
      expect(text.status).toBe(415);
      const huge = await post('/dangerous-goods/check-compatibility', JSON.stringify({ items: [{ unNumber: 'UN1090', properShippingName: 'x'.repeat(3 * 1024 * 1024) }] }));
      expect(huge.status).toBe(413);
    });
  });

  describe('check-compatibility: the regime (issue 11)', () => {
    // 100 kg of gasoline with 50 kg of ammonium nitrate fertilizer, receptacles known: not an ADG placard load.
    const SMALL_AU_LOAD = { items: [{ unNumber: 'UN1203', quantity: 100, unit: 'kg', receptacleCapacity: 20 }, { unNumber: 'UN2067', quantity: 50, unit: 'kg', receptacleCapacity: 25 }] };
    type Answer = { regime: string; verdict: string; conflicts: Array<{ code: string; citation: string }>; basis: Array<{ rule: string; applies: boolean | null }> };
    const check = async (path: string, body: unknown, bearer = token): Promise<Answer> => {
      const response = await fetch(`${base}/api/v1${path}`, { method: 'POST', headers: { Authorization: `Bearer ${bearer}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      expect(response.status).toBe(200);
      return (await response.json()) as Answer;
    };

    it("no regime given: the company's applies (Acme: adg, the default), so the small load needs no class segregation", async () => {
      const body = await check('/dangerous-goods/check-compatibility', SMALL_AU_LOAD);
      expect([body.regime, body.verdict, body.conflicts, body.basis.map((b) => [b.rule, b.applies])]).toEqual(['adg', 'COMPATIBLE', [], [['class-segregation', false], ['food', false], ['overpack', false]]]);
    });

    it('an explicit regime wins, in the query or the body', async () => {
      for (const body of [await check('/dangerous-goods/check-compatibility?regime=49cfr', SMALL_AU_LOAD), await check('/dangerous-goods/check-compatibility', { regime: '49cfr', ...SMALL_AU_LOAD })]) {
        expect([body.regime, body.verdict, body.conflicts.map((c) => [c.code, c.citation])]).toEqual(['49cfr', 'CONDITIONAL', [['O', '49 CFR 177.848(d)']]]);
      }
    });

    it('a US Class 8 with food is allowed under 49cfr and forbidden under adg', async () => {
      const load = { items: [{ food: true }, { unNumber: 'UN1830', packingGroup: 'II', quantity: 20, unit: 'L', receptacleCapacity: 20 }] };
      const us = await check('/dangerous-goods/check-compatibility?regime=49cfr', load);
      const au = await check('/dangerous-goods/check-compatibility?regime=adg', load);
      expect([us.verdict, au.verdict, au.conflicts.map((c) => c.citation)]).toEqual(['COMPATIBLE', 'INCOMPATIBLE', ['ADG 7.x 9.1 (dangerous goods with food or food packaging)']]);
    });

    it('an unknown regime is refused (query 400, body 422); query and body that disagree are 422', async () => {
      const query = await post('/dangerous-goods/check-compatibility?regime=uk', SMALL_AU_LOAD);
      expect([query.status, ((await query.json()) as { errors: Array<{ path: string }> }).errors.map((e) => e.path)]).toEqual([400, ['regime']]);
      const body = await post('/dangerous-goods/check-compatibility', { regime: 'uk', ...SMALL_AU_LOAD });
      expect([body.status, ((await body.json()) as { errors: Array<{ path: string }> }).errors.map((e) => e.path)]).toEqual([422, ['regime']]);
      const both = await post('/dangerous-goods/check-compatibility?regime=adg', { regime: '49cfr', ...SMALL_AU_LOAD });
      expect([both.status, await both.json()]).toEqual([422, expect.objectContaining({ errors: [{ path: 'regime', message: 'the query says "adg" and the body "49cfr": give the regime once' }] })]);
    });

    it('ADMIN sets the company regime (audited); the default follows it; lower roles get 403', async () => {
      const [admin, manager, viewer] = await Promise.all(['boreal-admin', 'boreal-manager', 'boreal-viewer'].map((user) => passwordToken(user)));
      const patch = (bearer: string, body: unknown) =>
        fetch(`${base}/api/v1/company`, { method: 'PATCH', headers: { Authorization: `Bearer ${bearer}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      const forbidden = await patch(manager!, { dgRegime: '49cfr' });
      expect(forbidden.status).toBe(403);
      const invalid = await patch(admin!, { dgRegime: 'uk' });
      expect([invalid.status, ((await invalid.json()) as { errors: Array<{ path: string }> }).errors.map((e) => e.path)]).toEqual([422, ['dgRegime']]);
      try {
        const changed = await patch(admin!, { dgRegime: '49cfr' });
        const company = (await changed.json()) as { id: string; name: string; dgRegime: string };
        expect([changed.status, company.dgRegime]).toEqual([200, '49cfr']);
        const audit = (await (
          await fetch(`${base}/api/v1/audit-log?entityType=company&entityId=${company.id}&limit=5`, { headers: { Authorization: `Bearer ${admin!}` } })
        ).json()) as { items: Array<{ action: string; actor: { username: string }; before: unknown; after: unknown }> };
        expect(audit.items[0]).toMatchObject({ action: 'update', actor: { username: 'boreal-admin' }, before: { dgRegime: 'adg' }, after: { dgRegime: '49cfr' } });
        const seen = (await (await fetch(`${base}/api/v1/company`, { headers: { Authorization: `Bearer ${viewer!}` } })).json()) as { dgRegime: string };
        expect(seen.dgRegime).toBe('49cfr');
        const body = await check('/dangerous-goods/check-compatibility', SMALL_AU_LOAD, viewer);
        expect([body.regime, body.verdict]).toEqual(['49cfr', 'CONDITIONAL']);
      } finally {
        expect((await patch(admin!, { dgRegime: 'adg' })).status).toBe(200);
      }
    });
  });

  describe('placards', () => {
    it('ADG 7.x: 1,000 L of gasoline is a placard load, 999 L is not', async () => {
      const at = (await (await post('/dangerous-goods/placards?regime=adg', { items: [{ unNumber: 'UN1203', quantity: 1000, unit: 'L', receptacleCapacity: 200 }] })).json()) as { placardLoad: boolean };
      const under = (await (await post('/dangerous-goods/placards?regime=adg', { items: [{ unNumber: 'UN1203', quantity: 999, unit: 'L', receptacleCapacity: 200 }] })).json()) as { placardLoad: boolean };
      expect([at.placardLoad, under.placardLoad]).toEqual([true, false]);
    });

    it('49 CFR 172.504: chlorine (Table 1) placards at any quantity', async () => {
      const body = (await (await post('/dangerous-goods/placards?regime=49cfr', { items: [{ unNumber: 'UN1017', quantity: 1, unit: 'kg', grossMass: 2 }] })).json()) as { placardLoad: boolean; placards: Array<{ placard: string; required: boolean; citation: string }> };
      expect(body.placardLoad).toBe(true);
      expect(body.placards.filter((placard) => placard.required).map((placard) => placard.placard)).toEqual(['POISON GAS']);
    });

    it('needs a regime', async () => {
      const response = await post('/dangerous-goods/placards', { items: [{ unNumber: 'UN1203' }] });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ errors: [{ path: 'regime' }] });
    });
  });
});
