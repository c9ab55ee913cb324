/**
 * Detection configuration: one object, sane defaults, user config merged over them and
 * validated key by key. Every problem is listed at once with its dotted key path.
 * The same defaults are written out, with a comment per key, in config/detect.default.yaml.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { PII_FIELDS } from '../contracts/events.js';

export interface DetectConfig {
  time: {
    /** Local time zone of the workforce as a fixed UTC offset (China Standard Time = 8). */
    utc_offset_hours: number;
    /** Event-time disorder tolerated before an event counts as late (contract: 60 s). */
    reorder_window_seconds: number;
    /** An event further than this ahead of the engine's clock is held aside and never moves it ... */
    max_future_minutes: number;
    /** ... at most this many (past it, the furthest is dropped and counted). */
    max_future_events: number;
    /** This many held events mean the stream really moved on: the clock goes to their median time. */
    future_confirm_events: number;
  };
  state: {
    /** Forget an account/device/network profile after this long without activity. */
    profile_ttl_days: number;
    /** Forget a waybill's routing and work context after this long without activity. */
    waybill_ttl_days: number;
    /** An assignment explains reveals for this long after it was made ... */
    assignment_ttl_hours: number;
    /** ... or until this long after the parcel's delivered/pickup scan, whichever is sooner. */
    after_delivery_hours: number;
    /** A search explains reveals of the waybills it returned for this long. */
    search_ttl_minutes: number;
    /** Waybills remembered per search (a search returning more is a bulk search). */
    search_max_results: number;
    /** An open ticket explains reveals for at most this long. */
    ticket_ttl_days: number;
    /**
     * Roles that work at an outlet counter (attack review 10, F3): their own-site backing is weak for
     * a parcel that is not at the counter — one a courier delivers to the door (a delivery
     * assignment or an out-for-delivery scan), or one taken in or collected at the counter more than
     * `counter_grace_hours` ago, or one the engine knows by its number range only (attack review 11).
     */
    counter_roles: string[];
    counter_grace_hours: number;
    /** Hard caps per map; reaching one evicts the oldest entries and counts them in stats. */
    max_accounts: number;
    max_devices: number;
    max_networks: number;
    max_waybills: number;
    /** How often (event time) expired state is swept. */
    sweep_interval_minutes: number;
    /**
     * Waybill numbers are allocated to origins in ranges: a waybill nobody has routed yet takes the
     * origin of the routed waybills that share all but its last this-many digits (if they agree).
     * 0 turns the inference off.
     */
    waybill_range_digits: number;
  };
  baseline: {
    /** Window of history that baselines (devices, networks, cities, hours) describe. */
    window_days: number;
    /** An account's own baseline is used once it has been seen this long ... */
    min_history_hours: number;
    /** ... with at least this many events. */
    min_events: number;
    /** Peer comparisons need at least this many active peers (same role, same site). */
    min_peers: number;
    /** A value is "uncommon company-wide" when fewer than this share of accounts use it. */
    uncommon_share: number;
  };
  risk: {
    /** Per-account and per-device risk halves over this many hours of event time. */
    half_life_hours: number;
    /** An account's alerts group into one incident until this long passes without one. */
    incident_gap_hours: number;
    /** The same detector re-alerts on the same subject only if severity rises or after this. */
    cooldown_hours: number;
    /** Score cut-offs for severities (score below medium is low). */
    severity_medium: number;
    severity_high: number;
    severity_critical: number;
  };
  response: {
    /** Risk at which the gateway asks for a second factor. */
    step_up: number;
    /** Risk at which reveals are throttled. */
    throttle: number;
    /** Risk at which the account is suspended pending review. */
    suspend: number;
  };
  detectors: {
    sharing: {
      enabled: boolean;
      new_device: number;
      new_network: number;
      new_city: number;
      far_city: number;
      far_city_km: number;
      impossible_travel: number;
      max_speed_kmh: number;
      off_hours: number;
      /** Share of the site's activity in an hour below which that hour is off-hours for the site. */
      site_hour_share: number;
      /** Peers' hours decide off-hours once the peer group has this many active (member, day, hour) slots. */
      peer_hour_slots: number;
      missing_mfa: number;
      /** MFA is "usual" when at least this share of the account's logins used it. */
      mfa_usual_share: number;
      concurrent_sessions: number;
      /** A session counts as live this long after its last event (unless logged out). */
      session_idle_minutes: number;
    };
    harvesting: {
      enabled: boolean;
      burst_minutes: number;
      /** Burst alerts need at least this many records in the burst window ... */
      burst_min_records: number;
      /** ... and this many times the account's own rate for that hour of day and the peers' busiest. */
      burst_factor: number;
      /** Daily view: at least this many records today ... */
      day_min_records: number;
      /** ... and this many times the account's own daily baseline ... */
      day_factor: number;
      /** ... and this many times the peer-group median on the same day. */
      peer_factor: number;
      /** Slow view: records over this many days ... */
      slow_days: number;
      /** ... exceeding the account's own baseline by this factor and the peers' by peer_factor. */
      slow_factor: number;
      slow_min_records: number;
      /** Share of a window's reveals explained by assignment/ticket/search above which volume alone stays low ... */
      explained_share_ok: number;
      /** ... unless the account's records are at least this many times its peers' median (and at least `uncap_min_records`). */
      uncap_peer_factor: number;
      uncap_min_records: number;
      /** Below the day floor: at least this many records today and `low_day_peer_factor` x the peers' median today (attack review 10, F3). */
      low_day_min_records: number;
      low_day_peer_factor: number;
    };
    unexplained: {
      enabled: boolean;
      window_hours: number;
      /** Distinct unexplained records (or denied attempts) in the window for a medium alert. */
      medium_records: number;
      high_records: number;
      critical_records: number;
      /** Also scale the thresholds by the account's own typical daily unexplained count. */
      baseline_factor: number;
      /** Parcels whose destination city is this far from the account's city raise the score. */
      far_km: number;
      /** Slow view: distinct unexplained records over this many days. */
      slow_days: number;
      slow_records: number;
    };
    enumeration: {
      enabled: boolean;
      /** Recent waybill numbers remembered per account. */
      history: number;
      window_minutes: number;
      /** Two numbers within this distance (same prefix) are near-sequential. */
      max_gap: number;
      /** Near-sequential accesses (not explained by assignment/ticket/search) for a medium alert. */
      medium_hits: number;
      high_hits: number;
    };
    device_posture: {
      enabled: boolean;
      /** Fleet posture needs this many devices reporting an app hash before "unknown" means anything. */
      min_fleet_devices: number;
      /** A new hash adopted by this many devices (or `adoption_share` of the fleet, at least 3, if fewer) ... */
      adoption_devices: number;
      adoption_share: number;
      /** ... within this many hours is a fleet update, not a rogue build. */
      adoption_hours: number;
      /** Unexplained reveals from a device on an unadopted hash that alert before the adoption window ends. */
      unexplained_reveals: number;
    };
    rings: {
      enabled: boolean;
      window_hours: number;
      /** Accounts on one network that is unfamiliar to each of them, each with unexplained access. */
      min_accounts: number;
      /** Unexplained records per account to count it as a ring member. */
      min_unexplained: number;
    };
    credential: {
      enabled: boolean;
      window_minutes: number;
      /** Failed logins on one account in the window for an alert. */
      account_failures: number;
      /** Failed logins from one network in the window (any accounts) for an alert. */
      network_failures: number;
      /** Distinct accounts failing from one network in the window (spraying). */
      network_accounts: number;
      /** A success within this many minutes after at least `success_after_failures` failures. */
      success_after_failures: number;
    };
    privileged_bulk: {
      enabled: boolean;
      /** Records in one export/search above this many times the account's largest before ... */
      factor: number;
      /** ... and at least this many records. */
      min_records: number;
      /** With no history at all, a single export/search at least this large alerts. */
      first_min_records: number;
      /** Score of a privileged account's login at an hour it never worked and its role company-wide (almost) never works. */
      off_hours_login: number;
      /** "Almost never": below this share of the role's activity ... */
      role_hour_share: number;
      /** ... once the role has at least this many (member, day, hour) slots on record. */
      role_hour_slots: number;
      /**
       * Before that (a small or new company), the role's prior: local hours from `prior_off_hours_from`
       * up to (not including) `prior_off_hours_to`, wrapping midnight, are off-hours for a privileged
       * role. Equal values turn the prior off.
       */
      prior_off_hours_from: number;
      prior_off_hours_to: number;
    };
    work_harvest: {
      enabled: boolean;
      /** A reveal worth harvesting of an assigned parcel this soon after the assignment is "early". */
      early_minutes: number;
      /** A reveal is worth harvesting when its fields include all of one of these sets. */
      harvest_fields: string[][];
      /** Early full reveals today before anything is said ... */
      min_records: number;
      /** ... and their share of today's assignments ... */
      min_share: number;
      /** ... at least this many times the peers' median share (or the role prior). */
      peer_factor: number;
      /** Role prior for the share when fewer than `min_peers` peers have a full day on record. */
      prior_share: number;
      /** The peers' share is taken as at least this (a median of 0 would make any share infinite). */
      floor_share: number;
      /** Peers with a closed day on record needed to trust a tier (site, then city, then company). */
      min_peers: number;
      /** A day counts as a peer sample with at least this many assignments. */
      min_day_assignments: number;
      /** Assignments remembered per account (their time) until revealed or a day old. */
      max_open_assignments: number;
    };
    search_harvest: {
      enabled: boolean;
      /** A reveal worth harvesting of a waybill a search returned this soon after the search is "quick". */
      quick_seconds: number;
      /** A reveal is worth harvesting when its fields include all of one of these sets. */
      harvest_fields: string[][];
      min_records: number;
      /** Quick full reveals as a share of today's searches. */
      min_share: number;
      peer_factor: number;
      prior_share: number;
      floor_share: number;
      min_peers: number;
      min_day_searches: number;
      /** How long a search backs a reveal (the policy's phone_search within_minutes): reveals this soon count in the grant view ... */
      grant_minutes: number;
      /** ... which says something at this many a day ... */
      grant_min_records: number;
      /** ... at least this many times the peers' median daily count (or the prior). */
      grant_peer_factor: number;
      /** Daily count assumed for the peers when fewer than `min_peers` have a day on record. */
      grant_prior_records: number;
    };
    ticket_churn: {
      enabled: boolean;
      /** A ticket-backed reveal this soon after its ticket opened, with no search of the parcel before, is "young". */
      young_minutes: number;
      /** Young reveals today before anything is said ... */
      min_records: number;
      /** ... as a share of today's ticket-backed reveals ... */
      min_share: number;
      /** ... at least this many times the peers' median daily count of young reveals (or the prior). */
      peer_factor: number;
      /** Daily count assumed when fewer than `min_peers` peers have a day on record. */
      prior_records: number;
      /** The peers' daily count is taken as at least this. */
      floor_records: number;
      min_peers: number;
      /** Tickets remembered per account (open, or closed today) for their age and life. */
      max_open_tickets: number;
    };
    trickle: {
      enabled: boolean;
      /** CUSUM of daily unexplained records minus (role rate + allowance) at which an alert is raised. */
      threshold: number;
      /** Records a day above the role's honest rate that add no evidence. */
      allowance: number;
      /** Carried evidence is multiplied by this every day (old evidence fades). */
      decay: number;
      /** Days with evidence (including today) before an alert. */
      min_days: number;
      /** Role rate (unexplained records per active day) until `min_role_days` account-days are on record. */
      prior_rate: number;
      min_role_days: number;
      /** One account-day counts at most this many records towards its role's rate. */
      winsorise: number;
    };
  };
  /** Extra city coordinates: name -> [lat, lon]. */
  cities: Record<string, [number, number]>;
}

