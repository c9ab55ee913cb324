import { describe, expect, it } from 'vitest';
import { actionable, actor, courier, ev, history, local, run, sortByTime, waybill, workDay } from '../test-support/events.js';
import type { ActivityEvent } from '../../contracts/events.js';
import { WARDEN_PRODUCER } from '../../events/producer.js';
import { GATEWAY_PRODUCER } from './device-posture.js';

const fleet = Array.from({ length: 24 }, (_, i) => courier(i + 1));
const base = history(fleet, 2, 5, 0, { appHash: 'app-1.0' });

describe('device_posture detector', () => {
  it('does not alert on a fleet-wide update adopted by many devices within hours', () => {
    const update = fleet.map((p) => workDay(p, 2, 5, { appHash: 'app-1.1' })).flat();
    const { alerts, engine } = run(sortByTime([...base, ...update]));
    expect(alerts.filter((a) => a.detector === 'device_posture')).toEqual([]);
    expect(engine.stats().detectors.device_posture!.fleet_updates).toBe(1);
  });

  it('alerts at once when a device on an unknown build makes unexplained reveals', () => {
    const victim = fleet[0]!;
    const day: ActivityEvent[] = [ev(local(2, 8), { type: 'login', ...actor(victim, 'sm'), result: 'success', mfa: true, app_hash: 'app-trojan' })];
    for (let i = 0; i < 5; i++) {
      day.push(ev(local(2, 9, i), { type: 'access', ...actor(victim, 'sm'), action: 'reveal', waybill: waybill(), fields: ['phone'], purpose: 'delivery', result: 'allowed' }));
    }
    const others = fleet.slice(1).map((p) => workDay(p, 2, 5, { appHash: 'app-1.0' })).flat();
    const { alerts } = run(sortByTime([...base, ...others, ...day]));
    const hit = actionable(alerts, 'device_posture')[0];
    expect(hit).toMatchObject({ device: 'pda-1', account: 'c1', severity: 'high' });
    expect(hit!.evidence.unexplained_reveals).toBe(3);
  });

  it('alerts on a build still unadopted when its adoption window closes', () => {
    const victim = fleet[0]!;
    const day2 = workDay(victim, 2, 5, { appHash: 'app-odd' });
    const day3 = workDay(victim, 3, 5, { appHash: 'app-odd' });
    const { alerts } = run(sortByTime([...base, ...day2, ...day3]));
    const hit = alerts.find((a) => a.detector === 'device_posture');
    expect(hit?.severity).toBe('medium');
    expect(hit?.ts.slice(0, 10)).toBe('2026-11-05');
  });

  it('treats an app_hash exception as known', () => {
    const victim = fleet[0]!;
    const r = run([]);
    r.engine.addException({ kind: 'app_hash', value: 'app-odd', until: '2027-01-01T00:00:00.000Z', reason: 'pilot build', created_by: 'it' });
    const { alerts } = run(sortByTime([...base, ...workDay(victim, 2, 5, { appHash: 'app-odd' }), ...workDay(victim, 3, 5, { appHash: 'app-odd' })]), {}, r.engine);
    expect(alerts.filter((a) => a.detector === 'device_posture')).toEqual([]);
  });

  // Adoption scales with the fleet: in a small fleet (24 devices here) a share of it, at least 3
  // devices, is a fleet update; in a big one it takes `adoption_devices` (5).
  it('treats a build 4 of a small fleet\'s devices adopt within hours as a fleet update', () => {
    const update = fleet.slice(0, 4).map((p) => [...workDay(p, 2, 5, { appHash: 'app-1.2' }), ...workDay(p, 3, 5, { appHash: 'app-1.2' })]).flat();
    const rest = fleet.slice(4).map((p) => workDay(p, 2, 5, { appHash: 'app-1.0' })).flat();
    const { alerts, engine } = run(sortByTime([...base, ...rest, ...update]));
    expect(alerts.filter((a) => a.detector === 'device_posture')).toEqual([]);
    expect(engine.stats().detectors.device_posture!.fleet_updates).toBe(1);
  });

  it('still alerts on a build only 2 devices of a small fleet run', () => {
    const two = fleet.slice(0, 2).map((p) => [...workDay(p, 2, 5, { appHash: 'app-odd' }), ...workDay(p, 3, 5, { appHash: 'app-odd' })]).flat();
    const { alerts, engine } = run(sortByTime([...base, ...two]));
    expect(alerts.filter((a) => a.detector === 'device_posture').length).toBeGreaterThan(0);
    expect(engine.stats().detectors.device_posture!.fleet_updates).toBe(0);
  });

  it('needs adoption_devices (not 3) in a big fleet', () => {
    const big = Array.from({ length: 120 }, (_, i) => courier(i + 1));
    const bigBase = history(big, 2, 1, 0, { appHash: 'app-1.0' });
    const four = big.slice(0, 4).map((p) => [...workDay(p, 2, 1, { appHash: 'app-1.2' }), ...workDay(p, 3, 1, { appHash: 'app-1.2' })]).flat();
    const { alerts, engine } = run(sortByTime([...bigBase, ...four]));
    expect(engine.stats().detectors.device_posture!.fleet_updates).toBe(0);
    expect(alerts.filter((a) => a.detector === 'device_posture').length).toBeGreaterThan(0);
  });
});


