/**
 * The engine's per-key state stores: account, device, network, site and peer-group profiles, and
 * which city each site is in. Every map has a hard cap (the oldest-inserted 1 % goes, counted in
 * `evicted`) and expires by event time in `sweep`. `generation` moves whenever a profile or a
 * Seen entry may have been deleted: it invalidates the accounts' lookup memos.
 */
import type { ActivityEvent } from '../contracts/events.js';
import type { CityTable } from './cities.js';
import type { DetectConfig } from './config.js';
import type { AccountProfile, DeviceProfile, EngineStateView, NetworkProfile, PeerGroup, Seen, SiteProfile } from './types.js';
import { cityKey, DAY, haversineKm, MINUTE, networkOf } from './util.js';

/** Drops an account's remembered searches older than `ttl` (insertion order is time order). */
export function pruneSearches(a: AccountProfile, t: number, ttl: number): void {
  const s = a.searches;
  if (!s) return;
  for (const [wb, at] of s) {
    if (t - at <= ttl) break; // delete+set on refresh keeps the map in time order
    s.delete(wb);
  }
  if (s.size === 0) a.searches = undefined;
}

function pruneSeen(map: Map<string, Seen>, before: number): void {
  map.forEach((s, k) => {
    if (s.last < before) map.delete(k);
  });
}

/** A bounded memo of a string transform (cleared when full). */
class KeyMemo {
  private readonly map = new Map<string, string>();
  constructor(
    private readonly max: number,
    private readonly fn: (s: string) => string,
  ) {}
  get(s: string): string {
    let k = this.map.get(s);
    if (k === undefined) {
      if (this.map.size >= this.max) this.map.clear();
      k = this.fn(s);
      this.map.set(s, k);
    }
    return k;
  }
}

export class ProfileStore implements EngineStateView {
  readonly accounts = new Map<string, AccountProfile>();
  readonly devices = new Map<string, DeviceProfile>();
  readonly networks = new Map<string, NetworkProfile>();
  readonly peers = new Map<string, PeerGroup>();
  readonly sites = new Map<string, SiteProfile>();
  readonly cityAccounts = new Map<string, number>();
  readonly siteCity = new Map<string, string>();
  /** Entries evicted at a hard cap, by map name. */
  readonly evicted: Record<string, number> = {};
  /** Moves whenever a profile or Seen entry may have been deleted. */
  generation = 0;
  private readonly netMemo = new KeyMemo(100_000, networkOf);
  private readonly cityMemo = new KeyMemo(10_000, cityKey);
  private readonly st: DetectConfig['state'];
  private readonly profileTtl: number;
  private readonly baselineWindow: number;
  private readonly searchTtl: number;

  constructor(
    cfg: DetectConfig,
    private readonly cities: CityTable,
    private readonly slotCount: number,
  ) {
    this.st = cfg.state;
    this.profileTtl = cfg.state.profile_ttl_days * DAY;
    this.baselineWindow = cfg.baseline.window_days * DAY;
    this.searchTtl = cfg.state.search_ttl_minutes * MINUTE;
  }

  /** The /24 (or /48) network key of an IP, memoised. */
  netKey(ip: string): string {
    return this.netMemo.get(ip);
  }

  /** The normalised key of a city name, memoised. */
  cityOf(city: string): string {
    return this.cityMemo.get(city);
  }

  readonly distanceKm = (a: string | undefined, b: string | undefined): number => {
    if (a === undefined || b === undefined) return NaN;
    if (a === b) return 0;
    const pa = this.cities.get(a);
    const pb = this.cities.get(b);
    return pa && pb ? haversineKm(pa, pb) : NaN;
  };

  /** The account's site's city, else the city it was seen in most. */
  readonly homeCity = (a: AccountProfile): string | undefined => {
    if (a.site !== undefined) {
      const c = this.siteCity.get(a.site);
      if (c !== undefined) return c;
    }
    let best: string | undefined;
    let bestN = 0;
    for (const [c, s] of a.cities) if (s.n > bestN) ((best = c), (bestN = s.n));
    return best;
  };

  /** Makes room in `map` when it is at `max`: the oldest inserted 1 % goes, counted, never silent. */
  capMap<K, V>(map: Map<K, V>, max: number, name: string): void {
    if (map.size < max) return;
    this.generation++;
    const it = map.keys();
    const drop = Math.max(1, Math.floor(max / 100));
    for (let i = 0; i < drop; i++) {
      const k = it.next();
      if (k.done) break;
      map.delete(k.value);
    }
    this.evicted[name] = (this.evicted[name] ?? 0) + drop;
  }

