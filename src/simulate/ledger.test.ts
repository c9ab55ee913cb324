import { describe, expect, it } from 'vitest';
import { ParcelLedger, pickFrom } from './ledger.js';
import { resolveParams } from './params.js';
import { Rng } from './rng.js';
import { buildWorld } from './world.js';

const world = buildWorld(resolveParams({ seed: 1 }, 'tiny'));

describe('ParcelLedger', () => {
  it('allocates each outlet\'s numbers in sequence from its own start, and reports the range given out', () => {
    const book = new ParcelLedger(world);
    const [a, b] = world.outlets;
    expect(book.seqRange(a!)).toEqual([a!.seqStart, a!.seqStart - 1]);
    expect([book.allocate(a!), book.allocate(a!), book.allocate(b!)]).toEqual([a!.seqStart, a!.seqStart + 1, b!.seqStart]);
    expect(book.seqRange(a!)).toEqual([a!.seqStart, a!.seqStart + 1]);
  });

  it('pools recent waybills by city and day, over the lookback asked for, and forgets them after a week', () => {
    const book = new ParcelLedger(world);
    const [c0, c1] = world.cities;
    book.remember(c0!, 0, 'A0');
    book.remember(c0!, 2, 'A2');
    book.remember(c1!, 2, 'B2');
    expect(book.recentPool(c0, 2, 1)).toEqual([['A2']]);
    expect(book.recentPool(c0, 2, 3)).toEqual([['A0'], ['A2']]);
    expect(book.recentPool(undefined, 2, 1)).toEqual([['A2'], ['B2']]);
    book.forget(8);
    expect(book.recentPool(c0, 2, 3)).toEqual([['A2']]);
  });

  it('hands out the parcels due on a day, and numbers tickets in order', () => {
    const book = new ParcelLedger(world);
    const p = { waybill: 'W', origin: world.outlets[0]!, dest: world.outlets[1]!, originRoute: 0, destRoute: 0, h: 1, counter: false, attempts: 0 };
    book.due(3, p);
    expect(book.arrivalsOn(3)).toEqual([p]);
    expect(book.arrivalsOn(4)).toEqual([]);
    book.forget(3);
    expect(book.arrivalsOn(3)).toEqual([]);
    expect([book.nextTicket(), book.nextTicket()]).toEqual(['TK00000001', 'TK00000002']);
  });
});

describe('pickFrom', () => {
  it('picks across lists without joining them, every element reachable, nothing from empty lists', () => {
    const r = Rng.derive(1, 'test');
    expect(pickFrom([], r)).toBeUndefined();
    expect(pickFrom([[], []], r)).toBeUndefined();
    const seen = new Set<string>();
    for (let i = 0; i < 400; i++) seen.add(pickFrom([['a', 'b'], [], ['c']], r)!);
    expect([...seen].sort()).toEqual(['a', 'b', 'c']);
  });
});
