/**
 * rings — several accounts appearing from one network that is unfamiliar to each of them, each
 * with unexplained access (colluding couriers behind one proxy, or one gang driving leased
 * accounts). Keyed by network (/24 or /48), so global: it must see every account's events.
 *
 * Invariant (attack review 9): ring members are counted from the gateway's own reveals only
 * (producer `warden`, or no provenance: a file, a simulated world; ./device-posture.ts
 * fromGateway). Another producer (a legacy system's token) may invent accounts and their IPs: six
 * reveals for two made-up accounts from a courier's network put an honest courier with three
 * ordinary refused reveals in a high `rings` alert, and throttled him.
 */
import type { Detector, DetectorEnv, EventContext, Emit } from '../types.js';
import { fromGateway } from './device-posture.js';
import { DAY, HOUR } from '../util.js';

interface RingState {
  since: number;
  /** account -> unexplained reveals from this network while it was unfamiliar to the account */
  members: Map<string, { n: number; last: number; firstEvent: string }>;
}

export const RINGS = 'rings';
const UNFAMILIAR_MS = 3 * DAY;

export function createRingsDetector(env: DetectorEnv): Detector {
  const c = env.config.detectors.rings;
  const windowMs = c.window_hours * HOUR;
  let tracked = 0;

  function onEvent(ctx: EventContext, emit: Emit): void {
    const ev = ctx.event;
    const net = ctx.network;
    if (!net || ev.type !== 'access' || ev.action !== 'reveal') return;
    if (!fromGateway(ev)) return;
    if (ctx.explanation !== 'none' && !ctx.denied) return;
    const a = ctx.account!;
    // Unfamiliar: new to the account now, or first used by it within the last few days.
    const seen = ctx.networkSeen;
    if (seen !== undefined && ctx.t - seen.first > UNFAMILIAR_MS) return;
    if (env.isExcepted('network', net.key, a.id, ctx.t)) return;
    let s = net.slots[env.slot] as RingState | undefined;
    if (!s || ctx.t - s.since > windowMs) {
      s = { since: ctx.t, members: new Map() };
      net.slots[env.slot] = s;
      tracked++;
    }
    let m = s.members.get(a.id);
    if (!m) {
      m = { n: 0, last: ctx.t, firstEvent: ev.id };
      s.members.set(a.id, m);
    }
    m.n++;
    m.last = ctx.t;
    let qualified = 0;
    for (const x of s.members.values()) if (x.n >= c.min_unexplained && ctx.t - x.last <= windowMs) qualified++;
    if (qualified < c.min_accounts || m.n < c.min_unexplained) return;
    const members = [...s.members.entries()]
      .filter(([, x]) => x.n >= c.min_unexplained)
      .map(([id, x]) => ({ account: id, unexplained_reveals: x.n, first_event: x.firstEvent }));
    emit({
      account: a.id,
      device: ev.device,
      score: 75 + Math.min(20, (qualified - c.min_accounts) * 5),
      subject: net.key,
      summary: `${qualified} accounts, including ${a.id}, made unexplained reveals from network ${net.key}, which is unfamiliar to each of them, within ${c.window_hours} h.`,
      evidence: {
        event_ids: [ev.id, ...members.slice(0, 9).map((x) => x.first_event)],
        network: net.key,
        accounts: members.slice(0, 50),
        ring_size: qualified,
        min_accounts: c.min_accounts,
        min_unexplained: c.min_unexplained,
        network_accounts_total: net.accounts.size,
        window_hours: c.window_hours,
        ...(ev.device !== undefined ? { device: ev.device } : {}),
      },
    });
  }

  return { name: RINGS, scope: 'global', types: ['access'], onEvent, stats: () => ({ networks_tracked: tracked }) };
}
