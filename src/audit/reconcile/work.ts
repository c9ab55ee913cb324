/**
 * The work that backs a reveal: an assignment, an open ticket, a search that found the parcel.
 * Each row is written in the transaction of its trail entry (ingest's `work.assigned` / `work.ticket`,
 * the search's `access.search`), so a row no entry explains was inserted around Warden — the
 * database owner handing a courier another city's parcel, or an agent a ticket.
 * SQL over the whole tables (these grow with the traffic), at most MAX_FINDINGS + 1 rows read back.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../store/schema.js';
import { MAX_FINDINGS, type Add } from './trail.js';

async function count(db: Kysely<Database>, table: 'assignments' | 'tickets' | 'search_grants'): Promise<number> {
  const r = await db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(r.n);
}

/**
 * An assignment row holds what its entries left: a `work.assigned` of this task to this account at
 * exactly the row's `assigned_at` (a bumped time revives an expired basis); not open (`ended_at`
 * null) when the task was given to another account later; not uncompleted when a `work.completed`
 * came after the entry that set its time (review 5: one UPDATE revived a reassigned-away assignment).
 * Times compare at millisecond precision, as ingest applies them (`new Date(ts)`).
 */
export async function reconcileAssignments(db: Kysely<Database>, add: Add): Promise<number> {
  // Each row's three facts computed once, then named (the reassignment subquery is not written twice).
  const differing = await sql<{ waybill: string; account: string; task: string; given: number | null; reassigned: boolean; completed_after: boolean }>`
    select * from (
      select a.waybill, a.account, a.task, given.seq as given,
        a.ended_at is null and exists (
          select 1 from audit_log o
          where o.kind = 'work.assigned' and o.decision = 'ok' and o.waybill = a.waybill and o.account <> a.account
            and (o.detail->>'task') = a.task and date_trunc('milliseconds', (o.detail->>'at')::timestamptz) > a.assigned_at) as reassigned,
        a.completed_at is null and exists (
          select 1 from audit_log c
          where c.kind = 'work.completed' and c.decision = 'ok' and c.waybill = a.waybill and c.account = a.account
            and (c.detail->>'task') = a.task and c.seq > given.seq) as completed_after
      from assignments a
      left join lateral (
        select max(l.seq) as seq from audit_log l
        where l.kind = 'work.assigned' and l.decision = 'ok' and l.waybill = a.waybill and l.account = a.account
          and (l.detail->>'task') = a.task and date_trunc('milliseconds', (l.detail->>'at')::timestamptz) = a.assigned_at) given on true
    ) checked
    where given is null or reassigned or completed_after
    order by waybill, account, task
    limit ${MAX_FINDINGS + 1}`.execute(db);
  const problemOf = (r: { given: number | null; reassigned: boolean }) =>
    r.given === null ? 'no work.assigned entry gave this task to this account at the row\'s assigned_at'
      : r.reassigned ? 'still open, but the trail gave the task to another account later'
      : 'not completed, but a work.completed entry came after the assignment';
  for (const r of differing.rows) add({ table: 'assignments', key: `${r.waybill}/${r.account}/${r.task}`, problem: problemOf(r) });
  return count(db, 'assignments');
}

/** A ticket row holds what its latest `work.ticket` entry said (ingest upserts in arrival order). */
export async function reconcileTickets(db: Kysely<Database>, add: Add): Promise<number> {
  const differing = await sql<{ ticket: string; waybill: string; account: string; status: string; l_waybill: string | null; l_account: string | null; l_status: string | null }>`
    select t.ticket, t.waybill, t.account, t.status, l.waybill as l_waybill, l.account as l_account, l.status as l_status
    from tickets t left join (
      select distinct on (ticket) ticket, waybill, account, detail->>'status' as status
      from audit_log where kind = 'work.ticket' and decision = 'ok' and ticket is not null
      order by ticket, seq desc) l on l.ticket = t.ticket
    where l.ticket is null or l.waybill is distinct from t.waybill or l.account is distinct from t.account or l.status is distinct from t.status
    order by t.ticket
    limit ${MAX_FINDINGS + 1}`.execute(db);
  for (const r of differing.rows) {
    const problem = r.l_status === null && r.l_account === null
      ? 'no work.ticket entry recorded this ticket'
      : `differs from its last work.ticket entry (${[
        r.l_waybill !== r.waybill ? 'another waybill' : null,
        r.l_account !== r.account ? `account: trail ${r.l_account}, row ${r.account}` : null,
        r.l_status !== r.status ? `status: trail ${r.l_status}, row ${r.status}` : null,
      ].filter(Boolean).join('; ')})`;
    add({ table: 'tickets', key: r.ticket, problem });
  }
  return count(db, 'tickets');
}

/** A search grant exists only with the allowed `access.search` entry that found that parcel, at the grant's time. */
export async function reconcileSearchGrants(db: Kysely<Database>, add: Add): Promise<number> {
  const unexplained = await sql<{ account: string; waybill: string; party: string }>`
    select g.account, g.waybill, g.party from search_grants g
    where not exists (
      select 1 from audit_log l
      where l.account = g.account and l.ts = g.granted_at and l.kind = 'access.search' and l.decision = 'allowed'
        and l.detail->'waybills' @> jsonb_build_array(g.waybill))
    order by g.account, g.waybill, g.party
    limit ${MAX_FINDINGS + 1}`.execute(db);
  for (const r of unexplained.rows) add({ table: 'search_grants', key: `${r.account}/${r.waybill}/${r.party}`, problem: 'no allowed access.search entry by this account found this parcel at the grant\'s time' });
  return count(db, 'search_grants');
}
