/**
 * The simulated company: cities, sites, staff accounts with their devices, networks, shifts and
 * days off. Built once from the parameters; everything is drawn from seeded sub-streams so that
 * changing one part (an attack's size, say) leaves the rest of the world as it was.
 */
import type { Role } from '../contracts/events.js';
import { ELSEWHERE_CITIES, IP_FIRST_OCTETS, OPERATING_CITIES, type CityDef } from './data/cities.js';
import { type CityDivisions, type District, NameGenerator, cityDivisions } from './pii.js';
import { Rng, hashString } from './rng.js';
import type { SimParams } from './params.js';
import { DAY, cstMidnight, cstWeekday } from './time.js';

export type SiteKind = 'outlet' | 'sorting' | 'cs' | 'hq';
export type DeviceKind = 'pda' | 'phone' | 'desktop' | 'laptop';
/** which client build family a device runs: the courier app, the outlet terminal, or the web console */
export type AppFamily = 'courier' | 'terminal' | 'web' | 'scanner';

export interface City {
  index: number;
  def: CityDef;
  div: CityDivisions;
  /** /16 prefixes ("a.b") of the mobile operators' address pools in the city */
  mobile: string[];
  /** /16 prefix of home broadband in the city */
  broadband: string;
  outlets: Site[];
  sorting: Site;
  operating: boolean;
}

export interface Site {
  code: string;
  kind: SiteKind;
  city: City;
  /** index among sites of its kind, world-wide */
  index: number;
  /** the /24 ("a.b.c") of the site's office network */
  net: string;
  /** outlets: the district it serves */
  district?: District;
  /** outlets: 4-digit block in its waybill numbers */
  block: number;
  /** outlets: first sequence number it allocated */
  seqStart: number;
  /** outlets: number of delivery routes (one per regular courier) */
  routes: number;
}

export interface Device {
  id: string;
  kind: DeviceKind;
  app: AppFamily;
  /** last octet when on an office network */
  host: number;
  /** in use from this day index (inclusive) */
  fromDay: number;
}

export interface Account {
  index: number;
  id: string;
  role: Role;
  name: string;
  site: Site;
  city: City;
  /** in fromDay order; the device of day d is the last with fromDay <= d */
  devices: Device[];
  /** whether the account usually logs in with a second factor */
  mfa: boolean;
  /** shift, minutes after local midnight; end may pass 1440 (night shift) */
  shiftStart: number;
  shiftEnd: number;
  /** bit w set = works on weekday w (0 = Sunday) */
  workdays: number;
  /** active on days [startDay, endDay) */
  startDay: number;
  endDay: number;
  /** days the person is away (leave, sick) */
  away: Set<number>;
  /** mobile /24s ("a.b.c") the person's phone usually gets */
  nets: string[];
  /** couriers: their route at their outlet (-1 for temporary couriers) */
  route: number;
  temp: boolean;
  exportRights: boolean;
  /** customer service: multiplier on the day's contacts, by day */
  load: Map<number, number>;
  /** courier covering a colleague's route at another outlet: day -> outlet and route */
  cover: Map<number, { outlet: Site; route: number }>;
  /** travelling: day -> city and the hotel network */
  travel: Map<number, { city: City; net: string }>;
}

export interface World {
  params: SimParams;
  seed: number;
  /** epoch ms of local midnight of day 0 */
  t0: number;
  cities: City[];
  elsewhere: City[];
  sites: Site[];
  outlets: Site[];
  csCentre: Site;
  hq: Site;
  accounts: Account[];
  byId: Map<string, Account>;
  /** client build hashes: the courier app before and after the fleet update, the others stable */
  apps: { courierOld: string; courierNew: string; terminal: string; web: string; scanner: string };
  /** day index from which each courier device runs the new courier build (absent = never) */
  appUpdateDay: Map<string, number>;
  names: NameGenerator;
}

export const dayStart = (w: World, d: number): number => w.t0 + d * DAY;
export const weekdayOf = (w: World, d: number): number => cstWeekday(w.t0 + d * DAY + 12 * 3_600_000);

export function deviceOn(a: Account, d: number): Device {
  let dev = a.devices[0]!;
  for (const x of a.devices) if (x.fromDay <= d) dev = x;
  return dev;
}

export function isActive(a: Account, d: number): boolean {
  return d >= a.startDay && d < a.endDay;
}

/** Whether the person works on day d: active, a working weekday (or covering/travelling), not away. */
export function worksOn(w: World, a: Account, d: number): boolean {
  if (!isActive(a, d) || a.away.has(d)) return false;
  if (a.cover.has(d) || a.travel.has(d)) return true;
  return (a.workdays & (1 << weekdayOf(w, d))) !== 0;
}

function ipBlock(rng: Rng, used: Set<string>): string {
  for (;;) {
    const s = `${rng.pick(IP_FIRST_OCTETS)}.${rng.range(1, 254)}`;
    if (!used.has(s)) {
      used.add(s);
      return s;
    }
  }
}

