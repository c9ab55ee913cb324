/** Waybill numbers and where a parcel goes: fixed by its origin and sequence number alone. */
import { Rng, hashString, mix } from './rng.js';
import type { Parcel } from './sim-types.js';
import type { City, Site, World } from './world.js';

/** Waybill number: carrier prefix, '7', the origin outlet's 4-digit block, an 8-digit sequence. */
export function waybillNumber(prefix: string, block: number, seq: number): string {
  return `${prefix}7${block}${String(seq).padStart(8, '0')}`;
}

/** Where a parcel goes, fixed by its origin and sequence number (so a live driver can recompute it). */
const PARCEL_LABEL = hashString('parcel');
export function parcelRoute(w: World, origin: Site, seq: number): Parcel {
  const h1 = mix(w.seed, PARCEL_LABEL, origin.index, seq);
  const h2 = mix(h1, 0x51ed270b);
  const r = new Rng(h1, h2, mix(h2, 0x2545f491)); // = Rng.derive(seed, 'parcel', origin, seq), without the allocations
  const cities = w.cities;
  let destCity: City = origin.city;
  if (cities.length > 1 && !r.chance(0.35)) {
    // weight other cities by their number of outlets (all equal here) => uniform among the others
    const k = r.int(cities.length - 1);
    destCity = cities[k >= origin.city.index ? k + 1 : k]!;
  }
  const dest = r.pick(destCity.outlets);
  return {
    waybill: waybillNumber(w.params.carrierPrefix, origin.block, seq),
    origin,
    dest,
    originRoute: r.int(origin.routes),
    destRoute: r.int(dest.routes),
    h: r.u32(),
    counter: r.chance(0.25),
    attempts: 0,
  };
}
