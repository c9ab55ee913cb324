import { describe, expect, it } from 'vitest';
import { type SimAction, F_NONE, F_NPA, blankAction } from './action.js';
import { DayOutput } from './day-output.js';
import { resolveParams } from './params.js';
import { DAY, HOUR } from './time.js';
import { buildWorld } from './world.js';

const world = buildWorld(resolveParams({ seed: 1, days: 3 }, 'tiny'));
const at = (day: number, hour: number) => world.t0 + day * DAY + hour * HOUR;
function reveal(t: number, tag: number, fields = F_NPA, account = 'x1'): SimAction {
  const a = blankAction(t, 'access');
  Object.assign(a, { action: 'reveal', result: 'allowed', waybill: `W${t}`, fields, tag, account });
  return a;
}

describe('DayOutput', () => {
  it('files actions under their own day, drops those past the run, and refuses one before the day in hand', () => {
    const out = new DayOutput(world, 'objects');
    out.push(reveal(at(0, 10), 0));
    out.push(reveal(at(1, 2), 0));
    out.push(reveal(at(3, 1), 0)); // day 3 of a 3-day run
    expect(out.takeActions(0)).toHaveLength(1);
    expect(out.takeActions(0)).toHaveLength(0);
    out.day = 1;
    expect(() => out.push(reveal(at(0, 23), 0))).toThrow(/before day 1/);
    expect(out.takeActions(1)).toHaveLength(1);
    expect(out.takeActions(2)).toHaveLength(0);
  });

  it('serializes into the day\'s arena in bytes mode', () => {
    const out = new DayOutput(world, 'bytes');
    out.push(reveal(at(0, 10), 0));
    out.push(reveal(at(0, 9), 0));
    expect(out.takeArena(0).order()).toHaveLength(2);
    expect(out.takeArena(0).order()).toHaveLength(0);
  });

  it('counts records exposed per attack tag: allowed accesses that showed fields, each record once', () => {
    const out = new DayOutput(world, 'objects');
    const r = reveal(at(0, 10), 4);
    out.push(r);
    out.push({ ...r, t: r.t + 1000 }); // the same record again
    out.push(reveal(at(0, 11), 4, F_NONE)); // a masked view shows nothing
    out.push({ ...reveal(at(0, 12), 4), result: 'denied' });
    out.push(reveal(at(0, 13), 0)); // honest work is not counted
    expect([...out.exposed]).toEqual([[4, new Set([r.waybill])]]);
  });

  it('counts watched accounts\' reveals per hour, and forgets them after a day', () => {
    const out = new DayOutput(world, 'objects');
    out.watched.add('ring1');
    out.push(reveal(at(0, 21.1), 0, F_NPA, 'ring1'));
    out.push(reveal(at(0, 21.5), 0, F_NPA, 'ring1'));
    out.push(reveal(at(0, 21.5), 0, F_NPA, 'other'));
    expect([...out.revealCount]).toEqual([['ring1@21', 2]]);
    out.forget(1);
    expect(out.revealCount.size).toBe(1);
    out.forget(2);
    expect(out.revealCount.size).toBe(0);
  });
});
