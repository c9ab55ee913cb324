import { describe, expect, it } from 'vitest';
import { DayOutput } from './day-output.js';
import { resolveParams } from './params.js';
import { People } from './people.js';
import { Staffing } from './staffing.js';
import { buildWorld, worksOn } from './world.js';

const setup = () => {
  const world = buildWorld(resolveParams({ seed: 1, days: 3 }, 'tiny'));
  const out = new DayOutput(world, 'objects');
  const people = new People(world, out);
  return { world, out, people, staff: new Staffing(world, people) };
};

describe('People', () => {
  it('plans a working day once: shift, sessions, one login and one logout per session, all on that day', () => {
    const { world, out, people } = setup();
    const a = world.accounts.find((x) => x.role === 'courier' && worksOn(world, x, 0))!;
    const p = people.planFor(a, 0)!;
    expect(people.planFor(a, 0)).toBe(p);
    expect(p.start).toBeLessThan(p.end);
    expect(p.logins).toHaveLength(p.sessions.length);
    const mine = out.takeActions(0).filter((x) => x.account === a.id);
    expect(mine.filter((x) => x.type === 'login' && x.result === 'success')).toHaveLength(p.sessions.length);
    expect(mine.filter((x) => x.type === 'logout')).toHaveLength(p.sessions.length);
  });

  it('gives no plan on a day off or a day already handed out, unless forced onto a day off', () => {
    const { world, out, people } = setup();
    const off = world.accounts.flatMap((a) => [0, 1, 2].filter((d) => !worksOn(world, a, d) && a.startDay <= d).map((d) => [a, d] as const))[0]!;
    expect(people.planFor(off[0], off[1])).toBeUndefined();
    expect(people.planFor(off[0], off[1], true)).toBeDefined();
    out.day = 2;
    const a = world.accounts.find((x) => worksOn(world, x, 1))!;
    expect(people.planFor(a, 1)).toBeUndefined();
  });

  it('gives a malware-overridden device its build from the override day on', () => {
    const { world, people } = setup();
    const dev = world.accounts.find((x) => x.role === 'courier')!.devices[0]!;
    people.appOverride.set(dev.id, { fromDay: 1, hash: 'sha256:bad', tag: 3 });
    expect(people.appHashFor(dev, 0)).not.toBe('sha256:bad');
    expect(people.appHashFor(dev, 1)).toBe('sha256:bad');
  });
});

describe('Staffing', () => {
  it('sends a route\'s work to its owner when he works, and a clerk on duty otherwise at the counter', () => {
    const { world, staff } = setup();
    const o = world.outlets[0]!;
    const owner = staff.outletDay(o, 0).owner.find((c) => c !== undefined)!;
    // h = 1: not a share handed to a temporary courier
    expect(staff.courierFor(o, owner.route, 0, 1).account).toBe(owner);
    const clerk = staff.clerkAt(o, 0, world.t0 + 12 * 3_600_000);
    expect(clerk.account.role).toBe('outlet_staff');
    expect(clerk.account.site).toBe(o);
  });
});