/** Builds the world's structure; the scenario planner then adds its accounts and changes. */
export function buildWorld(params: SimParams): World {
  const seed = params.seed >>> 0;
  const rng = Rng.derive(seed, 'world');
  const names = new NameGenerator();
  const used = new Set<string>();
  const mkCity = (def: CityDef, index: number, operating: boolean): City => ({
    index,
    def,
    div: cityDivisions(def),
    mobile: [ipBlock(rng, used), ipBlock(rng, used), ipBlock(rng, used)],
    broadband: ipBlock(rng, used),
    outlets: [],
    sorting: undefined as unknown as Site,
    operating,
  });
  const cities = OPERATING_CITIES.slice(0, params.cities).map((def, i) => mkCity(def, i, true));
  const elsewhere = ELSEWHERE_CITIES.map((def, i) => mkCity(def, 100 + i, false));
  const officeBlock = ipBlock(rng, used);
  let officeNet = 0;
  const nextOfficeNet = (city: City) => {
    // office networks: a /24 of the city's broadband block per site, plus a corporate block for HQ/CS
    officeNet++;
    return `${city.broadband}.${(officeNet * 37) % 250 + 2}`;
  };

  const sites: Site[] = [];
  const outlets: Site[] = [];
  for (const city of cities) {
    const districts = city.div.districts;
    for (let i = 0; i < params.outletsPerCity; i++) {
      const district = districts[i % districts.length]!;
      const site: Site = {
        code: `${city.def.abbr}-O${String(i + 1).padStart(2, '0')}`,
        kind: 'outlet',
        city,
        index: outlets.length,
        net: nextOfficeNet(city),
        district,
        block: 3000 + outlets.length,
        seqStart: rng.range(100_000, 30_000_000),
        routes: params.staff.courier,
      };
      outlets.push(site);
      city.outlets.push(site);
      sites.push(site);
    }
    city.sorting = { code: `${city.def.abbr}-SC`, kind: 'sorting', city, index: city.index, net: nextOfficeNet(city), block: 0, seqStart: 0, routes: 0 };
    sites.push(city.sorting);
  }
  const first = cities[0]!;
  const csCentre: Site = { code: 'CS1', kind: 'cs', city: cities[Math.min(1, cities.length - 1)]!, index: 0, net: `${officeBlock}.10`, block: 0, seqStart: 0, routes: 0 };
  const hq: Site = { code: 'HQ', kind: 'hq', city: first, index: 0, net: `${officeBlock}.20`, block: 0, seqStart: 0, routes: 0 };
  sites.push(csCentre, hq);

  const h = (s: string) => hashString(`${seed}:${s}`).toString(16).padStart(8, '0');
  const apps = {
    courierOld: `sha256:${h('courier-app-7.4.2')}${h('courier-app-7.4.2b')}`,
    courierNew: `sha256:${h('courier-app-7.5.0')}${h('courier-app-7.5.0b')}`,
    terminal: `sha256:${h('outlet-terminal-3.1')}${h('outlet-terminal-3.1b')}`,
    web: `sha256:${h('console-2026.10')}${h('console-2026.10b')}`,
    scanner: `sha256:${h('hub-scanner-5.2')}${h('hub-scanner-5.2b')}`,
  };

  const world: World = {
    params,
    seed,
    t0: cstMidnight(params.start),
    cities,
    elsewhere,
    sites,
    outlets,
    csCentre,
    hq,
    accounts: [],
    byId: new Map(),
    apps,
    appUpdateDay: new Map(),
    names,
  };

  const s = params.staff;
  for (const o of outlets) {
    for (let i = 0; i < s.courier; i++) addAccount(world, rng, 'courier', o, `${o.code.toLowerCase()}.c${String(i + 1).padStart(2, '0')}`, { route: i });
    for (let i = 0; i < s.outlet_staff; i++) addAccount(world, rng, 'outlet_staff', o, `${o.code.toLowerCase()}.s${String(i + 1).padStart(2, '0')}`, { shiftIndex: i });
  }
  for (const c of cities) {
    for (let i = 0; i < s.sorting; i++) addAccount(world, rng, 'sorting', c.sorting, `${c.sorting.code.toLowerCase()}.x${String(i + 1).padStart(2, '0')}`, { shiftIndex: i });
    for (let i = 0; i < s.manager; i++) addAccount(world, rng, 'manager', c.sorting, `${c.def.abbr.toLowerCase()}.m${String(i + 1).padStart(2, '0')}`, { shiftIndex: i });
  }
  for (let i = 0; i < s.customer_service; i++) addAccount(world, rng, 'customer_service', csCentre, `cs1.a${String(i + 1).padStart(3, '0')}`, { shiftIndex: i });
  for (let i = 0; i < s.it_admin; i++) addAccount(world, rng, 'it_admin', hq, `hq.it${String(i + 1).padStart(2, '0')}`, { shiftIndex: i });
  for (let i = 0; i < s.security_analyst; i++) addAccount(world, rng, 'security_analyst', hq, `hq.sec${String(i + 1).padStart(2, '0')}`, { shiftIndex: i });

  // surge temporaries: hired two days before the festival, gone after its tail
  const surgeDay = surgeDayIndex(world);
  if (params.surge.enabled && surgeDay !== undefined && params.surge.tempCouriersPerOutlet > 0) {
    const from = Math.max(0, surgeDay - 2);
    const to = Math.min(params.days, surgeDay + params.surge.factors.length);
    if (from < to) {
      for (const o of outlets) {
        for (let i = 0; i < params.surge.tempCouriersPerOutlet; i++) {
          const a = addAccount(world, rng, 'courier', o, `${o.code.toLowerCase()}.t${String(i + 1).padStart(2, '0')}`, { route: -1, temp: true, startDay: from });
          a.endDay = to;
          a.workdays = 0x7f;
        }
      }
    }
  }
  return world;
}

