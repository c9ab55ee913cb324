/**
 * Every labelled attack and benign look-alike, one module each, in the order they plan. The order
 * is part of the output: it fixes who each scenario may still choose (a person belongs to at most
 * one) and the labels' tags and ids (A1.., L1..). Append new scenarios at the end so the earlier
 * ones keep their people.
 */
import type { Account, World } from '../world.js';
import { Rng } from '../rng.js';
import { dayStart } from '../world.js';
import { appUpdate } from './app-update.js';
import { busyAgent } from './busy-agent.js';
import { complaintCampaign } from './complaint-campaign.js';
import { courierRing } from './courier-ring.js';
import { coveringRoute } from './covering-route.js';
import { credentialStuffing } from './credential-stuffing.js';
import { csInsider } from './cs-insider.js';
import { favour } from './favour.js';
import { clerkDoorHarvest, ticketHarvest } from './insider-review10.js';
import { clerkOldParcelHarvest, clerkOldParcelQuestions } from './insider-review11.js';
import { searchHarvestEvasive, splitHarvest, workHarvestEvasive } from './harvest-evasion.js';
import { leasedNight } from './leased-night.js';
import { leasedRemote } from './leased-remote.js';
import { managerDump } from './manager-dump.js';
import { managerTravel } from './manager-travel.js';
import { newHire, temporaryCouriers } from './new-hire.js';
import { newPhone } from './new-phone.js';
import { newRoute } from './new-route.js';
import { ruralRoute } from './rural-route.js';
import { scannerMalware } from './scanner-malware.js';
import { searchHarvest } from './search-harvest.js';
import { surge } from './surge.js';
import { trickle } from './trickle.js';
import { workHarvest } from './work-harvest.js';
import type { Label, Plan, PlanContext, Scenario, ScenarioModule } from './types.js';

export type { Label, Plan, Scenario, ScenarioModule } from './types.js';

export const SCENARIOS: readonly ScenarioModule[] = [
  // attacks
  leasedNight,
  leasedRemote,
  csInsider,
  scannerMalware,
  courierRing,
  credentialStuffing,
  managerDump,
  // look-alikes
  newHire,
  temporaryCouriers,
  newPhone,
  coveringRoute,
  managerTravel,
  busyAgent,
  appUpdate,
  surge,
  // issue 9's attacks and look-alikes choose their people last, so the earlier choices stay as they were
  workHarvest,
  searchHarvest,
  trickle,
  ruralRoute,
  newRoute,
  complaintCampaign,
  favour,
  // attack review 6's evasions of work_harvest and search_harvest, last for the same reason
  workHarvestEvasive,
  searchHarvestEvasive,
  splitHarvest,
  // attack review 10's insider evasions, last for the same reason
  ticketHarvest,
  clerkDoorHarvest,
  // attack review 11's clerk harvesting her outlet's past parcels, and its look-alike, last for the same reason
  clerkOldParcelHarvest,
  clerkOldParcelQuestions,
];

/** Chooses people and plants every enabled attack and look-alike. Mutates the world. */
export function planScenarios(w: World, modules: readonly ScenarioModule[] = SCENARIOS): Plan {
  const used = new Set<string>();
  const scenarios: Scenario[] = [];
  const skipped: Plan['skipped'] = [];
  const reserved = new Map<string, Account[]>();
  let current: ScenarioModule = modules[0]!;
  const ctx: PlanContext = {
    w,
    rng: (name) => Rng.derive(w.seed, 'scenario', name),
    regulars: (role, r, filter = () => true) =>
      r.shuffle(w.accounts.filter((a) => a.role === role && !a.temp && a.startDay === 0 && !used.has(a.id) && filter(a))),
    take: (a) => {
      used.add(a.id);
      return a;
    },
    add: (label, hooks = {}) => {
      const kind = current.kind;
      const tag = scenarios.length + 1;
      const n = scenarios.filter((s) => s.label.kind === kind).length + 1;
      const full: Label = { all_accounts: false, related_accounts: [], networks: [], devices: [], ...label, kind, scenario: current.label, id: `${kind === 'attack' ? 'A' : 'L'}${n}` };
      scenarios.push({ label: full, tag, source: current.key, ...hooks });
      return tag;
    },
    skip: (reason) => void skipped.push({ scenario: current.label, reason }),
    windowOf: (day, days) => ({ start: dayStart(w, day), end: dayStart(w, Math.min(w.params.days, day + days)) }),
    reserved,
  };
  const reserve = (m: ScenarioModule) => {
    if (!m.reserve || reserved.has(m.key)) return;
    current = m;
    reserved.set(m.key, m.reserve.choose(ctx));
  };
  for (const m of modules) {
    for (const early of modules) if (early.reserve?.before === m.key) reserve(early);
    reserve(m); // its `before` was not in the list
    current = m;
    m.plan(ctx);
  }
  return { scenarios, skipped };
}
