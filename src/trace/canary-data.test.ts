import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { neighbourNumber } from './canary-data.js';
import { Rng } from '../simulate/rng.js';

const num = (w: string) => BigInt(w.slice(2));

describe('canary numbers are drawn from gaps below real numbers, never where upstream issues next', () => {
  it('always below the real neighbour and above the next lower known number', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 9_000_000 }), fc.integer({ min: 1, max: 20_000 }), fc.integer(), (high, gap, seed) => {
        const real = `SF3${String(high + gap).padStart(11, '0')}`;
        const lower = `SF3${String(high).padStart(11, '0')}`;
        const n = neighbourNumber(real, new Rng(seed, 1, 2), [lower, real], true);
        if (gap < 2) return n === null;
        return n !== null && /^SF3\d{11}$/.test(n) && num(n) < num(real) && num(n) > num(lower);
      }),
    );
  });

  it('below the lowest known only when not asked to stay inside the block', () => {
    const rng = new Rng(7, 8, 9);
    expect(neighbourNumber('SF300000010000', rng, ['SF300000010000'], true)).toBeNull();
    const n = neighbourNumber('SF300000010000', rng, ['SF300000010000'], false)!;
    expect(num(n)).toBeLessThan(num('SF300000010000'));
    expect(num(n)).toBeGreaterThanOrEqual(num('SF300000010000') - 5_000n);
    // Another prefix or length is not a neighbour in the sequence.
    expect(neighbourNumber('SF300000010000', rng, ['JD300000009999', 'SF30000009999'], true)).toBeNull();
  });
});
