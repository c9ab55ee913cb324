/**
 * Quotas (attack review 11: deleting rows of `quota_buckets`, the shared quota ledger, reset a
 * clerk's reveal quota — 45 people in one minute against 15/min). The ledger is counts, not facts:
 * the trail has every allowed reveal (with its fields: a reveal of sender and recipient is two
 * people, as the ledger counts) and search, and a quota is exact across processes, so within any
 * window's span the trail can never show more than the policy allows. This recounts the last day
 * of entries per ledger key — account, device and role+site for reveals (namespace `r`), account
 * for searches and data-subject requests (namespace `q`) — and names every key and window where it
 * does: the ledger was tampered with (or failed). Each consumption is checked as the ledger checked
 * it, against the limit of the role the entry recorded, over the span ending at it (the ledger
 * counts whole buckets, a little more than the span: never less). Bounded: one day of entries.
 *
 * Response throttles too (namespace `t`, per response: the account's reveals while a throttle the
 * trail applied was in force, within the hour's `throttlePerHour`). Not covered: attribution runs (`x`).
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../store/schema.js';
import type { Policy } from '../../access/policy.js';
import { WINDOWS } from '../../access/quota.js';
import { entriesOf, type Add } from './trail.js';

const DAY = 86_400_000;

interface Use {
  at: number;
  records: number;
  /** This consumption's limit per window (the role's, as the ledger read it), or undefined. */
  limits: Partial<Record<(typeof WINDOWS)[number]['name'], number>>;
}

interface Row {
  ts: Date | string;
  kind: string;
  account: string | null;
  role: string | null;
  site: string | null;
  device: string | null;
  people: number | string;
}

type Limits = Partial<Record<(typeof WINDOWS)[number]['name'], number>> | undefined;

export function reconcileQuotas(policy: Pick<Policy, 'quotas' | 'search_quotas'>, throttlePerHour: number | null) {
  return async (db: Kysely<Database>, add: Add): Promise<number> => {
    const rows = await lastDay(db);
    const throttles = throttlePerHour === null ? null : await throttlePeriods(db);
    const uses = new Map<string, Use[]>();
    const use = (key: string, r: Row, limits: Limits) => {
      if (!limits) return;
      const list = uses.get(key) ?? [];
      list.push({ at: new Date(r.ts).getTime(), records: Number(r.people), limits });
      uses.set(key, list);
    };
    for (const r of rows) {
      const role = r.role as keyof Policy['quotas'] | null;
      if (r.kind !== 'access.reveal') {
        if (r.account && role) use(`q:a:${r.account}`, r, policy.search_quotas[role]);
        continue;
      }
      const q = role ? policy.quotas[role] : undefined;
      if (!q || !r.account) continue;
      use(`r:a:${r.account}`, r, q.account);
      if (r.device) use(`r:d:${r.device}`, r, q.device);
      if (r.site) use(`r:s:${role}:${r.site}`, r, q.site);
      const since = throttles && throttleOf(throttles.get(r.account), new Date(r.ts).getTime());
      if (since) use(`t:a:${r.account}@${since}`, r, { per_hour: throttlePerHour! });
    }
    for (const [key, list] of uses) overruns(key, list, add);
    return uses.size;
  };
}

/** Per account, the periods a throttle response was in force (`watch.response_applied` throttle until the next response entry). */
async function throttlePeriods(db: Kysely<Database>): Promise<Map<string, Array<{ from: number; to: number }>>> {
  const out = new Map<string, Array<{ from: number; to: number }>>();
  for (const e of await entriesOf(db, ['watch.response_applied', 'watch.response_cleared'])) {
    if (!e.account) continue;
    const list = out.get(e.account) ?? [];
    const open = list.at(-1);
    if (open && open.to === Infinity) open.to = e.ts.getTime();
    if (e.kind === 'watch.response_applied' && e.reason === 'throttle') list.push({ from: e.ts.getTime(), to: Infinity });
    out.set(e.account, list);
  }
  return out;
}

/** The start of the throttle in force at `at` (strictly after it was applied), or null. */
function throttleOf(periods: Array<{ from: number; to: number }> | undefined, at: number): number | null {
  return periods?.find((p) => at > p.from && at <= p.to)?.from ?? null;
}

/** The allowed reveals (in people) and searches of the last day of the trail, oldest first. */
async function lastDay(db: Kysely<Database>): Promise<Row[]> {
  const newest = await db.selectFrom('audit_log').select('ts').orderBy('ts', 'desc').limit(1).executeTakeFirst();
  if (!newest) return [];
  const since = new Date(new Date(newest.ts).getTime() - DAY);
  const result = await sql<Row>`select a.ts, a.kind, a.account, a.role, a.site, a.device,
      case when a.kind = 'access.reveal'
        then greatest(1, (coalesce(a.fields, '') ~ '(^|,)sender[.]')::int + (coalesce(a.fields, '') ~ '(^|,)recipient[.]')::int)
        else 1 end as people
    from audit_log a
    where a.ts > ${since}
      and ((a.kind in ('access.reveal', 'access.search') and a.decision = 'allowed') or (a.kind = 'pipl.request_filed' and a.decision = 'ok' and a.account is not null))
    order by a.ts, a.seq`.execute(db);
  return result.rows;
}

/** Names the worst overrun of each window of one key: the span ending at a consumption that held more than its limit. */
function overruns(key: string, list: Use[], add: Add): void {
  for (const w of WINDOWS) {
    let from = 0;
    let sum = 0;
    let worst: { at: number; sum: number; limit: number } | null = null;
    for (const u of list) {
      sum += u.records;
      while (list[from]!.at <= u.at - w.spanMs) sum -= list[from++]!.records;
      const limit = u.limits[w.name];
      if (limit !== undefined && limit >= 0 && sum > limit && (!worst || sum - limit > worst.sum - worst.limit)) worst = { at: u.at, sum, limit };
    }
    if (worst) {
      add({
        table: 'quota_buckets',
        key,
        problem: `the trail shows ${worst.sum} counted within the ${w.name.replace('_', ' ')} ending ${new Date(worst.at).toISOString()}, over the limit of ${worst.limit}: the quota ledger was reset around Warden (or failed)`,
      });
    }
  }
}
