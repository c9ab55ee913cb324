/**
 * Scores a detector's alerts against the simulator's ground truth (definitions in
 * docs/truth-format.md, "How warden eval scores"): per attacking account, caught or missed,
 * minutes to the first medium+ alert, records exposed before it; and false-alarm account-days per
 * 1,000 active account-days, broken down by the benign look-alike that explains them.
 */
import { SEVERITIES, type Severity } from '../contracts/events.js';
import { TRUTH_FORMAT, type TruthFile } from '../simulate/truth.js';

const CST = 8 * 3_600_000;
const DAY = 86_400_000;
const MEDIUM_PLUS: ReadonlySet<string> = new Set<Severity>(['medium', 'high', 'critical']);

export class EvalInputError extends Error {
  readonly exitCode = 2;
}

/** The part of an event that scoring needs. */
export interface EventLite {
  id: string;
  t: number;
  account?: string;
  type: string;
  action?: string;
  result?: string;
  fields?: unknown[];
  waybill?: string;
  waybills?: string[];
}

export interface AlertLite {
  id: string;
  t: number;
  account?: string;
  device?: string;
  detector: string;
  severity: Severity;
}

export interface AccountResult {
  attack: string;
  scenario: string;
  account: string;
  caught: boolean;
  attack_start: string;
  attack_end: string;
  first_alert?: string;
  first_alert_detector?: string;
  minutes_to_alert?: number;
  /** distinct waybills shown in full by the account's attack events at or before the first alert (all of them when missed) */
  exposed_before_alert: number;
  exposed_total: number;
}

export interface KindResult {
  /** active account-days this look-alike kind covers */
  account_days: number;
  false_alarm_days: number;
  per_1000: number;
}

export interface EvalReport {
  inputs: { events: number; events_rejected: number; alerts: number; alerts_medium_plus: number; device_only_alerts: number };
  grace_hours: number;
  accounts: AccountResult[];
  scenarios: { scenario: string; accounts: number; caught: number; median_minutes?: number; median_exposed: number; max_exposed: number }[];
  summary: {
    attacking_accounts: number;
    caught: number;
    missed: number;
    median_minutes_to_alert?: number;
    median_exposed_before_alert: number;
    max_exposed_before_alert: number;
    active_account_days: number;
    false_alarm_account_days: number;
    false_alarms_per_1000: number;
  };
  false_alarms: {
    by_kind: Record<string, KindResult>;
    days: { account: string; date: string; kind: string; alerts: number; detectors: string[] }[];
  };
}

const cstDate = (t: number) => new Date(t + CST).toISOString().slice(0, 10);
const cstDayStart = (date: string) => Date.parse(`${date}T00:00:00Z`) - CST;

function median(xs: number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

// ------------------------------------------------------------------ parsing

export function parseTruth(text: string, source = 'truth'): TruthFile {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new EvalInputError(`${source}: not JSON (${(err as Error).message.slice(0, 120)})`);
  }
  const t = v as Partial<TruthFile>;
  if (typeof v !== 'object' || v === null || t.format !== TRUTH_FORMAT) {
    throw new EvalInputError(`${source}: not a truth file (expected "format": "${TRUTH_FORMAT}")`);
  }
  if (!Array.isArray(t.attacks) || !Array.isArray(t.lookalikes)) throw new EvalInputError(`${source}: "attacks" and "lookalikes" must be arrays`);
  t.attacks.forEach((a, i) => {
    const ok =
      a && typeof a.id === 'string' && Array.isArray(a.accounts) && Array.isArray(a.event_ids) && Array.isArray(a.devices ?? []) &&
      a.window && !Number.isNaN(Date.parse(a.window.start)) && !Number.isNaN(Date.parse(a.window.end));
    if (!ok) throw new EvalInputError(`${source}: attacks[${i}] lacks id, accounts, event_ids or a valid window`);
    a.related_accounts ??= [];
    a.devices ??= [];
  });
  t.lookalikes.forEach((l, i) => {
    if (!l || typeof l.kind !== 'string' || !Array.isArray(l.accounts) || !l.window || Number.isNaN(Date.parse(l.window.start)) || Number.isNaN(Date.parse(l.window.end))) {
      throw new EvalInputError(`${source}: lookalikes[${i}] lacks kind, accounts or a valid window`);
    }
  });
  return t as TruthFile;
}

