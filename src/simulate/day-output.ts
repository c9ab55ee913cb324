/**
 * Where generated actions go: per-day buckets of action objects (API, live driver) or per-day
 * serialized arenas (files). A day is complete once generated: no later day produces anything
 * before its own local midnight. Also keeps what the truth file and the scenarios read back:
 * records each attack exposed, and reveals per hour of watched accounts.
 */
import type { SimAction } from './action.js';
import { DayArena } from './arena.js';
import { DAY, HOUR } from './time.js';
import type { World } from './world.js';

export class DayOutput {
  /** day currently being generated */
  day = 0;
  /** per tag: distinct waybills shown in full by its allowed access actions */
  readonly exposed = new Map<number, Set<string>>();
  /** reveals per account per local hour for watched accounts (ring members keep under limits) */
  readonly watched = new Set<string>();
  readonly revealCount = new Map<string, number>();
  private readonly buckets = new Map<number, SimAction[]>();
  private readonly arenas = new Map<number, DayArena>();
  private lastArenaDay = -1;
  private lastArena: DayArena | undefined;

  constructor(
    private readonly world: World,
    /** 'objects': days hold SimAction objects (API, live driver); 'bytes': serialized arenas (files) */
    readonly mode: 'objects' | 'bytes',
  ) {}

  push(a: SimAction): void {
    const d = Math.floor((a.t - this.world.t0) / DAY);
    if (d < this.day) throw new Error(`internal: action at ${new Date(a.t).toISOString()} is before day ${this.day}`);
    if (d >= this.world.params.days) return; // beyond the horizon
    if (a.tag !== 0 && a.type === 'access' && a.result === 'allowed' && a.fields && a.fields.length > 0) {
      let set = this.exposed.get(a.tag);
      if (!set) {
        set = new Set();
        this.exposed.set(a.tag, set);
      }
      if (a.waybill) set.add(a.waybill);
      if (a.waybills) for (const wb of a.waybills) set.add(wb);
    }
    if (this.mode === 'bytes') {
      let ar = d === this.lastArenaDay ? this.lastArena : this.arenas.get(d);
      if (!ar) {
        ar = new DayArena();
        this.arenas.set(d, ar);
      }
      this.lastArenaDay = d;
      this.lastArena = ar;
      ar.addAction(a);
    } else {
      let b = this.buckets.get(d);
      if (!b) {
        b = [];
        this.buckets.set(d, b);
      }
      b.push(a);
    }
    if (a.type === 'access' && a.action === 'reveal' && a.account !== undefined && this.watched.has(a.account)) {
      const k = `${a.account}@${Math.floor((a.t - this.world.t0) / HOUR)}`;
      this.revealCount.set(k, (this.revealCount.get(k) ?? 0) + 1);
    }
  }

  /** Day d's actions (unsorted), handed out and dropped here. */
  takeActions(d: number): SimAction[] {
    const actions = this.buckets.get(d) ?? [];
    this.buckets.delete(d);
    return actions;
  }

  /** Day d's arena, handed out and dropped here. */
  takeArena(d: number): DayArena {
    const arena = this.arenas.get(d) ?? new DayArena();
    this.arenas.delete(d);
    this.lastArenaDay = -1;
    this.lastArena = undefined;
    return arena;
  }

  /** Drops watched reveal counts older than the day before d. */
  forget(d: number): void {
    for (const k of this.revealCount.keys()) {
      const h = Number(k.slice(k.lastIndexOf('@') + 1));
      if (h < (d - 1) * 24) this.revealCount.delete(k);
    }
  }
}
