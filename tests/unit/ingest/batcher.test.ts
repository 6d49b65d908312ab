import { describe, expect, it } from 'vitest';
import { Batcher } from '../../../ingest/batcher.js';

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

describe('batcher with group commit', () => {
  it('commits a lone item at once, and what arrives during a commit together after it', async () => {
    const batches: number[][] = [];
    let release!: () => void;
    let gate = new Promise<void>((resolve) => (release = resolve));
    const batcher = new Batcher<number>(async (items) => {
      batches.push(items);
      await gate;
    }, { maxSize: 100, maxWaitMs: 60_000, maxConcurrent: 1 });
    const first = batcher.add(1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(batches).toEqual([[1]]);
    const rest = [2, 3, 4].map((n) => batcher.add(n));
    await new Promise((resolve) => setImmediate(resolve));
    expect(batches).toEqual([[1]]);
    const firstGate = release;
    gate = new Promise<void>((resolve) => (release = resolve));
    firstGate();
    await first;
    await new Promise((resolve) => setImmediate(resolve));
    expect(batches).toEqual([[1], [2, 3, 4]]);
    release();
    await Promise.all(rest);
  });
});

describe('batcher with group commit under load', () => {
  it('never runs more than maxConcurrent commits, however much waits, and commits the backlog in batches of at most maxSize', async () => {
    const batches: number[][] = [];
    let running = 0;
    let mostRunning = 0;
    const gates: Array<() => void> = [];
    const batcher = new Batcher<number>(async (items) => {
      batches.push(items);
      running += 1;
      mostRunning = Math.max(mostRunning, running);
      await new Promise<void>((resolve) => gates.push(resolve));
      running -= 1;
    }, { maxSize: 3, maxWaitMs: 60_000, maxConcurrent: 2 });
    const added = Array.from({ length: 14 }, (_, n) => batcher.add(n));
    await new Promise((resolve) => setImmediate(resolve));
    // Two full batches took the two slots; the other eight items wait, not a third, fourth … commit.
    expect(batches).toEqual([[0, 1, 2], [3, 4, 5]]);
    while (batches.flat().length < 14 || gates.length > 0) {
      gates.shift()?.();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(added);
    expect(mostRunning).toBe(2);
    expect(batches).toEqual([[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10, 11], [12, 13]]);
  });

  it('drain commits a backlog larger than the commits in flight may take at once', async () => {
    const committed: number[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const batcher = new Batcher<number>(async (items) => {
      await gate;
      committed.push(...items);
    }, { maxSize: 2, maxWaitMs: 60_000, maxConcurrent: 1 });
    const added = [1, 2, 3, 4, 5].map((n) => batcher.add(n));
    const drained = batcher.drain();
    release();
    await drained;
    expect(committed).toEqual([1, 2, 3, 4, 5]);
    await Promise.all(added);
  });
});
