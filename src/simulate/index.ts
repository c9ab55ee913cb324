/**
 * Public API of the simulator.
 *
 *   const sim = createSimulation(resolveParams({ seed: 7 }));
 *   describeWorld(sim.world)            // sites and accounts, to create through the API
 *   for (const day of sim.days()) ...   // each day's actions, in time order
 *   parcelPii(sim.world, waybill)       // the PII to store when a `waybill` action comes by
 *   toContractEvent(action, id)         // the activity event for an action
 *   await writeSimulation(sim, { out, truth })   // NDJSON + truth files
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { Writable } from 'node:stream';
import type { SimAction } from './action.js';
import { type SimDay, type SimDayBytes, Simulation } from './engine.js';
import type { SimParams } from './params.js';
import { planScenarios, type Label, type Scenario } from './scenarios.js';
import { LineSerializer } from './serialize.js';
import { DAY } from './time.js';
import { TRUTH_FORMAT, type TruthAttack, type TruthFile, iso, lookalikeOf } from './truth.js';
import { type World, buildWorld } from './world.js';

export { resolveParams, validateParams, PRESETS, ATTACK_NAMES, LOOKALIKE_NAMES } from './params.js';
export type { SimParams, DeepPartial, AttackName, LookalikeName } from './params.js';
export type { SimAction, ActionType } from './action.js';
export type { SimDay, DayPlan, Session } from './engine.js';
export type { World, Account, Site, City, Device } from './world.js';
export type { Label } from './scenarios.js';
export type { TruthFile, TruthAttack, TruthLookalike } from './truth.js';
export { TRUTH_FORMAT } from './truth.js';
export { parcelPii, parseWaybill, type ParcelPii } from './parcel.js';
export { formatAddress, type Address, type Party, type Sender } from './pii.js';
export { toContractEvent, LineSerializer } from './serialize.js';

export const GENERATOR = 'warden simulate 0.1.0';

export interface SimulationRun {
  world: World;
  scenarios: Scenario[];
  skipped: { scenario: string; reason: string }[];
  /** Plays the run from day 0; each call starts a fresh, identical playback. */
  days(): Generator<SimDay>;
  /** The same playback serialized (file writers); `exposed` fills in as days are generated. */
  bytes(): { days: Generator<SimDayBytes>; exposed: Map<number, Set<string>> };
}

export function createSimulation(params: SimParams): SimulationRun {
  const world = buildWorld(params);
  const plan = planScenarios(world);
  return {
    world,
    scenarios: plan.scenarios,
    skipped: plan.skipped,
    days() {
      // a fresh world per playback: the engine keeps per-run state on accounts' plans
      const w = buildWorld(params);
      const p = planScenarios(w);
      return new Simulation(w, p.scenarios).run();
    },
    bytes() {
      const w = buildWorld(params);
      const p = planScenarios(w);
      const sim = new Simulation(w, p.scenarios, 'bytes');
      return { days: sim.runBytes(), exposed: sim.exposed };
    },
  };
}

/** Every action of the run, in time order. */
export function* actions(run: SimulationRun): Generator<SimAction> {
  for (const day of run.days()) yield* day.actions;
}

export interface WorldDescription {
  start: string;
  days: number;
  sites: { code: string; kind: string; city: string; district?: string }[];
  accounts: {
    id: string;
    role: string;
    name: string;
    site: string;
    city: string;
    /** first and last day index (exclusive) the account exists */
    startDay: number;
    endDay: number;
    mfa: boolean;
    devices: { id: string; kind: string; fromDay: number }[];
  }[];
}

/** The company as a live driver needs it: sites and accounts (no passwords; choose your own). */
export function describeWorld(w: World): WorldDescription {
  return {
    start: iso(w.t0),
    days: w.params.days,
    sites: w.sites.map((s) => ({ code: s.code, kind: s.kind, city: s.city.def.en, ...(s.district ? { district: s.district.name } : {}) })),
    accounts: w.accounts.map((a) => ({
      id: a.id,
      role: a.role,
      name: a.name,
      site: a.site.code,
      city: a.city.def.en,
      startDay: a.startDay,
      endDay: a.endDay,
      mfa: a.mfa,
      devices: a.devices.map((d) => ({ id: d.id, kind: d.kind, fromDay: d.fromDay })),
    })),
  };
}

export interface WriteOptions {
  /** file path (`.gz` compresses) or '-' for stdout */
  out: string;
  /** truth file path, if wanted */
  truth?: string;
  /** called after each day is written */
  onDay?: (info: { day: number; date: string; events: number; totalEvents: number }) => void;
}

