import { describe, expect, it } from 'vitest';
import { actionable, actor, courier, ev, history, local, run, sortByTime } from '../test-support/events.js';
import type { ActivityEvent } from '../../contracts/events.js';

const team = [1, 2, 3, 4, 5, 6].map((n) => courier(n));
const base = history(team, 3);

describe('credential detector', () => {
  it('fires on a burst of failed logins and on the success that follows from a new device', () => {
    const bot = { ...team[0]!, device: 'bot-1', ip: '192.0.2.55' };
    const events: ActivityEvent[] = [];
    for (let i = 0; i < 6; i++) events.push(ev(local(3, 3, 0, i * 10), { type: 'login', ...actor(bot), result: 'failure', mfa: false }));
    events.push(ev(local(3, 3, 2), { type: 'login', ...actor(bot, 'sb'), result: 'success', mfa: false }));
    const { alerts } = run(sortByTime([...base, ...events]));
    const hits = actionable(alerts, 'credential', 'c1');
    expect(hits.map((a) => a.evidence.failures ?? a.evidence.failures_before)).toEqual([5, 6]);
    expect(hits[1]!.severity).toBe('high');
    expect(hits[1]!.evidence.first_seen_device).toBe(true);
  });

  it('reports spraying from one network as a network alert, not against the victims', () => {
    const events: ActivityEvent[] = team.map((p, i) => ev(local(3, 3, 0, i * 5), { type: 'login', ...actor({ ...p, device: 'bot-2', ip: '192.0.2.77' }), result: 'failure', mfa: false }));
    const { alerts } = run(sortByTime([...base, ...events]));
    const spray = alerts.filter((a) => a.detector === 'credential');
    expect(spray).toHaveLength(1);
    expect(spray[0]!.account).toBeUndefined();
    expect(spray[0]!.device).toBe('bot-2');
  });

  it('stays low for an employee who mistypes a password twice and logs in on their own device', () => {
    const c2 = team[1]!;
    const events = [
      ev(local(3, 7, 58), { type: 'login', ...actor(c2), result: 'failure', mfa: false }),
      ev(local(3, 7, 59), { type: 'login', ...actor(c2), result: 'failure', mfa: false }),
      ev(local(3, 7, 59, 30), { type: 'login', ...actor(c2), result: 'failure', mfa: false }),
      ev(local(3, 8, 0), { type: 'login', ...actor(c2, 'ok'), result: 'success', mfa: true }),
    ];
    const { alerts } = run(sortByTime([...base, ...events]));
    expect(actionable(alerts, undefined, 'c2')).toEqual([]);
  });
});
