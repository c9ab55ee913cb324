/**
 * Live aggregates for the overview, in one-minute buckets by event time over the last 25 hours:
 * events, allowed reveals by role and by basis (explained or not), refusals by reason.
 *
 * Invariants:
 * - Bounded: at most `keepMinutes` buckets; older ones are dropped as time moves on.
 * - Counts only what it is told (committed audit records, published events); it never reads
 *   PII — audit entries carry none.
 * - Events/s is measured on the real (monotonic) clock, separate from event time, so an
 *   accelerated demo clock does not distort it.
 */
import { explainBasis } from './explain.js';

const MINUTE = 60_000;

export interface Bucket {
  events: number;
  reveals: number;
  explained: number;
  unexplained: number;
  refusals: number;
  byRole: Record<string, number>;
  byBasis: Record<string, number>;
  byReason: Record<string, number>;
}

export interface RevealRecord {
  ts: number;
  role: string | null;
  decision: string;
  reason: string | null;
  basis: unknown;
  /** Entries this row stands for (a seed row aggregates many). */
  count?: number;
}

export interface WindowTotals {
  events: number;
  reveals: number;
  explained: number;
  unexplained: number;
  refusals: number;
  by_role: Record<string, number>;
  by_basis: Record<string, number>;
  by_reason: Record<string, number>;
}

const emptyBucket = (): Bucket => ({ events: 0, reveals: 0, explained: 0, unexplained: 0, refusals: 0, byRole: {}, byBasis: {}, byReason: {} });
const bump = (m: Record<string, number>, k: string, n: number) => {
  m[k] = (m[k] ?? 0) + n;
};

export function createRollup(options: { keepMinutes?: number; rateWindowSeconds?: number; monotonic?: () => number } = {}) {
  const keep = options.keepMinutes ?? 25 * 60;
  const rateWindow = options.rateWindowSeconds ?? 10;
  const mono = options.monotonic ?? (() => performance.now());
  const buckets = new Map<number, Bucket>();
  let newest = -Infinity;
  /** Events per real second, for the last `rateWindow` seconds: [second, count] ring. */
  const rate = new Map<number, number>();

  function bucketAt(ts: number): Bucket | null {
    const m = Math.floor(ts / MINUTE);
    if (m <= newest - keep) return null;
    let b = buckets.get(m);
    if (!b) {
      b = emptyBucket();
      buckets.set(m, b);
      if (m > newest) {
        newest = m;
        for (const k of buckets.keys()) if (k <= newest - keep) buckets.delete(k);
      }
    }
    return b;
  }

  function addEvents(ts: number, n: number, realTime = true): void {
    const b = bucketAt(ts);
    if (b) b.events += n;
    if (!realTime) return;
    const s = Math.floor(mono() / 1000);
    rate.set(s, (rate.get(s) ?? 0) + n);
    if (rate.size > rateWindow * 2) for (const k of rate.keys()) if (k < s - rateWindow) rate.delete(k);
  }

  function addReveal(r: RevealRecord): void {
    const b = bucketAt(r.ts);
    if (!b) return;
    const n = r.count ?? 1;
    if (r.decision === 'allowed') {
      b.reveals += n;
      bump(b.byRole, r.role ?? 'unknown', n);
      const e = explainBasis(r.basis);
      bump(b.byBasis, e.by ?? 'none', n);
      if (e.explained) b.explained += n;
      else b.unexplained += n;
    } else if (r.decision === 'denied') {
      b.refusals += n;
      bump(b.byReason, r.reason ?? 'unknown', n);
    }
  }

  /** Sums the buckets in [from, to) event time. */
  function totals(from: number, to: number): WindowTotals {
    const out: WindowTotals = { events: 0, reveals: 0, explained: 0, unexplained: 0, refusals: 0, by_role: {}, by_basis: {}, by_reason: {} };
    const lo = Math.floor(from / MINUTE);
    const hi = Math.floor(to / MINUTE);
    for (const [m, b] of buckets) {
      if (m < lo || m >= hi) continue;
      out.events += b.events;
      out.reveals += b.reveals;
      out.explained += b.explained;
      out.unexplained += b.unexplained;
      out.refusals += b.refusals;
      for (const [k, v] of Object.entries(b.byRole)) bump(out.by_role, k, v);
      for (const [k, v] of Object.entries(b.byBasis)) bump(out.by_basis, k, v);
      for (const [k, v] of Object.entries(b.byReason)) bump(out.by_reason, k, v);
    }
    return out;
  }

  /** Hourly series ending at the hour containing `to` (oldest first). */
  function hourly(to: number, hours: number): Array<{ hour: number } & Omit<WindowTotals, 'by_role' | 'by_basis' | 'by_reason'>> {
    const end = Math.floor(to / (60 * MINUTE)) + 1;
    const series = [];
    for (let h = end - hours; h < end; h++) {
      const t = totals(h * 60 * MINUTE, (h + 1) * 60 * MINUTE);
      series.push({ hour: h * 60 * MINUTE, events: t.events, reveals: t.reveals, explained: t.explained, unexplained: t.unexplained, refusals: t.refusals });
    }
    return series;
  }

  /** Events per second over the last full `rateWindow` real seconds. */
  function eventsPerSecond(): number {
    const s = Math.floor(mono() / 1000);
    let n = 0;
    for (const [k, v] of rate) if (k >= s - rateWindow && k < s) n += v;
    return Math.round((n / rateWindow) * 10) / 10;
  }

  return { addEvents, addReveal, totals, hourly, eventsPerSecond, size: () => buckets.size };
}

export type Rollup = ReturnType<typeof createRollup>;
