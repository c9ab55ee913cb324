/**
 * Contract events of a simulated company (src/simulate), in memory, for detection tests: the
 * product simulator, not a second one. Ids are `e1`, `e2`, ... in time order (as in the files
 * `warden simulate` writes). The truth is kept per attacking account: its scenario and the
 * records each of its allowed access events exposed, in order.
 */
import { parseEventLine, type ActivityEvent } from '../../contracts/events.js';
import {
  actions,
  createSimulation,
  LineSerializer,
  resolveParams,
  type AttackName,
  type DeepPartial,
  type LookalikeName,
  type SimParams,
} from '../../simulate/index.js';

export interface SimulatedTruth {
  /** Attacking account -> scenario and the ids of events that exposed records, in order. */
  attackers: Map<string, { scenario: string; exposures: Array<{ id: string; records: string[] }> }>;
  /** Accounts a look-alike (benign) label names -> its kind. */
  lookalikeAccounts: Map<string, string>;
  accounts: string[];
}

export interface SimulatedOptions {
  preset?: 'tiny' | 'default';
  seed: number;
  days?: number;
  /** Which attacks and look-alikes to plant: 'all' (the preset's plan), 'none', or a list. */
  attacks?: 'all' | 'none' | readonly AttackName[];
  lookalikes?: 'all' | 'none' | readonly LookalikeName[];
  /** Any further simulation parameters. */
  params?: DeepPartial<SimParams>;
}

/** Turns a name list into the simulator's enabled flags (every other scenario off). */
function enable<T extends string>(all: readonly T[], which: 'all' | 'none' | readonly T[] | undefined): Record<string, { enabled: boolean }> | undefined {
  if (which === undefined || which === 'all') return undefined;
  const on = new Set<string>(which === 'none' ? [] : which);
  return Object.fromEntries(all.map((n) => [n, { enabled: on.has(n) }]));
}

export function simulatedWorld(opts: SimulatedOptions): { events: ActivityEvent[]; lines: string[]; truth: SimulatedTruth } {
  const base = resolveParams({ seed: opts.seed, ...(opts.days !== undefined ? { days: opts.days } : {}), ...opts.params }, opts.preset ?? 'tiny');
  const params = resolveParams(
    {
      seed: opts.seed,
      ...(opts.days !== undefined ? { days: opts.days } : {}),
      ...opts.params,
      attacks: enable(Object.keys(base.attacks) as AttackName[], opts.attacks) as DeepPartial<SimParams>['attacks'],
      lookalikes: enable(Object.keys(base.lookalikes), opts.lookalikes) as DeepPartial<SimParams>['lookalikes'],
    },
    opts.preset ?? 'tiny',
  );
  if (opts.lookalikes === 'none' || (Array.isArray(opts.lookalikes) && !opts.lookalikes.includes('surge'))) params.surge.enabled = false;
  const run = createSimulation(params);
  const labels = new Map(run.scenarios.map((s) => [s.tag, s.label]));
  const ser = new LineSerializer();
  const events: ActivityEvent[] = [];
  const lines: string[] = [];
  const truth: SimulatedTruth = { attackers: new Map(), lookalikeAccounts: new Map(), accounts: run.world.accounts.map((a) => a.id) };
  for (const s of run.scenarios) {
    if (s.label.kind === 'lookalike') for (const a of s.label.accounts) truth.lookalikeAccounts.set(a, s.label.scenario);
  }
  let n = 0;
  for (const a of actions(run)) {
    const id = `e${++n}`;
    const raw = ser.line(a, id);
    const line = raw.endsWith('\n') ? raw.slice(0, -1) : raw;
    const r = parseEventLine(line);
    if (!r.ok) throw new Error(`simulated line ${n} invalid: ${r.reason}`);
    lines.push(line);
    events.push(r.event);
    const label = a.tag > 0 ? labels.get(a.tag) : undefined;
    if (label?.kind !== 'attack' || a.account === undefined || !label.accounts.includes(a.account)) continue;
    let t = truth.attackers.get(a.account);
    if (!t) truth.attackers.set(a.account, (t = { scenario: label.scenario, exposures: [] }));
    if (a.type === 'access' && a.result === 'allowed' && a.fields && a.fields.length > 0) {
      const records = a.waybills ?? (a.waybill !== undefined ? [a.waybill] : []);
      if (records.length > 0) t.exposures.push({ id, records });
    }
  }
  return { events, lines, truth };
}
