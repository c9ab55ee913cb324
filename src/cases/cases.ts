/**
 * Investigation cases: the basis of a security analyst's reveals. An analyst opens a case naming
 * the waybills and/or accounts it is about; it stays `pending` until a different analyst approves
 * it (`open`). An open case is closed by its opener or its approver only (attack review 9: an
 * uninvolved analyst closed another pair's investigation, with no reopen); a pending one may also
 * be declined by any other analyst (the second person saying no). Never by an account it names
 * (or one linked to such an account by creation), who also does not see it. Reveals under a case
 * are listed from the audit trail. The reveal path reads a case's standing through the work context
 * (src/access/work-context.ts); this module owns the cases' life.
 *
 * Invariants:
 * - Granting reveal rights takes two people: nobody approves a case they opened.
 * - Nobody opens, approves or closes a case that names their own account, or one linked to it by
 *   creation (attack review 10 for opening).
 * - The opener an approval is held against is the trail's `case.opened` actor, never the row's
 *   (attack review 10: `opened_by` rewritten; audit/requested-by.ts, 409 `audit_inconsistent`).
 * - Once approved, a case is closed only by one of the two people who granted it (the opener or the
 *   approver); anyone else is refused (`not_case_party`, audited).
 * - Every change is audited with its actor in the transaction that makes it; audit entries hold
 *   ids (the case, its waybills and accounts), never the free-text title or reason (which may
 *   name people).
 */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Selectable } from 'kysely';
import type { CasesTable, Database } from '../store/schema.js';
import type { AuditWriter } from '../audit/writer.js';
import type { Clock } from '../ops/clock.js';
import { AppError } from '../errors.js';
import { assertIdentifiers, WAYBILL_MAX } from '../contracts/identifiers.js';
import { linkedAccounts, refuseSameHand, refuseSelf } from '../access/self.js';
import { actorInTrail, refuseInconsistent, trailRequester } from '../audit/requested-by.js';
import type { AuditEntryInput } from '../audit/kinds.js';
import { actorAccount, actorName, type Actor, type RequestContext } from '../identity/types.js';

export type CaseStatus = 'pending' | 'open' | 'closed';

export interface CaseInput {
  title: string;
  reason: string;
  waybills?: string[] | undefined;
  accounts?: string[] | undefined;
}

/** Most reveals a case lists (newest first); `reveals_truncated` says when there are more. */
const REVEALS_LISTED = 1000;

export interface CasesDeps {
  db: Kysely<Database>;
  audit: AuditWriter;
  clock: Clock;
}

type CaseRow = Selectable<CasesTable>;

const iso = (v: Date | string | null) => (v === null ? null : new Date(v).toISOString());

