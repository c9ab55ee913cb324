/** How busy a day is: the weekday's parcel volume and the shopping festival's surge. */
import { type World, surgeDayIndex, weekdayOf } from './world.js';

const WEEKDAY_FACTOR = [0.75, 1.05, 1.0, 1.0, 1.0, 1.0, 0.85]; // Sun..Sat

export class Volume {
  private readonly surgeDay: number | undefined;

  constructor(private readonly world: World) {
    this.surgeDay = surgeDayIndex(world);
  }

  /** Multiplier on an ordinary weekday's new parcels. */
  factor(d: number): number {
    let f = WEEKDAY_FACTOR[weekdayOf(this.world, d)]!;
    if (this.surgeDay !== undefined) {
      const k = d - this.surgeDay;
      const factors = this.world.params.surge.factors;
      if (k >= 0 && k < factors.length) f *= factors[k]!;
      if (k === -1) f *= 1.15; // pre-sale orders ship the day before
    }
    return f;
  }

  isSurge(d: number): boolean {
    return this.surgeDay !== undefined && d >= this.surgeDay && d < this.surgeDay + this.world.params.surge.factors.length;
  }
}
