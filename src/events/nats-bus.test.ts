import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { partitionOf, routeEvent } from './nats-bus.js';
import type { ActivityEvent } from '../contracts/events.js';

const access = (account: string): ActivityEvent =>
  ({ id: `e-${account}`, ts: '2026-11-11T00:00:00.000Z', type: 'access', account, role: 'courier', action: 'view', waybill: 'SF1', fields: [], result: 'allowed' }) as ActivityEvent;

describe('partitions of the JetStream bus', () => {
  it('hashes with FNV-1a 32 over UTF-8 (the documented function external producers use)', () => {
    // Reference values of FNV-1a 32: "" → 0x811c9dc5, "a" → 0xe40c292c, "foobar" → 0xbf9cf968.
    expect(partitionOf('', 2 ** 32 - 1)).toBe(0x811c9dc5 % (2 ** 32 - 1));
    expect(partitionOf('a', 2 ** 31)).toBe(0xe40c292c % 2 ** 31);
    expect(partitionOf('foobar', 1000)).toBe(0xbf9cf968 % 1000);
    expect(partitionOf('快递员-7', 7)).toBe(partitionOf('快递员-7', 7));
  });

  it('sends an account event to its account partition only, with the event id as Nats-Msg-Id', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 64 }), (account, n) => {
        const routes = routeEvent(access(account), 'warden.events', n);
        expect(routes).toEqual([{ subject: `warden.events.${partitionOf(account, n)}`, msgId: `e-${account}` }]);
        expect(partitionOf(account, n)).toBeLessThan(n);
      }),
    );
  });

  it('sends waybill and scan events to every partition, each with its own message id', () => {
    const waybill = { id: 'w1', ts: '2026-11-11T00:00:00.000Z', type: 'waybill', waybill: 'SF1', origin_site: 'A', dest_site: 'B' } as ActivityEvent;
    const scan = { id: 's1', ts: '2026-11-11T00:00:00.000Z', type: 'scan', account: 'cour-1', role: 'courier', waybill: 'SF1', op: 'delivered', site: 'A' } as ActivityEvent;
    expect(routeEvent(waybill, 'p', 3)).toEqual([0, 1, 2].map((i) => ({ subject: `p.${i}`, msgId: `w1@${i}` })));
    expect(routeEvent(scan, 'p', 2).map((r) => r.subject)).toEqual(['p.0', 'p.1']);
  });
});
