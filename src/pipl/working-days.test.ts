import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { addWorkingDays } from './working-days.js';

describe('addWorkingDays', () => {
  it('counts Monday to Friday in China time', () => {
    // Tuesday 2026-12-01 10:00 China time: 15 working days later is Tuesday 2026-12-22, end of day.
    expect(addWorkingDays(new Date('2026-12-01T02:00:00Z'), 15).toISOString()).toBe('2026-12-22T15:59:59.999Z');
    // Friday evening China time (already Saturday 00:30 in China): the clock starts on Monday.
    expect(addWorkingDays(new Date('2026-12-04T16:30:00Z'), 1).toISOString()).toBe('2026-12-07T15:59:59.999Z');
  });

  it('never lands on a weekend and is at least n calendar days later', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('2020-01-01'), max: new Date('2035-01-01'), noInvalidDate: true }), fc.integer({ min: 1, max: 40 }), (from, n) => {
        const due = addWorkingDays(from, n);
        const chinaDay = new Date(due.getTime() + 8 * 3_600_000).getUTCDay();
        expect([0, 6]).not.toContain(chinaDay);
        expect(due.getTime() - from.getTime()).toBeGreaterThanOrEqual(n * 86_400_000 - 86_400_000);
      }),
    );
  });

  it('refuses a negative count', () => {
    expect(() => addWorkingDays(new Date(), -1)).toThrow(RangeError);
  });
});
