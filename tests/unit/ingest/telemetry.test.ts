import { describe, expect, it } from 'vitest';
import { Batcher } from '../../../ingest/batcher.js';
import { decodeTelemetry } from '../../../domain/telemetry-message.js';

const now = new Date('2026-11-26T10:00:00Z');
const decode = (body: unknown) => decodeTelemetry(Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)), now);

describe('telemetry decoding', () => {
  it('accepts ISO or epoch-millisecond timestamps and the known fields', () => {
    expect(decode({ ts: '2026-11-26T09:59:00Z', lat: -37.8, lon: 144.9, speedKmh: 80 })).toEqual({ ok: true, message: { ts: new Date('2026-11-26T09:59:00Z'), lat: -37.8, lon: 144.9, speedKmh: 80 } });
    expect(decode({ ts: now.getTime() })).toEqual({ ok: true, message: { ts: now } });
  });

  it.each([
    ['{oops', 'payload is not JSON'],
    [{ lat: 1, lon: 1 }, 'ts: Invalid input'],
    [{ ts: now.getTime(), lat: 91, lon: 0 }, 'lat: Too big'],
    [{ ts: now.getTime(), lat: 10 }, 'lat and lon come together'],
    [{ ts: now.getTime(), speedKmh: -1 }, 'speedKmh: must be at least 0'],
    [{ ts: now.getTime(), extra: 1 }, 'Unrecognized key: "extra"'],
    [{ ts: now.getTime() + 6 * 60_000 }, 'ts is in the future'],
    // Values PostgreSQL refuses: each would fail the batch it lands in.
    [{ ts: now.getTime(), headingDeg: 359.9999999 }, 'headingDeg: must be below 360 as stored (real)'],
    [{ ts: now.getTime(), speedKmh: 1e-50 }, 'speedKmh: is not representable as real'],
    [{ ts: now.getTime(), temperatureC: -1e-46 }, 'temperatureC: is not representable as real'],
    [{ ts: now.getTime(), sensors: { note: 'a\u0000b' } }, 'sensors.note: contains NUL or a lone surrogate'],
    [{ ts: now.getTime(), sensors: { note: 'x\udc00' } }, 'sensors.note: contains NUL or a lone surrogate'],
    [{ ts: now.getTime(), sensors: { 'k\ud800': 1 } }, 'Invalid key in record'],
  ])('refuses %j: %s', (body, reason) => {
    const result = decode(body);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toContain(reason);
  });
});

describe('telemetry decoding keeps what PostgreSQL stores', () => {
  it('accepts values at the edges of their columns', () => {
    expect(decode({ ts: now.getTime(), headingDeg: 359.99997, speedKmh: 1e-45, sensors: { note: 'ok \ud83d\ude00', n: 5e-324 } }).ok).toBe(true);
  });
});

describe('batcher', () => {
  it('resolves each item only after its batch committed, batching by size', async () => {
    const batches: number[][] = [];
    const batcher = new Batcher<number>(async (items) => {
      batches.push(items);
    }, { maxSize: 3, maxWaitMs: 10_000 });
    await Promise.all([1, 2, 3].map((n) => batcher.add(n)));
    expect(batches).toEqual([[1, 2, 3]]);
  });

  it('flushes a partial batch after the wait, and rejects every item of a failed commit', async () => {
    let fail = true;
    const batcher = new Batcher<string>(async () => {
      if (fail) throw new Error('database down');
    }, { maxSize: 100, maxWaitMs: 5 });
    const results = await Promise.allSettled([batcher.add('a'), batcher.add('b')]);
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    await expect(batcher.add('c')).resolves.toBeUndefined();
  });

  it('drain commits what waits', async () => {
    const committed: string[] = [];
    const batcher = new Batcher<string>(async (items) => {
      committed.push(...items);
    }, { maxSize: 100, maxWaitMs: 60_000 });
    const pending = batcher.add('x');
    await batcher.drain();
    await pending;
    expect(committed).toEqual(['x']);
  });

  it('isolates a failing batch: only the items that fail alone are rejected', async () => {
    const commits: string[][] = [];
    const batcher = new Batcher<string>(async (items) => {
      commits.push(items);
      if (items.some((item) => item.startsWith('poison'))) throw Object.assign(new Error('bad row'), { code: '23514' });
    }, { maxSize: 100, maxWaitMs: 5, isolate: (error) => (error as { code?: string }).code === '23514' });
    const items = ['a', 'b', 'poison-1', 'c', 'd', 'e', 'f', 'poison-2', 'g'];
    const results = await Promise.allSettled(items.map((item) => batcher.add(item)));
    expect(results.map((result) => result.status)).toEqual(items.map((item) => (item.startsWith('poison') ? 'rejected' : 'fulfilled')));
    expect(commits.flat().filter((item) => !item.startsWith('poison')).sort()).toEqual(expect.arrayContaining(['a', 'b', 'c', 'd', 'e', 'f', 'g']));
    // Bisection, not one commit per item.
    expect(commits.length).toBeLessThan(items.length * 2);
  });

  it('does not isolate an error of the whole batch (the database is down): every item is rejected once', async () => {
    let commits = 0;
    const batcher = new Batcher<string>(async () => {
      commits += 1;
      throw Object.assign(new Error('connection refused'), { code: 'ECONNREFUSED' });
    }, { maxSize: 100, maxWaitMs: 5, isolate: (error) => (error as { code?: string }).code === '23514' });
    const results = await Promise.allSettled(['a', 'b', 'c'].map((item) => batcher.add(item)));
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(commits).toBe(1);
  });
});
