/**
 * Analyst exceptions to detection ("this device / network / account / app build is fine until a
 * date"): stored, handed to the engine, listed, removed — every change audited with its actor.
 *
 * Invariants: nobody adds, approves or removes an exception about themselves — naming their
 * account, or one of the devices or networks they have used, or an account linked to theirs by
 * creation — so no analyst can switch detection off on themselves. Switching detection off takes
 * two analysts (attack review 3: one analyst silenced an accomplice until 2099): a new exception
 * is pending until a second person approves it — not its requester, nor an account linked to the
 * requester by creation — and only then does the engine get it. An exception lasts at most
 * MAX_EXCEPTION_DAYS. Removing one (which turns detection back on) takes one analyst.
 * Only an analyst's own account asks for one (attack review 8): the shared admin token, whose holder
 * set the analysts' first passwords, is refused (403, audited as denied), so it is never one of the two.
 * Attack review 10: the requester an approval is held against is the trail's (audit/requested-by.ts);
 * an exception about a device is about the accounts that enrolled or used it too; the account an
 * exception names exists and is no phone or ID number.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { DetectionEngine } from '../detect/engine.js';
import { exceptionProblem, type DetectionException } from '../detect/exceptions.js';
import type { AuditWriter } from '../audit/writer.js';
import { canonicalDigest } from '../audit/chain.js';
import type { Clock } from '../ops/clock.js';
import { AppError } from '../errors.js';
import { badIdentifierError, badIdentifiers } from '../contracts/identifiers.js';
import { deviceAccounts, footprintOf, isOwn, refuseSameHand, refuseSelf } from '../access/self.js';
import { trailRequester } from '../audit/requested-by.js';
import { actorName, type Actor, type RequestContext } from '../identity/identity.js';

type ExceptionRow = Database['detect_exceptions'] extends infer T ? { [K in keyof T]: unknown } : never;

/** The longest id the exception route takes (src/http/routes/watch.ts). */
const ACCOUNT_ID_MAX = 200;

/** The longest an exception may last from its request (a longer wish is a new, reviewed request later). */
export const MAX_EXCEPTION_DAYS = 90;

export interface ExceptionsDeps {
  db: Kysely<Database>;
  engine: DetectionEngine;
  audit: AuditWriter;
  clock: Clock;
}

/** The account, device or network an exception is about. */
function subjectOf(x: { kind: DetectionException['kind']; account?: string | null | undefined; value: string }) {
  return {
    account: x.account ?? (x.kind === 'account' ? x.value : null),
    device: x.kind === 'device' ? x.value : null,
    network: x.kind === 'network' ? x.value : null,
  };
}

