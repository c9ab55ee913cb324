/**
 * Slows password guessing per account and per network without letting an attacker lock out a
 * whole site: failures lock the (account, network) pair first; account-wide and network-wide
 * locks apply only to networks the account has never logged in from successfully, so the
 * owner at their usual outlet keeps working while someone elsewhere hammers their account.
 *
 * Two stores, one rule: in memory, per process, bounded (the embedded store, one process; see
 * docs/decisions/0002-quota-ledger.md), or shared in PostgreSQL (tables login_failures and
 * login_known_good, migration 0010), so every `warden serve` process on one database counts the
 * same failures (docs/decisions/0011-shared-ledger.md).
 */
import { isIPv6 } from 'node:net';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../store/schema.js';

export interface ThrottleSettings {
  pairThreshold: number;
  accountThreshold: number;
  networkThreshold: number;
  baseLockMs: number;
  maxLockMs: number;
  /** Failures older than this are forgotten. */
  windowMs: number;
}

export const DEFAULT_THROTTLE: ThrottleSettings = {
  pairThreshold: 5,
  accountThreshold: 20,
  networkThreshold: 50,
  baseLockMs: 30_000,
  maxLockMs: 15 * 60_000,
  windowMs: 15 * 60_000,
};

interface Failures {
  count: number;
  last: number;
}

export type ThrottleVerdict = { ok: true } | { ok: false; retryAfterSeconds: number; scope: 'account_network' | 'account' | 'network' };

/** What login asks (in memory answers at once, the shared store after a round trip). */
export interface LoginThrottle {
  check(account: string, ip: string | null, now: number): ThrottleVerdict | Promise<ThrottleVerdict>;
  failure(account: string, ip: string | null, now: number): void | Promise<void>;
  success(account: string, ip: string | null, now: number): void | Promise<void>;
}

/** The in-memory throttle answers synchronously. */
export interface MemoryLoginThrottle extends LoginThrottle {
  check(account: string, ip: string | null, now: number): ThrottleVerdict;
  failure(account: string, ip: string | null, now: number): void;
  success(account: string, ip: string | null, now: number): void;
}

/** IPv4 /24 or IPv6 /48: the unit a courier's phone or an outlet's NAT moves within. */
export function networkOf(ip: string | null | undefined): string {
  if (!ip) return 'unknown';
  const v4 = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  if (!isIPv6(v4)) {
    const parts = v4.split('.');
    return parts.length === 4 ? `${parts[0]}.${parts[1]}.${parts[2]}.0/24` : v4;
  }
  const groups = expandIPv6(v4);
  return `${groups.slice(0, 3).join(':')}::/48`;
}

function expandIPv6(ip: string): string[] {
  const [head = '', tail = ''] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = ip.includes('::') ? Array(8 - h.length - t.length).fill('0') : [];
  return [...h, ...fill, ...t].map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''));
}

/** Milliseconds a lock has left after `count` failures, the last at `last` (0: not locked). */
function lockLeftOf(settings: ThrottleSettings, f: Failures | undefined, threshold: number, now: number): number {
  if (!f || f.count < threshold) return 0;
  const lockMs = Math.min(settings.baseLockMs * 2 ** (f.count - threshold), settings.maxLockMs);
  return Math.max(0, f.last + lockMs - now);
}

/** The verdict from the three counts (pair, account, network) and whether the pair is trusted. */
function verdictOf(settings: ThrottleSettings, counts: { pair?: Failures | undefined; account?: Failures | undefined; network?: Failures | undefined }, trusted: boolean, now: number): ThrottleVerdict {
  const checks: Array<[number, 'account_network' | 'account' | 'network']> = [[lockLeftOf(settings, counts.pair, settings.pairThreshold, now), 'account_network']];
  if (!trusted) {
    checks.push([lockLeftOf(settings, counts.account, settings.accountThreshold, now), 'account']);
    checks.push([lockLeftOf(settings, counts.network, settings.networkThreshold, now), 'network']);
  }
  const worst = checks.reduce((a, b) => (b[0] > a[0] ? b : a));
  return worst[0] > 0 ? { ok: false, retryAfterSeconds: Math.ceil(worst[0] / 1000), scope: worst[1] } : { ok: true };
}

