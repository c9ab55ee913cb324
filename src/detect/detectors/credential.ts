/**
 * credential — password guessing and what follows it.
 *
 * - a burst of failed logins on one account;
 * - a burst of failures from one network, across accounts (stuffing/spraying);
 * - a success after several failures, worse from a device the account never used.
 * The account part is per account; the network part is keyed by network (global).
 */
import type { Detector, DetectorEnv, EventContext, Emit } from '../types.js';
import { MINUTE } from '../util.js';

const RING = 32;
interface FailState {
  times: Float64Array;
  ids: string[];
  next: number;
}
interface NetFailState {
  times: Float64Array;
  accounts: string[];
  next: number;
}

export const CREDENTIAL = 'credential';

export function createCredentialDetector(env: DetectorEnv): Detector {
  const c = env.config.detectors.credential;
  const windowMs = c.window_minutes * MINUTE;
  let failures = 0;

  function onEvent(ctx: EventContext, emit: Emit): void {
    const ev = ctx.event;
    if (ev.type !== 'login') return;
    const a = ctx.account!;
    let s = a.slots[env.slot] as FailState | undefined;
    const t = ctx.t;
    if (ev.result === 'failure') {
      failures++;
      if (!s) {
        s = { times: new Float64Array(RING).fill(-Infinity), ids: new Array<string>(RING).fill(''), next: 0 };
        a.slots[env.slot] = s;
      }
      s.times[s.next] = t;
      s.ids[s.next] = ev.id;
      s.next = (s.next + 1) % RING;
      const n = countRecent(s.times, t, windowMs);
      if (n >= c.account_failures) {
        emit({
          account: a.id,
          device: ev.device,
          score: 45 + Math.min(40, (n - c.account_failures) * 5),
          subject: 'account_burst',
          summary: `Account ${a.id} had ${n} failed logins in ${c.window_minutes} min.`,
          evidence: {
            event_ids: recentIds(s, t, windowMs),
            failures: n,
            window_minutes: c.window_minutes,
            ...(ev.device !== undefined ? { device: ev.device } : {}),
            ...(ctx.network ? { network: ctx.network.key } : {}),
          },
        });
      }
      const net = ctx.network;
      if (net) {
        let ns = net.slots[env.slot] as NetFailState | undefined;
        if (!ns) {
          ns = { times: new Float64Array(RING * 2).fill(-Infinity), accounts: new Array<string>(RING * 2).fill(''), next: 0 };
          net.slots[env.slot] = ns;
        }
        ns.times[ns.next] = t;
        ns.accounts[ns.next] = a.id;
        ns.next = (ns.next + 1) % (RING * 2);
        const nn = countRecent(ns.times, t, windowMs);
        const distinct = new Set<string>();
        for (let i = 0; i < ns.times.length; i++) if (t - ns.times[i]! <= windowMs) distinct.add(ns.accounts[i]!);
        if (nn >= c.network_failures || distinct.size >= c.network_accounts) {
          // About the network, not the accounts tried: those are the victims.
          emit({
            device: ev.device,
            score: 55 + Math.min(30, distinct.size * 3),
            subject: `network:${net.key}`,
            summary: `Network ${net.key} produced ${nn} failed logins on ${distinct.size} accounts in ${c.window_minutes} min (latest on ${a.id}).`,
            evidence: {
              event_ids: [ev.id],
              network: net.key,
              failures: nn,
              accounts: [...distinct].slice(0, 50),
              window_minutes: c.window_minutes,
            },
          });
        }
      }
      return;
    }
    if (!s) return;
    const n = countRecent(s.times, t, windowMs);
    if (n < c.success_after_failures) return;
    const newDevice = ctx.novelDevice;
    emit({
      account: a.id,
      device: ev.device,
      score: newDevice ? 80 : ctx.novelNetwork ? 55 : 30,
      subject: 'success_after_failures',
      summary: `Account ${a.id} logged in after ${n} failed attempts in ${c.window_minutes} min${newDevice ? `, from device ${ev.device} it never used` : ctx.novelNetwork ? ', from a new network' : ''}.`,
      evidence: {
        event_ids: [ev.id, ...recentIds(s, t, windowMs)],
        failures_before: n,
        first_seen_device: newDevice,
        first_seen_network: ctx.novelNetwork,
        window_minutes: c.window_minutes,
        ...(ev.device !== undefined ? { device: ev.device } : {}),
        ...(ctx.network ? { network: ctx.network.key } : {}),
      },
    });
    s.times.fill(-Infinity); // the success closes this run of failures
  }

  return { name: CREDENTIAL, scope: 'global', types: ['login'], onEvent, stats: () => ({ failures }) };
}

function countRecent(times: Float64Array, t: number, windowMs: number): number {
  let n = 0;
  for (let i = 0; i < times.length; i++) if (t - times[i]! <= windowMs && times[i]! <= t) n++;
  return n;
}

function recentIds(s: FailState, t: number, windowMs: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < RING && out.length < 10; i++) {
    const k = (s.next - 1 - i + RING) % RING;
    if (t - s.times[k]! <= windowMs) out.push(s.ids[k]!);
  }
  return out;
}
