/**
 * Builders for detection tests: contract events with sensible defaults, and a few days of
 * normal work for an account so that its baseline exists.
 */
import type { ActivityEvent } from '../../contracts/events.js';
import { validateEvent } from '../../contracts/events.js';
import { createDetectionEngine, type AlertOut, type DetectionEngine } from '../engine.js';
import type { DeepPartial, DetectConfig } from '../config.js';

const HOUR = 3_600_000;
const MIN = 60_000;
/** Local midnight (UTC+8) of 2026-11-02 as epoch ms. */
export const DAY0 = Date.parse('2026-11-01T16:00:00.000Z');
/** Epoch ms of local `hour:minute` on day `day` (0-based from DAY0). */
export const local = (day: number, hour: number, minute = 0, second = 0): number =>
  DAY0 + day * 24 * HOUR + hour * HOUR + minute * MIN + second * 1000;

let counter = 0;
export function resetIds(): void {
  counter = 0;
}

/** Builds a contract event; throws if the result would not validate (tests must feed valid events). */
export function ev(t: number, fields: Record<string, unknown>): ActivityEvent {
  const e = { id: `t${(counter++).toString().padStart(7, '0')}`, ts: new Date(t).toISOString(), ...fields };
  const r = validateEvent(e);
  if (!r.ok) throw new Error(`test event invalid: ${r.reason} in ${JSON.stringify(e)}`);
  return r.event;
}

export interface Person {
  account: string;
  role: string;
  site: string;
  device: string;
  ip: string;
  city: string;
}

export const courier = (n: number, site = 'OUT-A', city = '上海'): Person => ({
  account: `c${n}`,
  role: 'courier',
  site,
  device: `pda-${n}`,
  ip: `10.1.${n % 200}.${10 + (n <= 245 ? n : n % 200)}`,
  city,
});

export const actor = (p: Person, session?: string): Record<string, unknown> => ({
  account: p.account,
  role: p.role,
  site: p.site,
  device: p.device,
  ip: p.ip,
  city: p.city,
  ...(session ? { session } : {}),
});

let wbCounter = 5_000_000;
/** A fresh, non-sequential-looking waybill number (steps of 7919). */
export function waybill(): string {
  wbCounter += 7919;
  return `YT${1_000_000_000_000 + wbCounter}`;
}

/**
 * One normal working day: login ~08:00 with MFA, `parcels` assigned deliveries revealed between
 * 09:00 and 18:00, logout 19:00. Routing events name the person's site as destination.
 */
export function workDay(p: Person, day: number, parcels = 40, opts: { appHash?: string; startHour?: number } = {}): ActivityEvent[] {
  const out: ActivityEvent[] = [];
  const session = `s-${p.account}-${day}`;
  const start = opts.startHour ?? 8;
  out.push(ev(local(day, start, 0), { type: 'login', ...actor(p, session), result: 'success', mfa: true, ...(opts.appHash ? { app_hash: opts.appHash } : {}) }));
  const span = (18 - start - 1) * 60;
  for (let i = 0; i < parcels; i++) {
    const wb = waybill();
    const t = local(day, start + 1, Math.floor((i * span) / parcels));
    out.push(ev(local(day, start, 5), { type: 'waybill', waybill: wb, origin_site: 'OUT-Z', dest_site: p.site, dest_city: p.city }));
    out.push(ev(local(day, start, 10), { type: 'assign', account: p.account, role: p.role, waybill: wb, task: 'delivery' }));
    out.push(ev(t, { type: 'access', ...actor(p, session), action: 'reveal', waybill: wb, fields: ['phone'], purpose: 'delivery', result: 'allowed' }));
  }
  out.push(ev(local(day, 19, 0), { type: 'logout', ...actor(p, session) }));
  return out.sort((a, b) => Date.parse(a.ts) - Date.parse(b.ts));
}

/** Several people working `days` days (in time order). */
export function history(people: Person[], days: number, parcels = 40, fromDay = 0, opts: { appHash?: string } = {}): ActivityEvent[] {
  const all: ActivityEvent[] = [];
  for (let d = fromDay; d < fromDay + days; d++) {
    const day: ActivityEvent[] = [];
    for (const p of people) day.push(...workDay(p, d, parcels, opts));
    day.sort((a, b) => Date.parse(a.ts) - Date.parse(b.ts));
    all.push(...day);
  }
  return all;
}

export function sortByTime(events: ActivityEvent[]): ActivityEvent[] {
  return [...events].sort((a, b) => Date.parse(a.ts) - Date.parse(b.ts));
}

export interface RunResult {
  engine: DetectionEngine;
  alerts: AlertOut[];
}

/** Feeds events (in the given order) and flushes. */
export function run(events: ActivityEvent[], config: DeepPartial<DetectConfig> = {}, engine?: DetectionEngine): RunResult {
  const e = engine ?? createDetectionEngine(config as Record<string, unknown>);
  const alerts: AlertOut[] = [];
  for (const x of events) alerts.push(...e.process(x));
  alerts.push(...e.flush());
  return { engine: e, alerts };
}

export const SEV = { low: 0, medium: 1, high: 2, critical: 3 } as const;
/** Alerts a person should look at (medium and above). */
export const actionable = (alerts: AlertOut[], detector?: string, account?: string): AlertOut[] =>
  alerts.filter((a) => SEV[a.severity] >= 1 && (!detector || a.detector === detector) && (!account || a.account === account));
