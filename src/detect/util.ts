/**
 * Small pure helpers shared by the engine and the detectors. Nothing here reads the wall clock.
 */
import type { Severity } from '../contracts/events.js';
import { tsMillis } from '../contracts/fast-validate.js';

export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

export const SEVERITY_RANK: Record<Severity, number> = { low: 0, medium: 1, high: 2, critical: 3 };

/** cyrb53: a fast, well-mixed 53-bit string hash; used for deterministic alert and incident ids. */
export function hash53(str: string, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < str.length; i++) {
    const ch = str.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** A 14-hex-digit deterministic id with a readable prefix. */
export const stableId = (prefix: string, parts: string): string =>
  `${prefix}-${hash53(parts).toString(16).padStart(14, '0')}`;

/**
 * Network key of an IP: the /24 for IPv4, the /48 for IPv6. Anything else is kept verbatim
 * (a producer's odd value must not crash the engine, and still works as a key).
 */
export function networkOf(ip: string): string {
  const colon = ip.indexOf(':');
  if (colon < 0) {
    const last = ip.lastIndexOf('.');
    return last > 0 ? `${ip.slice(0, last)}.0/24` : ip;
  }
  // IPv4-mapped IPv6 (::ffff:1.2.3.4) is an IPv4 client.
  const dot = ip.lastIndexOf('.');
  if (dot > 0) {
    const v4 = ip.slice(ip.lastIndexOf(':') + 1);
    return networkOf(v4);
  }
  return `${ipv6Prefix48(ip)}::/48`;
}

function ipv6Prefix48(ip: string): string {
  const lower = ip.toLowerCase();
  const [head = '', tail] = lower.split('::', 2);
  const headParts = head === '' ? [] : head.split(':');
  if (tail === undefined || headParts.length >= 3) {
    return headParts.slice(0, 3).map(trimHex).join(':');
  }
  // Fewer than 3 groups before "::": the rest of the first 48 bits are zero unless the tail
  // reaches back into them (only when the address has 6+ explicit groups in total).
  const tailParts = tail === '' ? [] : tail.split(':');
  const missing = 8 - headParts.length - tailParts.length;
  const full = [...headParts, ...Array<string>(Math.max(missing, 0)).fill('0'), ...tailParts];
  return full.slice(0, 3).map(trimHex).join(':');
}
const trimHex = (g: string): string => g.replace(/^0+(?=.)/, '');

/**
 * Numeric part of a waybill number: the carrier prefix (non-digits) and the trailing digits.
 * Returns NaN for the number when there are no digits or too many to be exact.
 */
export function splitWaybill(wb: string): { prefix: string; num: number } {
  let i = wb.length;
  while (i > 0) {
    const c = wb.charCodeAt(i - 1);
    if (c < 48 || c > 57) break;
    i--;
  }
  const digits = wb.length - i;
  if (digits === 0 || digits > 15) return { prefix: wb, num: NaN };
  return { prefix: wb.slice(0, i), num: Number(wb.slice(i)) };
}

/** Normalised city key: lower case, no spaces, no trailing 市 / "city" / "shi". */
export function cityKey(city: string): string {
  let c = city.trim().toLowerCase().replace(/\s+/g, '');
  if (c.endsWith('市')) c = c.slice(0, -1);
  else if (c.endsWith('city')) c = c.slice(0, -4);
  return c;
}

/** Great-circle distance in km. */
export function haversineKm(a: readonly [number, number], b: readonly [number, number]): number {
  const rad = Math.PI / 180;
  const dLat = (b[0] - a[0]) * rad;
  const dLon = (b[1] - a[1]) * rad;
  const s = Math.sin(dLat / 2) ** 2 + Math.cos(a[0] * rad) * Math.cos(b[0] * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.min(1, Math.sqrt(s)));
}

/** Decays a value with the given half-life over dt milliseconds. */
export const decay = (value: number, dtMs: number, halfLifeMs: number): number =>
  dtMs <= 0 || value === 0 ? value : value * Math.pow(0.5, dtMs / halfLifeMs);

export const clamp = (v: number, lo: number, hi: number): number => (v < lo ? lo : v > hi ? hi : v);

/** Median of a small numeric array (copied, not mutated). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Local clock helpers for a fixed UTC offset (China does not observe DST). */
export interface LocalClock {
  day(t: number): number;
  hour(t: number): number;
}
export function localClock(utcOffsetHours: number): LocalClock {
  const off = utcOffsetHours * HOUR;
  return {
    day: (t) => Math.floor((t + off) / DAY),
    hour: (t) => Math.floor((((t + off) % DAY) + DAY) % DAY / HOUR),
  };
}

/** Formats a local day index (see localClock) as YYYY-MM-DD. */
export const dayLabel = (day: number): string => new Date(day * DAY).toISOString().slice(0, 10);

export const round = (v: number, digits = 2): number => {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
};

/**
 * Date.parse for event timestamps. Validated events were converted once already by the contract
 * check (`tsMillis`, which memoises the last one and the day's midnight), so this is usually a
 * pointer comparison; anything outside the contract's pattern goes to Date.parse. Same result as
 * Date.parse.
 */
export function parseTs(ts: string): number {
  const t = tsMillis(ts);
  return t === t ? t : Date.parse(ts);
}
