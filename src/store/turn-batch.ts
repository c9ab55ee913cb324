/**
 * Collects the calls made during one event-loop turn and runs them as one batch (one statement)
 * at the end of the turn: under load, many requests' reads or counts share a round trip; alone,
 * a call waits only for the turn to end.
 *
 * With `maxInFlight` (the reveal path's statements, docs/decisions/0017-reveal-batches.md), at
 * most that many batches run at once; calls made while they do wait for one to finish and then
 * go together as the next batch (group commit). Alone, a call still waits only for its turn;
 * under load a batch carries every call that arrived during the previous one's round trip, so
 * the statements per call fall as the load rises instead of staying near one per turn.
 *
 * Invariants: every call settles exactly once — with its own result, or with its batch's error.
 * Calls are batched in the order they were made, and with `maxInFlight: 1` a batch starts only
 * after the one before it settled (so a ledger decides its asks in arrival order across batches).
 */
export interface TurnBatcherOptions {
  /** Calls per batch at most (default 256). */
  maxBatch?: number;
  /** Batches running at once at most (default: no limit, one batch per turn). */
  maxInFlight?: number;
}

export function turnBatcher<I, O>(run: (inputs: I[]) => Promise<O[]>, options: TurnBatcherOptions | number = {}): (input: I) => Promise<O> {
  const { maxBatch = 256, maxInFlight = Number.POSITIVE_INFINITY } = typeof options === 'number' ? { maxBatch: options } : options;
  let pending: Array<{ input: I; resolve(o: O): void; reject(err: unknown): void }> = [];
  let scheduled = false;
  let inFlight = 0;

  const schedule = (): void => {
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };

  const flush = (): void => {
    scheduled = false;
    while (pending.length && inFlight < maxInFlight) {
      const batch = pending.slice(0, maxBatch);
      pending = pending.slice(batch.length);
      inFlight++;
      let started: Promise<O[]>;
      try {
        started = run(batch.map((b) => b.input));
      } catch (err) {
        started = Promise.reject(err);
      }
      started
        .then((outputs) => {
          if (outputs.length !== batch.length) throw new Error(`batch answered ${outputs.length} of ${batch.length}`);
          batch.forEach((b, i) => b.resolve(outputs[i]!));
        })
        .catch((err: unknown) => batch.forEach((b) => b.reject(err)))
        .finally(() => {
          inFlight--;
          // What queued meanwhile goes at the end of this turn, with whatever this turn adds.
          if (pending.length) schedule();
        });
    }
  };

  return (input) =>
    new Promise<O>((resolve, reject) => {
      pending.push({ input, resolve, reject });
      schedule();
    });
}

/**
 * The reveal path's batchers (ciphertext fetch, quota ledger): one batch of each in
 * flight at a time, like the audit writer's commits (docs/decisions/0017-reveal-batches.md).
 */
export const REVEAL_IN_FLIGHT = 1;

