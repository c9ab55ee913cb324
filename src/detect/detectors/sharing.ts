/**
 * sharing — an account used by someone other than its owner (shared, leased, or taken over).
 *
 * Adds up independent hints against the account's own baseline: a new device, a new network, a
 * new or far city, impossible travel since the last event, an hour the account and its peers
 * never work, a missing second factor where the account always uses one, and two live sessions on
 * different devices. One hint alone (a new phone; a business trip) stays low; several together
 * (a new device in a far city at 02:00) are medium to critical. Accounts without a baseline yet
 * (new hires) are not judged.
 */
import type { Detector, DetectorEnv, EventContext, Emit } from '../types.js';
import { dimension, hourLabel, type DimensionEvidence } from './explain.js';
import { HOUR, MINUTE, round } from '../util.js';

interface Live {
  device: string | undefined;
  last: number;
  closed: boolean;
}
interface SessionState {
  sessions: Map<string, Live>;
  /** The session of the previous event (most events continue it): skips the map. */
  curId: string | undefined;
  cur: Live | undefined;
}

export const SHARING = 'sharing';

export function createSharingDetector(env: DetectorEnv): Detector {
  const c = env.config.detectors.sharing;
  const idle = c.session_idle_minutes * MINUTE;
  let evaluated = 0;

  function sessionsOf(ctx: EventContext): SessionState {
    const a = ctx.account!;
    let s = a.slots[env.slot] as SessionState | undefined;
    if (!s) {
      s = { sessions: new Map(), curId: undefined, cur: undefined };
      a.slots[env.slot] = s;
    }
    return s;
  }

  /** Other live sessions of the account on a different device. */
  function concurrent(ctx: EventContext): string[] {
    const ev = ctx.event;
    const session = ev.session;
    if (session === undefined) return [];
    const s = sessionsOf(ctx);
    const others: string[] = [];
    for (const [id, x] of s.sessions) {
      if (id !== session && !x.closed && ctx.t - x.last <= idle && x.device !== undefined && ev.device !== undefined && x.device !== ev.device) {
        others.push(id);
      }
    }
    return others;
  }

  function track(ctx: EventContext): void {
    const ev = ctx.event;
    if (ev.session === undefined) return;
    const s = sessionsOf(ctx);
    let x = s.curId === ev.session ? s.cur : s.sessions.get(ev.session);
    if (!x) {
      if (s.sessions.size >= 16) {
        for (const [id, y] of s.sessions) if (y.closed || ctx.t - y.last > idle) s.sessions.delete(id);
        if (s.sessions.size >= 16) s.sessions.delete(s.sessions.keys().next().value as string);
      }
      x = { device: ev.device, last: ctx.t, closed: false };
      s.sessions.set(ev.session, x);
    }
    s.curId = ev.session;
    s.cur = x;
    if (ctx.t > x.last) x.last = ctx.t;
    if (ev.type === 'logout') x.closed = true;
  }

  function onEvent(ctx: EventContext, emit: Emit): void {
    const ev = ctx.event;
    const a = ctx.account;
    if (!a) return;
    if (ev.type === 'login' && ev.result !== 'success') return;
    const isLogin = ev.type === 'login';
    const offCandidate = a.hourDays[ctx.hour] === 0 && a.activeDays >= 3;
    const ss = sessionsOf(ctx);
    const newSession = ev.session !== undefined && ev.session !== ss.curId && !ss.sessions.has(ev.session);
    const otherSessions = newSession || isLogin ? concurrent(ctx) : [];
    track(ctx);
    if (!ctx.mature) return;
    if (!isLogin && !ctx.novelDevice && !ctx.novelNetwork && !ctx.novelCity && !offCandidate && otherSessions.length === 0) return;
    evaluated++;

    let score = 0;
    const hints: string[] = [];
    const dims: DimensionEvidence[] = [];
    const evidence: Record<string, unknown> = { event_ids: [ev.id], account_days_seen: a.activeDays };
    if (ev.device !== undefined) evidence.device = ev.device;
    if (ctx.network) evidence.network = ctx.network.key;
    if (ctx.cityKey !== undefined) evidence.city = ctx.cityKey;

    if (ctx.novelDevice) {
      score += c.new_device;
      hints.push(`new device ${ev.device}`);
      dims.push(dimension(env, ctx, 'device'));
    }
    if (ctx.novelNetwork) {
      score += c.new_network;
      hints.push(`new network ${ctx.network!.key}`);
      dims.push(dimension(env, ctx, 'network'));
    }
    if (ctx.novelCity && ctx.cityKey !== undefined) {
      let nearest = Infinity;
      const home = env.state.homeCity(a);
      const known = home === undefined ? [...a.cities.keys()] : [home, ...a.cities.keys()];
      for (const k of known) {
        const d = env.state.distanceKm(k, ctx.cityKey);
        nearest = Math.min(nearest, Number.isNaN(d) ? Infinity : d);
      }
      const far = nearest >= c.far_city_km;
      score += far ? c.far_city : c.new_city;
      hints.push(
        far
          ? `city ${ctx.cityKey} ${Number.isFinite(nearest) ? `${Math.round(nearest)} km from` : 'far from'} its usual cities`
          : `new city ${ctx.cityKey}`,
      );
      evidence.nearest_known_city_km = Number.isFinite(nearest) ? Math.round(nearest) : null;
      dims.push(dimension(env, ctx, 'city'));
    }
    if (ctx.cityKey !== undefined && a.lastCity !== undefined && a.lastCity !== ctx.cityKey) {
      const km = env.state.distanceKm(a.lastCity, ctx.cityKey);
      const hours = Math.max((ctx.t - a.lastCityAt) / HOUR, 1 / 60);
      if (km >= c.far_city_km && km / hours > c.max_speed_kmh) {
        score += c.impossible_travel;
        hints.push(`${Math.round(km)} km from ${a.lastCity} in ${round(hours * 60, 0)} min`);
        evidence.travel = { from: a.lastCity, to: ctx.cityKey, km: Math.round(km), minutes: round(hours * 60, 0), kmh: Math.round(km / hours) };
      }
    }
    if (offCandidate) {
      const g = ctx.peers;
      const s = ctx.site;
      const peerShare = g && g.hoursTotal > 0 ? (g.hours[ctx.hour] ?? 0) / g.hoursTotal : 0;
      const siteShare = s && s.hoursTotal > 0 ? (s.hours[ctx.hour] ?? 0) / s.hoursTotal : 0;
      // Hours are a matter of role: a sorting centre works all night, its managers do not. When the
      // account's peers (same role, same site) have a history of their own, their hours decide;
      // otherwise (a singleton role at the site) the whole site's hours do.
      const peersKnown = g !== undefined && g.members.size - (g.members.has(a.id) ? 1 : 0) >= 1 && g.hoursTotal >= c.peer_hour_slots;
      if (peerShare < c.site_hour_share && (peersKnown || siteShare < c.site_hour_share)) {
        score += c.off_hours;
        hints.push(`active ${hourLabel(ctx.hour)}, an hour it and its ${peersKnown ? 'peers' : 'site'} never work`);
        evidence.hour_judged_by = peersKnown ? 'peers' : 'site';
        evidence.hour_local = ctx.hour;
        evidence.peer_hour_share = round(peerShare, 4);
        evidence.site_hour_share = round(siteShare, 4);
        dims.push(dimension(env, ctx, 'hour'));
      }
    }
    if (isLogin && ev.mfa === false && a.logins >= 5 && a.mfaLogins / a.logins >= c.mfa_usual_share) {
      score += c.missing_mfa;
      hints.push(`no second factor (used in ${a.mfaLogins} of ${a.logins} logins)`);
      evidence.mfa_usual = { mfa_logins: a.mfaLogins, logins: a.logins };
    }
    if (otherSessions.length) {
      score += c.concurrent_sessions;
      hints.push(`${otherSessions.length + 1} live sessions on different devices`);
      evidence.concurrent_sessions = otherSessions.slice(0, 5);
    }
    // A lone weak hint (a new network, a nearby city) is not worth an alert, even a low one.
    if (score < 15) return;
    evidence.dimensions = dims;
    evidence.hints = hints;
    emit({
      account: a.id,
      device: ev.device,
      score,
      summary: `Account ${a.id} (${a.role}) shows ${hints.length} sign${hints.length > 1 ? 's' : ''} of another user: ${hints.join('; ')}.`,
      evidence,
    });
  }

  return {
    name: SHARING,
    scope: 'account',
    types: ['login', 'logout', 'access'],
    onEvent,
    stats: () => ({ evaluated }),
  };
}
