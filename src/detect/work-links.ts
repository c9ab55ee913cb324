/**
 * Work links: what the engine knows about each waybill (its route, and which accounts were given
 * work on it — assignments and tickets — until when), open tickets, and which origin site each
 * waybill number range belongs to. `explain` says what, if anything, backs an account's access
 * to a waybill. Entries expire by event time (`sweep`) and the waybill map has a hard cap.
 *
 * Invariants:
 * - History does not open access today (as at the gateway, src/events/ingest.ts): a link made by a
 *   backfilled event (`backfill: true`) is marked so and backs only backfilled accesses; a live
 *   access is explained by live links only (attack review 6: 120 backfilled `assign`s stamped
 *   "now" hid a courier's probe). A backfilled scan or ticket close ends backfilled links only.
 * - A ticket backs an access to its own waybill only; a ticket that names none backs nothing
 *   (attack review 6; the gateway refuses it as a basis too) and changes nothing (review 9).
 * - Tickets change as at the gateway (src/access/work-context.ts, `ticket`; attack review 9): ticket
 *   ids are global, so a known ticket changes only by an event naming its waybill; a close only by
 *   its own agent's (another agent's close ends nothing); an `open` naming another agent reassigns
 *   it (the previous agent's link ends); an event dated before the ticket's last change is ignored
 *   (a closed ticket is kept, closed, for `ticket_ttl_days` so a late `open` cannot revive it).
 * - An assignment dated at or before the waybill's last delivered / pickup scan does not outlive
 *   that scan's `after_delivery_hours` (a re-sent assignment does not revive ended work, review 9).
 */
import type { AccessEvent, Provenance, TicketEvent } from '../contracts/events.js';
import type { DetectConfig } from './config.js';
import type { ProfileStore } from './state.js';
import type { AccountProfile, EventContext, Explanation } from './types.js';
import { DAY, HOUR, MINUTE } from './util.js';

export interface WorkLink {
  account: string;
  kind: 'assignment' | 'ticket';
  until: number;
  ticket: string | undefined;
  /** Made by a backfilled (history) event: backs backfilled accesses only. */
  backfill: boolean;
}

/**
 * What the engine knows about a waybill. Its work links (assignment/ticket) are a set, unique by
 * (account, kind, ticket, backfill), order without meaning: the first is stored inline (most waybills get
 * one assignment and nothing else; no array and link object per waybill to allocate, keep and
 * chase), any further ones in `more`.
 */
export interface WaybillCtx {
  origin: string | undefined;
  dest: string | undefined;
  city: string | undefined;
  touched: number;
  /** When the entry was (re)inserted; map order is by `born`, and touched <= born + 1 day. */
  born: number;
  /** A live work link was ever added (even if every link has expired and been dropped since). */
  linked: boolean;
  /** A backfilled work link was ever added: the waybill is known to backfilled accesses only. */
  linkedHistory: boolean;
  /** Inline link: its account (undefined = slot empty), kind, until, ticket and backfill flag. */
  a0: string | undefined;
  k0: WorkLink['kind'];
  u0: number;
  t0: string | undefined;
  b0: boolean;
  more: WorkLink[] | undefined;
  /** Time of the latest live delivered / pickup scan (-Infinity: none). */
  done: number;
  /** A courier delivers it to the door: a live out-for-delivery scan, or a courier's delivered scan, was seen. */
  door: boolean;
  /** Time of the first live pickup scan (taken in; -Infinity: none). */
  picked: number;
  /** Time of the latest live delivered scan (collected at the counter, or delivered; -Infinity: none). */
  collected: number;
}

interface TicketCtx {
  account: string;
  waybill: string;
  until: number;
  backfill: boolean;
  /** False once closed (kept until `until` so a late event cannot reopen it). */
  open: boolean;
  /** Time of the event that last changed it. */
  at: number;
}

