/**
 * privileged_bulk — an export or search far larger than anything in the account's history
 * (a manager dumping a city, a stolen account's first export). Per account.
 *
 * A privileged account (dual-controlled roles: city-wide reveals, exports) can take thousands of
 * records in one request, so waiting for the request is too late. Its login from a network or
 * device it never used, at an hour it never worked and its whole role company-wide (all sites: a small company has one or two per site)
 * spends under `role_hour_share` of its activity in alerts at once, even for a new account with
 * no baseline of its own: the role's hours are the prior. Until the role has `role_hour_slots` on
 * record (a company with one city and two managers, or the first days of any company) the role's
 * prior off-hours (`prior_off_hours_from`..`prior_off_hours_to`, 23:00–06:00 by default) stand in,
 * and the alert says so. This part needs role-wide state, so the detector is global.
 */
import { PRIVILEGED_ROLES } from '../../access/roles.js';
import type { Role } from '../../contracts/events.js';
import type { Detector, DetectorEnv, EventContext, Emit, PeerGroup } from '../types.js';
import { round } from '../util.js';

interface BulkState {
  max: number;
  count: number;
}

export const PRIVILEGED_BULK = 'privileged_bulk';

export function createPrivilegedBulkDetector(env: DetectorEnv): Detector {
  const c = env.config.detectors.privileged_bulk;
  let seen = 0;

  /** The role's activity (member-day-hour slots) in `hour` and in all, over every site. */
  function roleHours(role: string, hour: number): { share: number; total: number; groups: number; members: number } {
    let inHour = 0;
    let total = 0;
    let groups = 0;
    let members = 0;
    const prefix = `${role}|`;
    for (const g of env.state.peers.values() as Iterable<PeerGroup>) {
      if (!g.key.startsWith(prefix)) continue;
      groups++;
      members += g.members.size;
      inHour += g.hours[hour] ?? 0;
      total += g.hoursTotal;
    }
    return { share: total > 0 ? inHour / total : 0, total, groups, members };
  }

  /** The role's prior off-hours, wrapping midnight (23..6 means 23:00–05:59). */
  function inPriorOffHours(hour: number): boolean {
    const { prior_off_hours_from: from, prior_off_hours_to: to } = c;
    if (from === to) return false;
    return from < to ? hour >= from && hour < to : hour >= from || hour < to;
  }

  function onLogin(ctx: EventContext, emit: Emit): void {
    const ev = ctx.event;
    if (ev.type !== 'login' || ev.result !== 'success') return;
    const a = ctx.account!;
    // From a network (or device) it never used: a manager working late from the office is not this.
    if (!PRIVILEGED_ROLES.includes(a.role as Role) || (a.hourDays[ctx.hour] ?? 0) > 0 || !(ctx.novelNetwork || ctx.novelDevice)) return;
    const r = roleHours(a.role, ctx.hour);
    const learned = r.total >= c.role_hour_slots;
    if (learned ? r.share >= c.role_hour_share : !inPriorOffHours(ctx.hour)) return;
    const hh = (h: number) => `${String(h).padStart(2, '0')}:00`;
    const why = learned
      ? `its role company-wide (${r.members} accounts at ${r.groups} sites) spends ${round(r.share * 100, 1)} % of its activity in`
      : `its role's prior counts as off-hours (${hh(c.prior_off_hours_from)}–${hh(c.prior_off_hours_to)}; ${r.total} role hours on record, fewer than the ${c.role_hour_slots} that would let the role's own hours decide)`;
    emit({
      account: a.id,
      device: ev.device,
      score: c.off_hours_login,
      subject: 'off_hours_login',
      summary: `Privileged account ${a.id} (${a.role}) logged in from a${ctx.novelDevice ? ' device' : ' network'} it never used at ${hh(ctx.hour)}, an hour it never worked and ${why}; one export can take thousands of records.`,
      evidence: {
        event_ids: [ev.id],
        hour_local: ctx.hour,
        account_days_seen: a.activeDays,
        peer_tier: learned ? 'role_company_wide' : 'role_prior',
        peer_group_size: r.members,
        peer_hour_share: round(r.share, 4),
        role_hour_slots: r.total,
        ...(learned ? {} : { prior_off_hours: [c.prior_off_hours_from, c.prior_off_hours_to] }),
        first_seen_device: ctx.novelDevice,
        first_seen_network: ctx.novelNetwork,
        ...(ctx.network ? { network: ctx.network.key } : {}),
        ...(ev.device !== undefined ? { device: ev.device } : {}),
      },
    });
  }

  function onEvent(ctx: EventContext, emit: Emit): void {
    const ev = ctx.event;
    if (ev.type === 'login') return onLogin(ctx, emit);
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

  return { name: PRIVILEGED_BULK, scope: 'global', types: ['access', 'login'], onEvent, stats: () => ({ bulk_events: seen }) };
}
