/**
 * Slows password guessing per account and per network without letting an attacker lock out a
 * whole site: failures lock the (account, network) pair first; account-wide and network-wide
 * locks apply only to networks the account has never logged in from successfully, so the
 * owner at their usual outlet keeps working while someone elsewhere hammers their account.
 *
 * In memory, per process, bounded; see docs/decisions/0002-quota-ledger.md for the trade-off.
 */
import { isIPv6 } from 'node:net';

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

export interface LoginThrottle {
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

export function createLoginThrottle(settings: ThrottleSettings = DEFAULT_THROTTLE, maxEntries = 200_000): LoginThrottle {
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
  const lockLeft = (f: Failures | undefined, threshold: number, now: number): number => {
    if (!f || f.count < threshold) return 0;
    const lockMs = Math.min(settings.baseLockMs * 2 ** (f.count - threshold), settings.maxLockMs);
    return Math.max(0, f.last + lockMs - now);
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
      const checks: Array<[number, 'account_network' | 'account' | 'network']> = [
        [lockLeft(live(pairs, pairKey, now), settings.pairThreshold, now), 'account_network'],
      ];
      if (!trusted) {
        checks.push([lockLeft(live(accounts, account, now), settings.accountThreshold, now), 'account']);
        checks.push([lockLeft(live(networks, net, now), settings.networkThreshold, now), 'network']);
      }
      const worst = checks.reduce((a, b) => (b[0] > a[0] ? b : a));
      return worst[0] > 0 ? { ok: false, retryAfterSeconds: Math.ceil(worst[0] / 1000), scope: worst[1] } : { ok: true };
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
