/** What a scenario is, and what planning lends each scenario module (src/simulate/scenarios/registry.ts). */
import type { AttackName, LookalikeName } from '../params.js';
import type { Rng } from '../rng.js';
import type { ScenarioHooks } from '../engine.js';
import type { Account, World } from '../world.js';

export interface Label {
  /** A1, A2 ... for attacks, L1, L2 ... for look-alikes */
  id: string;
  kind: 'attack' | 'lookalike';
  /** attack scenario or look-alike kind */
  scenario: string;
  description: string;
  /** attacking accounts (attack) or accounts showing the benign pattern (look-alike) */
  accounts: string[];
  /** true when a look-alike concerns every account (the surge) */
  all_accounts: boolean;
  /** accounts touched but not used to take data (credential-stuffing targets that held) */
  related_accounts: string[];
  devices: string[];
  /** /24 networks ("a.b.c.0/24") the scenario uses that its accounts do not normally use */
  networks: string[];
  /** look-alikes: planned window; attacks: filled in from their events */
  window?: { start: number; end: number };
  params: Record<string, unknown>;
}

export interface Scenario extends ScenarioHooks {
  label: Label;
  /** 1-based tag put on the scenario's actions */
  tag: number;
  /** the registry entry that planned it */
  source: string;
}

export interface Plan {
  scenarios: Scenario[];
  skipped: { scenario: string; reason: string }[];
}

/** A label as a planner writes it; the id and the empty lists are filled in. */
export type NewLabel = Omit<Label, 'id' | 'kind' | 'scenario' | 'all_accounts' | 'related_accounts' | 'networks' | 'devices'> & Partial<Pick<Label, 'all_accounts' | 'related_accounts' | 'networks' | 'devices'>>;

/** What planning lends a scenario module: choosing people, adding its label, the run's shared state. */
export interface PlanContext {
  w: World;
  /** the scenario's own planning stream, `scenario/<name>` */
  rng(name: string): Rng;
  /** unchosen regular (not temporary, not newly hired) accounts of a role, shuffled */
  regulars(role: Account['role'], r: Rng, filter?: (a: Account) => boolean): Account[];
  /** marks an account as chosen: no later scenario picks it */
  take(a: Account): Account;
  /** adds the module's label (its kind and name come from the registry entry) and returns its tag */
  add(label: NewLabel, hooks?: ScenarioHooks): number;
  skip(reason: string): void;
  /** the window of `days` days from `day`, cut at the end of the run */
  windowOf(day: number, days: number): { start: number; end: number };
  /** people a module reserved ahead of its turn (`ScenarioModule.reserve`), by module key */
  reserved: Map<string, Account[]>;
}

export interface ScenarioModule {
  /** registry key; unique */
  key: string;
  /** what its labels say: an attack scenario or a look-alike kind, as the truth file writes it */
  kind: 'attack' | 'lookalike';
  label: AttackName | LookalikeName;
  /**
   * Chooses people ahead of its turn, just before module `before` plans (busy_agent picks its
   * agents before the insider is chosen, so the insider is never the busy one).
   */
  reserve?: { before: string; choose(ctx: PlanContext): Account[] };
  plan(ctx: PlanContext): void;
}
