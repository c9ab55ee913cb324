/**
 * Context building: for each event, the one shared EventContext detectors read (the actor's
 * profiles and Seen entries, what is new for it, what backs an access), and afterwards the
 * learning that folds the event into the account's and its peers' baselines. Learning runs after
 * the detectors, so "first seen" means before this event.
 */
import type { AccessEvent, ActivityEvent, LoginEvent, Provenance } from '../contracts/events.js';
import type { DetectConfig } from './config.js';
import type { ExceptionSet } from './exceptions.js';
import { pruneSearches, type ProfileStore } from './state.js';
import type { AccountProfile, EventContext, Seen } from './types.js';
import type { WorkLinks } from './work-links.js';
import { HOUR, MINUTE, type LocalClock } from './util.js';

const isLogin = (e: ActivityEvent): e is LoginEvent => e.type === 'login';

export function emptyContext(): EventContext {
  return {
    event: undefined as unknown as ActivityEvent,
    t: 0,
    day: 0,
    hour: 0,
    account: undefined,
    device: undefined,
    network: undefined,
    peers: undefined,
    site: undefined,
    mature: false,
    deviceSeen: undefined,
    networkSeen: undefined,
    citySeen: undefined,
    novelDevice: false,
    novelNetwork: false,
    novelCity: false,
    cityKey: undefined,
    explanation: undefined,
    records: 0,
    denied: false,
    parcelKm: NaN,
    parcelCity: undefined,
    unknownWaybill: false,
    weakSite: false,
    pastSite: false,
  };
}

/** Updates a Seen entry; returns true when the value was new. */
export function touchSeen(map: Map<string, Seen>, key: string, seen: Seen | undefined, t: number): boolean {
  if (seen) {
    seen.n++;
    if (t > seen.last) seen.last = t;
    return false;
  }
  const again = map.get(key); // a feedback call may have added it in between
  if (again) {
    again.n++;
    return false;
  }
  map.set(key, { first: t, last: t, n: 1 });
  return true;
}

export class ContextBuilder {
  /** The context of the event being handled (one object, reset per event). */
  readonly ctx: EventContext = emptyContext();
  private readonly minEvents: number;
  private readonly minHistory: number;
  private readonly searchTtl: number;
  private readonly searchMax: number;

  constructor(
    cfg: DetectConfig,
    private readonly clock: LocalClock,
    private readonly store: ProfileStore,
    private readonly links: WorkLinks,
    private readonly exceptions: ExceptionSet,
  ) {
    this.minEvents = cfg.baseline.min_events;
    this.minHistory = cfg.baseline.min_history_hours * HOUR;
    this.searchTtl = cfg.state.search_ttl_minutes * MINUTE;
    this.searchMax = cfg.state.search_max_results;
  }

  /** Fills the context for `ev` at `t` (and, for an access, what backs it). */
  prepare(ev: ActivityEvent, t: number): EventContext {
    const ctx = this.ctx;
    ctx.event = ev;
    ctx.t = t;
    ctx.day = this.clock.day(t);
    ctx.hour = this.clock.hour(t);
    ctx.explanation = undefined;
    ctx.records = 0;
    ctx.denied = false;
    ctx.parcelKm = NaN;
    ctx.parcelCity = undefined;
    ctx.unknownWaybill = false;
    ctx.weakSite = false;
    ctx.pastSite = false;
    ctx.deviceSeen = undefined;
    ctx.networkSeen = undefined;
    ctx.citySeen = undefined;
    ctx.novelDevice = false;
    ctx.novelNetwork = false;
    ctx.novelCity = false;
    ctx.cityKey = undefined;
    ctx.peers = undefined;
    ctx.site = undefined;
    ctx.mature = false;
    ctx.device = undefined;
    ctx.network = undefined;
    ctx.account = undefined;
    const type = ev.type;
    // Routing and scans describe parcels, not an account's behaviour: no actor profile.
    if (type === 'waybill' || type === 'scan') return ctx;
    const a = this.store.getAccount(ev.account, ev, t);
    ctx.account = a;
    ctx.peers = a.group ?? this.store.getPeers(a, t);
    // assign/ticket name the account work was given to; their device/ip/time describe the sender.
    if (type === 'assign' || type === 'ticket') return ctx;
    this.actor(a, ev, t);
    if (type === 'access') this.classify(a, ev, t);
    return ctx;
  }

