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
import { createWriteStream, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { Writable } from 'node:stream';
import type { SimAction } from './action.js';
import { Simulation } from './engine.js';
import type { SimDay, SimDayBytes } from './sim-types.js';
import type { SimParams } from './params.js';
import { planScenarios, type Scenario } from './scenarios/registry.js';
import { LineAssembler, copyBytes } from './line-writer.js';
import { type TagStats, type TruthFile, buildTruth, iso } from './truth.js';
import { type World, buildWorld } from './world.js';

export { resolveParams, validateParams, PRESETS, ATTACK_NAMES, LOOKALIKE_NAMES } from './params.js';
export type { SimParams, DeepPartial, AttackName, LookalikeName } from './params.js';
export type { SimAction, ActionType } from './action.js';
export type { SimDay, DayPlan, Session } from './sim-types.js';
export type { World, Account, Site, City, Device } from './world.js';
export type { Label } from './scenarios/registry.js';
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
    // playbacks share the planned world: the engine keeps all run state in the Simulation itself
    days() {
      return new Simulation(world, plan.scenarios).run();
    },
    bytes() {
      const sim = new Simulation(world, plan.scenarios, 'bytes');
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
  /** generate on a second thread while this one writes (default true; falls back when unavailable) */
  threads?: boolean;
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

/** A day's serialized actions, from this thread's arena or a worker's transferred buffers. */
interface ArenaData {
  t: Float64Array;
  chunk: Uint16Array;
  start: Uint32Array;
  len: Uint32Array;
  tag: Uint16Array;
  chunks: Uint8Array[];
}

interface PlayedDay {
  day: number;
  date: string;
  arena: ArenaData;
  order: Uint32Array;
  /** tell the generator this day is on its way to the file */
  written(): void;
}

const workerUrl = new URL('./sim-worker.js', import.meta.url);

/** Days in order, generated here or on a worker thread; `exposed` (tag -> records) is complete at the end. */
function playDays(run: SimulationRun, threads: boolean): { days: AsyncGenerator<PlayedDay>; exposed: Map<number, number> } {
  const exposed = new Map<number, number>();
  const canThread = threads && import.meta.url.endsWith('.js') && existsSync(fileURLToPath(workerUrl));
  if (!canThread) {
    const play = run.bytes();
    async function* local(): AsyncGenerator<PlayedDay> {
      for (const day of play.days) {
        const a = day.arena;
        yield { day: day.day, date: day.date, arena: { t: a.t, chunk: a.chunk, start: a.start, len: a.len, tag: a.tag, chunks: a.chunks.map((c) => new Uint8Array(c.buffer, c.byteOffset, c.length)) }, order: a.order(), written: () => undefined };
      }
      for (const [tag, set] of play.exposed) exposed.set(tag, set.size);
    }
    return { days: local(), exposed };
  }
  const progress = new SharedArrayBuffer(4);
  const counter = new Int32Array(progress);
  const worker = new Worker(workerUrl, { workerData: { params: run.world.params, progress } });
  type Msg = (ArenaData & { day: number; date: string; n: number; order: Uint32Array }) | { done: true; exposed: [number, number][] };
  const queue: Msg[] = [];
  let wake: (() => void) | undefined;
  let failure: Error | undefined;
  let finished = false;
  worker.on('message', (m: Msg) => {
    queue.push(m);
    wake?.();
  });
  worker.on('error', (e) => {
    failure = e;
    wake?.();
  });
  worker.on('exit', (code) => {
    if (code !== 0 && !failure) failure = new Error(`simulation worker exited with code ${code}`);
    finished = true;
    wake?.();
  });
  async function* remote(): AsyncGenerator<PlayedDay> {
    let written = 0;
    try {
      for (;;) {
        while (queue.length === 0) {
          if (failure) throw failure;
          if (finished) throw new Error('simulation worker stopped early');
          await new Promise<void>((r) => (wake = r));
          wake = undefined;
        }
        const m = queue.shift()!;
        if ('done' in m) {
          for (const [tag, size] of m.exposed) exposed.set(tag, size);
          return;
        }
        yield {
          day: m.day,
          date: m.date,
          arena: m,
          order: m.order,
          written: () => {
            Atomics.store(counter, 0, ++written);
            Atomics.notify(counter, 0);
          },
        };
      }
    } finally {
      await worker.terminate();
    }
  }
  return { days: remote(), exposed };
}

/** Turns a day's sorted bodies into output buffers of about 1 MB, numbering events as it goes. */
class DayAssembler {
  n = 0;
  private readonly lines = new LineAssembler();
  constructor(private readonly stats: Map<number, TagStats>) {}

  *day(ar: ArenaData, order: Uint32Array): Generator<Buffer> {
    const CHUNK = 1 << 20;
    const T = ar.t;
    const LEN = ar.len;
    const START = ar.start;
    const CH = ar.chunk;
    const TAG = ar.tag;
    const chunks = ar.chunks;
    const lines = this.lines;
    let out = Buffer.allocUnsafe(CHUNK);
    let out8 = new Uint8Array(out.buffer, out.byteOffset, out.length);
    let off = 0;
    let n = this.n;
    for (let k = 0; k < order.length; k++) {
      const i = order[k]!;
      ++n;
      const t = T[i]!;
      const len = LEN[i]!;
      if (off + 64 + len > out8.length) {
        this.n = n;
        yield out.subarray(0, off);
        out = Buffer.allocUnsafe(Math.max(CHUNK, 64 + len));
        out8 = new Uint8Array(out.buffer, out.byteOffset, out.length);
        off = 0;
      }
      off = lines.prefix(out8, off, n, t);
      off = copyBytes(chunks[CH[i]!]!, START[i]!, len, out8, off);
      const tag = TAG[i]!;
      if (tag !== 0) {
        let st = this.stats.get(tag);
        if (!st) {
          st = { ids: [], first: t, last: t };
          this.stats.set(tag, st);
        }
        st.ids.push(`e${n}`);
        st.last = t;
      }
    }
    this.n = n;
    if (off > 0) yield out.subarray(0, off);
  }
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
  const stats = new Map<number, TagStats>();
  let bytes = 0;
  const asm = new DayAssembler(stats);
  const play = playDays(run, opts.threads ?? true);
  for await (const day of play.days) {
    // assemble the whole day synchronously (an optimisable loop), then write with backpressure
    for (const buf of asm.day(day.arena, day.order)) {
      // buffers come one at a time: the assembled day is never all in memory
      bytes += buf.length;
      await write(sink, buf);
    }
    day.written();
    opts.onDay?.({ day: day.day, date: day.date, events: day.order.length, totalEvents: asm.n });
  }
  const n = asm.n;
  await done();
  const seconds = (performance.now() - started) / 1000;

  const truth = buildTruth({ world: run.world, scenarios: run.scenarios, skipped: run.skipped, generator: GENERATOR, events: n, tags: stats, exposed: play.exposed });
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
    attacks: truth.attacks.length,
    lookalikes: truth.lookalikes.length,
  };
  return { summary, truth };
}
