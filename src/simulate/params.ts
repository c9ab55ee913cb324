/**
 * Every knob of a simulated world, with defaults, presets and validation. A run is fully
 * determined by its resolved parameters (which the truth file records).
 */
export interface StaffParams {
  /** per outlet */
  courier: number;
  /** per outlet */
  outlet_staff: number;
  /** per sorting centre (one per city) */
  sorting: number;
  /** in the one customer-service centre */
  customer_service: number;
  /** per city */
  manager: number;
  /** at HQ */
  it_admin: number;
  /** at HQ */
  security_analyst: number;
}

export interface SurgeParams {
  enabled: boolean;
  /** MM-DD of the festival day (11-11) */
  date: string;
  /** parcel-volume multipliers for the festival day and the days after it (the tail) */
  factors: number[];
  /** temporary couriers each outlet hires from two days before the festival to the end of the tail */
  tempCouriersPerOutlet: number;
}

interface Planned {
  enabled: boolean;
  /** day index (0 = the start date) on which it begins */
  day: number;
}

export interface AttackParams {
  leased_night: Planned & { nights: number; recordsPerNight: number; startHour: number; role: 'outlet_staff' | 'courier' };
  leased_remote: Planned & { evenings: number; recordsPerEvening: number };
  cs_insider: Planned & { days: number; recordsPerDay: number };
  scanner_malware: Planned & { days: number; perHour: number; devices: number };
  courier_ring: Planned & { days: number; members: number; perDay: number; startHour: number; hourlyLimit: number; dailyLimit: number; margin: number };
  credential_stuffing: Planned & { attempts: number; accountsTried: number; exports: number; exportSize: number; hour: number };
  manager_dump: Planned & { exports: number; exportSize: number; hour: number; lookbackDays: number };
  /** a courier reveals name, phone and address of every parcel assigned to him, minutes after each assignment */
  work_harvest: Planned & { days: number; minDelayMinutes: number; maxDelayMinutes: number };
  /** an agent searches a buyer's list of phone numbers, each search followed within a minute by a full reveal */
  search_harvest: Planned & { days: number; recordsPerDay: number };
  /** an agent reveals a handful of records a day with no work behind them, every working day */
  trickle: Planned & { days: number; minPerDay: number; maxPerDay: number };
  /** work_harvest shaped to evade (attack review 6): name and address only, minutes after each assignment */
  work_harvest_evasive: Planned & { days: number; minDelayMinutes: number; maxDelayMinutes: number };
  /** search_harvest shaped to evade (attack review 6): name and address only, minutes after each search, inside the grant */
  search_harvest_evasive: Planned & { days: number; recordsPerDay: number; minDelaySeconds: number; maxDelaySeconds: number };
  /** work_harvest split over requests (attack review 8): the name, then the address seconds later, minutes after each assignment */
  split_harvest: Planned & { days: number; minDelayMinutes: number; maxDelayMinutes: number; maxGapSeconds: number };
  /** an agent opens a ticket on each target parcel, reveals it in full within 40 s and closes it a minute later (attack review 10, F1) */
  ticket_harvest: Planned & { days: number; recordsPerDay: number };
  /** a clerk reveals name and phone of her outlet's door-delivery parcels (attack review 10, F3) */
  clerk_door_harvest: Planned & { days: number; recordsPerDay: number };
  /** a clerk reveals name and phone of her outlet's past parcels: collected at its counter or sent from it days ago (attack review 11) */
  clerk_old_parcel_harvest: Planned & { days: number; recordsPerDay: number };
}
export type AttackName = keyof AttackParams;
export const ATTACK_NAMES: readonly AttackName[] = [
  'leased_night',
  'leased_remote',
  'cs_insider',
  'scanner_malware',
  'courier_ring',
  'credential_stuffing',
  'manager_dump',
  'work_harvest',
  'search_harvest',
  'trickle',
  'work_harvest_evasive',
  'search_harvest_evasive',
  'split_harvest',
  'ticket_harvest',
  'clerk_door_harvest',
  'clerk_old_parcel_harvest',
];

