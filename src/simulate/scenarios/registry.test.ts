import { describe, expect, it } from 'vitest';
import { Simulation } from '../engine.js';
import { ATTACK_NAMES, LOOKALIKE_NAMES, resolveParams } from '../params.js';
import { buildWorld } from '../world.js';
import { SCENARIOS, planScenarios } from './registry.js';

const defaultWorld = () => buildWorld(resolveParams({ seed: 1 }, 'default'));

describe('scenario registry', () => {
  it('has one entry per key and covers every attack and look-alike the parameters name', () => {
    expect(new Set(SCENARIOS.map((m) => m.key)).size).toBe(SCENARIOS.length);
    for (const name of ATTACK_NAMES) expect(SCENARIOS.filter((m) => m.kind === 'attack').map((m) => m.label)).toContain(name);
    for (const name of LOOKALIKE_NAMES) expect(SCENARIOS.filter((m) => m.kind === 'lookalike').map((m) => m.label)).toContain(name);
    for (const m of SCENARIOS) if (m.reserve) expect(SCENARIOS.map((x) => x.key)).toContain(m.reserve.before);
  });

  it.each(SCENARIOS.map((m) => [m.key, m] as const))('%s plans on the default world alone, labelled as the registry says (attacks with their accounts, look-alikes with a window)', (_key, m) => {
    const plan = planScenarios(defaultWorld(), [m]);
    expect(plan.skipped).toEqual([]);
    expect(plan.scenarios.length).toBeGreaterThan(0);
    for (const s of plan.scenarios) {
      expect(s.source).toBe(m.key);
      expect(s.label.kind).toBe(m.kind);
      expect(s.label.scenario).toBe(m.label);
      if (m.kind === 'attack') {
        expect(s.label.accounts.length).toBeGreaterThan(0);
        expect(s.label.id).toMatch(/^A\d+$/);
      } else {
        expect(s.label.id).toMatch(/^L\d+$/);
        expect(s.label.window).toBeDefined();
      }
    }
  });

  it('plans nothing when the parameters turn every attack, look-alike and the surge off', () => {
    const params = resolveParams({ seed: 1, surge: { enabled: false } }, 'default');
    for (const name of ATTACK_NAMES) params.attacks[name].enabled = false;
    for (const name of LOOKALIKE_NAMES) if (name !== 'surge') params.lookalikes[name].enabled = false;
    const plan = planScenarios(buildWorld(params));
    expect(plan.scenarios).toEqual([]);
    expect(plan.skipped).toEqual([]);
  });

  it('plans every module with the others on the default world, each person in at most one attack, tags 1..n in label order', () => {
    const plan = planScenarios(defaultWorld());
    expect(plan.skipped).toEqual([]);
    expect(new Set(plan.scenarios.map((s) => s.source))).toEqual(new Set(SCENARIOS.map((m) => m.key)));
    expect(plan.scenarios.map((s) => s.tag)).toEqual(plan.scenarios.map((_, i) => i + 1));
    const attackers = plan.scenarios.filter((s) => s.label.kind === 'attack').flatMap((s) => s.label.accounts);
    expect(new Set(attackers).size).toBe(attackers.length);
    // the busy agent is reserved before the insider is chosen, and is never an attacker
    const busy = plan.scenarios.find((s) => s.source === 'busy_agent')!;
    for (const a of busy.label.accounts) expect(attackers).not.toContain(a);
  });

  it('puts each attack\'s tag on its actions when played, and no look-alike tag on any action', () => {
    const world = buildWorld(resolveParams({ seed: 1 }, 'tiny'));
    const plan = planScenarios(world);
    const counts = new Map<number, number>();
    const actors = new Map<number, Set<string>>();
    for (const day of new Simulation(world, plan.scenarios).run()) {
      for (const a of day.actions) {
        if (a.tag === 0) continue;
        counts.set(a.tag, (counts.get(a.tag) ?? 0) + 1);
        if (!actors.has(a.tag)) actors.set(a.tag, new Set());
        actors.get(a.tag)!.add(a.account!);
      }
    }
    for (const s of plan.scenarios) {
      if (s.label.kind === 'lookalike') {
        expect(counts.get(s.tag) ?? 0, s.label.scenario).toBe(0);
        continue;
      }
      expect(counts.get(s.tag) ?? 0, s.label.scenario).toBeGreaterThan(0);
      // an attack's actions are its labelled accounts' (or, for stuffing, the accounts it tried)
      const named = new Set([...s.label.accounts, ...s.label.related_accounts]);
      for (const who of actors.get(s.tag)!) expect(named.has(who), `${s.label.scenario}: ${who}`).toBe(true);
    }
  }, 60_000);
});
