import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ActivityEvent } from '../contracts/events.js';
import { ReorderBuffer } from './reorder.js';

const evt = (id: string): ActivityEvent => ({ id, ts: '2026-11-02T00:00:00.000Z', type: 'logout', account: 'a' }) as ActivityEvent;

function drain(b: ReorderBuffer, upTo = Infinity): string[] {
  const out: string[] = [];
  b.releaseUpTo(upTo, (e) => out.push(e.id));
  return out;
}

describe('ReorderBuffer', () => {
  it('releases in (time, arrival) order, counting only the arrivals it had to move', () => {
    const b = new ReorderBuffer();
    b.insert(evt('a'), 10);
    b.insert(evt('c'), 20);
    b.insert(evt('b'), 10); // before c, after a (same time, later arrival)
    b.insert(evt('d'), 20);
    expect(b.reordered).toBe(1);
    expect(b.size).toBe(4);
    expect(drain(b)).toEqual(['a', 'b', 'c', 'd']);
    expect(b.size).toBe(0);
    expect(b.maxSize).toBe(4);
  });

  it('releases only what is at or before the watermark', () => {
    const b = new ReorderBuffer();
    for (const [id, t] of [['x', 5], ['y', 7], ['z', 9]] as const) b.insert(evt(id), t);
    expect(drain(b, 7)).toEqual(['x', 'y']);
    expect(b.size).toBe(1);
    expect(drain(b, 8)).toEqual([]);
    expect(drain(b, 9)).toEqual(['z']);
  });

  it('grows past its capacity and wraps around without losing order', () => {
    const b = new ReorderBuffer(4);
    let next = 0;
    const released: string[] = [];
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 7; i++) b.insert(evt(`e${next}`), next++);
      b.releaseUpTo(next - 3, (e) => released.push(e.id));
    }
    b.releaseUpTo(Infinity, (e) => released.push(e.id));
    expect(released).toEqual(Array.from({ length: next }, (_, i) => `e${i}`));
    expect(b.maxSize).toBeGreaterThan(4);
  });

  it('is a stable sort of any arrival order', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 200 }), (times) => {
        const b = new ReorderBuffer(2);
        times.forEach((t, i) => b.insert(evt(String(i)), t));
        const want = times.map((t, i) => ({ t, i })).sort((x, y) => x.t - y.t || x.i - y.i).map((x) => String(x.i));
        expect(drain(b)).toEqual(want);
      }),
    );
  });
});
