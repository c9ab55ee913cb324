/**
 * Collects the calls made during one event-loop turn and runs them as one batch (one statement)
 * at the end of the turn: under load, many requests' reads or counts share a round trip; alone,
 * a call waits only for the turn to end.
 *
 * Invariant: every call settles exactly once — with its own result, or with the batch's error.
 */
export function turnBatcher<I, O>(run: (inputs: I[]) => Promise<O[]>, maxBatch = 256): (input: I) => Promise<O> {
  let pending: Array<{ input: I; resolve(o: O): void; reject(err: unknown): void }> = [];
  let scheduled = false;

  const flush = (): void => {
    scheduled = false;
    while (pending.length) {
      const batch = pending.slice(0, maxBatch);
      pending = pending.slice(batch.length);
      run(batch.map((b) => b.input)).then(
        (outputs) => {
          if (outputs.length !== batch.length) throw new Error(`batch answered ${outputs.length} of ${batch.length}`);
          batch.forEach((b, i) => b.resolve(outputs[i]!));
        },
      ).catch((err: unknown) => batch.forEach((b) => b.reject(err)));
    }
  };

  return (input) =>
    new Promise<O>((resolve, reject) => {
      pending.push({ input, resolve, reject });
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    });
}