export const DEFAULT_CONFIG: DetectConfig = {
  time: { utc_offset_hours: 8, reorder_window_seconds: 60, max_future_minutes: 360, max_future_events: 10000, future_confirm_events: 50 },
  state: {
    profile_ttl_days: 45,
    waybill_ttl_days: 7,
    assignment_ttl_hours: 72,
    after_delivery_hours: 24,
    search_ttl_minutes: 30,
    search_max_results: 200,
    ticket_ttl_days: 30,
    counter_roles: ['outlet_staff'],
    counter_grace_hours: 2,
    max_accounts: 2_000_000,
    max_devices: 2_000_000,
    max_networks: 2_000_000,
    max_waybills: 20_000_000,
    sweep_interval_minutes: 10,
    waybill_range_digits: 3,
  },
  baseline: { window_days: 30, min_history_hours: 24, min_events: 20, min_peers: 3, uncommon_share: 0.05 },
  risk: {
    half_life_hours: 12,
    incident_gap_hours: 24,
    cooldown_hours: 6,
    severity_medium: 40,
    severity_high: 70,
    severity_critical: 90,
  },
  response: { step_up: 40, throttle: 65, suspend: 85 },
  detectors: {
    sharing: {
      enabled: true,
      new_device: 20,
      new_network: 10,
      new_city: 10,
      far_city: 25,
      far_city_km: 300,
      impossible_travel: 45,
      max_speed_kmh: 800,
      off_hours: 30,
      site_hour_share: 0.01,
      peer_hour_slots: 48,
      missing_mfa: 20,
      mfa_usual_share: 0.9,
      concurrent_sessions: 30,
      session_idle_minutes: 30,
    },
    harvesting: {
      enabled: true,
      burst_minutes: 10,
      burst_min_records: 40,
      burst_factor: 4,
      day_min_records: 150,
      day_factor: 3,
      peer_factor: 2.5,
      slow_days: 7,
      slow_factor: 2,
      slow_min_records: 600,
      explained_share_ok: 0.9,
      uncap_peer_factor: 4,
      uncap_min_records: 150,
      low_day_min_records: 60,
      low_day_peer_factor: 4,
    },
    unexplained: {
      enabled: true,
      window_hours: 24,
      medium_records: 8,
      high_records: 25,
      critical_records: 100,
      baseline_factor: 3,
      far_km: 300,
      slow_days: 7,
      slow_records: 30,
    },
    enumeration: { enabled: true, history: 32, window_minutes: 60, max_gap: 5, medium_hits: 5, high_hits: 12 },
    device_posture: {
      enabled: true,
      min_fleet_devices: 20,
      adoption_devices: 5,
      adoption_share: 0.05,
      adoption_hours: 12,
      unexplained_reveals: 3,
    },
    rings: { enabled: true, window_hours: 24, min_accounts: 3, min_unexplained: 3 },
    credential: {
      enabled: true,
      window_minutes: 10,
      account_failures: 5,
      network_failures: 20,
      network_accounts: 5,
      success_after_failures: 3,
    },
    privileged_bulk: { enabled: true, factor: 5, min_records: 200, first_min_records: 500, off_hours_login: 45, role_hour_share: 0.01, role_hour_slots: 40, prior_off_hours_from: 23, prior_off_hours_to: 6 },
    work_harvest: {
      enabled: true,
      early_minutes: 30,
      harvest_fields: [
        ['name', 'phone'],
        ['name', 'address'],
        ['phone', 'address'],
      ],
      min_records: 12,
      min_share: 0.5,
      peer_factor: 3,
      prior_share: 0.3,
      floor_share: 0.05,
      min_peers: 3,
      min_day_assignments: 8,
      max_open_assignments: 2000,
    },
    search_harvest: {
      enabled: true,
      quick_seconds: 60,
      harvest_fields: [['address'], ['name', 'phone']],
      min_records: 10,
      min_share: 0.5,
      peer_factor: 3,
      prior_share: 0.15,
      floor_share: 0.05,
      min_peers: 3,
      min_day_searches: 8,
      grant_minutes: 15,
      grant_min_records: 75,
      grant_peer_factor: 4,
      grant_prior_records: 20,
    },
    ticket_churn: { enabled: true, young_minutes: 5, min_records: 10, min_share: 0.5, peer_factor: 4, prior_records: 3, floor_records: 2, min_peers: 3, max_open_tickets: 2000 },
    trickle: { enabled: true, threshold: 6, allowance: 1, decay: 0.9, min_days: 2, prior_rate: 0.5, min_role_days: 10, winsorise: 5 },
  },
  cities: {},
};

