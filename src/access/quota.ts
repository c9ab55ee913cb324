/**
 * Quotas: reveal quotas count records revealed (not requests), over sliding minute/hour/day
 * windows at once, per account, per device and per site, with limits by role; search quotas
 * count phone searches per account, the same way.
 *
 * Two ledgers, one contract (QuotaCounter, what the access service asks):
 * - in memory (the embedded store, one process): rebuilt from the audit trail at start (the
 *   trail records every allowed reveal and search), so a restart forgets nothing
 *   (docs/decisions/0002-quota-ledger.md);
 * - shared, in PostgreSQL (every `warden serve` process on one database counts in one place,
 *   exactly): the consumptions of one event-loop turn go in one statement
 *   (docs/decisions/0011-shared-ledger.md).
 */
import { sql, type Kysely } from 'kysely';
import type { Role } from '../contracts/events.js';
import type { Database } from '../store/schema.js';
import type { AuditKind } from '../audit/kinds.js';
import type { Policy, RoleQuota, Windows } from './policy.js';

export const WINDOWS = [
  { name: 'per_minute', spanMs: 60_000, buckets: 12 },
  { name: 'per_hour', spanMs: 3_600_000, buckets: 60 },
  { name: 'per_day', spanMs: 86_400_000, buckets: 96 },
] as const;
type WindowName = (typeof WINDOWS)[number]['name'];
export type QuotaScope = 'account' | 'device' | 'site';

class SlidingCount {
  private readonly counts: Int32Array;
  private readonly starts: Float64Array;
  private readonly bucketMs: number;
  constructor(
    private readonly spanMs: number,
    buckets: number,
  ) {
    // One slot more than the window has buckets: a window that does not start on a bucket edge
    // overlaps buckets + 1 of them, and the oldest, partly inside, still counts (sum below). With
    // `buckets` slots the newest bucket took the oldest's slot and its records left up to one
    // bucket early (found by the shared ledger's property test, which counts them, as it should).
    this.counts = new Int32Array(buckets + 1);
    this.starts = new Float64Array(buckets + 1).fill(-Infinity);
    this.bucketMs = spanMs / buckets;
  }
  sum(now: number): number {
    let total = 0;
    const horizon = now - this.spanMs;
    // A bucket counts while any part of it is inside the window, so records never leave early.
    for (let i = 0; i < this.counts.length; i++) if (this.starts[i]! + this.bucketMs > horizon) total += this.counts[i]!;
    return total;
  }
  add(now: number, n: number): void {
    const start = Math.floor(now / this.bucketMs) * this.bucketMs;
    const i = Math.floor(start / this.bucketMs) % this.counts.length;
    // The slot holds a newer bucket: this one is a full window older and has already left it.
    if (this.starts[i]! > start) return;
    if (this.starts[i] !== start) {
      this.starts[i] = start;
      this.counts[i] = 0;
    }
    this.counts[i]! += n;
  }
  /** Milliseconds until `excess` records have left the window. */
  retryAfter(now: number, excess: number): number {
    const order = [...this.starts.keys()].filter((i) => this.starts[i]! > now - this.spanMs).sort((a, b) => this.starts[a]! - this.starts[b]!);
    let freed = 0;
    for (const i of order) {
      freed += this.counts[i]!;
      if (freed >= excess) return Math.max(1000, this.starts[i]! + this.bucketMs + this.spanMs - now);
    }
    return this.spanMs;
  }
}

interface Counter {
  windows: Record<WindowName, SlidingCount>;
  lastUsed: number;
}

export interface QuotaSubject {
  role: Role;
  account: string;
  device: string | null;
  site: string | null;
}

export type QuotaResult =
  | { ok: true; release(): void }
  | { ok: false; scope: QuotaScope; window: WindowName; limit: number; retryAfterSeconds: number };

export interface QuotaLedger {
  tryConsume(subject: QuotaSubject, records: number, now: number): QuotaResult;
  /** Counts records already revealed (rebuilding from the audit trail). */
  record(subject: QuotaSubject, records: number, at: number): void;
  usage(subject: QuotaSubject, now: number): Record<QuotaScope, Partial<Record<WindowName, number>>>;
  size(): number;
}

/** Limits by role and scope; a scope left out is not limited (and not counted). */
export type QuotaLimits = { quotas: Record<Role, Partial<RoleQuota>> };

/** What the access service asks: count `records` for the subject now, or say which limit refuses. */
export interface QuotaCounter {
  tryConsume(subject: QuotaSubject, records: number, now: number): Promise<QuotaResult>;
}

/** The scopes a subject is counted in under these limits, with their ledger keys. */
export function scopesOf(policy: QuotaLimits, s: QuotaSubject): Array<{ scope: QuotaScope; key: string; limits: Windows }> {
  const q = policy.quotas[s.role];
  const out: Array<{ scope: QuotaScope; key: string; limits: Windows }> = [];
  if (q.account) out.push({ scope: 'account', key: `a:${s.account}`, limits: q.account });
  if (s.device && q.device) out.push({ scope: 'device', key: `d:${s.device}`, limits: q.device });
  if (s.site && q.site) out.push({ scope: 'site', key: `s:${s.role}:${s.site}`, limits: q.site });
  return out;
}

