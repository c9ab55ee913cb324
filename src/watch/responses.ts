/**
 * Responses: what the gateway does to an account the engine (or an analyst) judged risky —
 * step-up, throttle, suspend — and the gate that enforces step-up and throttle on the account's
 * next request. A suspension is enforced by identity: a suspend response suspends the account
 * (which ends its sessions), and principal resolution is the one place that refuses it.
 *
 * Invariants:
 * - A response is recorded (and audited) before the gateway enforces it — a suspension is made
 *   first, so a suspend response on record is always in force; responses only escalate
 *   automatically; a PUT never lowers one (409 `lift_first`): only an analyst's own account
 *   lifts one (DELETE, with a reason; not the admin token), and never their own.
 * - A throttle counts records revealed, batch included: it is asked with the number of records
 *   and admits at most what is left of the hour; the count survives a restart (audit trail).
 * - The subject is told a generic reason; the detector, its figures and the alert are for
 *   analysts (`detail`).
 * - `shared` (PostgreSQL, several processes): the response in force is read from
 *   account_responses on every request (with the caller's session, in the same statement:
 *   identity/principal.ts; otherwise the reads of one event-loop turn in one query), and the
 *   throttle counts in the shared ledger, so a response set at one process holds at every
 *   process on the next request (docs/decisions/0011-shared-ledger.md).
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { AuditWriter } from '../audit/writer.js';
import { actorName, type Actor, type IdentityService, type RequestContext } from '../identity/identity.js';
import type { AccountPrincipal, ResponseGate } from '../access/access.js';
import type { Clock } from '../ops/clock.js';
import type { Logger } from '../ops/logger.js';
import { AppError } from '../errors.js';
import { refuseSameHand } from '../access/self.js';
import { freeTextDetail } from '../audit/free-text.js';
import { createSharedQuotaLedger } from '../access/shared-quota.js';
import { turnBatcher } from '../store/turn-batch.js';
import { responseReadWith, SUSPENDED_MESSAGE } from '../identity/principal.js';

export type ResponseAction = 'step_up' | 'throttle' | 'suspend';
/**
 * A route as the response gate weighs it (src/http/route-gate.ts classifies them): a read, a
 * read a throttled account may not make (the canary list), or a request that changes something.
 */
export type RouteKind = 'read' | 'guarded_read' | 'write';
const RANK: Record<ResponseAction | 'none', number> = { none: 0, step_up: 1, throttle: 2, suspend: 3 };
const HOUR = 3_600_000;

/** What the subject of a response is told: no detector, no thresholds, no alert. */
export const SUBJECT_MESSAGES = {
  step_up: 'log in again to continue',
  step_up_mfa: 'log in again with your one-time code to continue',
  throttle: 'reveals from this account are limited pending review; contact your security team',
  /** A throttled account keeps reading; it changes nothing (attack review 10). */
  throttle_actions: 'this account may only read pending review; contact your security team',
} as const;
/** The detection engine acting on its own (automatic escalation). */
const DETECTION: Actor = { kind: 'system', name: 'warden-detect' };
const DETECTION_CTX: RequestContext = { ip: null, requestId: 'warden-detect' };
/** The reason stored on an account a suspend response suspended (identity tells the holder this, never the detector). */
const SUSPENDED_REASON = 'pending review; contact your security team';

interface ActiveResponse {
  action: ResponseAction;
  /** The detail, for analysts only. */
  reason: string;
  since: number;
  alert: string | null;
}

export interface ResponsesDeps {
  db: Kysely<Database>;
  identity: IdentityService;
  audit: AuditWriter;
  clock: Clock;
  logger: Logger;
  /** Records an account under `throttle` may still reveal per hour. */
  throttlePerHour: number;
  /** Several processes on one database: read responses and count throttles there. */
  shared?: boolean | undefined;
}

