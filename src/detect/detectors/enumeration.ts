/**
 * enumeration — walking waybill numbers.
 *
 * Waybill numbers are a carrier prefix plus 12–15 digits allocated in sequence by the origin, so
 * whoever holds one can guess its neighbours. For each access to a waybill that the account's
 * work does not explain (and for denied attempts), the numeric suffix is compared with the
 * account's recent ones (same prefix): a number within `max_gap` of a recent one is a
 * near-sequential hit. Explained accesses never count, so a courier picking up a merchant's
 * batch of consecutive parcels it was assigned does not alert.
 */
import type { Detector, DetectorEnv, EventContext, Emit } from '../types.js';
import { MINUTE, splitWaybill } from '../util.js';

interface EnumState {
  nums: Float64Array;
  times: Float64Array;
  prefixes: string[];
  hit: Uint8Array;
  ids: string[];
  next: number;
}

export const ENUMERATION = 'enumeration';

export function createEnumerationDetector(env: DetectorEnv): Detector {
  const c = env.config.detectors.enumeration;
  const H = Math.max(2, Math.floor(c.history));
  const windowMs = c.window_minutes * MINUTE;
  let checked = 0;

  function stateOf(ctx: EventContext): EnumState {
    const a = ctx.account!;
    let s = a.slots[env.slot] as EnumState | undefined;
    if (!s) {
      s = {
        nums: new Float64Array(H).fill(NaN),
        times: new Float64Array(H).fill(-Infinity),
        prefixes: new Array<string>(H).fill(''),
        hit: new Uint8Array(H),
        ids: new Array<string>(H).fill(''),
        next: 0,
      };
      a.slots[env.slot] = s;
    }
    return s;
  }

  function onEvent(ctx: EventContext, emit: Emit): void {
    const ev = ctx.event;
    if (ev.type !== 'access' || ev.waybill === undefined) return;
    if (ev.action !== 'reveal' && ev.action !== 'view' && ev.action !== 'print') return;
    // Work behind it (assignment, ticket, search, own site) means it is not a walk — also when the
    // request was refused (a courier hitting a quota on his own consecutive merchant batch).
    if (ctx.explanation !== 'none') return;
    const { prefix, num } = splitWaybill(ev.waybill);
    if (Number.isNaN(num)) return;
    checked++;
    const s = stateOf(ctx);
    const t = ctx.t;
    let isHit = 0;
    let hits = 0;
    let lo = num;
    let hi = num;
    const ids: string[] = [];
    for (let i = 0; i < H; i++) {
      if (t - s.times[i]! > windowMs || s.prefixes[i] !== prefix) continue;
      const m = s.nums[i]!;
      const d = Math.abs(num - m);
      if (d > 0 && d <= c.max_gap) isHit = 1;
      if (s.hit[i]) {
        hits++;
        if (m < lo) lo = m;
        if (m > hi) hi = m;
        if (ids.length < 10) ids.push(s.ids[i]!);
      }
    }
    const k = s.next;
    s.nums[k] = num;
    s.times[k] = t;
    s.prefixes[k] = prefix;
    s.hit[k] = isHit;
    s.ids[k] = ev.id;
    s.next = (k + 1) % H;
    if (!isHit) return;
    hits++;
    ids.push(ev.id);
    if (hits < c.medium_hits) return;
    const score = hits >= c.high_hits ? 80 + Math.min(12, hits - c.high_hits) : 50 + ((hits - c.medium_hits) / Math.max(1, c.high_hits - c.medium_hits)) * 20;
    const a = ctx.account!;
    emit({
      account: a.id,
      device: ev.device,
      score,
      summary: `Account ${a.id} (${a.role}) accessed ${hits} near-sequential waybill numbers (${prefix}${lo}–${prefix}${hi}, gaps ≤ ${c.max_gap}) without work behind them within ${c.window_minutes} min.`,
      evidence: {
        event_ids: ids,
        near_sequential_hits: hits,
        range: { prefix, from: lo, to: hi },
        max_gap: c.max_gap,
        window_minutes: c.window_minutes,
        history: H,
        ...(ev.device !== undefined ? { device: ev.device } : {}),
        ...(ctx.network ? { network: ctx.network.key } : {}),
      },
    });
  }

  return { name: ENUMERATION, scope: 'account', types: ['access'], onEvent, stats: () => ({ checked }) };
}
