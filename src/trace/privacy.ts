/**
 * Per-viewer privacy numbers, on the model of the AXB bindings telecom clouds sell: a phone reveal
 * by a role the policy names answers a virtual number X bound to (viewer, waybill, party) instead
 * of the real one. The telephony platform asks `route(X, caller)`: the real number to connect, or a
 * refusal (unknown number, wrong caller, expired). A leaked virtual number names its viewer.
 *
 * Invariants:
 * - One X serves many pairs, but never two live bindings of X for the same viewer (a unique
 *   partial index enforces it); an X is not given to the same viewer again within the cool-down.
 * - A binding ends `expiry_hours_after_delivery` after the delivered / picked-up scan, and at the
 *   latest `max_hours` after it was made.
 * - A pool running low is an alert, not an outage: the cool-down is relaxed first, then the
 *   viewer's oldest live binding is recycled — a reveal is never refused for want of a number.
 * - Routing is a reveal to the platform: audited (`trace.privacy_routed`) before the number is opened.
 * - A binding connects only while the caller's right to the number lasts: the account is active and
 *   the work context (src/access/work-context.ts, judged by the same evaluator as a reveal) still
 *   backs a phone reveal of that party — a reassignment, a closed ticket or case, a suspension ends
 *   it at once, whatever the binding's own expiry says.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { AuditWriter } from '../audit/writer.js';
import type { Clock } from '../ops/clock.js';
import type { Role } from '../contracts/events.js';
import { PURPOSES } from '../contracts/events.js';
import type { Policy, PrivacyNumbers } from '../access/policy.js';
import type { WorkContext } from '../access/work-context.js';
import { evaluateReveal } from '../access/evaluate.js';
import type { AccountInfo } from '../identity/types.js';
import type { AlertOut } from '../detect/engine.js';
import type { PartyName, PiiDecryptor } from '../vault/vault.js';
import type { RequestContext } from '../identity/identity.js';
import { AppError } from '../errors.js';

const HOUR = 3_600_000;
const MAX_POOL = 100_000;

/** The pool's numbers, ranges expanded; a malformed or oversized pool stops the start. */
export function expandPool(pool: readonly string[]): string[] {
  const out = new Set<string>();
  for (const item of pool) {
    const [a, b] = item.split('-');
    const from = Number(a);
    const to = Number(b ?? a);
    if (to < from) throw new Error(`privacy_numbers.pool: range ${item} runs backwards`);
    for (let n = from; n <= to; n++) {
      out.add(String(n));
      if (out.size > MAX_POOL) throw new Error(`privacy_numbers.pool: more than ${MAX_POOL} numbers`);
    }
  }
  return [...out];
}

export interface PrivacyDeps {
  db: Kysely<Database>;
  audit: AuditWriter;
  clock: Clock;
  pii: Pick<PiiDecryptor, 'fetch' | 'open'>;
  settings: PrivacyNumbers;
  raise(alerts: AlertOut[]): Promise<void>;
  /** The access policy: a route is judged by the rules a reveal is. */
  policy: Policy;
  /** The one owner of the work context: what still backs the caller on the bound waybill. */
  work: Pick<WorkContext, 'workOn'>;
  /** The caller's account as it stands now (status, role, site). */
  loadAccount(id: string): Promise<Pick<AccountInfo, 'role' | 'site' | 'siteCity' | 'status' | 'approval'> | null>;
}

export type RefuseReason = 'unknown_number' | 'wrong_caller' | 'expired' | 'account_suspended' | 'work_ended';
export type RouteAnswer = { action: 'connect'; number: string; waybill: string } | { action: 'refuse'; reason: RefuseReason };

interface Row {
  id: string;
  virtual_number: string;
  viewer: string;
  waybill: string;
  party: string;
  created_at: Date | string;
  expires_at: Date | string;
  ended_at: Date | string | null;
  completed_at: Date | string | null;
}