export function createExceptions(deps: ExceptionsDeps) {
  const { db, engine, audit, clock } = deps;

  /** Hands the engine every exception still in force (at start). */
  async function load(): Promise<void> {
    const rows = await db.selectFrom('detect_exceptions').selectAll().where('removed_at', 'is', null).where('approval', '=', 'approved').where('until', '>', new Date(clock.now())).execute();
    for (const x of rows) engine.addException(toException(x));
  }

  /**
   * The account an exception names is an account Warden holds, written as an identifier (attack
   * review 10: `kind: device, account: <a phone number>` was accepted and the number went into the
   * trail's account column). The refusal names the field and the rule, never the value.
   */
  async function checkAccount(input: Omit<DetectionException, 'created_by'>): Promise<void> {
    // An account id may hold `@` (the identifier rule's charset does not): only a personal number in it is refused here.
    const named = [...(input.account !== undefined ? [{ field: 'account', value: input.account }] : []), ...(input.kind === 'account' ? [{ field: 'value', value: input.value }] : [])];
    const [bad] = badIdentifiers(named.map((n) => ({ ...n, value: n.value.replace(/@/g, '.'), max: ACCOUNT_ID_MAX }))).filter((x) => x.problem === 'phone' || x.problem === 'id_number');
    if (bad) throw badIdentifierError(bad);
    if (input.account === undefined) return;
    if (!(await db.selectFrom('accounts').select('id').where('id', '=', input.account).executeTakeFirst())) {
      throw new AppError('validation_failed', 'account: names no account Warden holds (an exception scoped to an account names an existing account id)', { fields: [{ field: 'account', code: 'unknown', message: 'does not exist' }] });
    }
  }

  async function add(input: Omit<DetectionException, 'created_by'>, actor: Actor, ctx: RequestContext) {
    // First: even a refusal's audit entry names the subject account, so it must be one.
    await checkAccount(input);
    const ts = new Date(clock.now());
    const subject = subjectOf(input);
    if (actor.kind !== 'account') {
      const err = new AppError('forbidden', 'the admin token may not ask for a detection exception: a security analyst asks from their own account, and a second analyst approves it');
      await audit.append([{ kind: 'watch.exception_added', ts, decision: 'denied', reason: err.code, account: subject.account, ip: ctx.ip, requestId: ctx.requestId, detail: { exception_kind: input.kind, actor: actorName(actor) } }]);
      throw err;
    }
    if (isOwn(await footprintOf(db, actor, ctx), subject)) {
      await refuseSelf(audit, { kind: 'watch.exception_added', ts, account: subject.account, detail: { exception_kind: input.kind } }, actor, ctx, 'add an exception for yourself (your account, device or network)');
    }
    // Nor through a puppet: not for an account linked to the actor by creation (access/self.ts), nor
    // a device such an account enrolled or used (attack review 10).
    await refuseSameHand(db, audit, { kind: 'watch.exception_added', ts, account: subject.account, detail: { exception_kind: input.kind } }, actor, ctx, 'add an exception for yourself (your account, device or network)', [subject.account, ...(await deviceAccounts(db, [subject.device]))]);
    const untilMs = Date.parse(input.until);
    if (untilMs <= ts.getTime()) throw new AppError('validation_failed', 'until: must be in the future');
    if (untilMs > ts.getTime() + MAX_EXCEPTION_DAYS * 86_400_000) throw new AppError('validation_failed', `until: an exception lasts at most ${MAX_EXCEPTION_DAYS} days`);
    const id = randomUUID();
    const x = { ...input, created_by: actorName(actor) };
    // The engine's own check (kinds, values), without handing it over: that waits for approval.
    const problem = exceptionProblem(x);
    if (problem) throw new AppError('validation_failed', problem.slice(0, 200));
    await audit.append(
      [{ kind: 'watch.exception_added', ts, decision: 'ok', account: subject.account, ip: ctx.ip, requestId: ctx.requestId, reason: input.kind, detail: { exception: id, until: input.until, actor: x.created_by, approval: 'pending', value_sha256: canonicalDigest(input.value) } }],
      async (tx) => {
        await tx
          .insertInto('detect_exceptions')
          .values({ id, kind: input.kind, account: subject.account, value: input.value, until: new Date(input.until), reason: input.reason, created_by: x.created_by, created_at: ts, removed_at: null, approval: 'pending', approved_by: null, approved_at: null })
          .execute();
      },
    );
    return { id, ...x, approval: 'pending' as const, approved_by: null };
  }

  /** The second analyst's approval: only then is the exception in force (handed to the engine). */
  async function approve(id: string, actor: Actor, ctx: RequestContext) {
    const row = await db.selectFrom('detect_exceptions').selectAll().where('id', '=', id).where('removed_at', 'is', null).executeTakeFirst();
    if (!row) throw new AppError('not_found', `exception ${id} does not exist`);
    if (row.approval !== 'pending') throw new AppError('conflict', `exception ${id} is already approved`);
    const ts = new Date(clock.now());
    if (new Date(row.until).getTime() <= ts.getTime()) throw new AppError('conflict', `exception ${id} has expired`);
    const entry = { kind: 'watch.exception_approved' as const, ts, account: row.account, detail: { exception: id } };
    const subject = subjectOf(row);
    if (isOwn(await footprintOf(db, actor, ctx), subject)) await refuseSelf(audit, entry, actor, ctx, 'approve an exception about yourself');
    // Who asked is who the trail says (attack review 10: `created_by` rewritten to another analyst).
    const requestedBy = await trailRequester(db, audit, { of: 'exception', id, row: row.created_by }, entry, actor, ctx);
    await refuseSameHand(db, audit, entry, actor, ctx, 'approve an exception you requested or that is about yourself', [requestedBy, subject.account, ...(await deviceAccounts(db, [subject.device]))]);
    const x = toException(row);
    await audit.append(
      [{ kind: 'watch.exception_approved', ts, decision: 'ok', account: row.account, ip: ctx.ip, requestId: ctx.requestId, reason: row.kind, detail: { exception: id, until: x.until, actor: actorName(actor), requested_by: row.created_by } }],
      async (tx) => {
        const r = await tx.updateTable('detect_exceptions').set({ approval: 'approved', approved_by: actorName(actor), approved_at: ts }).where('id', '=', id).where('approval', '=', 'pending').where('removed_at', 'is', null).executeTakeFirst();
        if (Number(r.numUpdatedRows) !== 1) throw new AppError('conflict', `exception ${id} was approved or removed meanwhile`);
      },
    );
    engine.addException(x);
    return { id, ...x, approval: 'approved' as const, approved_by: actorName(actor) };
  }

  async function remove(id: string, actor: Actor, ctx: RequestContext) {
    const row = await db.selectFrom('detect_exceptions').selectAll().where('id', '=', id).where('removed_at', 'is', null).executeTakeFirst();
    if (!row) throw new AppError('not_found', `exception ${id} does not exist`);
    const ts = new Date(clock.now());
    if (isOwn(await footprintOf(db, actor, ctx), subjectOf(row))) {
      await refuseSelf(audit, { kind: 'watch.exception_removed', ts, account: row.account, detail: { exception: id } }, actor, ctx, 'remove an exception about yourself');
    }
    const subject = subjectOf(row);
    await refuseSameHand(db, audit, { kind: 'watch.exception_removed', ts, account: row.account, detail: { exception: id } }, actor, ctx, 'remove an exception about yourself', [subject.account, ...(await deviceAccounts(db, [subject.device]))]);
    await audit.append(
      [{ kind: 'watch.exception_removed', ts, decision: 'ok', account: row.account, ip: ctx.ip, requestId: ctx.requestId, reason: row.kind, detail: { exception: id, actor: actorName(actor) } }],
      async (tx) => {
        await tx.updateTable('detect_exceptions').set({ removed_at: ts }).where('id', '=', id).execute();
      },
    );
    if (row.approval === 'approved') engine.removeException({ kind: row.kind, value: row.value, ...(row.account ? { account: row.account } : {}) });
    return { id, removed: true };
  }

  async function list() {
    const rows = await db.selectFrom('detect_exceptions').selectAll().where('removed_at', 'is', null).orderBy('created_at', 'desc').limit(1000).execute();
    return rows.map((r) => ({ ...r, until: new Date(r.until).toISOString(), created_at: new Date(r.created_at).toISOString(), approved_at: r.approved_at ? new Date(r.approved_at).toISOString() : null }));
  }

  return { load, add, approve, remove, list };
}
export type Exceptions = ReturnType<typeof createExceptions>;

function toException(x: ExceptionRow): DetectionException {
  return {
    kind: x.kind as DetectionException['kind'],
    ...(x.account ? { account: x.account as string } : {}),
    value: x.value as string,
    until: new Date(x.until as string | Date).toISOString(),
    reason: x.reason as string,
    created_by: x.created_by as string,
  };
}