export function createResponses(deps: ResponsesDeps) {
  const { db, audit, clock, logger } = deps;
  const active = new Map<string, ActiveResponse>();
  /** Records admitted under a throttle in the last hour, per account. */
  const throttled = new Map<string, Array<{ t: number; n: number }>>();
  const shared = deps.shared === true;
  const readResponses = turnBatcher<string, ActiveResponse | undefined>(async (accounts) => {
    const rows = await db.selectFrom('account_responses').selectAll().where('account', 'in', [...new Set(accounts)]).execute();
    const byAccount = new Map(rows.map((r) => [r.account, { action: r.action, reason: r.reason, since: new Date(r.since).getTime(), alert: r.alert_id }]));
    return accounts.map((a) => byAccount.get(a));
  });
  /** The response in force: this process's map, or the database when processes share it. */
  const current = (account: string): Promise<ActiveResponse | undefined> => (shared ? readResponses(account) : Promise.resolve(active.get(account)));
  /**
   * The response in force for a request: when processes share the database, the one read with
   * the caller's session at the start of this request (same statement, same moment), else read.
   */
  const currentFor = (principal: AccountPrincipal): Promise<ActiveResponse | undefined> => {
    if (!shared) return Promise.resolve(active.get(principal.account.id));
    const seen = responseReadWith(principal);
    return seen === undefined ? readResponses(principal.account.id) : Promise.resolve(seen ?? undefined);
  };
  /** Under a throttle, each record is one count in the shared ledger, per response (a new response starts afresh). */
  const throttleLedger = shared
    ? createSharedQuotaLedger({ db, namespace: 't', limits: { quotas: { courier: { account: { per_hour: deps.throttlePerHour } } } as never } })
    : null;

  async function load(): Promise<void> {
    const now = clock.now();
    for (const r of await db.selectFrom('account_responses').selectAll().execute()) {
      const since = new Date(r.since).getTime();
      active.set(r.account, { action: r.action, reason: r.reason, since, alert: r.alert_id });
      if (r.action === 'throttle') await recount(r.account, Math.max(since, now - HOUR));
    }
  }

  /** After a restart, a throttle remembers what the account revealed under it this hour. */
  async function recount(account: string, from: number): Promise<void> {
    const rows = await db.selectFrom('audit_log').select('ts').where('account', '=', account).where('ts', '>=', new Date(from)).where('kind', '=', 'access.reveal').where('decision', '=', 'allowed').execute();
    throttled.set(account, rows.map((r) => ({ t: new Date(r.ts).getTime(), n: 1 })));
  }

  /**
   * Records (audited) and enforces a response. A suspension is identity's: the account is
   * suspended first (principal resolution is the one place that refuses a suspended account), so
   * a suspend response on record is never one that is not enforced.
   *
   * Never lowers the response in force (attack review 11: a step-up or throttle put over a
   * suspension lifted it, skipping the lift's confirmation; a step-up over detection's throttle
   * dropped its alert and gave the full rate back after one login): the row is replaced only when
   * the response in force ranks no higher, checked in the statement that writes it (409
   * `lift_first`); lowering goes through `clear`. Raising keeps the alert the response came from;
   * a throttle put again keeps its hour (its count is not reset). `replace` is the engine's, for a
   * suspend response whose suspension was lifted around it (`liftedMeanwhile`): not in force.
   */
  async function apply(account: string, action: ResponseAction, reason: string, alert: string | null, detail: Record<string, string | number>, actor: Actor, ctx: RequestContext, replace = false) {
    const previous = await current(account);
    if (!replace && previous && RANK[previous.action] > RANK[action]) await refuseLowering(account, action, previous.action, actor, ctx);
    if (action === 'suspend') await suspend(account, actor, ctx);
    const now = new Date(clock.now());
    const kept = alert ?? previous?.alert ?? null;
    let stored: { since: Date; alert_id: string | null } | undefined;
    await audit.append(
      [{ kind: 'watch.response_applied', ts: now, decision: 'ok', account, reason: action, ip: ctx.ip, requestId: ctx.requestId, detail: { ...(kept ? { alert: kept } : {}), ...detail, actor: actorName(actor) } }],
      async (tx) => {
        stored = await tx
          .insertInto('account_responses')
          .values({ account, action, reason, alert_id: alert, since: now })
          .onConflict((oc) => {
            const update = oc.column('account').doUpdateSet({
              action,
              reason,
              alert_id: alert ?? sql<string | null>`account_responses.alert_id`,
              since: action === 'throttle' ? sql<Date>`case when account_responses.action = 'throttle' then account_responses.since else excluded.since end` : now,
            });
            return replace ? update : update.where('account_responses.action', 'in', notAbove(action));
          })
          .returning(['since', 'alert_id'])
          .executeTakeFirst();
        if (!stored) throw lowering(account, action, (await tx.selectFrom('account_responses').select('action').where('account', '=', account).executeTakeFirst())?.action ?? 'suspend');
      },
    );
    const since = new Date(stored!.since).getTime();
    active.set(account, { action, reason, since, alert: stored!.alert_id });
    if (action === 'throttle' && since === now.getTime()) throttled.set(account, []);
    logger.warn({ account, action, alert: stored!.alert_id }, 'response applied');
    return { account, action, reason, since: new Date(since).toISOString() };
  }

  /** The actions ranking no higher than `action`: those a PUT of `action` may replace. */
  const notAbove = (action: ResponseAction): ResponseAction[] => (['step_up', 'throttle', 'suspend'] as const).filter((a) => RANK[a] <= RANK[action]);
  const lowering = (account: string, action: ResponseAction, inForce: ResponseAction) =>
    new AppError('lift_first', `a ${inForce} response is in force on account ${account}: ${action} would lower it; lift it first (DELETE /api/v1/accounts/${account}/response, by a security analyst, with a reason), then apply ${action}`);

  /** A PUT that would lower the response in force: refused (409 `lift_first`), audited as denied. */
  async function refuseLowering(account: string, action: ResponseAction, inForce: ResponseAction, actor: Actor, ctx: RequestContext): Promise<never> {
    const err = lowering(account, action, inForce);
    await audit.append([{ kind: 'watch.response_applied', ts: new Date(clock.now()), decision: 'denied', account, reason: err.code, ip: ctx.ip, requestId: ctx.requestId, detail: { action, in_force: inForce, actor: actorName(actor) } }]);
    throw err;
  }

  /** From the engine: only ever upwards. */
  async function escalate(account: string, action: ResponseAction, alert: { id: string; detector: string; summary: string; risk: number }): Promise<void> {
    const now = await current(account);
    const lifted = now !== undefined && (await liftedMeanwhile(account, now));
    if (now && RANK[now.action] >= RANK[action] && !lifted) return;
    const reason = `${alert.detector}: ${alert.summary}`.slice(0, 300);
    try {
      await apply(account, action, reason, alert.id, { alert: alert.id, detector: alert.detector, risk: Math.round(alert.risk) }, DETECTION, DETECTION_CTX, lifted);
    } catch (err) {
      // An analyst put a stronger response meanwhile: it stands.
      if (!(err instanceof AppError && err.code === 'lift_first')) throw err;
    }
  }

  /** By an analyst, about someone else. */
  async function set(account: string, action: ResponseAction, reason: string, actor: Actor, ctx: RequestContext) {
    // Not on yourself, nor through an account linked to you by creation (a puppet lowering its creator's response).
    await refuseSameHand(db, audit, { kind: 'watch.response_applied', ts: new Date(clock.now()), account, detail: { action } }, actor, ctx, 'set a response on your own account', [account]);
    if (!(await deps.identity.loadAccount(account))) throw new AppError('not_found', `account ${account} does not exist`);
    return apply(account, action, reason, null, {}, actor, ctx);
  }

  /**
   * Lifts the response on an account (a detection suspension too): the one way to lower one. A
   * security analyst's own account, never the shared admin token (attack review 11: it lifted a
   * detection suspension with no analyst at all; 403, audited), not on their own account nor one
   * linked to it; with a reason, which may name people: the trail keeps its fingerprint only
   * (audit/free-text.ts), the account's status reason names who lifted it.
   */
  async function clear(account: string, reason: string, actor: Actor, ctx: RequestContext): Promise<{ account: string; cleared: string | null }> {
    const ts = new Date(clock.now());
    if (actor.kind !== 'account') {
      const err = new AppError('forbidden', 'the admin token may not lift a response: a security analyst does, from their own account, with a reason');
      await audit.append([{ kind: 'watch.response_cleared', ts, decision: 'denied', account, reason: err.code, ip: ctx.ip, requestId: ctx.requestId, detail: { actor: actorName(actor) } }]);
      throw err;
    }
    await refuseSameHand(db, audit, { kind: 'watch.response_cleared', ts, account, detail: {} }, actor, ctx, 'clear or lower the response on your own account', [account]);
    const was = await current(account);
    await audit.append(
      [{ kind: 'watch.response_cleared', ts, decision: 'ok', account, reason: was?.action ?? 'none', ip: ctx.ip, requestId: ctx.requestId, detail: { actor: actorName(actor), ...(was?.alert ? { alert: was.alert } : {}), ...freeTextDetail(reason) } }],
      async (tx) => {
        await tx.deleteFrom('account_responses').where('account', '=', account).execute();
      },
    );
    active.delete(account);
    throttled.delete(account);
    if (was?.action === 'suspend') await lift(account, actor, ctx);
    return { account, cleared: was?.action ?? null };
  }

  async function suspend(account: string, actor: Actor, ctx: RequestContext): Promise<void> {
    const info = await deps.identity.loadAccount(account);
    if (info && info.status !== 'suspended') await deps.identity.setStatus(account, 'suspended', SUSPENDED_REASON, actor, ctx);
  }

  async function lift(account: string, actor: Actor, ctx: RequestContext): Promise<void> {
    const info = await deps.identity.loadAccount(account);
    if (info?.status === 'suspended') await deps.identity.setStatus(account, 'active', `response lifted by ${actorName(actor)}`, actor, ctx);
  }

  /**
   * A suspend response whose account is not suspended no longer holds it: a new alert enforces
   * again. Identity refuses an unsuspend while a suspend response stands (it is lifted here, with
   * the response), so this is only a suspension lifted before that rule, or in a race with it.
   */
  async function liftedMeanwhile(account: string, current: ActiveResponse): Promise<boolean> {
    return current.action === 'suspend' && (await deps.identity.loadAccount(account))?.status !== 'suspended';
  }

  /** A session opened after the response, with the second factor when the account has one; else refused. */
  function stepUp(principal: AccountPrincipal, r: ActiveResponse): AppError | null {
    const fresh = principal.sessionCreatedAt !== null && principal.sessionCreatedAt > r.since;
    if (fresh && (principal.mfa || !principal.account.mfaEnrolled)) return null;
    return new AppError('step_up_required', principal.account.mfaEnrolled ? SUBJECT_MESSAGES.step_up_mfa : SUBJECT_MESSAGES.step_up);
  }

  const gate = {
    async refuse(principal: AccountPrincipal, _action: 'view' | 'search' | 'reveal', _now: number) {
      const r = await currentFor(principal);
      // A suspension is not checked here: a suspend response suspends the account, and identity's
      // principal resolution refuses it before any route runs.
      if (!r) return null;
      return r.action === 'step_up' ? stepUp(principal, r) : null;
    },
    /**
     * What the response in force means for any route, asked by the authorization hook (attack
     * review 10: a response on an analyst only held on the data path): step-up refuses every
     * route until a fresh session, as it does a view; a suspend response refuses (identity has
     * already, unless the suspension was lifted around the rule); a throttle leaves reads — its
     * reveals are counted by `admit` — and refuses every change and the guarded reads.
     */
    async route(principal: AccountPrincipal, kind: RouteKind, _now: number): Promise<AppError | null> {
      const r = await currentFor(principal);
      if (!r) return null;
      if (r.action === 'step_up') return stepUp(principal, r);
      if (r.action === 'suspend') return new AppError('account_suspended', SUSPENDED_MESSAGE);
      return kind === 'read' ? null : new AppError('account_throttled', SUBJECT_MESSAGES.throttle_actions);
    },
    async admit(principal: AccountPrincipal, records: number, now: number) {
      const id = principal.account.id;
      const r = await currentFor(principal);
      if (r?.action !== 'throttle') return { admitted: records, refusal: null, release: () => {} };
      if (throttleLedger) return admitShared(`${id}@${r.since}`, records, now, throttleLedger);
      const log = (throttled.get(id) ?? []).filter((e) => e.t > now - HOUR);
      const used = log.reduce((sum, e) => sum + e.n, 0);
      const admitted = Math.max(0, Math.min(records, deps.throttlePerHour - used));
      const entry = { t: now, n: admitted };
      if (admitted) log.push(entry);
      throttled.set(id, log);
      const oldest = log[0]?.t ?? now;
      const refusal = admitted < records ? new AppError('throttled', SUBJECT_MESSAGES.throttle, { retryAfterSeconds: Math.max(1, Math.ceil((oldest + HOUR - now) / 1000)) }) : null;
      return { admitted, refusal, release: () => void (entry.n = 0) };
    },
  } satisfies ResponseGate & { route: unknown };

  /** Each record asked alone, in one statement: the first ones that fit the hour are admitted. */
  async function admitShared(key: string, records: number, now: number, ledger: NonNullable<typeof throttleLedger>) {
    const subject = { role: 'courier' as const, account: key, device: null, site: null };
    const results = await Promise.all(Array.from({ length: records }, () => ledger.tryConsume(subject, 1, now)));
    const admitted = results.filter((q) => q.ok).length;
    const refused = results.find((q) => !q.ok);
    const refusal = refused && !refused.ok ? new AppError('throttled', SUBJECT_MESSAGES.throttle, { retryAfterSeconds: refused.retryAfterSeconds }) : null;
    return { admitted, refusal, release: () => results.forEach((q) => q.ok && q.release()) };
  }

  /** The response in force, with its detail: for analysts (the subject sees a generic reason). */
  async function responseOf(account: string) {
    const r = await current(account);
    return r ? { action: r.action, reason: r.reason, alert: r.alert, since: new Date(r.since).toISOString() } : null;
  }

  return { load, escalate, set, clear, gate, responseOf };
}
export type Responses = ReturnType<typeof createResponses>;
