/**
 * checkWorkSite, attack review 9: a site-limited token acts on its own end of a parcel only — a
 * pickup task (assignment, `pickup` scan) needs the parcel's origin among its sites, a delivery
 * task (assignment, `delivered` scan) its destination; a ticket either end.
 */
import { describe, expect, it } from 'vitest';
import type { ActivityEvent } from '../contracts/events.js';
import { checkWorkSite, type ParcelSites, type Producer } from './producer.js';

const BJ: Producer = {
  id: 'token:bj',
  account: 'dispatch-bj',
  actor: 'dispatch-bj',
  modes: ['live'],
  registration: { events: ['assign', 'scan', 'ticket'], sites: ['BJ-1'], accounts_prefix: null, accounts: null, backfill: false },
};
const SH_TO_BJ: ParcelSites = { origin_site: 'SH-1', dest_site: 'BJ-1' };
const BJ_TO_SH: ParcelSites = { origin_site: 'BJ-1', dest_site: 'SH-1' };
const ts = '2026-11-11T02:00:00.000Z';
const assign = (task: 'pickup' | 'delivery') => ({ id: 'a', ts, type: 'assign', account: 'c1', waybill: 'SF300000000001', task }) as ActivityEvent;
const scan = (op: 'pickup' | 'delivered') => ({ id: 's', ts, type: 'scan', waybill: 'SF300000000001', op, site: 'BJ-1' }) as ActivityEvent;
const ticket = { id: 't', ts, type: 'ticket', account: 'cs-bj', ticket: 'TK-1', waybill: 'SF300000000001', status: 'open' } as ActivityEvent;

describe('checkWorkSite: the end of the parcel a task acts on (attack review 9)', () => {
  it('a pickup assignment or scan needs the origin: refused for SH → BJ, allowed for BJ → SH', () => {
    for (const e of [assign('pickup'), scan('pickup')]) {
      const r = checkWorkSite(BJ, e, 'BJ-1', SH_TO_BJ);
      expect(r?.code).toBe('site_not_registered');
      expect(r?.reason).toMatch(/whose origin/);
      expect(r?.reason).not.toContain('SH-1');
      expect(checkWorkSite(BJ, e, 'BJ-1', BJ_TO_SH)).toBeNull();
    }
  });

  it('a delivery assignment or delivered scan needs the destination: refused for BJ → SH, allowed for SH → BJ', () => {
    for (const e of [assign('delivery'), scan('delivered')]) {
      expect(checkWorkSite(BJ, e, 'BJ-1', BJ_TO_SH)?.reason).toMatch(/whose destination/);
      expect(checkWorkSite(BJ, e, 'BJ-1', SH_TO_BJ)).toBeNull();
    }
  });

  it('an unknown waybill is refused with the same reason; a ticket may come from either end; a token for every site is not limited', () => {
    expect(checkWorkSite(BJ, assign('pickup'), 'BJ-1', null)?.reason).toBe(checkWorkSite(BJ, assign('pickup'), 'BJ-1', SH_TO_BJ)?.reason);
    expect(checkWorkSite(BJ, ticket, 'BJ-1', SH_TO_BJ)).toBeNull();
    expect(checkWorkSite(BJ, ticket, 'BJ-1', BJ_TO_SH)).toBeNull();
    expect(checkWorkSite(BJ, ticket, 'BJ-1', { origin_site: 'SH-1', dest_site: 'SH-1' })?.reason).toMatch(/origin or destination/);
    const all: Producer = { ...BJ, registration: { ...BJ.registration, sites: null } };
    expect(checkWorkSite(all, assign('pickup'), null, SH_TO_BJ)).toBeNull();
  });
});
