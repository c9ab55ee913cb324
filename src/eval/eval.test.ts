import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import { EvalInputError, createScorer, formatReport, parseAlertLine, parseEventLite } from './eval.js';
import { evaluateFiles } from './io.js';
import type { TruthFile } from '../simulate/truth.js';

const dir = mkdtempSync(join(tmpdir(), 'warden-eval-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Two local days, 2026-11-05 and 11-06 (CST); times below are UTC. */
const truth = {
  format: 'warden-truth/1',
  generator: 'hand-made fixture',
  seed: 0,
  timezone: '+08:00',
  start: '2026-11-04T16:00:00.000Z',
  end: '2026-11-06T16:00:00.000Z',
  days: 2,
  events: 12,
  params: {},
  attacks: [
    {
      id: 'A1', scenario: 'leased_night', description: '', accounts: ['acc.a'], related_accounts: [], devices: ['dev-x'], networks: [],
      window: { start: '2026-11-05T15:00:00.000Z', end: '2026-11-05T15:10:00.000Z' }, event_count: 4, records_exposed: 4,
      event_ids: ['a1', 'a2', 'a3', 'a4'], params: {},
    },
    {
      id: 'A2', scenario: 'cs_insider', description: '', accounts: ['acc.b'], related_accounts: [], devices: [], networks: [],
      window: { start: '2026-11-05T03:00:00.000Z', end: '2026-11-05T03:05:00.000Z' }, event_count: 2, records_exposed: 1,
      event_ids: ['b1', 'b2'], params: {},
    },
  ],
  lookalikes: [
    { id: 'L1', kind: 'new_phone', description: '', accounts: ['acc.c'], all_accounts: false, related_accounts: [], devices: [], networks: [], window: { start: '2026-11-04T16:00:00.000Z', end: '2026-11-05T16:00:00.000Z' }, params: {} },
    { id: 'L2', kind: 'surge', description: '', accounts: [], all_accounts: true, related_accounts: [], devices: [], networks: [], window: { start: '2026-11-05T16:00:00.000Z', end: '2026-11-06T16:00:00.000Z' }, params: {} },
  ],
  skipped: [],
  accounts: [],
} as unknown as TruthFile;

const ev = (id: string, ts: string, account: string | undefined, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ id, ts, type: 'access', ...(account ? { account, role: 'courier' } : {}), action: 'reveal', result: 'allowed', ...extra });

const events = [
  ev('c1', '2026-11-05T01:00:00.000Z', 'acc.c', { type: 'login', result: 'success' }),
  ev('b1', '2026-11-05T03:00:00.000Z', 'acc.b', { waybill: 'W5', fields: ['name', 'phone'] }),
  ev('b2', '2026-11-05T03:05:00.000Z', 'acc.b', { waybill: 'W6', fields: ['name'], result: 'denied' }),
  ev('n1', '2026-11-05T08:00:00.000Z', 'acc.a', { waybill: 'W9', fields: ['name'] }),
  ev('a1', '2026-11-05T15:00:00.000Z', 'acc.a', { type: 'login', result: 'success', device: 'dev-x' }),
  ev('a2', '2026-11-05T15:01:00.000Z', 'acc.a', { waybill: 'W1', fields: ['name'] }),
  ev('a3', '2026-11-05T15:02:00.000Z', 'acc.a', { waybill: 'W2', fields: ['name', 'phone'] }),
  ev('a4', '2026-11-05T15:10:00.000Z', 'acc.a', { action: 'export', waybills: ['W2', 'W3', 'W4'], fields: ['name'] }),
  ev('d1', '2026-11-05T20:00:00.000Z', 'acc.d', { type: 'login', result: 'success' }),
  ev('d2', '2026-11-05T21:00:00.000Z', 'acc.d', { action: 'view', waybill: 'W7', fields: [] }),
  JSON.stringify({ id: 'e1', ts: '2026-11-05T21:30:00.000Z', type: 'waybill', waybill: 'W8' }),
];

const alert = (id: string, ts: string, severity: string, who: { account?: string; device?: string }) =>
  JSON.stringify({ id, ts, ...who, detector: 'test', severity, score: 50, summary: 's', evidence: {} });
const alerts = [
  alert('x1', '2026-11-05T15:02:00.000Z', 'medium', { account: 'acc.a' }),
  alert('x2', '2026-11-05T15:00:30.000Z', 'low', { account: 'acc.a' }),
  alert('x3', '2026-11-04T20:00:00.000Z', 'high', { account: 'acc.b' }),
  alert('x4', '2026-11-05T02:00:00.000Z', 'medium', { account: 'acc.c' }),
  alert('x5', '2026-11-05T22:00:00.000Z', 'critical', { account: 'acc.d' }),
  alert('x6', '2026-11-05T23:00:00.000Z', 'medium', { account: 'acc.d' }),
  alert('x7', '2026-11-05T23:30:00.000Z', 'medium', { device: 'dev-z' }),
];

function score(alertLines = alerts) {
  const s = createScorer(truth);
  for (const l of events) s.addEvent(parseEventLite(l)!);
  return s.finish(alertLines.map((l, i) => parseAlertLine(l, i + 1)));
}

describe('warden eval scoring', () => {
  it('marks an account caught by its first medium+ alert at or after the attack start, with minutes and records exposed before it', () => {
    const r = score();
    const a = r.accounts.find((x) => x.account === 'acc.a')!;
    expect(a.caught).toBe(true);
    expect(a.minutes_to_alert).toBe(2);
    expect(a.exposed_before_alert).toBe(2); // W1, W2 (the alerting event's own records count)
    expect(a.exposed_total).toBe(4); // W1..W4; W9 was ordinary work
  });

  it('marks an account missed when its only alert came before the attack, counting every allowed record', () => {
    const b = score().accounts.find((x) => x.account === 'acc.b')!;
    expect(b.caught).toBe(false);
    expect(b.minutes_to_alert).toBeUndefined();
    expect(b.exposed_before_alert).toBe(1); // W5; W6 was denied
  });

  it('counts false-alarm account-days per 1,000 active account-days, by look-alike kind', () => {
    const r = score();
    expect(r.summary).toMatchObject({
      attacking_accounts: 2, caught: 1, missed: 1, median_minutes_to_alert: 2, median_exposed_before_alert: 1.5,
      max_exposed_before_alert: 2, active_account_days: 4, false_alarm_account_days: 3, false_alarms_per_1000: 750,
    });
    expect(r.false_alarms.by_kind).toEqual({
      none: { account_days: 2, false_alarm_days: 1, per_1000: 500 },
      new_phone: { account_days: 1, false_alarm_days: 1, per_1000: 1000 },
      surge: { account_days: 1, false_alarm_days: 1, per_1000: 1000 },
    });
    expect(r.false_alarms.days.find((d) => d.account === 'acc.d')).toMatchObject({ date: '2026-11-06', alerts: 2, kind: 'surge' });
    expect(r.inputs).toMatchObject({ events: 11, alerts: 7, alerts_medium_plus: 6, device_only_alerts: 1 });
    expect(formatReport(r)).toContain('3 of 4 active account-days = 750.00 per 1,000');
  });

  it('counts a device-only alert on the attack device as catching the attack', () => {
    const r = score([alert('y1', '2026-11-05T15:01:00.000Z', 'high', { device: 'dev-x' })]);
    expect(r.accounts.find((x) => x.account === 'acc.a')).toMatchObject({ caught: true, minutes_to_alert: 1, exposed_before_alert: 1 });
    expect(r.summary.false_alarm_account_days).toBe(0);
  });

  it('treats an attacker\'s alert long after the attack (past the grace period) as a false alarm, not a catch', () => {
    const r = score([alert('z1', '2026-11-07T15:10:01.000Z', 'high', { account: 'acc.a' })]);
    expect(r.accounts.find((x) => x.account === 'acc.a')!.caught).toBe(false);
    expect(r.summary.false_alarm_account_days).toBe(1);
  });
});

describe('warden eval input files', () => {
  const files = (name: string, parts: { events?: string; truth?: string; alerts?: string }) => {
    const p = { events: join(dir, `${name}.events.ndjson.gz`), truth: join(dir, `${name}.truth.json`), alerts: join(dir, `${name}.alerts.ndjson`) };
    writeFileSync(p.events, gzipSync(parts.events ?? events.join('\n') + '\n'));
    writeFileSync(p.truth, parts.truth ?? JSON.stringify(truth));
    writeFileSync(p.alerts, parts.alerts ?? alerts.join('\n') + '\n');
    return p;
  };

  it('reads gzipped events and gives the same numbers', async () => {
    const r = await evaluateFiles(files('ok', {}));
    expect(r.summary.false_alarms_per_1000).toBe(750);
    expect(r.summary.caught).toBe(1);
  });

  it('rejects a missing file, a file that is not a truth file, and an alert line without a severity, naming the problem', async () => {
    const p = files('bad', {});
    await expect(evaluateFiles({ ...p, events: join(dir, 'nope.ndjson') })).rejects.toThrow(/cannot read events file .*nope.ndjson: ENOENT/);
    await expect(evaluateFiles(files('bad-truth', { truth: '{"hello": 1}' }))).rejects.toThrow(/not a truth file/);
    const badAlerts = files('bad-alerts', { alerts: `${alerts[0]}\n{"id":"q","ts":"2026-11-05T01:00:00Z","detector":"d"}\n` });
    await expect(evaluateFiles(badAlerts)).rejects.toThrow(/alerts.ndjson:2: "severity" must be one of/);
    await expect(evaluateFiles(files('no-events', { events: 'not json\n' }))).rejects.toBeInstanceOf(EvalInputError);
  });
});