export type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid detection config: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

const resolved = new WeakSet<object>();
/** True for a config returned by resolveConfig (so the engine does not re-validate it). */
export const isResolvedConfig = (c: unknown): c is DetectConfig => typeof c === 'object' && c !== null && resolved.has(c);

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Merges `user` over `defaults`, checking every key exists and has the default's type.
 * Throws ConfigError listing every problem (e.g. `detectors.sharing.new_devise: unknown key`).
 */
export function resolveConfig(user: unknown = {}): DetectConfig {
  const problems: string[] = [];
  if (user === null || user === undefined) user = {};
  if (!isPlainObject(user)) throw new ConfigError(['(root): expected an object']);
  const merged = mergeInto(DEFAULT_CONFIG as unknown as Record<string, unknown>, user, '', problems);
  const cfg = merged as unknown as DetectConfig;
  checkRanges(cfg, problems);
  if (problems.length) throw new ConfigError(problems);
  resolved.add(cfg);
  return cfg;
}

function mergeInto(
  defaults: Record<string, unknown>,
  user: Record<string, unknown>,
  path: string,
  problems: string[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(defaults)) out[k] = isPlainObject(v) ? mergeInto(v, {}, '', []) : v;
  for (const [k, v] of Object.entries(user)) {
    const p = path ? `${path}.${k}` : k;
    if (!(k in defaults)) {
      problems.push(`${p}: unknown key`);
      continue;
    }
    const d = defaults[k];
    if (path === '' && k === 'cities') {
      if (!isPlainObject(v)) {
        problems.push(`${p}: expected a map of city name to [lat, lon]`);
        continue;
      }
      for (const [city, point] of Object.entries(v)) {
        if (!Array.isArray(point) || point.length !== 2 || !point.every((n) => typeof n === 'number' && Number.isFinite(n))) {
          problems.push(`${p}.${city}: expected [lat, lon]`);
        }
      }
      out[k] = v;
      continue;
    }
    if (isPlainObject(d)) {
      if (!isPlainObject(v)) {
        problems.push(`${p}: expected an object`);
        continue;
      }
      out[k] = mergeInto(d, v, p, problems);
    } else if (typeof d === 'number') {
      if (typeof v !== 'number' || !Number.isFinite(v)) problems.push(`${p}: expected a number, got ${JSON.stringify(v)}`);
      else if (v < 0) problems.push(`${p}: must not be negative`);
      else out[k] = v;
    } else if (typeof d === 'boolean') {
      if (typeof v !== 'boolean') problems.push(`${p}: expected true or false, got ${JSON.stringify(v)}`);
      else out[k] = v;
    } else {
      out[k] = v;
    }
  }
  return out;
}

