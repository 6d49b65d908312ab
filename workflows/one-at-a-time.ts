/**
 * An entity workflow's transitions, one at a time: while one runs (its activities awaited), `busy`
 * is true, so update validators refuse another rather than interleave it with the first.
 */
export function oneAtATime() {
  const guard = {
    busy: false,
    async run<T>(work: () => Promise<T>): Promise<T> {
      guard.busy = true;
      try {
        return await work();
      } finally {
        guard.busy = false;
      }
    },
  };
  return guard;
}