export function createPrivacyNumbers(deps: PrivacyDeps) {
  const { db, audit, clock, settings } = deps;
  const pool = expandPool(settings.pool);
  const roles = new Set<Role>(settings.roles as Role[]);
  let lastAlertHour = -1;

  /** When a binding stops: ended, its hard maximum, or the delivery expiry (whichever first). */
  const endOf = (r: Row): number => {
    const ends = [new Date(r.expires_at).getTime()];
    if (r.ended_at) ends.push(new Date(r.ended_at).getTime());
    if (r.completed_at) ends.push(new Date(r.completed_at).getTime() + settings.expiry_hours_after_delivery * HOUR);
    return Math.min(...ends);
  };

  const bindingsWhere = () =>
    db
      .selectFrom('privacy_bindings as b')
      .leftJoin('assignments as a', (j) => j.onRef('a.waybill', '=', 'b.waybill').onRef('a.account', '=', 'b.viewer'))
      .select(['b.id', 'b.virtual_number', 'b.viewer', 'b.waybill', 'b.party', 'b.created_at', 'b.expires_at', 'b.ended_at', sql<Date | null>`max(a.completed_at)`.as('completed_at')])
      .groupBy(['b.id', 'b.virtual_number', 'b.viewer', 'b.waybill', 'b.party', 'b.created_at', 'b.expires_at', 'b.ended_at']);

  async function alertLow(viewer: string, free: number, how: string, now: number): Promise<void> {
    const hour = Math.floor(now / HOUR);
    if (hour === lastAlertHour) return;
    lastAlertHour = hour;
    const alert = {
      id: `privacy-pool-${hour}`,
      ts: new Date(now).toISOString(),
      detector: 'privacy_pool_low',
      severity: 'high',
      score: 70,
      summary: `Privacy-number pool low: ${free} of ${pool.length} numbers free for an account (${how}); add numbers or shorten the cool-down.`,
      evidence: { pool: pool.length, free, low_water: settings.low_water, how, viewer },
      incident: 'privacy-pool',
      risk: 0,
      response: 'none',
      event_id: `privacy-pool-${hour}`,
    } as unknown as AlertOut;
    await deps.raise([alert]);
  }

  /** The viewer's virtual number for this waybill's party: its live binding, or a new one. */
  async function bind(viewer: string, waybill: string, party: PartyName): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await bindOnce(viewer, waybill, party);
      } catch (err) {
        // Two reveals by one viewer raced for the same number: the index refused one; draw again.
        if (attempt >= 4 || !/unique|duplicate/i.test((err as Error).message)) throw err;
      }
    }
  }

  async function bindOnce(viewer: string, waybill: string, party: PartyName): Promise<string> {
    const now = clock.now();
    const mine = (await bindingsWhere().where('b.viewer', '=', viewer).where((eb) => eb.or([eb('b.ended_at', 'is', null), eb('b.ended_at', '>', new Date(now - settings.cooldown_hours * HOUR))])).execute()) as Row[];
    const live = mine.filter((r) => !r.ended_at && endOf(r) > now);
    const existing = live.find((r) => r.waybill === waybill && r.party === party);
    if (existing) return existing.virtual_number;
    // Bindings past their end but not marked: mark them (the index counts only unmarked ones).
    const lapsed = mine.filter((r) => !r.ended_at && endOf(r) <= now);
    if (lapsed.length) await db.updateTable('privacy_bindings').set({ ended_at: new Date(now) }).where('id', 'in', lapsed.map((r) => r.id)).execute();
    const liveNumbers = new Set(live.map((r) => r.virtual_number));
    const cooling = new Set(mine.filter((r) => !liveNumbers.has(r.virtual_number) && endOf(r) > now - settings.cooldown_hours * HOUR).map((r) => r.virtual_number));
    let free = pool.filter((n) => !liveNumbers.has(n) && !cooling.has(n));
    let how = 'normal';
    if (!free.length) {
      free = pool.filter((n) => !liveNumbers.has(n));
      how = 'cool-down relaxed';
    }
    if (!free.length) {
      // Every number is live for this viewer: recycle its oldest binding rather than refuse the reveal.
      const oldest = [...live].sort((a, b) => new Date(a.created_at).getTime() - new Date(b.created_at).getTime())[0]!;
      await db.updateTable('privacy_bindings').set({ ended_at: new Date(now) }).where('id', '=', oldest.id).execute();
      free = [oldest.virtual_number];
      how = 'oldest binding recycled';
    }
    if (free.length <= settings.low_water || how !== 'normal') await alertLow(viewer, how === 'normal' ? free.length : 0, how, now);
    const number = free[randomInt(free.length)]!;
    await db
      .insertInto('privacy_bindings')
      .values({ id: randomUUID(), virtual_number: number, viewer, waybill, party, created_at: new Date(now), expires_at: new Date(now + settings.max_hours * HOUR), ended_at: null })
      .execute();
    return number;
  }

  /** For the telephony platform: whom this caller reaches by calling this virtual number. */
  async function route(virtualNumber: string, caller: string, platform: string, ctx: RequestContext): Promise<RouteAnswer> {
    const now = clock.now();
    const rows = (await bindingsWhere().where('b.virtual_number', '=', virtualNumber).where('b.viewer', '=', caller).execute()) as Row[];
    const any = rows.length ? true : Boolean(await db.selectFrom('privacy_bindings').select('id').where('virtual_number', '=', virtualNumber).limit(1).executeTakeFirst());
    const live = rows.find((r) => !r.ended_at && endOf(r) > now);
    const field = live ? (`${live.party}.phone` as 'recipient.phone' | 'sender.phone') : null;
    const found = live ? await standing(caller, live, field!, now) : null;
    const reason: RefuseReason | null = !any ? 'unknown_number' : !rows.length ? 'wrong_caller' : !live ? 'expired' : found?.refuse ?? null;
    const entry = { kind: 'trace.privacy_routed' as const, ts: new Date(now), account: caller, ip: ctx.ip, requestId: ctx.requestId, waybill: live?.waybill ?? null, detail: { platform, binding: live?.id ?? null } };
    if (reason) {
      // The right ended: so does the binding (it never connects again, even if work resumes).
      if (live && (reason === 'work_ended' || reason === 'account_suspended')) await db.updateTable('privacy_bindings').set({ ended_at: new Date(now) }).where('id', '=', live.id).execute();
      await audit.append([{ ...entry, decision: 'denied', reason }]);
      return { action: 'refuse', reason };
    }
    await audit.append([{ ...entry, decision: 'allowed', fields: [field!] }]);
    const sealed = found?.sealed ?? null;
    const number = sealed ? (await deps.pii.open(sealed, [field!]))[field!] : null;
    if (!number) throw new AppError('not_found', 'the bound number is no longer held (erased)');
    return { action: 'connect', number, waybill: live!.waybill };
  }

  /**
   * Whether the caller may still reach this party: an active account, and work the reveal
   * evaluator would accept for a phone reveal of that party now (any purpose its rules allow).
   */
  async function standing(caller: string, live: Row, field: 'recipient.phone' | 'sender.phone', now: number) {
    const account = await deps.loadAccount(caller);
    if (!account || account.status !== 'active' || account.approval !== 'approved') return { refuse: 'account_suspended' as const, sealed: null };
    const found = await deps.pii.fetch(live.waybill, deps.work.workOn(caller, undefined));
    if (!found) return { refuse: null, sealed: null };
    const subject = { account: caller, role: account.role, site: account.site, siteCity: account.siteCity };
    const backed = PURPOSES.some((purpose) => evaluateReveal(deps.policy, subject, { routing: found.sealed.routing, fields: [field], purpose }, found.alongside, now).allowed);
    return backed ? { refuse: null, sealed: found.sealed } : { refuse: 'work_ended' as const, sealed: null };
  }

  return {
    /** Whether phone reveals by this role answer a virtual number. */
    applies: (role: Role) => roles.has(role),
    telephony: (account: string) => settings.telephony_accounts.includes(account),
    bind,
    route,
    poolSize: pool.length,
  };
}
export type PrivacyNumbersService = ReturnType<typeof createPrivacyNumbers>;