function checkRanges(c: DetectConfig, problems: string[]): void {
  const r = c.risk;
  if (!(r.severity_medium < r.severity_high && r.severity_high < r.severity_critical && r.severity_critical <= 100)) {
    problems.push('risk.severity_*: expected severity_medium < severity_high < severity_critical <= 100');
  }
  const s = c.response;
  if (!(s.step_up <= s.throttle && s.throttle <= s.suspend)) {
    problems.push('response: expected step_up <= throttle <= suspend');
  }
  if (c.time.utc_offset_hours > 14) problems.push('time.utc_offset_hours: expected 0..14');
  if (r.half_life_hours <= 0) problems.push('risk.half_life_hours: must be positive');
  if (c.state.sweep_interval_minutes <= 0) problems.push('state.sweep_interval_minutes: must be positive');
  for (const key of ['sharing', 'harvesting', 'unexplained'] as const) {
    const d = c.detectors[key] as unknown as Record<string, number>;
    for (const k of ['mfa_usual_share', 'site_hour_share', 'explained_share_ok']) {
      if (k in d && (d[k]! > 1)) problems.push(`detectors.${key}.${k}: expected a share between 0 and 1`);
    }
  }
  if (c.baseline.uncommon_share > 1) problems.push('baseline.uncommon_share: expected a share between 0 and 1');
  const pb = c.detectors.privileged_bulk;
  for (const k of ['prior_off_hours_from', 'prior_off_hours_to'] as const) {
    if (!Number.isInteger(pb[k]) || pb[k] > 23) problems.push(`detectors.privileged_bulk.${k}: expected a local hour 0..23`);
  }
  const roles = c.state.counter_roles as unknown;
  if (!Array.isArray(roles) || !roles.every((x) => typeof x === 'string')) problems.push('state.counter_roles: expected a list of role names');
  if (c.detectors.ticket_churn.min_share > 1) problems.push('detectors.ticket_churn.min_share: expected a share between 0 and 1');
  if (c.detectors.enumeration.history < 2) problems.push('detectors.enumeration.history: expected at least 2');
  for (const key of ['work_harvest', 'search_harvest'] as const) checkFieldSets(c.detectors[key].harvest_fields, `detectors.${key}.harvest_fields`, problems);
}

/** A non-empty list of non-empty sets of PII field names. */
function checkFieldSets(sets: unknown, path: string, problems: string[]): void {
  const ok =
    Array.isArray(sets) &&
    sets.length > 0 &&
    sets.every((set) => Array.isArray(set) && set.length > 0 && set.every((f) => (PII_FIELDS as readonly unknown[]).includes(f)));
  if (!ok) problems.push(`${path}: expected a list of field sets, each a non-empty list of ${PII_FIELDS.join(', ')}`);
}

/** Reads a YAML or JSON file (YAML is a superset of JSON) and resolves it over the defaults. */
export function loadConfigFile(file: string): DetectConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`]);
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (err) {
    throw new ConfigError([`${file}: not valid YAML/JSON (${(err as Error).message.split('\n')[0]})`]);
  }
  return resolveConfig(parsed ?? {});
}