export function createLoginThrottle(settings: ThrottleSettings = DEFAULT_THROTTLE, maxEntries = 200_000): MemoryLoginThrottle {
  const pairs = new Map<string, Failures>();
  const accounts = new Map<string, Failures>();
  const networks = new Map<string, Failures>();
  const knownGood = new Map<string, number>();

  const live = (m: Map<string, Failures>, key: string, now: number): Failures | undefined => {
    const f = m.get(key);
    if (f && now - f.last > settings.windowMs) {
      m.delete(key);
      return undefined;
    }
    return f;
  };
  const bump = (m: Map<string, Failures>, key: string, now: number): void => {
    const f = live(m, key, now);
    if (f) {
      f.count++;
      f.last = now;
    } else {
      if (m.size >= maxEntries) m.delete(m.keys().next().value as string);
      m.set(key, { count: 1, last: now });
    }
  };

  return {
    check(account, ip, now) {
      const net = networkOf(ip);
      const pairKey = `${account}|${net}`;
      const trusted = knownGood.has(pairKey);
      return verdictOf(settings, { pair: live(pairs, pairKey, now), account: live(accounts, account, now), network: live(networks, net, now) }, trusted, now);
    },
    failure(account, ip, now) {
      const net = networkOf(ip);
      bump(pairs, `${account}|${net}`, now);
      bump(accounts, account, now);
      bump(networks, net, now);
    },
    success(account, ip, now) {
      const pairKey = `${account}|${networkOf(ip)}`;
      pairs.delete(pairKey);
      accounts.delete(account);
      if (knownGood.size >= maxEntries) knownGood.delete(knownGood.keys().next().value as string);
      knownGood.set(pairKey, now);
    },
  };
}

/**
 * The same throttle over PostgreSQL: failures are counted with one upsert (a failure older than
 * the window starts the count again), checked with one read; every process sees every failure.
 */
export function createSharedLoginThrottle(db: Kysely<Database>, settings: ThrottleSettings = DEFAULT_THROTTLE): LoginThrottle {
  let writes = 0;
  const keysOf = (account: string, ip: string | null) => {
    const net = networkOf(ip);
    return { pair: `p:${account}|${net}`, account: `a:${account}`, network: `n:${net}`, good: `${account}|${net}` };
  };
  return {
    async check(account, ip, now) {
      const k = keysOf(account, ip);
      const rows = await sql<{ key: string; count: number; last: number }>`
        select key, count, last from login_failures where key in (${k.pair}, ${k.account}, ${k.network}) and last >= ${now - settings.windowMs}::bigint
        union all select 'g', 0, at from login_known_good where pair = ${k.good}`.execute(db);
      const get = (key: string) => {
        const r = rows.rows.find((x) => x.key === key);
        return r ? { count: Number(r.count), last: Number(r.last) } : undefined;
      };
      return verdictOf(settings, { pair: get(k.pair), account: get(k.account), network: get(k.network) }, rows.rows.some((r) => r.key === 'g'), now);
    },
    async failure(account, ip, now) {
      const k = keysOf(account, ip);
      await sql`insert into login_failures as f (key, count, last) select key, 1, ${now}::bigint from unnest(${[k.pair, k.account, k.network]}::text[]) as key
        on conflict (key) do update set count = case when excluded.last - f.last > ${settings.windowMs}::bigint then 1 else f.count + 1 end, last = greatest(f.last, excluded.last)`.execute(db);
      if (++writes % 1000 === 0) await db.deleteFrom('login_failures').where('last', '<', now - settings.windowMs).execute();
    },
    async success(account, ip, now) {
      const k = keysOf(account, ip);
      await db.deleteFrom('login_failures').where('key', 'in', [k.pair, k.account]).execute();
      await sql`insert into login_known_good (pair, at) values (${k.good}, ${now}::bigint) on conflict (pair) do update set at = excluded.at`.execute(db);
    },
  };
}