  /**
   * The actor's device, network, site and city profiles and Seen entries. The lookups are skipped
   * while the account's memo (last device/IP/site/city and what they resolved to) is current:
   * same profiles, same Seen entries, same lastSeen updates.
   */
  private actor(a: AccountProfile, ev: Exclude<ActivityEvent, { type: 'waybill' | 'scan' | 'assign' | 'ticket' }>, t: number): void {
    const ctx = this.ctx;
    const store = this.store;
    if (a.memoGen !== store.generation) {
      a.memoGen = store.generation;
      a.memoDevId = a.memoIp = a.memoSiteId = a.memoCity = undefined;
    }
    const devId = ev.device;
    if (devId !== undefined) {
      if (devId === a.memoDevId) {
        const d = a.memoDevice!;
        if (t > d.lastSeen) d.lastSeen = t;
        ctx.device = d;
      } else {
        ctx.device = store.getDevice(devId, t);
        a.memoDevId = undefined;
      }
    }
    const ip = ev.ip;
    if (ip !== undefined) {
      if (ip === a.memoIp) {
        const n = a.memoNetwork!;
        if (t > n.lastSeen) n.lastSeen = t;
        ctx.network = n;
      } else {
        ctx.network = store.getNetwork(store.netKey(ip), t);
        a.memoIp = undefined;
      }
    }
    const siteId = ev.site;
    if (siteId !== undefined) {
      if (siteId === a.memoSiteId) {
        const s = a.memoSite!;
        if (t > s.lastSeen) s.lastSeen = t;
        ctx.site = s;
      } else {
        ctx.site = a.memoSite = store.getSite(siteId, t);
        a.memoSiteId = siteId;
      }
    }
    ctx.mature = a.events >= this.minEvents && t - a.firstSeen >= this.minHistory;
    if (devId !== undefined) {
      // Only a Seen entry that exists is remembered: a new device becomes known when learned.
      const seen = devId === a.memoDevId ? a.memoDeviceSeen : a.devices.get(devId);
      ctx.deviceSeen = seen;
      if (seen === undefined) ctx.novelDevice = !this.exceptions.has('device', devId, a.id, t);
      else if (devId !== a.memoDevId) {
        a.memoDevId = devId;
        a.memoDevice = ctx.device;
        a.memoDeviceSeen = seen;
      }
    }
    if (ctx.network !== undefined) {
      const seen = ip === a.memoIp ? a.memoNetworkSeen : a.networks.get(ctx.network.key);
      ctx.networkSeen = seen;
      if (seen === undefined) ctx.novelNetwork = !this.exceptions.has('network', ctx.network.key, a.id, t);
      else if (ip !== a.memoIp) {
        a.memoIp = ip;
        a.memoNetwork = ctx.network;
        a.memoNetworkSeen = seen;
      }
    }
    const city = ev.city;
    if (city !== undefined) {
      if (city === a.memoCity) {
        ctx.cityKey = a.memoCityKey;
        ctx.citySeen = a.memoCitySeen;
      } else {
        const ck = store.cityOf(city);
        const seen = a.cities.get(ck);
        ctx.cityKey = ck;
        ctx.citySeen = seen;
        ctx.novelCity = seen === undefined;
        if (seen !== undefined) {
          a.memoCity = city;
          a.memoCityKey = ck;
          a.memoCitySeen = seen;
        }
      }
    }
  }

