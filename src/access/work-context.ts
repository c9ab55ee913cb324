/**
 * The work context: the real work that backs a reveal — assignments, tickets, phone searches and
 * investigation cases — with one owner. Upstream systems write it (ingest calls `assign`,
 * `complete`, `ticket`); the search path writes grants; the reveal path asks one narrow question,
 * "what work backs account A on waybill W (under case C)?", answered in the same round trip as
 * the ciphertext (`workOn` is carried by the vault's fetch, see `Alongside`).
 *
 * Invariants:
 * - Reassigning a waybill's task to another account ends the previous holder's assignment at the
 *   time of the reassignment, whatever order the events arrive in (the newest assignment wins).
 * - Ended work stays ended (attack review 9): an assignment dated at or before its completion does
 *   not clear it; a ticket changes only by an event naming its own waybill (a close: and its own
 *   agent), dated at or after its last change.
 * - A search grant names the party whose phone number matched; it covers that party only.
 * - A case's standing is read here, never inferred from the reference's shape: status, who opened
 *   and approved it, whether it names the revealer, and whether it covers the waybill (named, or
 *   accessed by an account it names up to its approval — the scope two analysts agreed on).
 * This module states facts; evaluate.ts decides what they grant (expiry, grace, windows).
 */
import { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import type { Database } from '../store/schema.js';
import type { Alongside, AlongsideRead, PartyName } from '../vault/vault.js';

export interface WorkContextDeps {
  db: Kysely<Database>;
}

type Handle = Kysely<Database> | Transaction<Database>;
export type Task = 'pickup' | 'delivery';

export interface AssignmentWork {
  task: Task;
  assignedAt: number;
  completedAt: number | null;
  /** When a reassignment to another account ended it. */
  endedAt: number | null;
}

export interface CaseStanding {
  status: 'pending' | 'open' | 'closed';
  openedBy: string;
  approvedBy: string | null;
  /** The case names the revealing account among its subjects. */
  namesRevealer: boolean;
  /** The case names this waybill, or an account that accessed it before the case was approved. */
  covers: boolean;
}

/** Everything one account has on one waybill (and the named case), as the evaluator reads it. */
export interface WorkOn {
  assignments: AssignmentWork[];
  openTickets: string[];
  searches: Array<{ party: PartyName; grantedAt: number }>;
  /** Null when no case was named or it does not exist. */
  case: CaseStanding | null;
}

export const NO_WORK: WorkOn = { assignments: [], openTickets: [], searches: [], case: null };

/**
 * What a case naming an account covers: the parcels that account was *given* in full — its allowed
 * reveals up to the approval. Not masked views, nor refused attempts (review 3: a suspect padded
 * his own case's scope with free masked views and refused reveals, which the case then let the
 * analysts reveal in full), nor label prints (review 4: a label prints masked and any parcel's may
 * be printed, so prints padded the scope the same way).
 */
const CASE_KINDS = ['access.reveal'] as const;

export function createWorkContext({ db }: WorkContextDeps) {
  /** The reveal path's question, as one correlated expression the ciphertext fetch carries (its args: account, case or null). */
  function workOn(account: string, caseRef: string | undefined): Alongside<WorkOn> {
    return { read: WORK_ON, args: [account, caseRef ?? null] };
  }

  return {
    workOn,

    /**
     * An account's live assignments, as a condition on a waybill number (a courier's search reach):
     * not reassigned away, and assigned since `since` (the policy's expiry).
     */
    assignedTo(account: string, since: Date) {
      return (waybill: RawBuilder<string>) =>
        sql<boolean>`exists (select 1 from assignments a where a.waybill = ${waybill} and a.account = ${account} and a.ended_at is null and a.assigned_at >= ${since})`;
    },

    /** Gives the task to the account and ends every other account's hold on it (reassignment). */
    async assign(a: { waybill: string; account: string; task: Task; at: Date }, tx: Handle = db) {
      // Arrived after a newer assignment of the task to someone else: it ended when that one began.
      const endedBy = sql<Date | null>`(select min(o.assigned_at) from assignments o
        where o.waybill = ${a.waybill} and o.task = ${a.task} and o.account <> ${a.account} and o.assigned_at > ${a.at})`;
      await tx
        .insertInto('assignments')
        .values({ waybill: a.waybill, account: a.account, task: a.task, assigned_at: a.at, completed_at: null, ended_at: endedBy })
        .onConflict((oc) =>
          oc
            .columns(['waybill', 'account', 'task'])
            // A re-sent or late assignment dated at or before the task's completion does not bring it back (attack review 9).
            .doUpdateSet({ assigned_at: a.at, completed_at: sql<Date | null>`case when assignments.completed_at >= ${a.at} then assignments.completed_at else null end`, ended_at: endedBy })
            .where('assignments.assigned_at', '<=', a.at),
        )
        .execute();
      await tx
        .updateTable('assignments')
        .set({ ended_at: a.at })
        .where('waybill', '=', a.waybill)
        .where('task', '=', a.task)
        .where('account', '<>', a.account)
        .where('assigned_at', '<=', a.at)
        .where((eb) => eb.or([eb('ended_at', 'is', null), eb('ended_at', '>', a.at)]))
        .execute();
    },

    /** A delivered / picked-up scan starts the grace period of the matching assignments; returns their accounts. */
    async complete(waybill: string, task: Task, at: Date, tx: Handle = db): Promise<string[]> {
      const rows = await tx
        .updateTable('assignments')
        .set({ completed_at: at })
        .where('waybill', '=', waybill)
        .where('task', '=', task)
        .where('completed_at', 'is', null)
        .returning('account')
        .execute();
      return rows.map((r) => r.account).sort();
    },

    /**
     * Opens, reassigns, closes or re-opens a ticket; returns whether it changed anything. Ticket ids
     * are global and a producer is scoped by the event's own parcel (producer.ts), so an existing
     * ticket changes only by an event naming its current waybill (then the producer's scope covers
     * the ticket's parcel: never moved to another parcel, attack review 9); a close only by its own
     * agent's (another agent's close does not touch it); an `open` naming another agent reassigns it;
     * and an event dated before the ticket's last change is ignored. The detection engine mirrors
     * this (src/detect/work-links.ts, onTicket).
     */
    async ticket(t: { ticket: string; waybill: string; account: string; status: 'open' | 'closed'; at: Date }, tx: Handle = db): Promise<boolean> {
      const r = await tx
        .insertInto('tickets')
        .values({ ticket: t.ticket, waybill: t.waybill, account: t.account, status: t.status, updated_at: t.at })
        .onConflict((oc) => {
          const update = oc
            .column('ticket')
            .doUpdateSet({ account: t.account, status: t.status, updated_at: t.at })
            .where('tickets.waybill', '=', t.waybill)
            .where('tickets.updated_at', '<=', t.at);
          return t.status === 'closed' ? update.where('tickets.account', '=', t.account) : update;
        })
        .executeTakeFirst();
      return Number(r.numInsertedOrUpdatedRows ?? 0n) > 0;
    },

    /** Within the search's audit transaction, so a grant exists exactly when the search is on record. */
    async grantSearch(account: string, matches: ReadonlyArray<{ waybill: string; parties: readonly PartyName[] }>, at: Date, tx: Handle = db) {
      const rows = matches.flatMap((m) => m.parties.map((party) => ({ account, waybill: m.waybill, party, granted_at: at })));
      if (!rows.length) return;
      await tx
        .insertInto('search_grants')
        .values(rows)
        .onConflict((oc) => oc.columns(['account', 'waybill', 'party']).doUpdateSet({ granted_at: at }))
        .execute();
    },
  };
}
export type WorkContext = ReturnType<typeof createWorkContext>;

/**
 * One text for every ask (the fetch is a prepared statement, docs/decisions/0016-prepared-reveal-statements.md):
 * account and case are columns of the ask's row; with no case named the case read finds no row (null).
 */
const WORK_ON: AlongsideRead<WorkOn> = {
  arity: 2,
  select: (waybill, [account, caseRef]) => sql`json_build_object(
    'a', (select coalesce(json_agg(json_build_object('task', a.task, 'at', a.assigned_at, 'done', a.completed_at, 'end', a.ended_at)), '[]'::json)
          from assignments a where a.waybill = ${waybill} and a.account = ${account}),
    't', (select coalesce(json_agg(t.ticket order by t.ticket), '[]'::json)
          from tickets t where t.waybill = ${waybill} and t.account = ${account} and t.status = 'open'),
    's', (select coalesce(json_agg(json_build_object('party', g.party, 'at', g.granted_at)), '[]'::json)
          from search_grants g where g.waybill = ${waybill} and g.account = ${account}),
    'c', ${caseStanding(caseRef!, account!, waybill)}
  )::text`,
  parse: parseWorkOn,
};

/**
 * The case's standing for this ask. Its scope's "before approval" is the approval's time as the
 * trail recorded it (the `case.approved` entry, index of migration 0023), not `cases.approved_at`:
 * attack review 11 moved that column to 2099 and the case covered what its accounts touched after.
 */
function caseStanding(caseRef: RawBuilder<string | null>, account: RawBuilder<string | null>, waybill: RawBuilder<string>) {
  const kinds = sql.join(CASE_KINDS.map((k) => sql`${k}`));
  return sql`(select json_build_object(
      'status', c.status, 'opened_by', c.opened_by, 'approved_by', c.approved_by,
      'self', exists (select 1 from case_accounts s where s.case_id = c.id and s.account = ${account}),
      'covers', exists (select 1 from case_waybills cw where cw.case_id = c.id and cw.waybill = ${waybill})
        or exists (select 1 from case_accounts ca join audit_log l on l.account = ca.account and l.waybill = ${waybill}
                   where ca.case_id = c.id and l.kind in (${kinds}) and l.decision = 'allowed' and l.ts <= ap.at))
    from cases c
    left join lateral (select min(e.ts) as at from audit_log e
                       where e.kind = 'case.approved' and e.decision = 'ok' and e.detail->>'case' = c.id) ap on true
    where c.id = ${caseRef})`;
}

/** Times arrive as JSON renders timestamptz (ISO-8601 with an offset): cheaper to plan than converting in SQL. */
interface RawWork {
  a: Array<{ task: Task; at: string; done: string | null; end: string | null }>;
  t: string[];
  s: Array<{ party: PartyName; at: string }>;
  c: { status: CaseStanding['status']; opened_by: string; approved_by: string | null; self: boolean; covers: boolean } | null;
}

function parseWorkOn(value: unknown): WorkOn {
  if (value === null || value === undefined) return NO_WORK;
  const w = (typeof value === 'string' ? JSON.parse(value) : value) as RawWork;
  const time = (v: string | null) => (v === null ? null : Date.parse(v));
  return {
    assignments: (w.a ?? []).map((a) => ({ task: a.task, assignedAt: Date.parse(a.at), completedAt: time(a.done), endedAt: time(a.end) })),
    openTickets: w.t ?? [],
    searches: (w.s ?? []).map((g) => ({ party: g.party, grantedAt: Date.parse(g.at) })),
    case: w.c ? { status: w.c.status, openedBy: w.c.opened_by, approvedBy: w.c.approved_by, namesRevealer: w.c.self === true, covers: w.c.covers === true } : null,
  };
}
