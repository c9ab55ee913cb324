import { describe, expect, it } from 'vitest';
import type { AccessEvent, ActivityEvent, TicketEvent } from '../contracts/events.js';
import { buildCityTable } from './cities.js';
import { resolveConfig } from './config.js';
import { emptyContext } from './context.js';
import { ProfileStore } from './state.js';
import { DAY, HOUR, MINUTE } from './util.js';
import { WorkLinks } from './work-links.js';

const cfg = resolveConfig({});
const actor = (account: string, role: string, site: string): ActivityEvent =>
  ({ id: 'x', ts: '2026-11-02T00:00:00.000Z', type: 'login', account, role, site, result: 'success' }) as ActivityEvent;
const reveal = (account: string, waybill: string, ticket?: string, backfill = false): AccessEvent =>
  ({ id: 'r', ts: '2026-11-02T00:00:00.000Z', type: 'access', account, action: 'reveal', waybill, result: 'allowed', ...(ticket ? { ticket } : {}), ...(backfill ? { backfill } : {}) }) as AccessEvent;
const ticket = (account: string, id: string, status: 'open' | 'closed', waybill?: string, backfill = false): TicketEvent =>
  ({ id: 't', ts: '2026-11-02T00:00:00.000Z', type: 'ticket', account, ticket: id, status, ...(waybill ? { waybill } : {}), ...(backfill ? { backfill } : {}) }) as TicketEvent;

function setup() {
  const store = new ProfileStore(cfg, buildCityTable(), 0);
  const links = new WorkLinks(cfg, store);
  const courier = store.getAccount('c1', actor('c1', 'courier', 'OUT-A'), 0);
  const other = store.getAccount('c2', actor('c2', 'courier', 'OUT-C'), 0);
  const manager = store.getAccount('m1', actor('m1', 'manager', 'HQ-SH'), 0);
  store.siteCity.set('HQ-SH', '上海');
  const why = (a: typeof courier, wb: string, t: number, tk?: string, backfill = false) => {
    const ctx = emptyContext();
    return { e: links.explain(a, wb, reveal(a.id, wb, tk, backfill), t, ctx), ctx };
  };
  return { store, links, courier, other, manager, why };
}

