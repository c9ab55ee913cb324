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
 * Not covered: response throttles (`t`, limits from the response rows) and attribution runs (`x`).
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../store/schema.js';
import type { Policy } from '../../access/policy.js';
import { WINDOWS } from '../../access/quota.js';
import type { Add } from './trail.js';

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

export function reconcileQuotas(policy: Pick<Policy, 'quotas' | 'search_quotas'>) {
  return async (db: Kysely<Database>, add: Add): Promise<number> => {
    const rows = await lastDay(db);
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
    }
    for (const [key, list] of uses) overruns(key, list, add);
    return uses.size;
  };
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