  /** An access: records shown, denied or not, searches remembered, and what backs the waybill's access. */
  private classify(a: AccountProfile, ev: AccessEvent & Provenance, t: number): void {
    const ctx = this.ctx;
    ctx.denied = ev.result === 'denied';
    const action = ev.action;
    if (action === 'export') {
      if (!ctx.denied) ctx.records = ev.waybills?.length ?? 0;
      return;
    }
    if (action === 'search') {
      const list = ev.waybills;
      if (list && list.length && !ctx.denied) {
        const s = (a.searches ??= new Map());
        const n = Math.min(list.length, this.searchMax);
        for (let i = 0; i < n; i++) {
          const wb = list[i]!;
          s.delete(wb);
          s.set(wb, t);
        }
        if (s.size > 4 * this.searchMax) pruneSearches(a, t, this.searchTtl);
      }
      return;
    }
    const wb = ev.waybill;
    if (wb === undefined) return;
    if (action === 'reveal' && !ctx.denied && (ev.fields === undefined || ev.fields.length > 0)) ctx.records = 1;
    // A view is usually followed by a reveal of the same parcel: reuse an assignment verdict for
    // a few minutes rather than look the waybill up again. Only a live access's verdict is kept:
    // a backfilled one may rest on a backfilled link, which backs no live access (work-links.ts).
    if (a.memoWaybill === wb && t - a.memoAt <= 5 * MINUTE && t >= a.memoAt) {
      ctx.explanation = 'assignment';
      return;
    }
    const e = this.links.explain(a, wb, ev, t, ctx);
    ctx.explanation = e;
    if (e === 'assignment' && ev.backfill !== true) {
      a.memoWaybill = wb;
      a.memoAt = t;
    }
  }

  /** Folds the event just handled into the account's, its peers' and its site's baselines. */
  learn(ev: ActivityEvent, t: number): void {
    const ctx = this.ctx;
    const a = ctx.account;
    if (!a || ev.type === 'scan' || ev.type === 'assign' || ev.type === 'ticket') return;
    // A failed login is someone *trying* the account: it must not teach the owner's baseline.
    if (isLogin(ev) && ev.result !== 'success') return;
    a.events++;
    if (t > a.lastSeen) a.lastSeen = t;
    const group = ctx.peers!;
    if (t > group.lastSeen) group.lastSeen = t;
    if (ev.device !== undefined) {
      touchSeen(a.devices, ev.device, ctx.deviceSeen, t);
      const d = ctx.device!;
      if (d.accounts.size < 64) d.accounts.add(a.id);
    }
    if (ctx.network !== undefined) {
      const key = ctx.network.key;
      if (touchSeen(a.networks, key, ctx.networkSeen, t)) group.networks.set(key, (group.networks.get(key) ?? 0) + 1);
      if (ctx.network.accounts.size < 256) ctx.network.accounts.add(a.id);
    }
    if (ctx.cityKey !== undefined) {
      const ck = ctx.cityKey;
      if (touchSeen(a.cities, ck, ctx.citySeen, t)) {
        group.cities.set(ck, (group.cities.get(ck) ?? 0) + 1);
        this.store.cityAccounts.set(ck, (this.store.cityAccounts.get(ck) ?? 0) + 1);
      }
      a.lastCity = ck;
      a.lastCityAt = t;
    }
    this.learnHours(a, ev);
  }

  private learnHours(a: AccountProfile, ev: ActivityEvent): void {
    const ctx = this.ctx;
    const group = ctx.peers!;
    const slot = ctx.day * 24 + ctx.hour;
    if (slot > a.lastSlot) {
      a.lastSlot = slot;
      a.hourDays[ctx.hour]!++;
      group.hours[ctx.hour]!++;
      group.hoursTotal++;
      if (ctx.site) {
        ctx.site.hours[ctx.hour]!++;
        ctx.site.hoursTotal++;
      }
      if (ctx.day > a.lastDay) {
        a.lastDay = ctx.day;
        a.activeDays++;
      }
    }
    if (isLogin(ev) && ev.result === 'success') {
      a.logins++;
      if (ev.mfa === true) a.mfaLogins++;
    }
  }
}
