/** Making actions: who, in which session, at a time kept inside the person's working day. */
import { type SimAction, blankAction } from './action.js';
import type { Rng } from './rng.js';
import type { DayPlan, Session } from './sim-types.js';
import { MINUTE } from './time.js';
import type { Account } from './world.js';

/** A new action by an account in a session (or none). */
export function act(t: number, type: SimAction['type'], a: Account, s: Session | undefined): SimAction {
  // nothing happens in a session before its login
  if (s && type !== 'login' && t <= s.start) t = s.start + 1000;
  const x = blankAction(t, type);
  x.account = a.id;
  x.role = a.role;
  x.site = a.site.code;
  if (s) {
    x.device = s.device.id;
    x.ip = s.ip;
    x.city = s.city;
    x.session = s.id;
  }
  return x;
}

/** Moves t inside the plan's working time (a minute in from either edge). */
export function clamp(p: DayPlan, t: number, r: Rng): number {
  if (t < p.start + MINUTE) return p.start + MINUTE + r.int(10 * MINUTE);
  if (t > p.end - MINUTE) return p.end - MINUTE - r.int(10 * MINUTE);
  return t;
}

export function sessionAt(p: DayPlan, t: number): Session {
  for (const s of p.sessions) if (t < s.end) return s;
  return p.sessions[p.sessions.length - 1]!;
}

/** An access action by a planned person at (clamped) time t. */
export function access(p: DayPlan, t: number, action: SimAction['action'], r: Rng): SimAction {
  const tt = clamp(p, t, r);
  const s = sessionAt(p, tt);
  const x = act(tt < s.start ? s.start + 1000 : tt, 'access', p.account, s);
  x.action = action;
  x.result = 'allowed';
  return x;
}
