/**
 * The real work that backs a reveal: assignments, tickets, and full-number searches.
 * Written by upstream systems (HTTP or contract events), read by the policy evaluator.
 */
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../store/schema.js';

export interface WorkContextDeps {
  db: Kysely<Database>;
}

type Handle = Kysely<Database> | Transaction<Database>;

export interface AssignmentRow {
  task: 'pickup' | 'delivery';
  assigned_at: Date | string;
  completed_at: Date | string | null;
}

/** What the policy evaluator reads: the work one account has on one waybill. */
export interface WorkContextReader {
  assignments(account: string, waybill: string): Promise<AssignmentRow[]>;
  openTicket(account: string, waybill: string, ticket: string | undefined): Promise<{ ticket: string } | null>;
  searchGrant(account: string, waybill: string): Promise<Date | null>;
}

/** The same answers from one prefetched row (the reveal path reads everything in one query). */
export function workSnapshot(w: { assignments: AssignmentRow[]; openTickets: string[]; searchGrantedAt: Date | null }): WorkContextReader {
  return {
    assignments: async () => w.assignments,
    openTicket: async (_a, _w, ticket) => {
      const hit = ticket ? w.openTickets.find((t) => t === ticket) : w.openTickets[0];
      return hit ? { ticket: hit } : null;
    },
    searchGrant: async () => w.searchGrantedAt,
  };
}

export function createWorkContext({ db }: WorkContextDeps) {
  return {
    async assign(a: { waybill: string; account: string; task: 'pickup' | 'delivery'; at: Date }, tx: Handle = db) {
      await tx
        .insertInto('assignments')
        .values({ waybill: a.waybill, account: a.account, task: a.task, assigned_at: a.at, completed_at: null })
        .onConflict((oc) => oc.columns(['waybill', 'account', 'task']).doUpdateSet({ assigned_at: a.at, completed_at: null }))
        .execute();
    },

    /** A delivered / picked-up scan starts the grace period of the matching assignments. */
    async complete(waybill: string, task: 'pickup' | 'delivery', at: Date, tx: Handle = db) {
      await tx
        .updateTable('assignments')
        .set({ completed_at: at })
        .where('waybill', '=', waybill)
        .where('task', '=', task)
        .where('completed_at', 'is', null)
        .execute();
    },

    async ticket(t: { ticket: string; waybill: string; account: string; status: 'open' | 'closed'; at: Date }, tx: Handle = db) {
      await tx
        .insertInto('tickets')
        .values({ ticket: t.ticket, waybill: t.waybill, account: t.account, status: t.status, updated_at: t.at })
        .onConflict((oc) => oc.column('ticket').doUpdateSet({ waybill: t.waybill, account: t.account, status: t.status, updated_at: t.at }))
        .execute();
    },

    /** Within the search's audit transaction, so the grant exists exactly when the search is on record. */
    async grantSearch(account: string, waybills: string[], at: Date, tx: Handle = db) {
      if (!waybills.length) return;
      await tx
        .insertInto('search_grants')
        .values(waybills.map((waybill) => ({ account, waybill, granted_at: at })))
        .onConflict((oc) => oc.columns(['account', 'waybill']).doUpdateSet({ granted_at: at }))
        .execute();
    },

    async assignments(account: string, waybill: string) {
      return db.selectFrom('assignments').select(['task', 'assigned_at', 'completed_at']).where('account', '=', account).where('waybill', '=', waybill).execute();
    },

    async openTicket(account: string, waybill: string, ticket: string | undefined) {
      let q = db.selectFrom('tickets').select(['ticket']).where('account', '=', account).where('waybill', '=', waybill).where('status', '=', 'open');
      if (ticket) q = q.where('ticket', '=', ticket);
      return (await q.limit(1).executeTakeFirst()) ?? null;
    },

    async searchGrant(account: string, waybill: string) {
      const row = await db.selectFrom('search_grants').select('granted_at').where('account', '=', account).where('waybill', '=', waybill).executeTakeFirst();
      return row ? new Date(row.granted_at) : null;
    },

  };
}
export type WorkContext = ReturnType<typeof createWorkContext>;