export interface WriteSummary {
  events: number;
  bytes: number;
  seconds: number;
  eventsPerSecond: number;
  peakRssMB: number;
  attacks: number;
  lookalikes: number;
}

interface TagStats {
  ids: string[];
  first: number;
  last: number;
}

async function write(stream: Writable, chunk: Buffer): Promise<void> {
  if (!stream.write(chunk)) await once(stream, 'drain');
}

function openOut(out: string): { sink: Writable; done: () => Promise<void> } {
  if (out === '-') {
    return { sink: process.stdout, done: async () => undefined };
  }
  const file = createWriteStream(out, { highWaterMark: 1 << 20 });
  if (out.endsWith('.gz')) {
    const gz = createGzip({ level: 4, chunkSize: 1 << 16 });
    gz.pipe(file);
    return {
      sink: gz,
      done: async () => {
        gz.end();
        await finished(file);
      },
    };
  }
  return {
    sink: file,
    done: async () => {
      file.end();
      await finished(file);
    },
  };
}

/**
 * Writes the run as contract NDJSON in time order, with backpressure, one day in memory at a
 * time; then the truth file. Event ids are `e1`, `e2`, ... in file order.
 */
export async function writeSimulation(run: SimulationRun, opts: WriteOptions): Promise<{ summary: WriteSummary; truth: TruthFile }> {
  const started = performance.now();
  const { sink, done } = openOut(opts.out);
  const ser = new LineSerializer();
  const stats = new Map<number, TagStats>();
  let n = 0;
  let bytes = 0;
  const CHUNK = 1 << 20;
  let out = Buffer.allocUnsafe(CHUNK);
  let off = 0;
  const flush = async (need: number) => {
    if (off > 0) {
      bytes += off;
      await write(sink, out.subarray(0, off)); // the stream keeps the buffer: take a new one
    }
    out = Buffer.allocUnsafe(Math.max(CHUNK, need));
    off = 0;
  };
  const play = run.bytes();
  for (const day of play.days) {
    const ar = day.arena;
    const order = ar.order();
    for (let k = 0; k < order.length; k++) {
      const i = order[k]!;
      const id = `e${++n}`;
      const t = ar.t[i]!;
      const pre = ser.prefix(id, t);
      const len = ar.len[i]!;
      if (off + pre.length + len > out.length) await flush(pre.length + len);
      off += (out as Buffer & { latin1Write(s: string, o: number): number }).latin1Write(pre, off);
      off += ar.copy(i, out, off);
      const tag = ar.tag[i]!;
      if (tag !== 0) {
        let st = stats.get(tag);
        if (!st) {
          st = { ids: [], first: t, last: t };
          stats.set(tag, st);
        }
        st.ids.push(id);
        st.last = t;
      }
    }
    opts.onDay?.({ day: day.day, date: day.date, events: order.length, totalEvents: n });
  }
  await flush(0);
  await done();
  const seconds = (performance.now() - started) / 1000;

  const labels: Label[] = run.scenarios.map((s) => s.label);
  const w = run.world;
  const attacks: TruthAttack[] = [];
  for (const s of run.scenarios) {
    if (s.label.kind !== 'attack') continue;
    const st = stats.get(s.tag);
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
      records_exposed: play.exposed.get(s.tag)?.size ?? 0,
      event_ids: st.ids,
      params: l.params,
    });
  }
  const truth: TruthFile = {
    format: TRUTH_FORMAT,
    generator: GENERATOR,
    seed: w.seed,
    timezone: '+08:00',
    start: iso(w.t0),
    end: iso(w.t0 + w.params.days * DAY),
    days: w.params.days,
    events: n,
    params: w.params,
    attacks,
    lookalikes: labels.filter((l) => l.kind === 'lookalike').map(lookalikeOf),
    skipped: run.skipped,
    accounts: w.accounts.map((a) => ({ id: a.id, role: a.role, site: a.site.code, city: a.city.def.en, start_day: a.startDay })),
  };
  if (opts.truth) {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(opts.truth, `${JSON.stringify(truth, null, 1)}\n`);
  }
  const summary: WriteSummary = {
    events: n,
    bytes,
    seconds,
    eventsPerSecond: n / Math.max(seconds, 1e-9),
    peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    attacks: attacks.length,
    lookalikes: truth.lookalikes.length,
  };
  return { summary, truth };
}
