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

export async function reconcileAssignments(db: Kysely<Database>, add: Add): Promise<number> {
  const unexplained = await sql<{ waybill: string; account: string; task: string }>`
    select a.waybill, a.account, a.task from assignments a
    where not exists (
      select 1 from audit_log l
      where l.kind = 'work.assigned' and l.decision = 'ok' and l.waybill = a.waybill and l.account = a.account
        and (l.detail->>'task') = a.task)
    order by a.waybill, a.account, a.task
    limit ${MAX_FINDINGS + 1}`.execute(db);
  for (const r of unexplained.rows) add({ table: 'assignments', key: `${r.waybill}/${r.account}/${r.task}`, problem: 'no work.assigned entry gave this task to this account' });
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
      : `differs from its last work.ticket entry (trail ${r.l_waybill}/${r.l_account}/${r.l_status}, row ${r.waybill}/${r.account}/${r.status})`;
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