// Attack review 3, H3: a token for legacy logins invented 5 devices on a trojaned build, so the
// build counted as a fleet update and a courier running it raised nothing. Only the gateway's own
// logins (producer `warden`) make the fleet and adopt a build.
describe('device_posture: only the gateway\'s logins make the fleet', () => {
  const by = (producer: string) => (e: ActivityEvent): ActivityEvent => ({ ...e, producer });
  const gatewayBase = base.map(by(GATEWAY_PRODUCER));
  const invented = Array.from({ length: 5 }, (_, i) => ({ ...courier(100 + i), account: `legacy.u${i}` }));
  const launder = (producer: string) =>
    invented.map((p) => ev(local(2, 8, 5), { type: 'login', ...actor(p), result: 'success', app_hash: 'trojan-B', producer }));
  const victimDay = (): ActivityEvent[] => {
    const victim = fleet[0]!;
    const day = [ev(local(2, 9), { type: 'login', ...actor(victim, 'sv'), result: 'success', mfa: true, app_hash: 'trojan-B', producer: GATEWAY_PRODUCER })];
    for (let i = 0; i < 5; i++) {
      day.push(ev(local(2, 9, 10 + i), { type: 'access', ...actor(victim, 'sv'), action: 'reveal', waybill: waybill(), fields: ['phone'], purpose: 'delivery', result: 'denied', producer: GATEWAY_PRODUCER }));
    }
    return day;
  };

  it('names the gateway as the event pipeline does', () => {
    expect(GATEWAY_PRODUCER).toBe(WARDEN_PRODUCER);
  });

  it('another producer\'s logins neither adopt a build nor grow the fleet: the trojaned build still alerts', () => {
    const { alerts, engine } = run(sortByTime([...gatewayBase, ...launder('token:legacy-hr'), ...victimDay()]));
    const hit = actionable(alerts, 'device_posture')[0];
    expect(hit).toMatchObject({ account: 'c1', device: 'pda-1' });
    expect(hit!.evidence).toMatchObject({ app_hash: 'trojan-B', devices_on_hash: 1, fleet_devices: 24 });
    expect(engine.stats().detectors.device_posture).toMatchObject({ fleet_devices: 24, fleet_updates: 0 });
  });

  it('the same logins through the gateway are a fleet update: no alert', () => {
    const { alerts, engine } = run(sortByTime([...gatewayBase, ...launder(GATEWAY_PRODUCER), ...victimDay()]));
    expect(alerts.filter((a) => a.detector === 'device_posture')).toEqual([]);
    expect(engine.stats().detectors.device_posture).toMatchObject({ fleet_devices: 29, fleet_updates: 1 });
  });

  it('another producer\'s fleet does not make the fleet mature', () => {
    const legacyFleet = Array.from({ length: 30 }, (_, i) => ({ ...courier(200 + i), account: `legacy.f${i}` }));
    const legacy = legacyFleet.map((p) => ev(local(1, 8), { type: 'login', ...actor(p), result: 'success', app_hash: 'legacy-1.0', producer: 'token:legacy-hr' }));
    const { engine } = run(sortByTime(legacy));
    expect(engine.stats().detectors.device_posture).toMatchObject({ fleet_devices: 0 });
  });
});
