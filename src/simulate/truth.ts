/** The ground-truth file written beside the events (format: docs/truth-format.md). */
import type { SimParams } from './params.js';
import type { Label } from './scenarios/types.js';

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
