/** The ground-truth file written beside the events (format: docs/truth-format.md). */
import type { SimParams } from './params.js';
import type { Label, Scenario } from './scenarios/types.js';
import { DAY } from './time.js';
import type { World } from './world.js';

export const TRUTH_FORMAT = 'warden-truth/1';

export interface TruthWindow {
  start: string;
  end: string;
}

export interface TruthAttack {
  id: string;
  scenario: string;
  description: string;
  accounts: string[];
  related_accounts: string[];
  devices: string[];
  networks: string[];
  window: TruthWindow;
  event_count: number;
  /** distinct waybills whose PII the attack's allowed access events showed */
  records_exposed: number;
  event_ids: string[];
  params: Record<string, unknown>;
}

export interface TruthLookalike {
  id: string;
  kind: string;
  description: string;
  accounts: string[];
  all_accounts: boolean;
  related_accounts: string[];
  devices: string[];
  networks: string[];
  window: TruthWindow;
  params: Record<string, unknown>;
}

export interface TruthAccount {
  id: string;
  role: string;
  site: string;
  city: string;
  /** first day index the account exists (0 unless hired during the run) */
  start_day: number;
}

export interface TruthFile {
  format: typeof TRUTH_FORMAT;
  generator: string;
  seed: number;
  timezone: '+08:00';
  start: string;
  end: string;
  days: number;
  events: number;
  params: SimParams;
  attacks: TruthAttack[];
  lookalikes: TruthLookalike[];
  skipped: { scenario: string; reason: string }[];
  accounts: TruthAccount[];
}

export const iso = (t: number) => new Date(t).toISOString();

export function lookalikeOf(l: Label): TruthLookalike {
  return {
    id: l.id,
    kind: l.scenario,
    description: l.description,
    accounts: l.accounts,
    all_accounts: l.all_accounts,
    related_accounts: l.related_accounts,
    devices: l.devices,
    networks: l.networks,
    window: { start: iso(l.window?.start ?? 0), end: iso(l.window?.end ?? 0) },
    params: l.params,
  };
}

/** An attack tag's events as written: their ids and first and last instants. */
export interface TagStats {
  ids: string[];
  first: number;
  last: number;
}

/** The truth file of a written run: labels, each attack's events (by tag) and the records it exposed. */
export function buildTruth(o: {
  world: World;
  scenarios: readonly Scenario[];
  skipped: { scenario: string; reason: string }[];
  generator: string;
  /** events written */
  events: number;
  tags: Map<number, TagStats>;
  /** per tag: distinct records its events exposed */
  exposed: Map<number, number>;
}): TruthFile {
  const w = o.world;
  const attacks: TruthAttack[] = [];
  for (const s of o.scenarios) {
    if (s.label.kind !== 'attack') continue;
    const st = o.tags.get(s.tag);
    if (!st) continue; // planned but fell outside the run (e.g. a start day past the end)
    const l = s.label;
    attacks.push({
      id: l.id,
      scenario: l.scenario,
      description: l.description,
      accounts: l.accounts,
      related_accounts: l.related_accounts,
      devices: l.devices,
      networks: l.networks,
      window: { start: iso(st.first), end: iso(st.last) },
      event_count: st.ids.length,
      records_exposed: o.exposed.get(s.tag) ?? 0,
      event_ids: st.ids,
      params: l.params,
    });
  }
  return {
    format: TRUTH_FORMAT,
    generator: o.generator,
    seed: w.seed,
    timezone: '+08:00',
    start: iso(w.t0),
    end: iso(w.t0 + w.params.days * DAY),
    days: w.params.days,
    events: o.events,
    params: w.params,
    attacks,
    lookalikes: o.scenarios.map((s) => s.label).filter((l) => l.kind === 'lookalike').map(lookalikeOf),
    skipped: o.skipped,
    accounts: w.accounts.map((a) => ({ id: a.id, role: a.role, site: a.site.code, city: a.city.def.en, start_day: a.startDay })),
  };
}
