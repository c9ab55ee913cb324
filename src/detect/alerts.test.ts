import { describe, expect, it } from 'vitest';
import type { ActivityEvent } from '../contracts/events.js';
import { AlertDesk } from './alerts.js';
import { resolveConfig } from './config.js';
import { ExceptionSet } from './exceptions.js';
import { RiskBook } from './risk.js';
import { HOUR, networkOf } from './util.js';

const cfg = resolveConfig({});
let n = 0;
const event = (t: number): ActivityEvent => ({ id: `e${++n}`, ts: new Date(t).toISOString(), type: 'logout', account: 'c1' }) as ActivityEvent;
const signal = (score: number, over: Record<string, unknown> = {}) => ({ account: 'c1', score, summary: 's', evidence: {}, ...over });

function desk() {
  const exceptions = new ExceptionSet(networkOf);
  const risk = new RiskBook(cfg);
  return { d: new AlertDesk(cfg, risk, exceptions), exceptions, risk };
}

describe('AlertDesk', () => {
  it('raises an alert with its severity, incident, risk and response, and collects them until take()', () => {
    const { d } = desk();
    const t = Date.parse('2026-11-02T10:00:00.000Z');
    const e = event(t);
    d.raise('sharing', signal(95), e, t);
    const out = d.take();
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ account: 'c1', detector: 'sharing', severity: 'critical', score: 95, event_id: e.id, ts: e.ts });
    expect(out[0]!.risk).toBeGreaterThan(0);
    expect(out[0]!.incident).toMatch(/^inc-/);
    expect(d.take()).toEqual([]);
    expect(d.counts).toMatchObject({ alerts: 1, alertsByDetector: { sharing: 1 } });
  });

  it('folds a repeat within the cooldown unless its severity rises; a new subject is not a repeat', () => {
    const { d } = desk();
    const t = Date.parse('2026-11-02T10:00:00.000Z');
    d.raise('unexplained', signal(45), event(t), t);
    d.raise('unexplained', signal(45), event(t + HOUR), t + HOUR);
    d.raise('unexplained', signal(45, { subject: 'other' }), event(t + HOUR), t + HOUR);
    d.raise('unexplained', signal(95), event(t + 2 * HOUR), t + 2 * HOUR);
    d.raise('unexplained', signal(45), event(t + 2 * HOUR + cfg.risk.cooldown_hours * HOUR), t + 2 * HOUR + cfg.risk.cooldown_hours * HOUR);
    const out = d.take();
    expect(out.map((a) => a.score)).toEqual([45, 45, 95, 45]);
    expect(d.counts.suppressed).toBe(1);
    // One incident for the account while alerts keep coming within the gap.
    expect(new Set(out.map((a) => a.incident)).size).toBe(1);
  });

  it('opens a new incident after the incident gap and forgets old memos on sweep', () => {
    const { d } = desk();
    const t = Date.parse('2026-11-02T10:00:00.000Z');
    d.raise('sharing', signal(70), event(t), t);
    const later = t + (cfg.risk.incident_gap_hours + 1) * HOUR;
    d.raise('sharing', signal(70), event(later), later);
    const [a, b] = d.take();
    expect(a!.incident).not.toBe(b!.incident);
    expect(d.openIncidents).toBe(1);
    d.sweep(later + (cfg.risk.incident_gap_hours + 1) * HOUR);
    expect(d.openIncidents).toBe(0);
  });

  it('drops the signal of an account under an exception, and counts it', () => {
    const { d, exceptions } = desk();
    const t = Date.parse('2026-11-02T10:00:00.000Z');
    exceptions.add({ kind: 'account', value: 'c1', until: '2026-11-03T00:00:00.000Z', reason: 'pentest', created_by: 'sec' });
    d.raise('sharing', signal(95), event(t), t);
    d.raise('sharing', signal(95, { account: 'c2' }), event(t), t);
    expect(d.take().map((a) => a.account)).toEqual(['c2']);
    expect(d.counts.excepted).toBe(1);
  });
});
