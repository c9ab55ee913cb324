/**
 * The shared quota ledger: counts in PostgreSQL (table quota_buckets, function
 * warden_quota_consume, migration 0010), so every `warden serve` process on one database sees one
 * count and a quota is exact across them (docs/decisions/0011-shared-ledger.md).
 *
 * Invariants:
 * - A consumption is checked and counted in one statement under a transaction-scoped advisory
 *   lock per scope key: two processes never both take the last record.
 * - The consumptions of one event-loop turn share one statement (turnBatcher); each is decided
 *   in arrival order, as the in-memory ledger would.
 * - `release` gives the records back in the same buckets (a reveal whose audit entry failed).
 * - Same windows, buckets and retry-after as the in-memory ledger (quota.ts).
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import { REVEAL_IN_FLIGHT, turnBatcher } from '../store/turn-batch.js';
import { prepared } from '../store/prepared.js';
import { scopesOf, WINDOWS, type QuotaCounter, type QuotaLimits, type QuotaResult, type QuotaScope, type QuotaSubject } from './quota.js';

const BUCKET_MS = [5_000, 60_000, 900_000] as const;
const DAY = 86_400_000;

interface Ask {
  keys: Array<{ scope: QuotaScope; key: string; limits: number[] }>;
  records: number;
  now: number;
}

interface Row {
  o_req: number;
  o_ok: boolean;
  o_key: number | null;
  o_win: number | null;
  o_lim: number | null;
  o_retry_ms: number | string | null;
}

export interface SharedQuotaOptions {
  db: Kysely<Database>;
  limits: QuotaLimits;
  /** Keeps ledgers apart in one table: 'r' reveals, 'q' searches, 't' response throttles, 'x' attribution runs. */
  namespace: string;
}

export function createSharedQuotaLedger({ db, limits, namespace }: SharedQuotaOptions): QuotaCounter {
  let consumed = 0;

  const consume = turnBatcher<Ask, Row & { at: number }>(async (asks) => {
    const req: number[] = [];
    const keys: string[] = [];
    const lims: number[] = [];
    const offsets: number[] = [];
    asks.forEach((a, i) => {
      offsets.push(keys.length);
      for (const k of a.keys) {
        req.push(i + 1);
        keys.push(k.key);
        lims.push(...k.limits);
      }
    });
    // One clock per statement: the batch's asks were all made in the same turn.
    const now = Math.max(...asks.map((a) => a.now));
    // Arrays, one text: a prepared statement on PostgreSQL (docs/decisions/0016-prepared-reveal-statements.md).
    const result = await prepared(db, sql<Row>`select * from warden_quota_consume(${req}::int[], ${keys}::text[], ${lims}::int[], ${asks.map((a) => a.records)}::int[], ${now}::bigint)`.compile(db));
    const byReq = new Map(result.rows.map((r) => [Number(r.o_req), r]));
    return asks.map((_, i) => {
      const row = byReq.get(i + 1);
      if (!row) throw new Error('the quota ledger did not answer every request');
      // The failing key comes back as its place in the whole batch: make it the ask's own.
      return { ...row, o_key: row.o_key === null ? null : Number(row.o_key) - offsets[i]!, at: now };
    });
  }, { maxInFlight: REVEAL_IN_FLIGHT });

  async function release(keys: string[], records: number, now: number): Promise<void> {
    const k: string[] = [];
    const w: number[] = [];
    const s: number[] = [];
    for (const key of keys) {
      BUCKET_MS.forEach((width, i) => {
        k.push(key);
        w.push(i + 1);
        s.push(Math.floor(now / width) * width);
      });
    }
    await sql`update quota_buckets q set n = q.n - ${records} from unnest(${k}::text[], ${w}::int[], ${s}::bigint[]) as r(key, win, start)
      where q.key = r.key and q.win = r.win and q.start = r.start`.execute(db);
  }

  async function sweep(now: number): Promise<void> {
    await db.deleteFrom('quota_buckets').where('start', '<', now - DAY - BUCKET_MS[2]).execute();
  }

  return {
    async tryConsume(subject: QuotaSubject, records: number, now: number): Promise<QuotaResult> {
      const scopes = scopesOf(limits, subject).map((t) => ({
        scope: t.scope,
        key: `${namespace}:${t.key}`,
        limits: WINDOWS.map((w) => t.limits[w.name] ?? -1),
      }));
      if (scopes.length === 0) return { ok: true, release: () => {} };
      if (++consumed % 5000 === 0) void sweep(now).catch(() => undefined);
      const row = await consume({ keys: scopes, records, now });
      if (row.o_ok) {
        let released = false;
        return {
          ok: true,
          release: () => {
            if (released) return;
            released = true;
            // Best effort, like the in-memory ledger's: an unreleased count only errs towards refusing.
            void release(scopes.map((t) => t.key), records, row.at).catch(() => undefined);
          },
        };
      }
      const t = scopes[Number(row.o_key) - 1]!;
      const w = WINDOWS[Number(row.o_win) - 1]!;
      return { ok: false, scope: t.scope, window: w.name, limit: Number(row.o_lim), retryAfterSeconds: Math.ceil(Number(row.o_retry_ms) / 1000) };
    },
  };
}

/**
 * First start on a database that had no shared ledger yet (an upgrade): counts the last day's
 * allowed reveals (in people: a reveal of both parties is two) and searches (data-subject requests filed by an account count as searches) from the audit trail into it, once, under a lock (several
 * processes may start together). Every scope is counted; those without a limit are never read.
 */
export async function seedSharedQuotas(db: Kysely<Database>, now: number): Promise<void> {
  await db.transaction().execute(async (tx) => {
    await sql`select pg_advisory_xact_lock(7111)`.execute(tx);
    const any = await tx.selectFrom('quota_buckets').select('key').limit(1).executeTakeFirst();
    if (any) return;
    await sql`insert into quota_buckets (key, win, start, n)
      select k.key, w.win, (floor(extract(epoch from a.ts) * 1000)::bigint / w.width) * w.width,
        sum(case when a.kind = 'access.reveal'
          then greatest(1, (coalesce(a.fields, '') ~ '(^|,)sender[.]')::int + (coalesce(a.fields, '') ~ '(^|,)recipient[.]')::int)
          else 1 end)
      from audit_log a
      cross join lateral (values
        (case when a.kind = 'access.reveal' then 'r:a:' || a.account else 'q:a:' || a.account end),
        (case when a.kind = 'access.reveal' then 'r:d:' || a.device end),
        (case when a.kind = 'access.reveal' then 'r:s:' || a.role || ':' || a.site end)) as k(key)
      cross join (values (1, 5000::bigint), (2, 60000::bigint), (3, 900000::bigint)) as w(win, width)
      where ((a.kind in ('access.reveal', 'access.search') and a.decision = 'allowed') or (a.kind = 'pipl.request_filed' and a.decision = 'ok' and a.account is not null))
        and a.ts > ${new Date(now - DAY)} and k.key is not null
      group by 1, 2, 3`.execute(tx);
  });
}