export function createCases(deps: CasesDeps) {
  const { db, audit, clock } = deps;

  const missing = (values: string[], known: Array<{ v: string }>) => {
    const found = new Set(known.map((r) => r.v));
    return values.filter((v) => !found.has(v));
  };
  const unknownWaybills = async (values: string[]) =>
    values.length ? missing(values, await db.selectFrom('waybills').select('waybill as v').where('waybill', 'in', values).execute()) : [];
  const unknownAccounts = async (values: string[]) =>
    values.length ? missing(values, await db.selectFrom('accounts').select('id as v').where('id', 'in', values).execute()) : [];

  async function validate(input: CaseInput) {
    const waybills = [...new Set(input.waybills ?? [])];
    const accounts = [...new Set(input.accounts ?? [])];
    // Identifiers before the lookup: a phone typed as a waybill is refused without being echoed.
    assertIdentifiers(waybills.map((value, i) => ({ field: `waybills[${i}]`, value, max: WAYBILL_MAX })));
    if (!waybills.length && !accounts.length) {
      throw new AppError('validation_failed', 'a case names the waybills or accounts it covers (at least one)', { fields: [{ field: 'waybills', code: 'required', message: 'name waybills or accounts' }] });
    }
    for (const [field, absent] of [['waybills', await unknownWaybills(waybills)], ['accounts', await unknownAccounts(accounts)]] as const) {
      if (absent.length) {
        throw new AppError('validation_failed', `${field}: ${absent.length} unknown (${absent.slice(0, 5).join(', ')}${absent.length > 5 ? ', …' : ''})`, { fields: [{ field, code: 'unknown', message: 'does not exist' }] });
      }
    }
    return { waybills, accounts };
  }

  async function open(input: CaseInput, actor: Actor, ctx: RequestContext) {
    const by = actorName(actor);
    const me = actorAccount(actor);
    const { waybills, accounts } = await validate(input);
    const id = `case-${randomUUID()}`;
    const ts = new Date(clock.now());
    // Waybill numbers and account ids (the scope an auditor checks), never the free text.
    const detail = { case: id, waybills, accounts, actor: by };
    if (me && accounts.includes(me)) {
      await refuseSelf(audit, { kind: 'case.opened', ts, account: me, detail }, actor, ctx, 'open a case that names your own account');
    }
    // Nor one naming an account linked to the opener by creation (attack review 10: a puppet opened a case on its creator).
    if (me && accounts.length) await refuseSameHand(db, audit, { kind: 'case.opened', ts, account: me, detail }, actor, ctx, 'open a case that names your own account', accounts);
    await audit.append([{ kind: 'case.opened', ts, decision: 'ok', account: me, ip: ctx.ip, requestId: ctx.requestId, detail }], async (tx) => {
      await tx.insertInto('cases').values({ id, title: input.title, reason: input.reason, status: 'pending', opened_by: by, approved_by: null, closed_by: null, close_note: null, created_at: ts, approved_at: null, closed_at: null }).execute();
      if (waybills.length) await tx.insertInto('case_waybills').values(waybills.map((waybill) => ({ case_id: id, waybill }))).execute();
      if (accounts.length) await tx.insertInto('case_accounts').values(accounts.map((account) => ({ case_id: id, account }))).execute();
    });
    return (await get(id))!;
  }

  async function load(id: string) {
    const row = await db.selectFrom('cases').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new AppError('not_found', `case ${id} does not exist`);
    const accounts = (await db.selectFrom('case_accounts').select('account').where('case_id', '=', id).orderBy('account').execute()).map((r) => r.account);
    return { row, accounts };
  }

  /** Pending → open, by an analyst other than the one who opened it and not named by it (nor linked to either by account creation). */
  async function approve(id: string, actor: Actor, ctx: RequestContext) {
    const by = actorName(actor);
    const me = actorAccount(actor);
    const { row, accounts } = await load(id);
    const ts = new Date(clock.now());
    const detail = { case: id, actor: by };
    // Who opened it is who the trail says (attack review 10: `cases.opened_by` rewritten to another analyst).
    await hideFromSubject(id, accounts, { kind: 'case.approved', ts, account: me, detail }, actor, ctx);
    const openedBy = await trailRequester(db, audit, { of: 'case', id, row: row.opened_by }, { kind: 'case.approved', ts, account: me, detail }, actor, ctx);
    await refuseSameHand(db, audit, { kind: 'case.approved', ts, account: me, detail }, actor, ctx, 'approve a case you opened or one that names you', [openedBy, ...accounts]);
    if (row.status !== 'pending') throw new AppError('conflict', `case ${id} is ${row.status}; only a pending case is approved`);
    await audit.append([{ kind: 'case.approved', ts, decision: 'ok', account: me, ip: ctx.ip, requestId: ctx.requestId, detail: { ...detail, opened_by: openedBy } }], async (tx) => {
      const moved = await tx.updateTable('cases').set({ status: 'open', approved_by: by, approved_at: ts }).where('id', '=', id).where('status', '=', 'pending').returning('id').executeTakeFirst();
      if (!moved) throw new AppError('conflict', `case ${id} is no longer pending`);
    });
    return (await get(id))!;
  }

  /**
   * The approver of a case as its `case.approved` entry recorded it, or null for a case still
   * pending in both the row and the trail. A row that disagrees (approver rewritten, or an approved
   * case put back to pending so anyone may decline it) is refused: 409, audited.
   */
  async function trailApprover(id: string, row: CaseRow, refusal: Omit<AuditEntryInput, 'decision' | 'reason' | 'ip' | 'requestId'>, actor: Actor, ctx: RequestContext) {
    const trail = await actorInTrail(db, 'case.approved', 'case', id);
    if (trail === null && row.approved_by === null && row.status === 'pending') return null;
    if (trail !== null && trail === row.approved_by) return trail;
    return refuseInconsistent(audit, { column: 'cases.approved_by', id, kind: 'case.approved', trail, who: 'approver' }, refusal, actor, ctx);
  }

  async function close(id: string, note: string | undefined, actor: Actor, ctx: RequestContext) {
    const by = actorName(actor);
    const me = actorAccount(actor);
    const { row, accounts } = await load(id);
    const ts = new Date(clock.now());
    const detail = { case: id, actor: by };
    // Not the subject, nor an account linked to a subject by creation (attack review 7: an it_admin's puppet analyst closed the case about its creator).
    await hideFromSubject(id, accounts, { kind: 'case.closed', ts, account: me, detail }, actor, ctx);
    await refuseSameHand(db, audit, { kind: 'case.closed', ts, account: me, detail }, actor, ctx, 'close a case that names you', accounts);
    // Once two people granted it, one of them ends it: not a third analyst alone (attack review 9),
    // the two as the trail recorded them (review 11: the row's names rewritten let a third close it).
    const refusal = { kind: 'case.closed' as const, ts, account: me, detail };
    const approvedBy = await trailApprover(id, row, refusal, actor, ctx);
    if (approvedBy !== null) {
      const openedBy = await trailRequester(db, audit, { of: 'case', id, row: row.opened_by }, refusal, actor, ctx);
      if (by !== openedBy && by !== approvedBy) {
        const err = new AppError('not_case_party', `case ${id} is closed by the analyst who opened it (${openedBy}) or the one who approved it (${approvedBy}); ask one of them`);
        await audit.append([{ kind: 'case.closed', ts, decision: 'denied', reason: err.code, account: me, ip: ctx.ip, requestId: ctx.requestId, detail: { ...detail, opened_by: openedBy, approved_by: approvedBy } }]);
        throw err;
      }
    }
    if (row.status === 'closed') throw new AppError('conflict', `case ${id} is already closed`);
    await audit.append([{ kind: 'case.closed', ts, decision: 'ok', account: me, ip: ctx.ip, requestId: ctx.requestId, detail: { ...detail, was: row.status } }], async (tx) => {
      const moved = await tx.updateTable('cases').set({ status: 'closed', closed_by: by, closed_at: ts, close_note: note ?? null }).where('id', '=', id).where('status', '<>', 'closed').returning('id').executeTakeFirst();
      if (!moved) throw new AppError('conflict', `case ${id} is already closed`);
    });
    return (await get(id))!;
  }

  function present(row: CaseRow, waybills: string[], accounts: string[]) {
    return {
      id: row.id,
      title: row.title,
      reason: row.reason,
      status: row.status,
      opened_by: row.opened_by,
      approved_by: row.approved_by,
      closed_by: row.closed_by,
      close_note: row.close_note,
      waybills,
      accounts,
      created_at: iso(row.created_at)!,
      approved_at: iso(row.approved_at),
      closed_at: iso(row.closed_at),
    };
  }

  async function members(ids: string[]) {
    if (!ids.length) return { waybills: new Map<string, string[]>(), accounts: new Map<string, string[]>() };
    const [w, a] = await Promise.all([
      db.selectFrom('case_waybills').select(['case_id', 'waybill as v']).where('case_id', 'in', ids).orderBy('waybill').execute(),
      db.selectFrom('case_accounts').select(['case_id', 'account as v']).where('case_id', 'in', ids).orderBy('account').execute(),
    ]);
    const group = (rows: Array<{ case_id: string; v: string }>) => {
      const m = new Map<string, string[]>();
      for (const r of rows) m.set(r.case_id, [...(m.get(r.case_id) ?? []), r.v]);
      return m;
    };
    return { waybills: group(w), accounts: group(a) };
  }

  /**
   * A case that names the actor (or an account linked to it by creation) answers as one that does
   * not exist — to approve or close as to read (attack review 11: a 403 `self_action` on an id the
   * trail showed confirmed that the case named its subject); the attempt is audited as refused.
   */
  async function hideFromSubject(id: string, accounts: readonly string[], entry: Omit<AuditEntryInput, 'decision' | 'reason' | 'ip' | 'requestId'>, actor: Actor, ctx: RequestContext) {
    const hidden = new Set(await hiddenFrom(actor));
    if (!accounts.some((a) => hidden.has(a))) return;
    await audit.append([{ ...entry, decision: 'denied', reason: 'self_action', ip: ctx.ip, requestId: ctx.requestId }]);
    throw new AppError('not_found', `case ${id} does not exist`);
  }

  /** The reader and the accounts linked to it by creation: cases naming any of them are not shown to it. */
  async function hiddenFrom(actor: Actor): Promise<string[]> {
    const me = actorAccount(actor);
    return me ? [me, ...(await linkedAccounts(db, me))] : [];
  }

  /** Newest first; `after`: the keyset of the last case of the previous page (created_at desc, id). */
  async function list(q: { status?: CaseStatus | undefined; limit?: number | undefined; after?: { ts: string; id: string } | undefined }, actor: Actor) {
    const hidden = await hiddenFrom(actor);
    let query = db.selectFrom('cases').selectAll();
    if (q.status) query = query.where('status', '=', q.status);
    const after = q.after;
    if (after) {
      const ts = new Date(after.ts);
      query = query.where((eb) => eb.or([eb('created_at', '<', ts), eb.and([eb('created_at', '=', ts), eb('id', '>', after.id)])]));
    }
    if (hidden.length) query = query.where(({ not, exists, selectFrom }) => not(exists(selectFrom('case_accounts').select('case_accounts.case_id').whereRef('case_accounts.case_id', '=', 'cases.id').where('case_accounts.account', 'in', hidden))));
    const rows = await query.orderBy('created_at', 'desc').orderBy('id').limit(q.limit ?? 100).execute();
    const m = await members(rows.map((r) => r.id));
    return rows.map((r) => present(r, m.waybills.get(r.id) ?? [], m.accounts.get(r.id) ?? []));
  }

  /** The case and the reveals made under it (from the audit trail, newest first): those whose basis includes the case. */
  async function get(id: string) {
    const row = await db.selectFrom('cases').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) return null;
    const m = await members([id]);
    const reveals = await db
      .selectFrom('audit_log')
      .select(['seq', 'ts', 'account', 'waybill', 'fields'])
      .where('kind', '=', 'access.reveal')
      .where(sql<boolean>`detail ? 'case'`)
      .where(sql<string>`detail->>'case'`, '=', id)
      // Only reveals the case backed (attack review 9: a courier's allowed reveal carried a case it never had).
      .where(sql<boolean>`(',' || coalesce(detail->>'basis', '') || ',') like '%,case,%'`)
      .where('decision', '=', 'allowed')
      .orderBy('seq', 'desc')
      .limit(REVEALS_LISTED + 1)
      .execute();
    return {
      ...present(row, m.waybills.get(id) ?? [], m.accounts.get(id) ?? []),
      reveals: reveals.slice(0, REVEALS_LISTED).map((r) => ({ seq: Number(r.seq), ts: iso(r.ts)!, account: r.account, waybill: r.waybill, fields: r.fields ? r.fields.split(',') : [] })),
      reveals_truncated: reveals.length > REVEALS_LISTED,
    };
  }

  /**
   * A case as its reader may see it: one that names the reader (or an account linked to it by
   * creation) answers as not found — the subject of an investigation does not read it (attack
   * review 7) — and the attempt is audited.
   */
  async function read(id: string, actor: Actor, ctx: RequestContext) {
    const found = await get(id);
    if (!found) return null;
    const hidden = new Set(await hiddenFrom(actor));
    if (found.accounts.some((a) => hidden.has(a))) {
      await audit.append([{ kind: 'case.viewed', ts: new Date(clock.now()), decision: 'denied', reason: 'self_action', account: actorAccount(actor), ip: ctx.ip, requestId: ctx.requestId, detail: { case: id, actor: actorName(actor) } }]);
      return null;
    }
    return found;
  }

  return { open, approve, close, list, read };
}
export type Cases = ReturnType<typeof createCases>;
