import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEventLine, type ActivityEvent } from '../../contracts/events.js';
import { createSimulation, resolveParams, writeSimulation, type TruthFile } from '../../simulate/index.js';
import { createDetectionEngine, type AlertOut } from '../engine.js';
import { PeerShares } from './evidence.js';

const dir = mkdtempSync(join(tmpdir(), 'warden-evidence-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const serious = (a: AlertOut) => a.severity !== 'low';

async function world(seed: number, preset: string): Promise<{ events: ActivityEvent[]; truth: TruthFile }> {
  const out = join(dir, `${preset}${seed}.ndjson`);
  const truthPath = join(dir, `${preset}${seed}.truth.json`);
  await writeSimulation(createSimulation(resolveParams({ seed }, preset)), { out, truth: truthPath });
  const events: ActivityEvent[] = [];
  for (const line of readFileSync(out, 'utf8').split('\n')) {
    if (line === '') continue;
    const r = parseEventLine(line);
    if (!r.ok) throw new Error(r.reason);
    events.push(r.event);
  }
  return { events, truth: JSON.parse(readFileSync(truthPath, 'utf8')) as TruthFile };
}

function detect(events: ActivityEvent[]): AlertOut[] {
  const engine = createDetectionEngine({});
  const alerts: AlertOut[] = [];
  for (const e of events) alerts.push(...engine.process(e));
  alerts.push(...engine.flush());
  return alerts;
}

describe('abuse the access policy allows (simulated tiny company, seed 2)', () => {
  let truth: TruthFile;
  let alerts: AlertOut[];
  beforeAll(async () => {
    const w = await world(2, 'tiny');
    truth = w.truth;
    alerts = detect(w.events);
  }, 120_000);

  const attacker = (scenario: string) => truth.attacks.find((a) => a.scenario === scenario)!.accounts[0]!;
  const by = (detector: string, account: string) => alerts.filter((a) => a.detector === detector && a.account === account && serious(a));

  it('work_harvest: the courier revealing every assigned parcel in full right after assignment, with peers, needed share and days', () => {
    const hits = by('work_harvest', attacker('work_harvest'));
    expect(hits.length).toBeGreaterThan(0);
    const ev = hits[0]!.evidence as Record<string, unknown>;
    expect(ev.ratio_vs_peers).toBeGreaterThanOrEqual(3);
    expect(['site', 'city', 'company', 'role_prior']).toContain(ev.peer_tier);
    expect(ev.needed_share).toBeLessThan(0.5);
    expect(ev.days_of_evidence).toBeGreaterThanOrEqual(1);
    expect(hits[0]!.summary).toMatch(/within 30 min of the assignment/);
  });

  it('search_harvest: one search per number, each followed by a full reveal within a minute', () => {
    const hits = by('search_harvest', attacker('search_harvest'));
    expect(hits.length).toBeGreaterThan(0);
    const ev = hits[0]!.evidence as Record<string, unknown>;
    expect(ev.share_quick).toBeGreaterThanOrEqual(0.5);
    expect(ev.ticket_backed_share).toBeLessThan(0.5);
  });

  it('trickle: evidence carried across days catches a handful a day that no daily threshold sees', () => {
    const acc = attacker('trickle');
    const hits = by('trickle', acc);
    expect(hits.length).toBeGreaterThan(0);
    expect(hits[0]!.evidence.days_of_evidence).toBeGreaterThanOrEqual(2);
    // the daily detector does not see it
    expect(by('unexplained', acc)).toEqual([]);
  });

  it('leaves the look-alikes alone: rural route, new route, complaint campaign, busy agent, favour', () => {
    const benign = truth.lookalikes.filter((l) => ['rural_route', 'new_route', 'complaint_campaign', 'busy_agent', 'favour'].includes(l.kind)).flatMap((l) => l.accounts);
    expect(benign.length).toBeGreaterThan(2);
    const mine = alerts.filter((a) => serious(a) && a.account !== undefined && benign.includes(a.account) && ['work_harvest', 'search_harvest', 'trickle'].includes(a.detector));
    expect(mine).toEqual([]);
  });
});

describe('PeerShares', () => {
  it('uses the narrowest tier with enough other accounts, else the role prior, and never the account itself', () => {
    const p = new PeerShares(3);
    const keys = PeerShares.keys('courier', 'SH-O01', 'Shanghai');
    expect(p.verdict(keys, 'x', 0.15)).toEqual({ median: 0.15, tier: 'role_prior', peers: 0, days: 0 });
    p.add(keys, 'x', 0.9);
    p.add(keys, 'a', 0.1);
    p.add(keys, 'b', 0.2);
    expect(p.verdict(keys, 'x', 0.15).tier).toBe('role_prior'); // two others only
    p.add(PeerShares.keys('courier', 'SH-O02', 'Shanghai'), 'c', 0.3);
    const v = p.verdict(keys, 'x', 0.15);
    expect(v).toEqual({ median: 0.2, tier: 'city', peers: 3, days: 3 });
    p.add(keys, 'd', 0.05);
    expect(p.verdict(keys, 'x', 0.15).tier).toBe('site');
  });
});
