import { describe, expect, it } from 'vitest';
import { turnBatcher } from './turn-batch.js';

const turn = () => new Promise<void>((r) => setImmediate(r));
/** Long enough for a finished batch to free its slot and the next to start (a few microtasks, then a turn). */
const turns = async () => {
  await turn();
  await turn();
};

/** A batch function whose batches the test finishes by hand, recording what each carried. */
function controlled() {
  const batches: number[][] = [];
  const finish: Array<(err?: Error) => void> = [];
  const run = (inputs: number[]) =>
    new Promise<number[]>((resolve, reject) => {
      batches.push(inputs);
      finish.push((err) => (err ? reject(err) : resolve(inputs.map((i) => i * 10))));
    });
  return { batches, finish, run };
}

describe('turnBatcher', () => {
  it('puts the calls of one turn in one batch and answers each with its own result', async () => {
    const c = controlled();
    const call = turnBatcher(c.run);
    const answers = Promise.all([call(1), call(2), call(3)]);
    await turn();
    expect(c.batches).toEqual([[1, 2, 3]]);
    c.finish[0]!();
    expect(await answers).toEqual([10, 20, 30]);
  });

  it('without a limit, a later turn starts its own batch while the first still runs', async () => {
    const c = controlled();
    const call = turnBatcher(c.run);
    const first = call(1);
    await turn();
    const second = call(2);
    await turn();
    expect(c.batches).toEqual([[1], [2]]);
    c.finish[1]!();
    c.finish[0]!();
    expect([await first, await second]).toEqual([10, 20]);
  });

  it('with maxInFlight 1, calls made while a batch runs wait and then go together, in order', async () => {
    const c = controlled();
    const call = turnBatcher(c.run, { maxInFlight: 1 });
    const first = call(1);
    await turn();
    const waiting = [call(2), call(3)];
    await turn();
    const later = call(4);
    await turn();
    expect(c.batches).toEqual([[1]]); // nothing else starts while the first runs
    c.finish[0]!();
    expect(await first).toBe(10);
    await turns();
    expect(c.batches).toEqual([[1], [2, 3, 4]]);
    c.finish[1]!();
    expect(await Promise.all([...waiting, later])).toEqual([20, 30, 40]);
  });

  it('with maxInFlight 2, a third batch waits for one of two to finish', async () => {
    const c = controlled();
    const call = turnBatcher(c.run, { maxInFlight: 2 });
    const a = call(1);
    await turn();
    const b = call(2);
    await turn();
    const d = call(3);
    await turn();
    expect(c.batches).toEqual([[1], [2]]);
    c.finish[1]!();
    expect(await b).toBe(20);
    await turns();
    expect(c.batches).toEqual([[1], [2], [3]]);
    c.finish[0]!();
    c.finish[2]!();
    expect([await a, await d]).toEqual([10, 30]);
  });

  it('a failed batch rejects each of its calls, and the calls waiting behind it still run', async () => {
    const c = controlled();
    const call = turnBatcher(c.run, { maxInFlight: 1 });
    const failing = [call(1), call(2)].map((p) => p.then(() => 'ok', (e: Error) => e.message));
    await turn();
    const after = call(3);
    await turn();
    c.finish[0]!(new Error('database gone'));
    expect(await Promise.all(failing)).toEqual(['database gone', 'database gone']);
    await turns();
    expect(c.batches).toEqual([[1, 2], [3]]);
    c.finish[1]!();
    expect(await after).toBe(30);
  });

  it('a batch function that throws, or answers the wrong number, rejects its calls and frees its slot', async () => {
    let mode: 'throw' | 'short' | 'ok' = 'throw';
    const call = turnBatcher(
      (inputs: number[]) => {
        if (mode === 'throw') throw new Error('thrown');
        return Promise.resolve(mode === 'short' ? inputs.slice(1) : inputs);
      },
      { maxInFlight: 1 },
    );
    await expect(call(1)).rejects.toThrow('thrown');
    mode = 'short';
    const short = [call(1), call(2)];
    await expect(short[0]).rejects.toThrow('batch answered 1 of 2');
    await expect(short[1]).rejects.toThrow('batch answered 1 of 2');
    mode = 'ok';
    expect(await call(7)).toBe(7);
  });

  it('splits a queue longer than maxBatch, still one batch in flight at a time', async () => {
    const c = controlled();
    const call = turnBatcher(c.run, { maxBatch: 2, maxInFlight: 1 });
    const all = Promise.all([1, 2, 3, 4, 5].map((i) => call(i)));
    await turn();
    expect(c.batches).toEqual([[1, 2]]);
    for (let k = 0; k < 3; k++) {
      c.finish[k]!();
      await turns();
    }
    expect(c.batches).toEqual([[1, 2], [3, 4], [5]]);
    expect(await all).toEqual([10, 20, 30, 40, 50]);
  });
});