  getAccount(id: string, ev: ActivityEvent, t: number): AccountProfile {
    let a = this.accounts.get(id);
    if (!a) {
      this.capMap(this.accounts, this.st.max_accounts, 'accounts');
      a = newAccount(id, ev.role ?? 'unknown', ev.site, t, this.generation, this.slotCount);
      this.accounts.set(id, a);
    } else if (ev.type !== 'assign' && ev.type !== 'ticket') {
      // Work given to an account (assign/ticket) describes the assignee, not its actor fields.
      if (ev.role !== undefined && ev.role !== a.role) ((a.role = ev.role), (a.group = undefined));
      if (ev.site !== undefined && ev.site !== a.site) ((a.site = ev.site), (a.group = undefined));
    }
    return a;
  }

  /** The account's peer group (same role, same site), joined. */
  getPeers(a: AccountProfile, t: number): PeerGroup {
    const key = `${a.role}|${a.site ?? ''}`;
    let g = this.peers.get(key);
    if (!g) {
      g = {
        key,
        members: new Set(),
        networks: new Map(),
        cities: new Map(),
        hours: new Float64Array(24),
        hoursTotal: 0,
        lastSeen: t,
        slots: new Array<unknown>(this.slotCount),
      };
      this.peers.set(key, g);
    }
    g.members.add(a.id);
    a.group = g;
    return g;
  }

  getDevice(id: string, t: number): DeviceProfile {
    let d = this.devices.get(id);
    if (!d) {
      this.capMap(this.devices, this.st.max_devices, 'devices');
      d = { id, firstSeen: t, lastSeen: t, accounts: new Set(), appHash: undefined, slots: new Array<unknown>(this.slotCount) };
      this.devices.set(id, d);
    } else if (t > d.lastSeen) d.lastSeen = t;
    return d;
  }

  getNetwork(key: string, t: number): NetworkProfile {
    let n = this.networks.get(key);
    if (!n) {
      this.capMap(this.networks, this.st.max_networks, 'networks');
      n = { key, firstSeen: t, lastSeen: t, accounts: new Set(), slots: new Array<unknown>(this.slotCount) };
      this.networks.set(key, n);
    } else if (t > n.lastSeen) n.lastSeen = t;
    return n;
  }

  getSite(site: string, t: number): SiteProfile {
    let s = this.sites.get(site);
    if (!s) {
      s = { site, hours: new Float64Array(24), hoursTotal: 0, lastSeen: t };
      this.sites.set(site, s);
    } else if (t > s.lastSeen) s.lastSeen = t;
    return s;
  }

  /**
   * Expires profiles unseen for `profile_ttl_days` and old searches; a `deep` sweep also drops
   * Seen entries older than the baseline window and departed peer-group members.
   */
  sweep(t: number, deep: boolean): void {
    this.generation++;
    const ttl = this.profileTtl;
    // Maps are walked by value (each profile knows its key): no [key, value] pair per entry.
    for (const a of this.accounts.values()) {
      if (t - a.lastSeen > ttl) {
        this.accounts.delete(a.id);
        continue;
      }
      if (a.searches) pruneSearches(a, t, this.searchTtl);
      if (deep) {
        const before = t - this.baselineWindow;
        pruneSeen(a.devices, before);
        pruneSeen(a.networks, before);
        pruneSeen(a.cities, before);
      }
    }
    for (const d of this.devices.values()) if (t - d.lastSeen > ttl) this.devices.delete(d.id);
    for (const n of this.networks.values()) if (t - n.lastSeen > ttl) this.networks.delete(n.key);
    for (const s of this.sites.values()) if (t - s.lastSeen > ttl) this.sites.delete(s.site);
    for (const g of this.peers.values()) {
      if (t - g.lastSeen > ttl) {
        this.peers.delete(g.key);
        for (const m of g.members) {
          const a = this.accounts.get(m);
          if (a && a.group === g) a.group = undefined;
        }
      } else if (deep) for (const m of g.members) if (!this.accounts.has(m)) g.members.delete(m);
    }
  }
}

function newAccount(id: string, role: string, site: string | undefined, t: number, generation: number, slotCount: number): AccountProfile {
  return {
    id,
    role,
    site,
    firstSeen: t,
    lastSeen: t,
    events: 0,
    devices: new Map(),
    networks: new Map(),
    cities: new Map(),
    hourDays: new Uint16Array(24),
    lastSlot: -1,
    activeDays: 0,
    lastDay: -1,
    logins: 0,
    mfaLogins: 0,
    lastCity: undefined,
    lastCityAt: 0,
    group: undefined,
    memoWaybill: undefined,
    memoAt: 0,
    searches: undefined,
    memoGen: generation,
    memoDevId: undefined,
    memoDevice: undefined,
    memoDeviceSeen: undefined,
    memoIp: undefined,
    memoNetwork: undefined,
    memoNetworkSeen: undefined,
    memoSiteId: undefined,
    memoSite: undefined,
    memoCity: undefined,
    memoCityKey: undefined,
    memoCitySeen: undefined,
    slots: new Array<unknown>(slotCount),
  };
}
