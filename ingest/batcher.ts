type Entry<T> = { item: T; resolve: () => void; reject: (error: unknown) => void };

export interface BatcherOptions {
  maxSize: number;
  /** Without `maxConcurrent`: how long the first item waits for others. */
  maxWaitMs?: number;
  /**
   * Group commit: with fewer than this many commits in flight, what waits is committed at once
   * (after the current turn of the event loop, so a socket read's messages go together); else it
   * waits for a commit to finish, and goes then in batches of at most `maxSize`. A lone point
   * waits for nothing, and under load the batches grow by themselves while the database is busy.
   * Never more than this many commits at once, however much waits: more would only queue for
   * pool connections and for the same rows' locks (every batch moves the same vehicles), each
   * one slower than the last.
   */
  maxConcurrent?: number;
  /**
   * Says whether a failed commit may be the fault of some of its items (a row the database
   * refuses) rather than of the whole batch (the database is down). Such a batch is split in
   * halves and each committed alone, down to single items, so only the items that fail on
   * their own are rejected: one bad point costs log2(batch) extra commits, not everyone's.
   */
  isolate?: (error: unknown) => boolean;
}

/**
 * Collects items and commits them in batches: when `maxSize` items wait, or `maxWaitMs` after
 * the first, or (with `maxConcurrent`) as soon as a commit may start. Each `add` resolves only after its item is committed, which is what lets the broker
 * hold a PUBACK until the point is in PostgreSQL; an item whose commit failed is rejected.
 */
export class Batcher<T> {
  private pending: Array<Entry<T>> = [];
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private inFlight = new Set<Promise<void>>();

  constructor(
    private readonly commit: (items: T[]) => Promise<void>,
    private readonly options: BatcherOptions,
  ) {}

  add(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (this.options.maxConcurrent === undefined) {
        if (this.pending.length >= this.options.maxSize) this.flush();
        else this.timer ??= setTimeout(() => this.flush(), this.options.maxWaitMs);
      } else if (this.inFlight.size < this.options.maxConcurrent) {
        // Group commit: at once if a commit may start (a full batch now, else after this turn), else when one finishes.
        if (this.pending.length >= this.options.maxSize) this.flush();
        else this.immediate ??= setImmediate(() => this.fill(this.options.maxConcurrent!));
      }
    });
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    clearImmediate(this.immediate);
    this.immediate = undefined;
    const batch = this.pending.length <= this.options.maxSize ? this.pending : this.pending.splice(0, this.options.maxSize);
    if (batch === this.pending) this.pending = [];
    if (batch.length === 0) return;
    const run = this.commitIsolating(batch);
    this.inFlight.add(run);
    void run.finally(() => {
      this.inFlight.delete(run);
      // Group commit: what gathered during this commit goes now.
      if (this.options.maxConcurrent !== undefined) this.fill(this.options.maxConcurrent);
    });
  }

  /** Starts commits of what waits while fewer than `slots` are in flight. */
  private fill(slots: number): void {
    while (this.pending.length > 0 && this.inFlight.size < slots) this.flush();
  }

  private async commitIsolating(batch: Array<Entry<T>>): Promise<void> {
    try {
      await this.commit(batch.map((entry) => entry.item));
    } catch (error) {
      if (batch.length === 1 || !this.options.isolate?.(error)) {
        for (const entry of batch) entry.reject(error);
        return;
      }
      const half = Math.ceil(batch.length / 2);
      await Promise.all([this.commitIsolating(batch.slice(0, half)), this.commitIsolating(batch.slice(half))]);
      return;
    }
    for (const entry of batch) entry.resolve();
  }

  /** Commits what is waiting and waits for every batch in flight. */
  async drain(): Promise<void> {
    this.fill(this.options.maxConcurrent ?? 1);
    while (this.inFlight.size > 0) {
      await Promise.all(this.inFlight);
      this.fill(this.options.maxConcurrent ?? 1);
    }
  }
}
