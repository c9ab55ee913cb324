/**
 * Per-viewer privacy numbers, on the model of the AXB bindings telecom clouds sell: a phone reveal
 * by a role the policy names answers a virtual number X bound to (viewer, waybill, party) instead
 * of the real one. The telephony platform asks `route(X, caller)`: the real number to connect, or a
 * refusal. A leaked virtual number names its viewer.
 *
 * Invariants:
 * - One X serves many pairs, but never two live bindings of X for the same viewer (a unique
 *   partial index enforces it); an X is not given to the same viewer again within the cool-down.
 * - A binding ends `expiry_hours_after_delivery` after the delivered / picked-up scan, and at the
 *   latest `max_hours` after it was made.
 * - A pool running low is an alert, not an outage: the cool-down is relaxed first, then the
 *   viewer's oldest live binding is recycled — a reveal is never refused for want of a number.
 * - Routing is a reveal to the platform: audited (`trace.privacy_routed`, naming the platform's
 *   account and token, who issued and who approved it) before the number is opened. Only a token
 *   two people stand behind routes (src/identity/service-tokens.ts `standing`; attack review 7: one
 *   it_admin issued himself a telephony token and read real numbers). A token registered for some
 *   sites routes nothing (review 8: a limit it could not keep; issuing one is refused).
 * - Routing is no oracle (review 7): every refusal answers the same `not_routable` — an unknown
 *   number, another caller's, an expired or ended binding are told apart only in the trail — and
 *   each platform token is rate-limited (policy `route_limits`, default ROUTE_LIMITS; counted in
 *   this process's memory, so each `warden serve` process counts its own); a token
 *   refused `route_refusals_alert` times in an hour raises `privacy_route_refusals`.
 * - A binding whose party was erased (PIPL) is refused `subject_erased` (audited as denied), never
 *   audited as allowed first.
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
import { PURPOSES, ROLES } from '../contracts/events.js';
import type { Policy, PrivacyNumbers, Windows } from '../access/policy.js';
import type { WorkContext } from '../access/work-context.js';
import { evaluateReveal } from '../access/evaluate.js';
import { createQuotaLedger, type QuotaLimits } from '../access/quota.js';
import type { AccountInfo } from '../identity/types.js';
import type { AlertOut } from '../detect/engine.js';
import { touchesErased, type PartyName, type PiiDecryptor } from '../vault/vault.js';
import type { RequestContext } from '../identity/identity.js';
import { AppError } from '../errors.js';

const HOUR = 3_600_000;
const MAX_POOL = 100_000;

/** Routes one platform token may ask, by default: a busy platform's calls, far below a sweep of pool × staff. */
export const ROUTE_LIMITS: Windows = { per_minute: 120, per_hour: 3000, per_day: 30_000 };
/** Refused routes of one token in an hour that raise an alert, by default (a platform's callers mostly connect). */
export const ROUTE_REFUSALS_ALERT = 50;
/** The detector name of that alert. */
export const ROUTE_REFUSALS_DETECTOR = 'privacy_route_refusals';

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

/** Why a route was refused: in the trail only (the answer is always `not_routable`). */
export type RefuseReason = 'unknown_number' | 'wrong_caller' | 'expired' | 'account_suspended' | 'work_ended' | 'record_gone' | 'record_integrity';
export type RouteAnswer = { action: 'connect'; number: string; waybill: string } | { action: 'refuse'; reason: 'not_routable' };

