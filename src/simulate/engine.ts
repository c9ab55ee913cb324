/**
 * Plays the world day by day. Each simulated day produces its actions into per-day buckets
 * (an action can land on a later day: a night sort, a parcel's arrival two days on); a day's
 * bucket is complete, sorted and handed out as soon as that day has been generated, because no
 * later day ever produces an action earlier than its own local midnight. Memory therefore holds
 * a few days of actions and the parcels in flight, however long the run.
 *
 * The parts: `DayOutput` (where actions go), `People` (shifts, sessions, logins), `Staffing` (who
 * does which work), `ParcelLedger` (numbers, pools, arrivals, tickets), `Volume`; the honest work
 * in `parcel-life.ts`, `customer-service.ts`, `office.ts`; the scenarios act through this class.
 */
import type { SimAction } from './action.js';
import { customerService } from './customer-service.js';
import { DayOutput } from './day-output.js';
import { ParcelLedger, pickFrom } from './ledger.js';
import { office, outletChores } from './office.js';
import { deliver, newParcels } from './parcel-life.js';
import { People } from './people.js';
import { Rng } from './rng.js';
import { resetFragmentCache } from './serialize.js';
import { access, act } from './sessions.js';
import type { DayPlan, Parcel, Session, SimDay, SimDayBytes } from './sim-types.js';
import { sortByTime } from './sort.js';
import { Staffing } from './staffing.js';
import { cstDate } from './time.js';
import { Volume } from './volume.js';
import type { AssignHook, Work } from './work.js';
import { type Account, type City, type Device, type Site, type World, dayStart } from './world.js';

/** What the engine calls on a planned scenario (src/simulate/scenarios/): once at start, then once a day. */
export interface ScenarioHooks {
  prepare?(sim: Simulation): void;
  run?(sim: Simulation, d: number): void;
}

export class Simulation {
  readonly world: World;
  readonly scenarios: readonly ScenarioHooks[];
  private readonly out: DayOutput;
  private readonly people: People;
  private readonly work: Work;
  /**
   * Scenario hooks on an account's assignments (after the assign action is pushed). Hooks draw
   * from their own random streams, so the rest of the world stays the same with or without them.
   */
  readonly assignHooks = new Map<string, AssignHook>();

  constructor(world: World, scenarios: readonly ScenarioHooks[], mode: 'objects' | 'bytes' = 'objects') {
    this.world = world;
    this.scenarios = scenarios;
    this.out = new DayOutput(world, mode);
    this.people = new People(world, this.out);
    this.work = {
      world,
      out: this.out,
      people: this.people,
      staff: new Staffing(world, this.people),
      ledger: new ParcelLedger(world),
      volume: new Volume(world),
      assignHooks: this.assignHooks,
    };
    for (const s of scenarios) s.prepare?.(this);
  }

  /** Generates every day in order, yielding each one's actions sorted by time. */
  *run(): Generator<SimDay> {
    if (this.out.mode !== 'objects') throw new Error('run() needs a simulation in objects mode');
    for (let d = 0; d < this.world.params.days; d++) {
      this.out.day = d;
      this.generateDay(d);
      const actions = this.out.takeActions(d);
      sortByTime(actions);
      this.forget(d);
      yield { day: d, date: cstDate(dayStart(this.world, d)), actions };
    }
  }

  /** The same days as serialized arenas (sort with `arena.order()`). */
  *runBytes(): Generator<SimDayBytes> {
    if (this.out.mode !== 'bytes') throw new Error('runBytes() needs a simulation in bytes mode');
    for (let d = 0; d < this.world.params.days; d++) {
      this.out.day = d;
      resetFragmentCache();
      this.generateDay(d);
      const arena = this.out.takeArena(d);
      this.forget(d);
      yield { day: d, date: cstDate(dayStart(this.world, d)), arena };
    }
  }

  private generateDay(d: number): void {
    const w = this.world;
    const k = this.work;
    // everyone who works today logs in and out, busy or not
    for (const a of w.accounts) this.people.planFor(a, d);
    const rDay = Rng.derive(w.seed, 'day', d);
    const vf = k.volume.factor(d);
    for (const o of w.outlets) newParcels(k, o, d, vf);
    for (const o of w.outlets) outletChores(k, o, d);
    const rDel = Rng.derive(w.seed, 'deliveries', d);
    for (const p of k.ledger.arrivalsOn(d)) deliver(k, p, d, rDel);
    customerService(k, d, rDay);
    office(k, d, rDay);
    for (const s of this.scenarios) s.run?.(this, d);
  }

  private forget(d: number): void {
    this.people.forget(d);
    this.work.staff.forget(d);
    this.work.ledger.forget(d);
    this.out.forget(d);
  }

  // ------------------------------------------------------------ what scenarios act through

  /** day currently being generated */
  get day(): number {
    return this.out.day;
  }

  /** per tag: distinct waybills shown in full by its allowed access actions */
  get exposed(): Map<number, Set<string>> {
    return this.out.exposed;
  }

  /** accounts whose reveals are counted per hour in `revealCount` (`<account>@<hour index>`) */
  get watched(): Set<string> {
    return this.out.watched;
  }

  get revealCount(): Map<string, number> {
    return this.out.revealCount;
  }

  /** per-device app-build overrides (malware), from a day on */
  get appOverride(): Map<string, { fromDay: number; hash: string; tag: number }> {
    return this.people.appOverride;
  }

  push(a: SimAction): void {
    this.out.push(a);
  }

  /** The person's working day: shift and sessions (with their login/logout actions), or undefined. */
  planFor(a: Account, d: number, force = false): DayPlan | undefined {
    return this.people.planFor(a, d, force);
  }

  appHashFor(device: Device, d: number): string {
    return this.people.appHashFor(device, d);
  }

  /** A new action by an account in a session (or none). */
  act(t: number, type: SimAction['type'], a: Account, s: Session | undefined): SimAction {
    return act(t, type, a, s);
  }

  /** An access action by a planned person at (clamped) time t. */
  access(p: DayPlan, t: number, action: SimAction['action'], r: Rng): SimAction {
    return access(p, t, action, r);
  }

  /** Recent waybills that touch a city (or any city), created in the last `lookback` days up to d. */
  recentPool(city: City | undefined, d: number, lookback: number): string[][] {
    return this.work.ledger.recentPool(city, d, lookback);
  }

  /** Parcels due at their destination outlet on day d (attack review 10: a clerk's door-delivery harvest). */
  arrivalsOn(d: number): readonly Parcel[] {
    return this.work.ledger.arrivalsOn(d);
  }

  static pickFrom(lists: string[][], r: Rng): string | undefined {
    return pickFrom(lists, r);
  }

  /** Lowest and highest sequence numbers allocated so far at an outlet (for enumeration attacks). */
  seqRange(o: Site): [number, number] {
    return this.work.ledger.seqRange(o);
  }

  nextTicket(): string {
    return this.work.ledger.nextTicket();
  }
}