describe('WorkLinks', () => {
  it('an assignment backs its account\'s access until it expires, and only that account\'s', () => {
    const { links, courier, other, why } = setup();
    links.onWaybill('SF100000000001', 'OUT-Z', 'OUT-B', '杭州', 0);
    links.onAssign('SF100000000001', 'c1', 0);
    expect(why(courier, 'SF100000000001', HOUR).e).toBe('assignment');
    expect(why(other, 'SF100000000001', HOUR).e).toBe('none');
    expect(why(courier, 'SF100000000001', cfg.state.assignment_ttl_hours * HOUR + 1).e).toBe('none');
  });

  it('a delivery ends the assignment after_delivery_hours later', () => {
    const { links, courier, why } = setup();
    links.onAssign('SF100000000002', 'c1', 0);
    links.onDelivered('SF100000000002', HOUR);
    const end = HOUR + cfg.state.after_delivery_hours * HOUR;
    expect(why(courier, 'SF100000000002', end).e).toBe('assignment');
    expect(why(courier, 'SF100000000002', end + 1).e).toBe('none');
  });

  it('an open ticket backs its agent\'s access; closing it ends that', () => {
    const { links, courier, why } = setup();
    links.onTicket(ticket('c1', 'T1', 'open', 'SF100000000003'), 0);
    expect(why(courier, 'SF100000000003', HOUR).e).toBe('ticket');
    links.onTicket(ticket('c1', 'T1', 'closed', 'SF100000000003'), 2 * HOUR);
    expect(why(courier, 'SF100000000003', 3 * HOUR).e).toBe('none');
  });

  it('attack review 6: a ticket backs its own waybill only; one with no waybill backs nothing', () => {
    const { links, courier, why } = setup();
    // The attack: a ticket with no waybill, cited on reveals of any parcel.
    links.onTicket(ticket('c1', 'T2', 'open'), 0);
    expect(why(courier, 'SF100000000009', HOUR, 'T2').e).toBe('none');
    expect(why(courier, 'SF100000000010', HOUR, 'T2').e).toBe('none');
    // A ticket for one waybill, cited on another (its link evicted, so only the ticket is left).
    links.onTicket(ticket('c1', 'T3', 'open', 'SF100000000011'), 0);
    links.waybills.delete('SF100000000011');
    expect(why(courier, 'SF100000000012', HOUR, 'T3').e).toBe('none');
    expect(why(courier, 'SF100000000011', HOUR, 'T3').e).toBe('ticket');
    expect(why(courier, 'SF100000000011', HOUR, 'T9').e).toBe('none');
  });

  it('attack review 6: backfilled work backs backfilled accesses only, never a live one', () => {
    const { links, courier, other, why } = setup();
    // The attack: history stamped "now" assigns the probed parcels to the prober.
    for (let i = 0; i < 120; i++) links.onAssign(`SF2000000${String(i).padStart(5, '0')}`, 'c1', 0, true);
    expect(why(courier, 'SF200000000007', HOUR).e).toBe('none');
    expect(why(courier, 'SF200000000007', HOUR).ctx.unknownWaybill).toBe(true); // nor makes a guessed number look known
    expect(why(courier, 'SF200000000007', HOUR, undefined, true).e).toBe('assignment');
    expect(why(other, 'SF200000000007', HOUR, undefined, true).ctx.unknownWaybill).toBe(false);
    // A ticket from history, cited or not.
    links.onTicket(ticket('c1', 'T4', 'open', 'SF100000000013', true), 0);
    expect(why(courier, 'SF100000000013', HOUR, 'T4').e).toBe('none');
    expect(why(courier, 'SF100000000013', HOUR).e).toBe('none');
    expect(why(courier, 'SF100000000013', HOUR, 'T4', true).e).toBe('ticket');
    // Live work still backs both; history neither replaces nor ends it.
    links.onAssign('SF100000000014', 'c1', 0);
    links.onAssign('SF100000000014', 'c1', 0, true);
    links.onDelivered('SF100000000014', 0, true);
    expect(why(courier, 'SF100000000014', 30 * HOUR).e).toBe('assignment');
    expect(why(courier, 'SF100000000014', 30 * HOUR, undefined, true).e).toBe('assignment');
    links.onTicket(ticket('c1', 'T5', 'open', 'SF100000000015'), 0);
    links.onTicket(ticket('c1', 'T5', 'open', 'SF100000000015', true), 0);
    links.onTicket(ticket('c1', 'T5', 'closed', 'SF100000000015', true), HOUR);
    expect(why(courier, 'SF100000000015', 2 * HOUR, 'T5').e).toBe('ticket');
    links.onTicket(ticket('c1', 'T5', 'closed', 'SF100000000015'), 3 * HOUR);
    expect(why(courier, 'SF100000000015', 4 * HOUR, 'T5', true).e).toBe('none');
  });

  describe('attack review 9: tickets change as at the gateway; ended work stays ended', () => {
    const WB = 'SF200000000001';
    it('another agent\'s close (no waybill, or the same waybill) does not end a ticket; its own agent\'s does', () => {
      const { links, courier, other, why } = setup();
      links.onTicket(ticket('c1', 'TK-CS-61', 'open', WB), 0);
      links.onTicket(ticket('c2', 'TK-CS-61', 'closed'), HOUR); // the attack: no waybill, the sender's own agent
      links.onTicket(ticket('c2', 'TK-CS-61', 'closed', WB), HOUR);
      expect(why(courier, WB, 2 * HOUR, 'TK-CS-61').e).toBe('ticket');
      expect(links.tickets.get('TK-CS-61')).toMatchObject({ account: 'c1', open: true });
      expect(why(other, WB, 2 * HOUR, 'TK-CS-61').e).toBe('none');
      links.onTicket(ticket('c1', 'TK-CS-61', 'closed', WB), 3 * HOUR);
      expect(why(courier, WB, 4 * HOUR, 'TK-CS-61').e).toBe('none');
    });

    it('a ticket is never moved to another waybill; an open on its own waybill reassigns it', () => {
      const { links, courier, other, why } = setup();
      links.onTicket(ticket('c1', 'TK-SH-9', 'open', WB), 0);
      links.onTicket(ticket('c2', 'TK-SH-9', 'closed', 'SF100000000001'), HOUR);
      links.onTicket(ticket('c2', 'TK-SH-9', 'open', 'SF100000000001'), HOUR);
      expect(why(courier, WB, 2 * HOUR, 'TK-SH-9').e).toBe('ticket');
      expect(why(other, 'SF100000000001', 2 * HOUR, 'TK-SH-9').e).toBe('none');
      links.onTicket(ticket('c2', 'TK-SH-9', 'open', WB), 3 * HOUR); // a reassignment on its own parcel
      expect(why(other, WB, 4 * HOUR, 'TK-SH-9').e).toBe('ticket');
      expect(why(courier, WB, 4 * HOUR, 'TK-SH-9').e).toBe('none');
    });

    it('a late open does not reopen a closed ticket; a newer one does', () => {
      const { links, courier, why } = setup();
      links.onTicket(ticket('c1', 'TK-1', 'open', WB), 0);
      links.onTicket(ticket('c1', 'TK-1', 'closed', WB), HOUR);
      links.onTicket(ticket('c1', 'TK-1', 'open', WB), HOUR / 2); // late, dated between
      expect(why(courier, WB, 2 * HOUR, 'TK-1').e).toBe('none');
      expect(links.tickets.get('TK-1')).toMatchObject({ open: false, at: HOUR });
      links.onTicket(ticket('c1', 'TK-1', 'open', WB), 3 * HOUR); // re-opened later
      expect(why(courier, WB, 4 * HOUR, 'TK-1').e).toBe('ticket');
    });

    it('a re-sent assignment dated at or before the delivered scan does not revive it; a later one does', () => {
      const { links, courier, why } = setup();
      links.onAssign(WB, 'c1', 0);
      links.onDelivered(WB, HOUR);
      const end = HOUR + cfg.state.after_delivery_hours * HOUR;
      links.onAssign(WB, 'c1', 0); // the same assignment again, under a new id
      links.onAssign(WB, 'c1', HOUR);
      expect(why(courier, WB, end + 1).e).toBe('none');
      links.onAssign(WB, 'c1', 2 * HOUR); // new work after the scan
      expect(why(courier, WB, end + 1).e).toBe('assignment');
    });
  });

  it('keeps several accounts\' links on one waybill and drops expired ones', () => {
    const { links, store, why } = setup();
    const wb = 'SF100000000004';
    for (let i = 0; i < 6; i++) {
      store.getAccount(`x${i}`, actor(`x${i}`, 'courier', 'OUT-A'), 0);
      links.onAssign(wb, `x${i}`, i * DAY);
    }
    const w = links.waybills.get(wb)!;
    expect((w.a0 ? 1 : 0) + (w.more?.length ?? 0)).toBeLessThan(6);
    expect(why(store.accounts.get('x5')!, wb, 5 * DAY + HOUR).e).toBe('assignment');
  });

  it('a recent search backs the access; then the site, then a manager\'s city; records the parcel\'s city and distance', () => {
    const { links, courier, manager, why } = setup();
    courier.searches = new Map([['SF100000000005', 0]]);
    expect(why(courier, 'SF100000000005', MINUTE).e).toBe('search');
    expect(why(courier, 'SF100000000005', cfg.state.search_ttl_minutes * MINUTE + 1).e).toBe('none');
    links.onWaybill('SF100000000006', 'OUT-A', 'OUT-B', '杭州', 0);
    expect(why(courier, 'SF100000000006', 0).e).toBe('site');
    links.onWaybill('SF100000000007', 'OUT-X', 'OUT-Y', '上海', 0);
    const m = why(manager, 'SF100000000007', 0);
    expect(m.e).toBe('city');
    expect(m.ctx.parcelCity).toBe('上海');
    expect(m.ctx.parcelKm).toBe(0);
  });

  it('an unrouted waybill: unknown, unless its number range belongs to the account\'s site', () => {
    const { links, courier, other, why } = setup();
    links.onWaybill('SF100000000100', 'OUT-A', 'OUT-B', '杭州', 0);
    const r = why(courier, 'SF100000000155', 0);
    expect(r.e).toBe('site');
    expect(r.ctx.unknownWaybill).toBe(true);
    expect(why(other, 'SF100000000155', 0).e).toBe('none');
  });

  describe('attack review 11: a counter clerk\'s own-site parcels from the past', () => {
    const clerk = (store: ProfileStore) => store.getAccount('s1', actor('s1', 'outlet_staff', 'OUT-A'), 0);
    const grace = cfg.state.counter_grace_hours * HOUR;

    it('a parcel addressed to her outlet is at the counter until counter_grace_hours after its collected scan, whenever it was picked up elsewhere', () => {
      const { links, store, why } = setup();
      const s1 = clerk(store);
      links.onWaybill('SF200000000001', 'OUT-Z', 'OUT-A', '上海', 0);
      links.onScan('SF200000000001', 'pickup', 'courier', 0, false);
      links.onDelivered('SF200000000001', 0);
      // two days on, waiting at her counter: strong
      expect(why(s1, 'SF200000000001', 2 * DAY).ctx.weakSite).toBe(false);
      links.onScan('SF200000000001', 'delivered', 'outlet_staff', 2 * DAY, false);
      links.onDelivered('SF200000000001', 2 * DAY);
      expect(why(s1, 'SF200000000001', 2 * DAY + grace).ctx.weakSite).toBe(false);
      const late = why(s1, 'SF200000000001', 2 * DAY + grace + 1);
      expect(late.e).toBe('site');
      expect([late.ctx.weakSite, late.ctx.pastSite]).toEqual([true, true]);
    });

    it('a door parcel is weak but not "past" (trickle still counts it)', () => {
      const { links, store, why } = setup();
      links.onWaybill('SF200000000002', 'OUT-Z', 'OUT-A', '上海', 0);
      links.onScan('SF200000000002', 'out_for_delivery', 'courier', HOUR, false);
      const r = why(clerk(store), 'SF200000000002', 2 * HOUR);
      expect([r.ctx.weakSite, r.ctx.pastSite]).toEqual([true, false]);
    });

    it('known by its number range only: weak at or below the range\'s highest routed number (forgotten), strong above it (not routed yet); a courier is not judged', () => {
      const { links, store, courier, why } = setup();
      const s1 = clerk(store);
      links.onWaybill('SF300000000100', 'OUT-A', 'OUT-B', '杭州', 0);
      links.onWaybill('SF300000000150', 'OUT-A', 'OUT-B', '杭州', 0);
      const forgotten = why(s1, 'SF300000000120', 9 * DAY);
      expect(forgotten.e).toBe('site');
      expect([forgotten.ctx.weakSite, forgotten.ctx.pastSite]).toEqual([true, true]);
      const fresh = why(s1, 'SF300000000151', HOUR);
      expect([fresh.e, fresh.ctx.weakSite]).toEqual(['site', false]);
      expect(why(courier, 'SF300000000120', 9 * DAY).ctx.weakSite).toBe(false);
    });
  });

  it('expires untouched waybills and lapsed tickets', () => {
    const { links } = setup();
    links.onWaybill('SF100000000008', 'OUT-A', 'OUT-B', '杭州', 0);
    links.onTicket(ticket('c1', 'T3', 'open', 'SF100000000008'), 0);
    links.sweep(cfg.state.waybill_ttl_days * DAY - 1);
    expect(links.waybills.size).toBe(1);
    expect(links.tickets.size).toBe(1);
    links.sweep(Math.max(cfg.state.waybill_ttl_days, cfg.state.ticket_ttl_days) * DAY + 1);
    expect(links.waybills.size).toBe(0);
    expect(links.tickets.size).toBe(0);
  });
});