export interface LookalikeParams {
  new_hire: Planned & { couriers: number; outlet_staff: number; customer_service: number };
  new_phone: Planned & { count: number };
  covering_route: Planned & { count: number; days: number };
  manager_travel: Planned & { count: number; days: number };
  app_update: Planned & { spreadDays: number };
  busy_agent: Planned & { count: number; days: number; factor: number };
  /** couriers on a rural route call ahead: the phone of every parcel soon after assignment (one field) */
  rural_route: Planned & { count: number; days: number };
  /** a courier new to a route reveals name and address of most parcels, close to delivery */
  new_route: Planned & { count: number; days: number; share: number };
  /** an agent on a complaint campaign: a ticket per case, then search and full reveal */
  complaint_campaign: Planned & { count: number; days: number; casesPerDay: number };
  /** an honest agent's occasional favour: one unexplained lookup every few days */
  favour: Planned & { count: number; everyDays: number };
  /** honest clerks answer a few customers a day asking about an older parcel of their outlet (attack review 11's look-alike) */
  clerk_old_parcel_questions: Planned & { count: number; minPerDay: number; maxPerDay: number };
}
export type LookalikeName = keyof LookalikeParams | 'surge';
export const LOOKALIKE_NAMES: readonly LookalikeName[] = [
  'new_hire',
  'new_phone',
  'covering_route',
  'manager_travel',
  'app_update',
  'busy_agent',
  'rural_route',
  'new_route',
  'complaint_campaign',
  'favour',
  'clerk_old_parcel_questions',
  'surge',
];

export interface SimParams {
  seed: number;
  /** local (CST) date of day 0, YYYY-MM-DD */
  start: string;
  days: number;
  cities: number;
  outletsPerCity: number;
  staff: StaffParams;
  /** deliveries per courier on an ordinary weekday; pickups are about as many */
  parcelsPerCourier: number;
  /** letters in front of every waybill number */
  carrierPrefix: string;
  surge: SurgeParams;
  attacks: AttackParams;
  lookalikes: LookalikeParams;
}

export type DeepPartial<T> = { [K in keyof T]?: T[K] extends (infer U)[] ? U[] : T[K] extends object ? DeepPartial<T[K]> : T[K] };

/** Small enough to run in seconds, big enough to give the detectors four quiet days of baseline. */
const BASE: Omit<SimParams, 'attacks' | 'lookalikes'> = {
  seed: 1,
  start: '2026-11-04',
  days: 10,
  cities: 3,
  outletsPerCity: 4,
  staff: { courier: 6, outlet_staff: 2, sorting: 4, customer_service: 10, manager: 2, it_admin: 2, security_analyst: 2 },
  parcelsPerCourier: 60,
  carrierPrefix: 'WD',
  surge: { enabled: true, date: '11-11', factors: [3, 2.6, 1.8, 1.3, 1.1], tempCouriersPerOutlet: 1 },
};

export const PRESETS: Record<string, DeepPartial<SimParams>> = {
  /** a handful of accounts for unit tests */
  tiny: { days: 6, cities: 2, outletsPerCity: 2, parcelsPerCourier: 15, start: '2026-11-08', staff: { courier: 4, outlet_staff: 2, sorting: 2, customer_service: 5, manager: 2, it_admin: 1, security_analyst: 1 } },
  /** a company with one city and two outlets (issue 9's small company): the tiny company's staff in one city */
  small: { days: 6, cities: 1, outletsPerCity: 2, parcelsPerCourier: 15, start: '2026-11-08', staff: { courier: 4, outlet_staff: 2, sorting: 2, customer_service: 5, manager: 2, it_admin: 1, security_analyst: 1 } },
  default: {},
  /** the scale target: 30 days, 200 outlets (20 cities x 10), about 40M events */
  large: { days: 30, start: '2026-10-26', cities: 20, outletsPerCity: 10, staff: { courier: 8, outlet_staff: 2, sorting: 8, customer_service: 60, manager: 3, it_admin: 6, security_analyst: 4 }, parcelsPerCourier: 60 },
};