/** One alert line; throws EvalInputError naming the line. */
export function parseAlertLine(line: string, lineNo: number, source = 'alerts'): AlertLite {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(line) as Record<string, unknown>;
  } catch (err) {
    throw new EvalInputError(`${source}:${lineNo}: invalid JSON (${(err as Error).message.slice(0, 80)})`);
  }
  const bad = (why: string) => new EvalInputError(`${source}:${lineNo}: ${why}`);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('not a JSON object');
  if (typeof v.id !== 'string') throw bad('missing "id"');
  const t = typeof v.ts === 'string' ? Date.parse(v.ts) : Number.NaN;
  if (Number.isNaN(t)) throw bad('missing or invalid "ts"');
  if (typeof v.detector !== 'string') throw bad('missing "detector"');
  if (typeof v.severity !== 'string' || !(SEVERITIES as readonly string[]).includes(v.severity)) throw bad(`"severity" must be one of ${SEVERITIES.join(', ')}`);
  if (v.account !== undefined && typeof v.account !== 'string') throw bad('"account" must be a string');
  if (v.device !== undefined && typeof v.device !== 'string') throw bad('"device" must be a string');
  const a: AlertLite = { id: v.id, t, detector: v.detector, severity: v.severity as Severity };
  if (typeof v.account === 'string') a.account = v.account;
  if (typeof v.device === 'string') a.device = v.device;
  return a;
}

/** One event line, or undefined when it is not a usable event (counted by the caller). */
export function parseEventLite(line: string): EventLite | undefined {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null || typeof v.id !== 'string' || typeof v.ts !== 'string' || typeof v.type !== 'string') return undefined;
  const t = Date.parse(v.ts);
  if (Number.isNaN(t)) return undefined;
  const e: EventLite = { id: v.id, t, type: v.type };
  if (typeof v.account === 'string') e.account = v.account;
  if (v.type === 'access') {
    if (typeof v.action === 'string') e.action = v.action;
    if (typeof v.result === 'string') e.result = v.result;
    if (Array.isArray(v.fields)) e.fields = v.fields;
    if (typeof v.waybill === 'string') e.waybill = v.waybill;
    if (Array.isArray(v.waybills)) e.waybills = v.waybills.filter((x): x is string => typeof x === 'string');
  }
  return e;
}

// ------------------------------------------------------------------ scoring

export interface Scorer {
  addEvent(e: EventLite): void;
  finish(alerts: AlertLite[], rejectedEvents?: number): EvalReport;
}

