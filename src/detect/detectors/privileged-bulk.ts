/**
 * privileged_bulk — an export or search far larger than anything in the account's history
 * (a manager dumping a city, a stolen account's first export). Per account.
 */
import type { Detector, DetectorEnv, EventContext, Emit } from '../types.js';

interface BulkState {
  max: number;
  count: number;
}

export const PRIVILEGED_BULK = 'privileged_bulk';

export function createPrivilegedBulkDetector(env: DetectorEnv): Detector {
  const c = env.config.detectors.privileged_bulk;
  let seen = 0;

  function onEvent(ctx: EventContext, emit: Emit): void {
    const ev = ctx.event;
    if (ev.type !== 'access' || (ev.action !== 'export' && ev.action !== 'search')) return;
    const size = ev.waybills?.length ?? 0;
    if (size === 0) return;
    seen++;
    const a = ctx.account!;
    let s = a.slots[env.slot] as BulkState | undefined;
    if (!s) {
      s = { max: 0, count: 0 };
      a.slots[env.slot] = s;
    }
    const prevMax = s.max;
    const prevCount = s.count;
    s.count++;
    if (size > s.max) s.max = size;
    if (ctx.denied && ev.action === 'search') return;
    const threshold = prevCount === 0 ? c.first_min_records : Math.max(c.min_records, c.factor * prevMax);
    if (size < threshold) return;
    const ratio = size / Math.max(1, prevMax);
    const score = prevCount === 0 ? 72 : Math.min(96, 72 + 8 * Math.log2(ratio / c.factor + 1));
    const offHours = (a.hourDays[ctx.hour] ?? 0) === 0 && a.activeDays >= 3;
    emit({
      account: a.id,
      device: ev.device,
      score: offHours ? score + 10 : score,
      subject: ev.action,
      summary: `Account ${a.id} (${a.role}) ran an ${ev.action} of ${size} records${ctx.denied ? ' (denied)' : ''}; its largest before was ${prevMax} in ${prevCount} ${ev.action === 'export' ? 'exports/searches' : 'searches/exports'}${offHours ? ', at an hour it never works' : ''}.`,
      evidence: {
        event_ids: [ev.id],
        action: ev.action,
        records: size,
        denied: ctx.denied,
        previous_max: prevMax,
        previous_count: prevCount,
        factor: c.factor,
        threshold,
        first_seen_for_account: prevCount === 0,
        off_hours: offHours,
        ...(ev.purpose !== undefined ? { purpose: ev.purpose } : {}),
        ...(ev.device !== undefined ? { device: ev.device } : {}),
      },
    });
  }

  return { name: PRIVILEGED_BULK, scope: 'account', types: ['access'], onEvent, stats: () => ({ bulk_events: seen }) };
}