/** The last `digits` characters of a waybill number as a number (-1 if they are not all digits). */
function suffix(wb: string, digits: number): number {
  let n = 0;
  for (let i = wb.length - digits; i < wb.length; i++) {
    const c = wb.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

function newWaybill(origin: string | undefined, dest: string | undefined, city: string | undefined, t: number): WaybillCtx {
  return { origin, dest, city, touched: t, born: t, linked: false, linkedHistory: false, a0: undefined, k0: 'assignment', u0: -Infinity, t0: undefined, b0: false, more: undefined, done: -Infinity, door: false, picked: -Infinity, collected: -Infinity };
}

export class WorkLinks {
  readonly waybills = new Map<string, WaybillCtx>();
  readonly tickets = new Map<string, TicketCtx>();
  /**
   * Waybill number range (all but the last `waybill_range_digits` digits) -> its origin site ('' = mixed) and
   * the highest number in it seen routed (its last digits; -1: none numeric).
   */
  readonly rangeOrigin = new Map<string, { origin: string; top: number }>();
  private readonly st: DetectConfig['state'];
  private readonly rangeDigits: number;
  private readonly waybillTtl: number;
  private readonly searchTtl: number;
  private readonly counterRoles: ReadonlySet<string>;
  private readonly counterGrace: number;

  constructor(
    cfg: DetectConfig,
    private readonly store: ProfileStore,
  ) {
    this.st = cfg.state;
    this.rangeDigits = Math.floor(cfg.state.waybill_range_digits);
    this.waybillTtl = cfg.state.waybill_ttl_days * DAY;
    this.searchTtl = cfg.state.search_ttl_minutes * MINUTE;
    this.counterRoles = new Set(cfg.state.counter_roles);
    this.counterGrace = cfg.state.counter_grace_hours * HOUR;
  }

  /** A routing event: the waybill's origin, destination and city; the destination site's city; the range's origin. */
  onWaybill(wb: string, origin: string | undefined, dest: string | undefined, city: string | undefined, t: number): void {
    const store = this.store;
    let w = this.waybills.get(wb);
    if (!w) {
      store.capMap(this.waybills, this.st.max_waybills, 'waybills');
      w = newWaybill(origin, dest, city === undefined ? undefined : store.cityOf(city), t);
      this.waybills.set(wb, w);
    } else {
      if (origin !== undefined) w.origin = origin;
      if (dest !== undefined) w.dest = dest;
      if (city !== undefined) w.city = store.cityOf(city);
      this.touch(wb, w, t);
    }
    if (dest !== undefined && city !== undefined && !store.siteCity.has(dest)) store.siteCity.set(dest, store.cityOf(city));
    const digits = this.rangeDigits;
    if (origin !== undefined && digits > 0 && wb.length > digits) {
      const r = wb.slice(0, wb.length - digits);
      const n = suffix(wb, digits);
      const o = this.rangeOrigin.get(r);
      if (o === undefined) {
        store.capMap(this.rangeOrigin, Math.max(1, Math.floor(this.st.max_waybills / 10)), 'waybill_ranges');
        this.rangeOrigin.set(r, { origin, top: n });
      } else {
        if (o.origin !== origin) o.origin = '';
        if (n > o.top) o.top = n;
      }
    }
  }

  /** An assignment: the account may work the waybill for `assignment_ttl_hours` (less once delivered). */
  onAssign(wb: string, account: string, t: number, backfill = false): void {
    let until = t + this.st.assignment_ttl_hours * HOUR;
    // Dated at or before the parcel's delivered / pickup scan (re-sent, or late): that scan ended it.
    const done = this.waybills.get(wb)?.done ?? -Infinity;
    if (t <= done) until = Math.min(until, done + this.st.after_delivery_hours * HOUR);
    this.link(wb, account, 'assignment', until, undefined, t, backfill);
  }

  /**
   * A ticket opened or reassigned (backs its agent's access to its own waybill) or closed (ends
   * that), under the gateway's rules (see the invariants): a line naming no waybill, another
   * waybill than the ticket's, closing another agent's ticket, or older than the ticket's last
   * change is ignored.
   */
  onTicket(ev: TicketEvent & Provenance, t: number): void {
    const wb = ev.waybill;
    if (!wb) return;
    const backfill = ev.backfill === true;
    const known = this.tickets.get(ev.ticket);
    // History never replaces what a live ticket says; a live event replaces history outright (the gateway never applied it).
    const replaces = known === undefined || !backfill || known.backfill;
    const sameKind = known !== undefined && known.backfill === backfill;
    if (known !== undefined && !(known.backfill && !backfill)) {
      if (known.waybill !== wb) return;
      if (known.account !== ev.account && (ev.status === 'closed' || !sameKind)) return;
      if (sameKind && t < known.at) return;
    }
    const until = t + this.st.ticket_ttl_days * DAY;
    if (ev.status === 'open') {
      // A reassignment: the previous agent's link ends now.
      if (sameKind && known!.account !== ev.account) this.endTicket(wb, known!.account, ev.ticket, t, backfill);
      if (replaces) this.tickets.set(ev.ticket, { account: ev.account, waybill: wb, until, backfill, open: true, at: t });
      this.link(wb, ev.account, 'ticket', until, ev.ticket, t, backfill);
    } else {
      if (replaces) this.tickets.set(ev.ticket, { account: ev.account, waybill: wb, until, backfill, open: false, at: t });
      this.endTicket(wb, ev.account, ev.ticket, t, backfill);
    }
  }

  /** Ends `account`'s links of `ticket` on `wb` at `t` (a backfilled event: backfilled links only). */
  private endTicket(wb: string, account: string, ticket: string, t: number, backfill: boolean): void {
    const w = this.waybills.get(wb);
    if (w === undefined) return;
    if (w.a0 === account && w.k0 === 'ticket' && w.t0 === ticket && (!backfill || w.b0) && w.u0 > t) w.u0 = t;
    if (w.more !== undefined) for (const l of w.more) if (l.account === account && l.kind === 'ticket' && l.ticket === ticket && (!backfill || l.backfill) && l.until > t) l.until = t;
  }

  /**
   * A live scan that says where the parcel is: out for door delivery (or delivered by a courier),
   * taken in (pickup), or collected (delivered). Scans only, never assignments: scans are broadcast to every partition,
   * assignments go to the assignee's, and `unexplained` must judge alike in each (docs/detect.md,
   * Partitioning).
   */
  onScan(wb: string, op: string, role: string | undefined, t: number, backfill: boolean): void {
    if (backfill) return;
    const w = this.waybills.get(wb);
    if (w === undefined) return;
    if (op === 'delivered' && t > w.collected) w.collected = t;
    if (op === 'out_for_delivery' || (op === 'delivered' && role === 'courier')) w.door = true;
    else if (op === 'pickup' && (w.picked === -Infinity || t < w.picked)) w.picked = t;
  }

  /** Delivered or picked up: assignments on it end `after_delivery_hours` later at the latest (a backfilled scan: backfilled ones only). */
  onDelivered(wb: string, t: number, backfill = false): void {
    const w = this.waybills.get(wb);
    if (w === undefined) return;
    const cap = t + this.st.after_delivery_hours * HOUR;
    if (!backfill && t > w.done) w.done = t;
    if (w.a0 !== undefined && w.k0 === 'assignment' && w.u0 > cap && (!backfill || w.b0)) w.u0 = cap;
    if (w.more !== undefined) for (const l of w.more) if (l.kind === 'assignment' && l.until > cap && (!backfill || l.backfill)) l.until = cap;
  }

  link(wb: string, account: string, kind: WorkLink['kind'], until: number, ticket: string | undefined, t: number, backfill = false): void {
    const w = this.entry(wb, t);
    if (backfill) w.linkedHistory = true;
    else w.linked = true;
    if (w.a0 === account && w.k0 === kind && w.t0 === ticket && w.b0 === backfill) {
      if (until > w.u0) w.u0 = until;
      return;
    }
    let more = w.more;
    if (more !== undefined) {
      for (const l of more) {
        if (l.account === account && l.kind === kind && l.ticket === ticket && l.backfill === backfill) {
          if (until > l.until) l.until = until;
          return;
        }
      }
    }
    // Drop links that have expired so a long-lived waybill does not accumulate them.
    if ((w.a0 !== undefined ? 1 : 0) + (more === undefined ? 0 : more.length) >= 4) {
      if (w.a0 !== undefined && w.u0 < t) ((w.a0 = undefined), (w.t0 = undefined));
      if (more !== undefined) for (let i = more.length - 1; i >= 0; i--) if (more[i]!.until < t) more.splice(i, 1);
    }
    if (w.a0 === undefined) {
      w.a0 = account;
      w.k0 = kind;
      w.u0 = until;
      w.t0 = ticket;
      w.b0 = backfill;
    } else (more ??= w.more = []).push({ account, kind, until, ticket, backfill });
  }

  /**
   * What backs account `a`'s access to waybill `wb` at `t`: its assignment, a ticket for that
   * waybill, a recent search, its site or (a manager) its city; else 'none'. A live access counts
   * live links only; a backfilled one, any. Records on `ctx` the parcel's city and distance, and
   * whether the waybill is unknown.
   */
  explain(a: AccountProfile, wb: string, ev: AccessEvent & Provenance, t: number, ctx: EventContext): Explanation {
    const history = ev.backfill === true;
    const w = this.waybills.get(wb);
    if (w !== undefined) {
      let best: Explanation | undefined;
      if (w.a0 === a.id && w.u0 >= t && (history || !w.b0)) {
        if (w.k0 === 'assignment') return 'assignment';
        best = 'ticket';
      }
      if (w.more !== undefined) {
        for (const l of w.more) {
          if (l.account === a.id && l.until >= t && (history || !l.backfill)) {
            if (l.kind === 'assignment') return 'assignment';
            best = 'ticket';
          }
        }
      }
      if (best) return best;
    }
    if (ev.ticket !== undefined) {
      const tk = this.tickets.get(ev.ticket);
      if (tk && tk.open && tk.account === a.id && tk.until >= t && tk.waybill === wb && (history || !tk.backfill)) return 'ticket';
    }
    const s = a.searches?.get(wb);
    if (s !== undefined && t - s <= this.searchTtl) return 'search';
    return w === undefined || (w.origin === undefined && w.dest === undefined) ? this.unrouted(a, wb, w, history, ctx) : this.routed(a, w, t, ctx);
  }

  /** Not routed yet (a parcel taken in at a counter before its order is entered): the number's range tells its origin. */
  private unrouted(a: AccountProfile, wb: string, w: WaybillCtx | undefined, history: boolean, ctx: EventContext): Explanation {
    if (!w || !(w.linked || (history && w.linkedHistory))) ctx.unknownWaybill = true;
    const digits = this.rangeDigits;
    const range = digits > 0 && wb.length > digits ? this.rangeOrigin.get(wb.slice(0, wb.length - digits)) : undefined;
    const o = range?.origin;
    if (o) {
      if (o === a.site) {
        // Numbers are issued in order: one above every routed number of its range is a new parcel taken in
        // before its order is entered (at the counter). One at or below them is a parcel the engine has
        // forgotten (`waybill_ttl_days`): nothing says it is at the counter, so a counter role's backing is
        // weak (attack review 11, F1b: "taken in long ago" must not turn strong once the parcel is forgotten).
        if (this.counterRoles.has(a.role) && !(suffix(wb, digits) > range!.top)) ctx.weakSite = ctx.pastSite = true;
        return 'site';
      }
      if (a.role === 'manager') {
        const home = this.store.homeCity(a);
        if (home !== undefined && this.store.siteCity.get(o) === home) return 'city';
      }
    }
    return 'none';
  }

  private routed(a: AccountProfile, w: WaybillCtx, t: number, ctx: EventContext): Explanation {
    const store = this.store;
    ctx.parcelCity = w.city;
    if (a.site !== undefined && (w.origin === a.site || w.dest === a.site)) {
      if (this.counterRoles.has(a.role)) this.judgeCounter(a.site, w, t, ctx);
      return 'site';
    }
    const home = store.homeCity(a);
    if (w.city !== undefined && home !== undefined) ctx.parcelKm = store.distanceKm(home, w.city);
    // Managers oversee their city: parcels going to it or sent from it.
    if (a.role === 'manager' && home !== undefined && (w.city === home || (w.origin !== undefined && store.siteCity.get(w.origin) === home))) {
      return 'city';
    }
    return 'none';
  }

  /**
   * Whether an own-site parcel is one a counter clerk handles (attack review 10, F3; review 11, F1a):
   * at its destination outlet, unless a courier delivers it to the door, until `counter_grace_hours`
   * after it was collected (delivered scan); at its origin outlet, until `counter_grace_hours` after it
   * was taken in. Only what was seen counts against it (no scans at all: at the counter). Not at the
   * counter sets `weakSite` on `ctx`, and `pastSite` unless it is a parcel a courier takes to her
   * outlet's doors (it was at her counter once, long ago).
   */
  private judgeCounter(site: string, w: WaybillCtx, t: number, ctx: EventContext): void {
    const grace = this.counterGrace;
    const door = w.dest === site && w.door;
    if (w.dest === site && !door && (w.collected === -Infinity || t - w.collected <= grace)) return;
    if (w.origin === site && (w.picked === -Infinity || t - w.picked <= grace)) return;
    ctx.weakSite = true;
    if (!door) ctx.pastSite = true;
  }

  /** Expires waybills untouched for `waybill_ttl_days` and lapsed tickets (open or closed). */
  sweep(t: number): void {
    const ttl = this.waybillTtl;
    // Entries are in `born` order and touched <= born + 1 day: stop at the first that may be live.
    for (const [k, w] of this.waybills) {
      if (t - w.touched > ttl) this.waybills.delete(k);
      else if (t - w.born <= ttl + DAY) break;
    }
    this.tickets.forEach((tk, k) => {
      if (tk.until < t) this.tickets.delete(k);
    });
  }

  private entry(wb: string, t: number): WaybillCtx {
    let w = this.waybills.get(wb);
    if (!w) {
      this.store.capMap(this.waybills, this.st.max_waybills, 'waybills');
      w = newWaybill(undefined, undefined, undefined, t);
      this.waybills.set(wb, w);
    } else this.touch(wb, w, t);
    return w;
  }

  /** Keeps the map roughly ordered by last touch so expiry can stop at the first live entry. */
  private touch(wb: string, w: WaybillCtx, t: number): void {
    if (t <= w.touched) return;
    w.touched = t;
    if (t - w.born > DAY) {
      this.waybills.delete(wb);
      w.born = t;
      this.waybills.set(wb, w);
    }
  }
}