/** Streams the events through (memory: attack events plus one entry per active account-day). */
export function createScorer(truth: TruthFile, opts: { graceHours?: number } = {}): Scorer {
  const graceMs = (opts.graceHours ?? 24) * 3_600_000;
  const attackOf = new Map<string, number>(); // event id -> attack index
  truth.attacks.forEach((a, i) => {
    for (const id of a.event_ids) attackOf.set(id, i);
  });
  const activeDays = new Set<string>();
  const attackEvents: EventLite[][] = truth.attacks.map(() => []);
  let events = 0;

  return {
    addEvent(e) {
      events++;
      if (e.account !== undefined) activeDays.add(`${e.account}\u0000${cstDate(e.t)}`);
      const ai = attackOf.get(e.id);
      if (ai !== undefined) attackEvents[ai]!.push(e);
    },

    finish(alerts, rejectedEvents = 0) {
      const serious = alerts.filter((a) => MEDIUM_PLUS.has(a.severity)).sort((a, b) => a.t - b.t || (a.id < b.id ? -1 : 1));
      const accounts: AccountResult[] = [];
      // windows during which an account's alerts are true positives
      const excused = new Map<string, { from: number; to: number }[]>();
      const excuse = (acc: string, from: number, to: number) => {
        const l = excused.get(acc) ?? [];
        l.push({ from, to });
        excused.set(acc, l);
      };

      truth.attacks.forEach((atk, ai) => {
        const evs = attackEvents[ai]!;
        const devices = new Set(atk.devices);
        const wStart = Date.parse(atk.window.start);
        const wEnd = Date.parse(atk.window.end);
        for (const r of atk.related_accounts) excuse(r, wStart, wEnd + graceMs);
        for (const acc of atk.accounts) {
          const mine = evs.filter((e) => e.account === acc);
          let start = mine.length > 0 ? Infinity : wStart;
          let end = mine.length > 0 ? -Infinity : wEnd;
          for (const e of mine) {
            if (e.t < start) start = e.t;
            if (e.t > end) end = e.t;
          }
          excuse(acc, start, end + graceMs);
          const first = serious.find(
            (a) => a.t >= start && a.t <= end + graceMs && (a.account === acc || (a.account === undefined && a.device !== undefined && devices.has(a.device))),
          );
          const exposed = (until: number) => {
            const set = new Set<string>();
            for (const e of mine) {
              if (e.t > until || e.type !== 'access' || (e.result !== undefined && e.result !== 'allowed')) continue;
              if (!e.fields || e.fields.length === 0) continue;
              if (e.waybill) set.add(e.waybill);
              if (e.waybills) for (const wb of e.waybills) set.add(wb);
            }
            return set.size;
          };
          const total = exposed(Infinity);
          accounts.push({
            attack: atk.id,
            scenario: atk.scenario,
            account: acc,
            caught: first !== undefined,
            attack_start: new Date(start).toISOString(),
            attack_end: new Date(end).toISOString(),
            ...(first
              ? {
                  first_alert: new Date(first.t).toISOString(),
                  first_alert_detector: first.detector,
                  minutes_to_alert: Math.round(((first.t - start) / 60_000) * 10) / 10,
                }
              : {}),
            exposed_before_alert: first ? exposed(first.t) : total,
            exposed_total: total,
          });
        }
      });

      // false alarms: account-days with a medium+ alert outside any excused window
      const faDays = new Map<string, { account: string; date: string; alerts: number; detectors: Set<string> }>();
      let deviceOnly = 0;
      for (const a of serious) {
        if (a.account === undefined) {
          deviceOnly++;
          continue;
        }
        const ex = excused.get(a.account);
        if (ex?.some((w) => a.t >= w.from && a.t <= w.to)) continue;
        const date = cstDate(a.t);
        const k = `${a.account}\u0000${date}`;
        const fd = faDays.get(k) ?? { account: a.account, date, alerts: 0, detectors: new Set<string>() };
        fd.alerts++;
        fd.detectors.add(a.detector);
        faDays.set(k, fd);
      }

      // look-alike cover: most specific label first (fewest accounts), fleet-wide ones last
      const looks = truth.lookalikes
        .map((l) => ({ kind: l.kind, all: l.all_accounts === true, accounts: new Set(l.accounts), from: Date.parse(l.window.start), to: Date.parse(l.window.end) }))
        .sort((x, y) => (x.all ? Infinity : x.accounts.size) - (y.all ? Infinity : y.accounts.size));
      const kindOf = (account: string, date: string): string => {
        const d0 = cstDayStart(date);
        const d1 = d0 + DAY;
        for (const l of looks) {
          if ((l.all || l.accounts.has(account)) && l.from < d1 && l.to > d0) return l.kind;
        }
        return 'none';
      };
      const byKind: Record<string, KindResult> = {};
      const bump = (kind: string, field: 'account_days' | 'false_alarm_days') => {
        const k = (byKind[kind] ??= { account_days: 0, false_alarm_days: 0, per_1000: 0 });
        k[field]++;
      };
      for (const k of activeDays) {
        const [account, date] = k.split('\u0000') as [string, string];
        bump(kindOf(account, date), 'account_days');
      }
      const days: EvalReport['false_alarms']['days'] = [];
      for (const fd of faDays.values()) {
        const kind = kindOf(fd.account, fd.date);
        bump(kind, 'false_alarm_days');
        days.push({ account: fd.account, date: fd.date, kind, alerts: fd.alerts, detectors: [...fd.detectors].sort() });
      }
      days.sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : a.account < b.account ? -1 : 1));
      for (const k of Object.values(byKind)) k.per_1000 = k.account_days > 0 ? Math.round((k.false_alarm_days / k.account_days) * 1000 * 100) / 100 : 0;

      const scenarios = [...new Set(accounts.map((a) => a.scenario))].map((scenario) => {
        const rows = accounts.filter((a) => a.scenario === scenario);
        const mins = rows.filter((r) => r.caught).map((r) => r.minutes_to_alert!);
        const exp = rows.map((r) => r.exposed_before_alert);
        const med = median(mins);
        return {
          scenario,
          accounts: rows.length,
          caught: rows.filter((r) => r.caught).length,
          ...(med !== undefined ? { median_minutes: med } : {}),
          median_exposed: median(exp) ?? 0,
          max_exposed: Math.max(0, ...exp),
        };
      });
      const caught = accounts.filter((a) => a.caught);
      const medMin = median(caught.map((a) => a.minutes_to_alert!));
      const exposedAll = accounts.map((a) => a.exposed_before_alert);
      const fa = faDays.size;
      const active = activeDays.size;
      return {
        inputs: { events, events_rejected: rejectedEvents, alerts: alerts.length, alerts_medium_plus: serious.length, device_only_alerts: deviceOnly },
        grace_hours: graceMs / 3_600_000,
        accounts,
        scenarios,
        summary: {
          attacking_accounts: accounts.length,
          caught: caught.length,
          missed: accounts.length - caught.length,
          ...(medMin !== undefined ? { median_minutes_to_alert: medMin } : {}),
          median_exposed_before_alert: median(exposedAll) ?? 0,
          max_exposed_before_alert: Math.max(0, ...exposedAll),
          active_account_days: active,
          false_alarm_account_days: fa,
          false_alarms_per_1000: active > 0 ? Math.round((fa / active) * 1000 * 100) / 100 : 0,
        },
        false_alarms: { by_kind: byKind, days },
      };
    },
  };
}