/** The platform asking: its service account and the token it presented (as it stands now). */
export interface RoutePlatform {
  account: string;
  token: string;
  issuedBy: string | null;
  approvedBy: string | null;
  /** Two people stand behind the token (src/identity/service-tokens.ts `standing`). */
  twoPerson: boolean;
  /** Registered for some sites only: a limit routing does not keep, so it routes nothing (review 8). */
  siteLimited: boolean;
}

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
  // Per platform token (the ledger's "account" key is the token id); in memory, bounded by the ledger's sweep.
  const routeLimits: QuotaLimits = { quotas: Object.fromEntries(ROLES.map((r) => [r, { account: settings.route_limits ?? ROUTE_LIMITS }])) as QuotaLimits['quotas'] };
  const routeQuota = createQuotaLedger(routeLimits, { maxKeys: 10_000 });
  const refusalAlert = settings.route_refusals_alert ?? ROUTE_REFUSALS_ALERT;
  /** Refused routes this hour, per token (only the current hour is kept). */
  let refusals = { hour: -1, byToken: new Map<string, number>() };

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

  /**
   * For the telephony platform: whom this caller reaches by calling this virtual number. The token
   * is checked (two people), then counted (rate limit), then the binding is judged; every outcome
   * is audited before anything is opened, and every refusal answers alike.
   */
  async function route(virtualNumber: string, caller: string, platform: RoutePlatform, ctx: RequestContext): Promise<RouteAnswer> {
    const now = clock.now();
    const entry = (waybill: string | null, binding: string | null) => ({
      kind: 'trace.privacy_routed' as const,
      ts: new Date(now),
      account: caller,
      ip: ctx.ip,
      requestId: ctx.requestId,
      waybill,
      detail: { platform: platform.account, token_id: platform.token, token_issued_by: platform.issuedBy, token_approved_by: platform.approvedBy, binding },
    });
    if (!platform.twoPerson) {
      await audit.append([{ ...entry(null, null), decision: 'denied', reason: 'token_not_approved' }]);
      throw new AppError('approval_pending', 'this telephony token needs a second person: issued by one person, it routes nothing until another (not linked to the issuer) approves a token for it (POST /api/v1/accounts/:id/tokens/:token/approve)');
    }
    if (platform.siteLimited) {
      await audit.append([{ ...entry(null, null), decision: 'denied', reason: 'token_site_limited' }]);
      throw new AppError('forbidden', 'this telephony token names sites, but routing serves bindings of every site: it routes nothing; issue one without sites (two people)');
    }
    const q = routeQuota.tryConsume({ role: 'service', account: platform.token, device: null, site: null }, 1, now);
    if (!q.ok) {
      await audit.append([{ ...entry(null, null), decision: 'denied', reason: 'rate_limited', detail: { ...entry(null, null).detail, window: q.window, limit: q.limit } }]);
      throw new AppError('rate_limited', `routes are limited to ${q.limit} ${q.window.replace('_', ' ')} for each platform token (policy privacy_numbers.route_limits); try again later`, { retryAfterSeconds: q.retryAfterSeconds });
    }
    const rows = (await bindingsWhere().where('b.virtual_number', '=', virtualNumber).where('b.viewer', '=', caller).execute()) as Row[];
    const any = rows.length ? true : Boolean(await db.selectFrom('privacy_bindings').select('id').where('virtual_number', '=', virtualNumber).limit(1).executeTakeFirst());
    const live = rows.find((r) => !r.ended_at && endOf(r) > now);
    const field = live ? (`${live.party}.phone` as 'recipient.phone' | 'sender.phone') : null;
    const found = live ? await standing(caller, live, field!, now) : null;
    const reason: RefuseReason | null = !any ? 'unknown_number' : !rows.length ? 'wrong_caller' : !live ? 'expired' : found?.refuse ?? null;
    const routed = entry(live?.waybill ?? null, live?.id ?? null);
    if (reason) {
      // The right ended: so does the binding (it never connects again, even if work resumes).
      if (live && (reason === 'work_ended' || reason === 'account_suspended')) await db.updateTable('privacy_bindings').set({ ended_at: new Date(now) }).where('id', '=', live.id).execute();
      await audit.append([{ ...routed, decision: 'denied', reason }]);
      await countRefusal(platform, now);
      // One answer for every refusal: which numbers are in use, and by whom, is not the platform's to probe.
      return { action: 'refuse', reason: 'not_routable' };
    }
    const sealed = found!.sealed!;
    // Erased on the person's request (PIPL Art. 47): refused and audited as such, never as allowed.
    if (touchesErased(sealed, [field!])) {
      await audit.append([{ ...routed, decision: 'denied', reason: 'subject_erased', fields: [field!] }]);
      throw new AppError('subject_erased', 'the person this number reached asked for deletion; their data was erased');
    }
    await audit.append([{ ...routed, decision: 'allowed', fields: [field!] }]);
    const number = (await deps.pii.open(sealed, [field!]))[field!];
    if (!number) throw new AppError('not_found', 'the bound number is no longer held');
    return { action: 'connect', number, waybill: live!.waybill };
  }

  /** Counts a token's refusal; the hour's `route_refusals_alert`-th raises one alert for that token (a sweep of bindings). */
  async function countRefusal(platform: RoutePlatform, now: number): Promise<void> {
    const hour = Math.floor(now / HOUR);
    if (refusals.hour !== hour) refusals = { hour, byToken: new Map() };
    const n = (refusals.byToken.get(platform.token) ?? 0) + 1;
    // Bounded: tokens are few; a map past the bound starts the hour's counts again.
    if (refusals.byToken.size >= 10_000) refusals.byToken.clear();
    refusals.byToken.set(platform.token, n);
    if (n !== refusalAlert) return;
    await deps.raise([{
      id: `privacy-route-refusals-${platform.token}-${hour}`,
      ts: new Date(now).toISOString(),
      detector: ROUTE_REFUSALS_DETECTOR,
      severity: 'high',
      score: 75,
      summary: `The telephony platform's token was refused ${n} privacy-number routes within the hour: someone may be sweeping virtual numbers × callers for live bindings. See trace.privacy_routed (token ${platform.token}); revoke the token if the platform did not send them.`,
      evidence: { platform: platform.account, token_id: platform.token, token_issued_by: platform.issuedBy, token_approved_by: platform.approvedBy, refusals: n },
      incident: 'privacy-route-refusals',
      risk: 0,
      response: 'none',
      event_id: `privacy-route-refusals-${platform.token}-${hour}`,
    } as unknown as AlertOut]);
  }

  /**
   * Whether the caller may still reach this party: an active account, and work the reveal
   * evaluator would accept for a phone reveal of that party now (any purpose its rules allow).
   */
  async function standing(caller: string, live: Row, field: 'recipient.phone' | 'sender.phone', now: number) {
    const account = await deps.loadAccount(caller);
    if (!account || account.status !== 'active' || account.approval !== 'approved') return { refuse: 'account_suspended' as const, sealed: null };
    const found = await deps.pii.fetch(live.waybill, deps.work.workOn(caller, undefined));
    if (!found) return { refuse: 'record_gone' as const, sealed: null };
    // Routing changed outside Warden (attack review 9): no standing read from it.
    if (!found.sealed.intact) return { refuse: 'record_integrity' as const, sealed: null };
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