/** The in-memory ledger as a counter (one process). */
export const inMemoryCounter = (ledger: QuotaLedger): QuotaCounter => ({
  tryConsume: (subject, records, now) => Promise.resolve(ledger.tryConsume(subject, records, now)),
});

export function createQuotaLedger(
  policy: QuotaLimits,
  options: { maxKeys?: number; /** Told the share of each limit in use after an allowed consume (a metric). */ onSaturation?: (scope: QuotaScope, window: WindowName, ratio: number) => void } = {},
): QuotaLedger {
  const counters = new Map<string, Counter>();
  const maxKeys = options.maxKeys ?? 2_000_000;
  let ops = 0;

  const counterFor = (key: string, now: number): Counter => {
    let c = counters.get(key);
    if (!c) {
      c = {
        windows: Object.fromEntries(WINDOWS.map((w) => [w.name, new SlidingCount(w.spanMs, w.buckets)])) as Record<WindowName, SlidingCount>,
        lastUsed: now,
      };
      counters.set(key, c);
    }
    c.lastUsed = Math.max(c.lastUsed, now);
    return c;
  };

  const sweep = (now: number): void => {
    if (++ops % 10_000 !== 0 && counters.size < maxKeys) return;
    for (const [k, c] of counters) if (c.lastUsed < now - 86_400_000) counters.delete(k);
  };

  const scopes = (s: QuotaSubject) => scopesOf(policy, s);

  const reportSaturation = (targets: ReturnType<typeof scopes>, now: number, report: (scope: QuotaScope, window: WindowName, ratio: number) => void): void => {
    for (const t of targets) {
      const c = counterFor(t.key, now);
      for (const w of WINDOWS) {
        const limit = t.limits[w.name];
        if (limit) report(t.scope, w.name, c.windows[w.name].sum(now) / limit);
      }
    }
  };

  return {
    tryConsume(subject, records, now) {
      sweep(now);
      const targets = scopes(subject);
      for (const t of targets) {
        const c = counterFor(t.key, now);
        for (const w of WINDOWS) {
          const limit = t.limits[w.name];
          if (limit === undefined) continue;
          const used = c.windows[w.name].sum(now);
          if (used + records > limit) {
            const excess = used + records - limit;
            return {
              ok: false,
              scope: t.scope,
              window: w.name,
              limit,
              retryAfterSeconds: Math.ceil(c.windows[w.name].retryAfter(now, excess) / 1000),
            };
          }
        }
      }
      for (const t of targets) {
        const c = counterFor(t.key, now);
        for (const w of WINDOWS) c.windows[w.name].add(now, records);
      }
      if (options.onSaturation) reportSaturation(targets, now, options.onSaturation);
      let released = false;
      return {
        ok: true,
        release: () => {
          if (released) return;
          released = true;
          for (const t of targets) {
            const c = counterFor(t.key, now);
            for (const w of WINDOWS) c.windows[w.name].add(now, -records);
          }
        },
      };
    },
    record(subject, records, at) {
      for (const t of scopes(subject)) {
        const c = counterFor(t.key, at);
        for (const w of WINDOWS) c.windows[w.name].add(at, records);
      }
    },
    usage(subject, now) {
      const out = { account: {}, device: {}, site: {} } as Record<QuotaScope, Partial<Record<WindowName, number>>>;
      for (const t of scopes(subject)) {
        const c = counters.get(t.key);
        for (const w of WINDOWS) out[t.scope][w.name] = c ? c.windows[w.name].sum(now) : 0;
      }
      return out;
    },
    size: () => counters.size,
  };
}

/** Phone searches per account: the policy's `search_quotas`, as a ledger. */
export function createSearchQuotaLedger(policy: Pick<Policy, 'search_quotas'>): QuotaLedger {
  return createQuotaLedger({ quotas: createSearchQuotaLimits(policy) });
}

/** The policy's `search_quotas` as per-account limits by role. */
export function createSearchQuotaLimits(policy: Pick<Policy, 'search_quotas'>): QuotaLimits['quotas'] {
  return Object.fromEntries(Object.entries(policy.search_quotas).map(([role, account]) => [role, { account }])) as QuotaLimits['quotas'];
}

/**
 * Counts the last day's granted acts of one audit kind again after a restart (one each, per
 * account), for a ledger kept in memory: searches (`access.search`), leak attribution runs.
 */
export async function rebuildQuotaFromTrail(db: Kysely<Database>, ledger: QuotaLedger, now: number, kind: AuditKind, decision: 'allowed' | 'ok'): Promise<void> {
  const rows = await db
    .selectFrom('audit_log')
    .select(['account', 'role', 'ts'])
    .where('kind', '=', kind)
    .where('decision', '=', decision)
    .where('ts', '>', new Date(now - 86_400_000))
    .orderBy('seq')
    .execute();
  for (const r of rows) {
    if (r.account && r.role) ledger.record({ role: r.role as Role, account: r.account, device: null, site: null }, 1, new Date(r.ts).getTime());
  }
}