// ------------------------------------------------------------------ human output

function table(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (r: string[]) => r.map((c, i) => (i === 0 || i === 1 || i === 2 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ').trimEnd();
  return [fmt(head), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(fmt)].join('\n');
}

export function formatReport(r: EvalReport): string {
  const s = r.summary;
  const out: string[] = [];
  out.push(
    `events ${r.inputs.events}${r.inputs.events_rejected ? ` (${r.inputs.events_rejected} rejected)` : ''}, alerts ${r.inputs.alerts} (${r.inputs.alerts_medium_plus} medium or above${r.inputs.device_only_alerts ? `, ${r.inputs.device_only_alerts} about a device only` : ''})`,
    '',
    'Attacking accounts',
    table(
      ['attack', 'scenario', 'account', 'caught', 'minutes', 'exposed before', 'exposed total', 'first detector'],
      r.accounts.map((a) => [
        a.attack,
        a.scenario,
        a.account,
        a.caught ? 'yes' : 'MISSED',
        a.minutes_to_alert !== undefined ? a.minutes_to_alert.toFixed(1) : '-',
        String(a.exposed_before_alert),
        String(a.exposed_total),
        a.first_alert_detector ?? '-',
      ]),
    ),
    '',
    'By scenario',
    table(
      ['scenario', 'caught', 'median min', 'median exposed', 'max exposed'],
      r.scenarios.map((x) => [x.scenario, `${x.caught}/${x.accounts}`, x.median_minutes !== undefined ? x.median_minutes.toFixed(1) : '-', String(x.median_exposed), String(x.max_exposed)]),
    ),
    '',
    `caught ${s.caught} of ${s.attacking_accounts} attacking accounts; median ${s.median_minutes_to_alert !== undefined ? s.median_minutes_to_alert.toFixed(1) : '-'} min to first alert; ` +
      `records exposed before it: median ${s.median_exposed_before_alert}, max ${s.max_exposed_before_alert}`,
    '',
    'False alarms (account-days with a medium+ alert and no attack)',
    table(
      ['look-alike', 'account-days', 'false-alarm days', 'per 1,000'],
      Object.entries(r.false_alarms.by_kind)
        .sort((a, b) => b[1].false_alarm_days - a[1].false_alarm_days || a[0].localeCompare(b[0]))
        .map(([k, v]) => [k, String(v.account_days), String(v.false_alarm_days), v.per_1000.toFixed(2)]),
    ),
    `total: ${s.false_alarm_account_days} of ${s.active_account_days} active account-days = ${s.false_alarms_per_1000.toFixed(2)} per 1,000`,
  );
  return `${out.join('\n')}\n`;
}