/** Attack start days spread over the part of the run after the baseline. */
function defaultPlan(days: number): { attacks: AttackParams; lookalikes: LookalikeParams } {
  const a0 = Math.min(days - 1, Math.max(2, Math.floor(days * 0.4)));
  const span = Math.max(1, days - a0);
  const at = (k: number) => a0 + (k % span);
  return {
    attacks: {
      leased_night: { enabled: true, day: at(0), nights: 2, recordsPerNight: 600, startHour: 23, role: 'outlet_staff' },
      leased_remote: { enabled: true, day: at(1), evenings: 2, recordsPerEvening: 300 },
      cs_insider: { enabled: true, day: at(0), days: 4, recordsPerDay: 36 },
      scanner_malware: { enabled: true, day: at(2), days: 2, perHour: 25, devices: 1 },
      courier_ring: { enabled: true, day: at(1), days: 3, members: 4, perDay: 150, startHour: 21, hourlyLimit: 60, dailyLimit: 400, margin: 0.9 },
      credential_stuffing: { enabled: true, day: at(3), attempts: 400, accountsTried: 120, exports: 3, exportSize: 1500, hour: 2 },
      manager_dump: { enabled: true, day: at(4), exports: 6, exportSize: 2000, hour: 23, lookbackDays: 3 },
      work_harvest: { enabled: true, day: at(2), days: 3, minDelayMinutes: 1, maxDelayMinutes: 8 },
      search_harvest: { enabled: true, day: at(1), days: 3, recordsPerDay: 150 },
      trickle: { enabled: true, day: Math.min(days - 1, 1), days: Math.max(1, days - 1), minPerDay: 3, maxPerDay: 5 },
      work_harvest_evasive: { enabled: true, day: at(3), days: 3, minDelayMinutes: 12, maxDelayMinutes: 28 },
      search_harvest_evasive: { enabled: true, day: at(2), days: 3, recordsPerDay: 150, minDelaySeconds: 120, maxDelaySeconds: 840 },
      split_harvest: { enabled: true, day: at(2), days: 3, minDelayMinutes: 2, maxDelayMinutes: 20, maxGapSeconds: 60 },
      ticket_harvest: { enabled: true, day: at(1), days: 3, recordsPerDay: 345 },
      clerk_door_harvest: { enabled: true, day: at(0), days: 4, recordsPerDay: 110 },
      clerk_old_parcel_harvest: { enabled: true, day: at(4), days: 3, recordsPerDay: 55 },
    },
    lookalikes: {
      new_hire: { enabled: true, day: at(1), couriers: 2, outlet_staff: 1, customer_service: 1 },
      new_phone: { enabled: true, day: at(0), count: 3 },
      covering_route: { enabled: true, day: at(0), count: 1, days: 3 },
      manager_travel: { enabled: true, day: at(2), count: 1, days: 2 },
      app_update: { enabled: true, day: at(1), spreadDays: 2 },
      busy_agent: { enabled: true, day: at(1), count: 1, days: 3, factor: 2.5 },
      rural_route: { enabled: true, day: 0, count: 1, days: days },
      new_route: { enabled: true, day: at(0), count: 1, days: 3, share: 0.8 },
      complaint_campaign: { enabled: true, day: at(2), count: 1, days: 3, casesPerDay: 40 },
      favour: { enabled: true, day: 0, count: 2, everyDays: 4 },
      clerk_old_parcel_questions: { enabled: true, day: 1, count: 2, minPerDay: 1, maxPerDay: 3 },
    },
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function merge<T>(base: T, over: unknown): T {
  if (!isObject(over) || !isObject(base)) return (over === undefined ? base : over) as T;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    out[k] = k in out ? merge(out[k], v) : v;
  }
  return out as T;
}

/**
 * Defaults, then the preset, then the caller's values. Attack and look-alike days default to a
 * spread over the run that depends on `days`, so they are filled in after `days` is known.
 */
export function resolveParams(input: DeepPartial<SimParams> = {}, preset = 'default'): SimParams {
  const p = PRESETS[preset];
  if (!p) throw new Error(`unknown preset "${preset}" (known: ${Object.keys(PRESETS).join(', ')})`);
  const base = merge(merge(BASE, p), { ...input, attacks: undefined, lookalikes: undefined }) as Omit<SimParams, 'attacks' | 'lookalikes'>;
  const plan = defaultPlan(base.days);
  const full = merge({ ...base, ...plan }, { attacks: input.attacks, lookalikes: input.lookalikes }) as SimParams;
  const problems = validateParams(full);
  if (problems.length > 0) throw new Error(`invalid simulation parameters:\n  - ${problems.join('\n  - ')}`);
  return full;
}

export function validateParams(p: SimParams): string[] {
  const errs: string[] = [];
  const int = (v: unknown, name: string, lo: number, hi: number) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) errs.push(`${name} must be an integer in ${lo}..${hi} (got ${String(v)})`);
  };
  int(p.seed, 'seed', 0, 2 ** 32 - 1);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(p.start) || Number.isNaN(Date.parse(`${p.start}T00:00:00Z`))) errs.push(`start must be a YYYY-MM-DD date (got ${p.start})`);
  int(p.days, 'days', 1, 366);
  int(p.cities, 'cities', 1, 33);
  int(p.outletsPerCity, 'outletsPerCity', 1, 200);
  int(p.parcelsPerCourier, 'parcelsPerCourier', 1, 400);
  if (p.cities * p.outletsPerCity > 6999) errs.push('at most 6999 outlets');
  for (const [k, v] of Object.entries(p.staff)) int(v, `staff.${k}`, 0, 10_000);
  if (p.staff.courier < 1) errs.push('staff.courier must be at least 1');
  if (p.staff.outlet_staff < 1) errs.push('staff.outlet_staff must be at least 1');
  if (p.staff.sorting < 1) errs.push('staff.sorting must be at least 1');
  if (p.staff.customer_service < 1) errs.push('staff.customer_service must be at least 1');
  if (p.staff.manager < 1) errs.push('staff.manager must be at least 1');
  if (!/^[A-Z]{1,4}$/.test(p.carrierPrefix)) errs.push('carrierPrefix must be 1-4 capital letters');
  if (!/^\d{2}-\d{2}$/.test(p.surge.date)) errs.push('surge.date must be MM-DD');
  if (!Array.isArray(p.surge.factors) || p.surge.factors.some((f) => typeof f !== 'number' || !(f > 0) || f > 20)) errs.push('surge.factors must be numbers in (0, 20]');
  for (const group of [p.attacks, p.lookalikes] as unknown as Record<string, Record<string, unknown>>[]) {
    for (const [name, a] of Object.entries(group)) {
      if (!isObject(a)) {
        errs.push(`${name} must be an object`);
        continue;
      }
      int(a.day, `${name}.day`, 0, Math.max(0, p.days - 1));
      for (const [k, v] of Object.entries(a)) {
        if (k === 'day' || k === 'enabled' || k === 'role') continue;
        if (typeof v !== 'number' || !(v >= 0) || v > 1_000_000) errs.push(`${name}.${k} must be a non-negative number (got ${String(v)})`);
      }
    }
  }
  if (p.attacks.leased_night.role !== 'outlet_staff' && p.attacks.leased_night.role !== 'courier') errs.push('leased_night.role must be outlet_staff or courier');
  return errs;
}
