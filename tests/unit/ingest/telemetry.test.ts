import { describe, expect, it } from 'vitest';
import { Batcher } from '../../../ingest/batcher.js';
import { decodeTelemetry } from '../../../ingest/telemetry-message.js';

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
    [{ ts: now.getTime(), speedKmh: -1 }, 'speedKmh: Too small'],
    [{ ts: now.getTime(), extra: 1 }, 'Unrecognized key: "extra"'],
    [{ ts: now.getTime() + 6 * 60_000 }, 'ts is in the future'],
  ])('refuses %j: %s', (body, reason) => {
    const result = decode(body);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toContain(reason);
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
});
