/**
 * Shared types of the detection engine: profiles (per-key state), the per-event context handed to
 * detectors, and the detector interface. Detectors never allocate maps of their own per event;
 * per-subject state lives in a profile slot so it expires with the profile.
 */
import type { ActivityEvent, Alert, EventType, Severity } from '../contracts/events.js';
import type { CityTable } from './cities.js';
import type { DetectConfig } from './config.js';
import type { LocalClock } from './util.js';

/** When a value was first and last seen for a subject, and how often. */
export interface Seen {
  first: number;
  last: number;
  n: number;
}

export interface AccountProfile {
  readonly id: string;
  role: string;
  site: string | undefined;
  firstSeen: number;
  lastSeen: number;
  events: number;
  devices: Map<string, Seen>;
  networks: Map<string, Seen>;
  cities: Map<string, Seen>;
  /** Number of distinct local days on which the account was active in each local hour. */
  hourDays: Uint16Array;
  /** Last (day * 24 + hour) slot counted in hourDays. */
  lastSlot: number;
  activeDays: number;
  lastDay: number;
  logins: number;
  mfaLogins: number;
  lastCity: string | undefined;
  lastCityAt: number;
  /** Peer group (same role, same site); reset when role or site changes. */
  group: PeerGroup | undefined;
  /** Last waybill found explained by an assignment, and when (a view is followed by a reveal). */
  memoWaybill: string | undefined;
  memoAt: number;
  /** Recent searches by this account: waybill -> time it was returned. */
  searches: Map<string, number> | undefined;
  /**
   * What the account's last device, IP, site and city resolved to (profiles, and the account's
   * Seen entries once they exist): most events continue a session on the same ones. Valid only
   * while `memoGen` equals the engine's generation, which moves whenever any profile or Seen
   * entry can have been deleted (sweeps, caps).
   */
  memoGen: number;
  memoDevId: string | undefined;
  memoDevice: DeviceProfile | undefined;
  memoDeviceSeen: Seen | undefined;
  memoIp: string | undefined;
  memoNetwork: NetworkProfile | undefined;
  memoNetworkSeen: Seen | undefined;
  memoSiteId: string | undefined;
  memoSite: SiteProfile | undefined;
  memoCity: string | undefined;
  memoCityKey: string | undefined;
  memoCitySeen: Seen | undefined;
  /** Detector-owned state, indexed by detector slot. */
  slots: unknown[];
}

export interface DeviceProfile {
  readonly id: string;
  firstSeen: number;
  lastSeen: number;
  /** Accounts seen on the device (capped; `accountsOverflow` counts the rest). */
  accounts: Set<string>;
  appHash: string | undefined;
  slots: unknown[];
}

export interface NetworkProfile {
  readonly key: string;
  firstSeen: number;
  lastSeen: number;
  accounts: Set<string>;
  slots: unknown[];
}

/** Peer group: same role at the same site. */
export interface PeerGroup {
  readonly key: string;
  members: Set<string>;
  /** Members that have used each value (first use per member counts once). */
  networks: Map<string, number>;
  cities: Map<string, number>;
  /** Active (member, day, hour) slots per local hour. */
  hours: Float64Array;
  hoursTotal: number;
  lastSeen: number;
  slots: unknown[];
}

export interface SiteProfile {
  readonly site: string;
  /** Active (account, day, hour) slots per local hour, across every role at the site. */
  hours: Float64Array;
  hoursTotal: number;
  lastSeen: number;
}

/** Why a reveal was allowed by the work context (strongest first), or 'none'. */
export type Explanation = 'assignment' | 'ticket' | 'search' | 'site' | 'city' | 'none';

/** The per-event view handed to detectors; one object, reused for every event. */
export interface EventContext {
  event: ActivityEvent;
  t: number;
  day: number;
  hour: number;
  account: AccountProfile | undefined;
  device: DeviceProfile | undefined;
  network: NetworkProfile | undefined;
  peers: PeerGroup | undefined;
  site: SiteProfile | undefined;
  /** The account has enough history for its own baseline to mean something. */
  mature: boolean;
  /** Seen-state of this event's device/network/city for the account *before* this event (undefined = first seen). */
  deviceSeen: Seen | undefined;
  networkSeen: Seen | undefined;
  citySeen: Seen | undefined;
  /** The value is present on the event, new for the account, and not covered by an exception. */
  novelDevice: boolean;
  novelNetwork: boolean;
  novelCity: boolean;
  cityKey: string | undefined;
  /** Access classification (access events with a single waybill). */
  explanation: Explanation | undefined;
  /** Full PII records shown by this event (allowed reveal = 1, allowed export = its size). */
  records: number;
  denied: boolean;
  /** Distance in km from the account's city to the parcel's destination city (NaN unknown). */
  parcelKm: number;
  parcelCity: string | undefined;
  /** The waybill was never seen in routing or work events. */
  unknownWaybill: boolean;
  /**
   * Explained by `site` only, by a counter role (`state.counter_roles`), for a parcel that is not at
   * its counter: a courier delivers it to the door, or it was taken in long ago (attack review 10,
   * F3), or it was at the counter long ago (attack review 11: collected more than
   * `counter_grace_hours` ago, or known by its number range only). `unexplained` counts it as
   * unexplained; `trickle` too unless `pastSite`.
   */
  weakSite: boolean;
  /**
   * Of `weakSite`: the parcel was at the account's counter once, long ago (taken in or collected more
   * than `counter_grace_hours` ago, or forgotten by the engine and known by its number range only).
   * Honest clerks answer a few such questions a day, so `trickle` leaves it to `unexplained`'s window.
   */
  pastSite: boolean;
}

export interface SignalInput {
  account?: string | undefined;
  device?: string | undefined;
  score: number;
  /** Overrides the severity derived from the score (e.g. caps a volume alert at low). */
  severity?: Severity;
  /** Dedup subject inside the detector (default: one per account/device). */
  subject?: string;
  summary: string;
  evidence: Record<string, unknown>;
}

export type Emit = (signal: SignalInput) => void;

export interface DetectorEnv {
  config: DetectConfig;
  clock: LocalClock;
  cities: CityTable;
  /** Index of this detector's slot in profile `slots` arrays. */
  slot: number;
  state: EngineStateView;
  isExcepted(kind: ExceptionKind, value: string, account: string | undefined, t: number): boolean;
}

export interface Detector {
  readonly name: string;
  /** 'account': decisions depend only on the account's own events (+ broadcast waybill/scan events). */
  readonly scope: 'account' | 'global';
  readonly types: readonly EventType[];
  onEvent(ctx: EventContext, emit: Emit): void;
  /** Forget global detector state older than `t` allows. */
  sweep?(t: number): void;
  stats?(): Record<string, number>;
}

export type DetectorFactory = (env: DetectorEnv) => Detector;

export type ExceptionKind = 'device' | 'network' | 'account' | 'app_hash';

export interface EngineStateView {
  accounts: ReadonlyMap<string, AccountProfile>;
  devices: ReadonlyMap<string, DeviceProfile>;
  networks: ReadonlyMap<string, NetworkProfile>;
  peers: ReadonlyMap<string, PeerGroup>;
  /** Company-wide: accounts that have used each city. */
  cityAccounts: ReadonlyMap<string, number>;
  /** City of each site, learned from waybill routing (dest_site -> dest_city). */
  siteCity: ReadonlyMap<string, string>;
  homeCity(account: AccountProfile): string | undefined;
  distanceKm(cityA: string | undefined, cityB: string | undefined): number;
}