/** Day index of the festival in this run, if it falls inside (or its tail does). */
export function surgeDayIndex(w: World): number | undefined {
  const p = w.params;
  if (!p.surge.enabled) return undefined;
  const year = Number(p.start.slice(0, 4));
  for (const y of [year - 1, year, year + 1]) {
    const d = Math.round((cstMidnight(`${y}-${p.surge.date}`) - w.t0) / DAY);
    if (d + p.surge.factors.length > 0 && d - 2 < p.days) return d;
  }
  return undefined;
}

interface AccountOpts {
  route?: number;
  shiftIndex?: number;
  temp?: boolean;
  startDay?: number;
}

const DEVICE_PREFIX: Record<DeviceKind, string> = { pda: 'pda-', phone: 'ph-', desktop: 'pc-', laptop: 'lt-' };

export function newDevice(rng: Rng, kind: DeviceKind, app: AppFamily, fromDay: number): Device {
  return { id: DEVICE_PREFIX[kind] + rng.hex(10), kind, app, host: rng.range(10, 250), fromDay };
}

export function addAccount(w: World, rng: Rng, role: Role, site: Site, id: string, opts: AccountOpts = {}): Account {
  if (w.byId.has(id)) throw new Error(`duplicate account ${id}`);
  const person = w.names.draw(rng);
  const si = opts.shiftIndex ?? 0;
  let shiftStart = 9 * 60;
  let shiftEnd = 18 * 60;
  let workdays = 0b0111110; // Mon-Fri
  let kind: DeviceKind = 'desktop';
  let app: AppFamily = 'web';
  let mfa = true;
  const jitter = () => rng.range(-20, 20);
  switch (role) {
    case 'courier':
      shiftStart = 7 * 60 + jitter();
      shiftEnd = 20 * 60 + 30 + jitter();
      workdays = 0x7f & ~(1 << rng.int(7)); // six days, one day off
      kind = rng.chance(0.7) ? 'pda' : 'phone';
      app = 'courier';
      mfa = rng.chance(0.6);
      break;
    case 'outlet_staff':
      [shiftStart, shiftEnd] = si % 3 === 0 ? [6 * 60 + 30, 16 * 60] : si % 3 === 1 ? [11 * 60 + 30, 21 * 60] : [8 * 60 + 30, 18 * 60];
      shiftStart += jitter();
      shiftEnd += jitter();
      workdays = 0x7f & ~(1 << ((site.index + si * 3) % 7));
      app = 'terminal';
      mfa = rng.chance(0.5);
      break;
    case 'sorting':
      shiftStart = 17 * 60 + 30 + jitter();
      shiftEnd = 24 * 60 + 6 * 60 + jitter();
      workdays = 0x7f & ~(1 << ((si * 2 + 1) % 7));
      kind = 'desktop';
      app = 'scanner';
      mfa = false;
      break;
    case 'customer_service': {
      [shiftStart, shiftEnd] = si % 2 === 0 ? [8 * 60, 17 * 60] : [13 * 60, 22 * 60];
      shiftStart += jitter();
      shiftEnd += jitter();
      const off = si % 7;
      workdays = 0x7f & ~(1 << off) & ~(1 << ((off + 1) % 7)); // five days on a rota
      break;
    }
    case 'manager':
      shiftStart = 8 * 60 + 50 + jitter();
      shiftEnd = 18 * 60 + 40 + jitter();
      kind = 'laptop';
      mfa = rng.chance(0.75);
      break;
    case 'it_admin':
    case 'security_analyst':
      shiftStart = 9 * 60 + jitter();
      shiftEnd = 18 * 60 + 30 + jitter();
      kind = role === 'it_admin' ? 'laptop' : 'desktop';
      break;
    default:
      break;
  }
  const city = site.city;
  const nets = [0, 1].map(() => `${rng.pick(city.mobile)}.${rng.range(0, 255)}`);
  const a: Account = {
    index: w.accounts.length,
    id,
    role,
    name: person.name,
    site,
    city,
    devices: [newDevice(rng, kind, app, 0)],
    mfa,
    shiftStart,
    shiftEnd,
    workdays,
    startDay: opts.startDay ?? 0,
    endDay: w.params.days,
    away: new Set(),
    nets,
    route: opts.route ?? -1,
    temp: opts.temp ?? false,
    exportRights: role === 'manager',
    load: new Map(),
    cover: new Map(),
    travel: new Map(),
  };
  a.devices[0]!.fromDay = a.startDay;
  w.accounts.push(a);
  w.byId.set(id, a);
  return a;
}
