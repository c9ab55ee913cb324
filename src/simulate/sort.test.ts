import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { blankAction } from './action.js';
import { sortByTime } from './sort.js';

describe('sortByTime', () => {
  it('orders a day\'s actions by time and keeps equal times in their pushed order', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 86_400_000 }), { maxLength: 300 }), fc.integer({ min: 0, max: 5 }), (times, dupEvery) => {
        // some actions share an instant (login and the first access of a session often do)
        const actions = times.map((t, i) => Object.assign(blankAction(dupEvery > 0 && i % dupEvery === 0 && i > 0 ? times[i - 1]! : t, 'scan'), { tag: i }));
        const expected = actions.slice().sort((a, b) => a.t - b.t); // Array.prototype.sort is stable
        sortByTime(actions);
        expect(actions.map((a) => a.tag)).toEqual(expected.map((a) => a.tag));
      }),
    );
  });
});
