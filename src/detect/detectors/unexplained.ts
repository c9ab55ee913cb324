/**
 * unexplained — reveals with no work behind them.
 *
 * Every reveal is classified by the engine's work context: explained by an assignment to this
 * account, an open ticket of this account, a recent search by this account that returned the
 * waybill, a parcel of the account's own site (or, for managers, own city) — or unexplained.
 * Denied reveals count as attempts. Distinct unexplained waybills in a sliding window are compared
 * with fixed floors and the account's own typical daily count (so a role that legitimately has a
 * few unexplained reveals a day does not alert); a slow view over days adds up low-and-slow theft.
 */
import type { Detector, DetectorEnv, EventContext, Emit } from '../types.js';
import { HOUR, round } from '../util.js';

interface UnexplainedState {
  /** waybill -> last unexplained access time, in time order (delete+set on refresh). */
  recent: Map<string, number>;
  far: number;
  denied: number;
  unknown: number;
  /** Today's of them backed only by a weak own-site link (a parcel not at the account's counter). */
  weakSite: number;
  sampleIds: string[];
  /** Distinct unexplained waybills per local day, for the slow view and the baseline. */
  dayIndex: number;
  dayCount: number;
  days: number[];
  /** Typical daily unexplained count (EWMA over completed active days). */
  baseline: number;
  baselineDays: number;
}

export const UNEXPLAINED = 'unexplained';

export function createUnexplainedDetector(env: DetectorEnv): Detector {
  const c = env.config.detectors.unexplained;
  const windowMs = c.window_hours * HOUR;
  let classified = 0;
  let unexplainedTotal = 0;

  function stateOf(ctx: EventContext): UnexplainedState {
    const a = ctx.account!;
    let s = a.slots[env.slot] as UnexplainedState | undefined;
    if (!s) {
      s = { recent: new Map(), far: 0, denied: 0, unknown: 0, weakSite: 0, sampleIds: [], dayIndex: ctx.day, dayCount: 0, days: [], baseline: 0, baselineDays: 0 };
      a.slots[env.slot] = s;
    }
    if (ctx.day !== s.dayIndex && ctx.day > s.dayIndex) {
      // Roll the day: completed days feed the slow view and the baseline.
      s.days.push(s.dayCount);
      for (let d = s.dayIndex + 1; d < ctx.day && s.days.length <= c.slow_days; d++) s.days.push(0);
      while (s.days.length > c.slow_days) s.days.shift();
      s.baseline = s.baselineDays === 0 ? s.dayCount : 0.8 * s.baseline + 0.2 * s.dayCount;
      s.baselineDays++;
      s.dayIndex = ctx.day;
      s.dayCount = 0;
      s.far = 0;
      s.denied = 0;
      s.unknown = 0;
      s.weakSite = 0;
    }
    return s;
  }

  function onEvent(ctx: EventContext, emit: Emit): void {
    const ev = ctx.event;
    if (ev.type !== 'access' || ev.action !== 'reveal' || ctx.explanation === undefined) return;
    const a = ctx.account!;
    classified++;
    const s = stateOf(ctx);
    // A counter role's own-site backing of a parcel not at its counter is weak (attack review 10, F3): counted here.
    const weak = ctx.weakSite && !ctx.denied;
    if (ctx.explanation !== 'none' && !weak) return; // a denied but explained reveal is a policy matter, not theft
    unexplainedTotal++;
    const wb = ev.waybill!;
    const t = ctx.t;
    // Expire the front of the window (time order).
    for (const [k, at] of s.recent) {
      if (t - at <= windowMs) break;
      s.recent.delete(k);
    }
    const isNew = !s.recent.has(wb);
    s.recent.delete(wb);
    s.recent.set(wb, t);
    if (!isNew) return;
    s.dayCount++;
    if (ctx.denied) s.denied++;
    if (ctx.unknownWaybill) s.unknown++;
    if (weak) s.weakSite++;
    const far = !Number.isNaN(ctx.parcelKm) && ctx.parcelKm >= c.far_km;
    if (far) s.far++;
    if (s.sampleIds.length < 10) s.sampleIds.push(ev.id);
    else s.sampleIds[(s.dayCount + s.recent.size) % 10] = ev.id;

    const n = s.recent.size;
    const own = s.baselineDays >= 3 ? s.baseline * c.baseline_factor * (c.window_hours / 24) : 0;
    const medium = Math.max(c.medium_records, own);
    const high = Math.max(c.high_records, own * 3);
    const critical = Math.max(c.critical_records, own * 10);
    const slow = s.days.reduce((x, y) => x + y, 0) + s.dayCount;

    let score = 0;
    let view = 'window';
    if (n >= critical) score = 92;
    else if (n >= high) score = 72 + Math.min(15, ((n - high) / Math.max(1, critical - high)) * 15);
    else if (n >= medium) score = 45 + Math.min(20, ((n - medium) / Math.max(1, high - medium)) * 20);
    else if (slow >= c.slow_records && slow >= 3 * s.baseline * c.slow_days) {
      score = 50;
      view = 'slow';
    } else if (n >= Math.ceil(medium / 2)) score = 20;
    else return;
    // Parcels far from the account's city, and guessed waybills nobody routed, make it worse.
    const farShare = s.far / Math.max(1, s.dayCount);
    if (score >= 40 && (farShare > 0.5 || s.unknown >= 3)) score += 8;

    const weakText = s.weakSite > 0 ? ` ${s.weakSite} of today's were own-site parcels not at its counter (delivered to the door by a courier, or taken in or collected long ago).` : '';
    emit({
      account: a.id,
      device: ev.device,
      score,
      subject: view,
      summary:
        (view === 'slow'
          ? `Account ${a.id} (${a.role}) revealed ${slow} records with no assignment, ticket, search or own-site link over ${s.days.length + 1} days (its typical day: ${round(s.baseline, 1)}).`
          : `Account ${a.id} (${a.role}) revealed ${n} records with no assignment, ticket, search or own-site link in ${c.window_hours} h (threshold ${Math.round(medium)}, its typical day: ${round(s.baseline, 1)}).`) + weakText,
      evidence: {
        event_ids: [...s.sampleIds],
        view,
        unexplained_records: n,
        window_hours: c.window_hours,
        slow_days: s.days.length + 1,
        slow_records: slow,
        baseline_daily: round(s.baseline, 2),
        baseline_days: s.baselineDays,
        thresholds: { medium: Math.round(medium), high: Math.round(high), critical: Math.round(critical) },
        today: { unexplained: s.dayCount, denied_attempts: s.denied, unknown_waybills: s.unknown, far_parcels: s.far, own_site_not_at_counter: s.weakSite },
        far_km: c.far_km,
        last_waybill: wb,
        ...(ctx.parcelCity !== undefined ? { last_parcel_city: ctx.parcelCity } : {}),
        ...(ev.device !== undefined ? { device: ev.device } : {}),
        ...(ctx.network ? { network: ctx.network.key } : {}),
      },
    });
  }

  return {
    name: UNEXPLAINED,
    scope: 'account',
    types: ['access'],
    onEvent,
    stats: () => ({ classified, unexplained: unexplainedTotal }),
  };
}
