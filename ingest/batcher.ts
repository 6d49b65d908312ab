/**
 * Collects items and commits them in batches: when `maxSize` items wait, or `maxWaitMs` after
 * the first. Each `add` resolves only after its batch committed, which is what lets the broker
 * hold a PUBACK until the point is in PostgreSQL; a failed commit rejects every item in it.
 */
export class Batcher<T> {
  private pending: Array<{ item: T; resolve: () => void; reject: (error: unknown) => void }> = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight = new Set<Promise<void>>();

  constructor(
    private readonly commit: (items: T[]) => Promise<void>,
    private readonly options: { maxSize: number; maxWaitMs: number },
  ) {}

  add(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (this.pending.length >= this.options.maxSize) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.options.maxWaitMs);
    });
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    const run = this.commit(batch.map((entry) => entry.item)).then(
      () => batch.forEach((entry) => entry.resolve()),
      (error: unknown) => batch.forEach((entry) => entry.reject(error)),
    );
    this.inFlight.add(run);
    void run.finally(() => this.inFlight.delete(run));
  }

  /** Commits what is waiting and waits for every batch in flight. */
  async drain(): Promise<void> {
    this.flush();
    await Promise.all(this.inFlight);
  }
}
