/**
 * Producers: who sent an event, and whether they may send it.
 *
 * Invariants (issue 7, hole 4):
 * - Login, logout and access events about Warden's own gateway accounts come only from Warden's
 *   audit trail (producer `warden`, ./from-audit.ts). No token, not even the admin's, may send
 *   them; the account check against the store is the ingest's (it needs the database).
 * - A service token sends only the event types, sites and (for login/logout/access) accounts it
 *   was registered for (src/identity/service-tokens.ts).
 * - Work (assignments, tickets naming a waybill) from a token registered for some sites is for a
 *   parcel of those sites only: the waybill's origin or destination in the vault (the parcel's
 *   sites, as the access policy's `site` basis defines them) must be on its list — for a pickup
 *   task (assignment or `pickup` scan) the origin, for a delivery task (assignment or `delivered`
 *   scan) the destination (attack review 9: a BJ token gave a BJ courier the pickup of a Shanghai
 *   parcel, and its pickup scan completed the SH courier's) — and so must the
 *   assignee's Warden site: the assignee must be a Warden account (attack review 6: an id not
 *   created yet, with the event's own `site` standing in, gave work to whoever Warden later
 *   created under that id, at any site). A scan that ends work (`delivered`, `pickup`: it completes the parcel's
 *   assignments) is held to the same parcel rule (review 3, S5), besides naming a site of its list. A waybill the vault does not know is refused the same way (fail closed, and
 *   no answer tells a producer whether a waybill exists or where it goes).
 * - An event time outside the window around Warden's clock is refused: older than maxAge unless
 *   backfilling, later than maxSkew always; a backfilled one must be older than maxAge (history
 *   only: attack review 6, backfilled work stamped "now" fed live detection).
 * - Each refusal names the rule (a stable code) and the reason, never the event's PII.
 */
import { EVENT_TYPES, eventTime, type ActivityEvent } from '../contracts/events.js';
import { AppError } from '../errors.js';
import { BACKFILL_ROLES } from '../access/roles.js';
import { cityKey } from '../detect/util.js';
import type { Principal } from '../identity/identity.js';
import { STAFF_ACTIVITY_TYPES, type ServiceTokens, type TokenRegistration } from '../identity/service-tokens.js';

/** The producer name of events made from Warden's own audit trail. */
export const WARDEN_PRODUCER = 'warden';
/** Event ids Warden's trail uses (`audit-<seq>`); no producer may claim them. */
const RESERVED_ID_PREFIX = 'audit-';

export type IngestMode = 'live' | 'backfill';

export interface Producer {
  /** Recorded on every event it sends: `token:<id>`, `admin`, or `account:<id>`. */
  id: string;
  /** The account behind it (the service account, the it_admin); null for the admin token. */
  account: string | null;
  /** The actor written in audit entries. */
  actor: string;
  registration: TokenRegistration;
  /** The modes it may use. */
  modes: readonly IngestMode[];
}

export type RejectCode =
  | 'invalid_json'
  | 'invalid_event'
  | 'bad_identifier'
  | 'bad_field'
  | 'line_too_long'
  | 'reserved_id'
  | 'type_not_registered'
  | 'account_not_registered'
  | 'gateway_account'
  | 'site_not_registered'
  | 'waybill_conflict'
  | 'site_city_conflict'
  | 'too_old'
  | 'too_new'
  | 'too_recent';

export interface Refusal {
  code: RejectCode;
  reason: string;
}

export interface TimeWindow {
  maxAgeMs: number;
  maxSkewMs: number;
}

/** The bootstrap admin and the backfill roles: any type, site and non-gateway account. */
const UNRESTRICTED: TokenRegistration = { events: [...EVENT_TYPES], sites: null, accounts_prefix: '', accounts: null, backfill: true };

/** Who is sending, from the authenticated principal. */
export async function producerFor(principal: Principal, tokens: Pick<ServiceTokens, 'registration'>): Promise<Producer> {
  if (principal.kind === 'admin') return { id: 'admin', account: null, actor: 'admin', registration: UNRESTRICTED, modes: ['live', 'backfill'] };
  const account = principal.account;
  if (principal.via === 'service_token' && principal.tokenId && account.role === 'service') {
    const registration = await tokens.registration(principal.tokenId);
    return { id: `token:${principal.tokenId}`, account: account.id, actor: account.id, registration, modes: registration.backfill ? ['live', 'backfill'] : ['live'] };
  }
  if (principal.via === 'session' && BACKFILL_ROLES.includes(account.role)) {
    return { id: `account:${account.id}`, account: account.id, actor: account.id, registration: UNRESTRICTED, modes: ['backfill'] };
  }
  throw new AppError('forbidden', `the ${account.role} role may not send events`);
}

export const isStaffActivity = (e: ActivityEvent): boolean => STAFF_ACTIVITY_TYPES.includes(e.type);
/** Assignments and tickets: scoped by the parcel's sites and the assignee's (checkWorkSite). */
export const isWork = (e: ActivityEvent): e is Extract<ActivityEvent, { type: 'assign' | 'ticket' }> => e.type === 'assign' || e.type === 'ticket';
/** A delivered / picked-up scan: it completes the parcel's assignments of that task (starts their grace). */
export const completesWork = (e: ActivityEvent): e is Extract<ActivityEvent, { type: 'scan' }> => e.type === 'scan' && (e.op === 'delivered' || e.op === 'pickup');

/**
 * Every rule that needs only the event, the producer and the clock. What remains for the store:
 * is a login/logout/access account a Warden account (refused), and the sites of a work event's
 * parcel and assignee (checkWorkSite).
 */
export function checkEvent(p: Producer, e: ActivityEvent, mode: IngestMode, now: number, window: TimeWindow): Refusal | null {
  if (e.id.startsWith(RESERVED_ID_PREFIX)) return { code: 'reserved_id', reason: `event ids starting with "${RESERVED_ID_PREFIX}" are Warden's own trail` };
  const reg = p.registration;
  if (!reg.events.includes(e.type)) return { code: 'type_not_registered', reason: `this producer is not registered to send ${e.type} events` };
  const t = eventTime(e);
  if (t > now + window.maxSkewMs) return { code: 'too_new', reason: `ts is more than ${Math.round(window.maxSkewMs / 1000)} s ahead of Warden's clock` };
  if (mode === 'live' && t < now - window.maxAgeMs) {
    return { code: 'too_old', reason: `ts is more than ${Math.round(window.maxAgeMs / 1000)} s old; history goes through mode=backfill` };
  }
  if (mode === 'backfill' && t >= now - window.maxAgeMs) {
    return { code: 'too_recent', reason: `ts is within the last ${Math.round(window.maxAgeMs / 1000)} s; mode=backfill takes history only (older events), recent ones go live` };
  }
  if (isStaffActivity(e)) {
    const account = (e as { account: string }).account;
    const declared = (reg.accounts_prefix !== null && account.startsWith(reg.accounts_prefix)) || (reg.accounts?.includes(account) ?? false);
    if (!declared) return { code: 'account_not_registered', reason: `this producer is not registered to send ${e.type} events about account ${account}` };
  }
  return reg.sites ? checkStatedSites(reg.sites, e) : null;
}

/** With a site list: the sites the event names must be on it, and the event must name one. */
function checkStatedSites(sites: readonly string[], e: ActivityEvent): Refusal | null {
  const refuse = (site: string | undefined): Refusal => ({
    code: 'site_not_registered',
    reason: site === undefined ? `this producer speaks for some sites only, and this ${e.type} event names none` : `this producer is not registered for site ${site}`,
  });
  if (e.site !== undefined && !sites.includes(e.site)) return refuse(e.site);
  if (e.type === 'waybill') return e.origin_site !== undefined && sites.includes(e.origin_site) ? null : refuse(e.origin_site);
  if (isWork(e)) return null; // the parcel's and the assignee's sites decide (checkWorkSite)
  return e.site === undefined ? refuse(undefined) : null;
}

/** Where a parcel goes, from the vault; null when the vault does not know the waybill. */
export interface ParcelSites {
  origin_site: string;
  dest_site: string;
  /** The destination site's city as the vault recorded it (from Warden's sites), when known. */
  dest_city?: string | null;
  /** A live canary holds the number: a real parcel arriving under it supersedes it (src/trace/canaries.ts). */
  canary?: boolean;
}

/** The events the parcel rule applies to: every assignment, a ticket that names a waybill, a scan that completes work. */
export const workWaybill = (e: ActivityEvent): string | null => ((isWork(e) || completesWork(e)) && e.waybill ? e.waybill : null);

/**
 * An assignment, ticket or work-ending scan from a producer registered for some sites: the end of
 * the parcel the event acts on must be on its list (a pickup's origin, a delivery's destination, a
 * ticket's origin or destination: parcelEnd; an unknown waybill fails the same way), and
 * for an assignment or ticket the assignee's Warden site too — `accountSite` is null for an
 * account Warden does not hold (or holds without a site), refused alike: the event's own `site`
 * never stands in for it. The reason names the rule, never the parcel's or the account's site.
 */
export function checkWorkSite(p: Producer, e: ActivityEvent, accountSite: string | null, parcel: ParcelSites | null): Refusal | null {
  const sites = p.registration.sites;
  if (!sites || !(isWork(e) || completesWork(e))) return null;
  if (workWaybill(e) !== null) {
    const end = parcelEnd(e);
    const covered = parcel !== null && (end === 'origin' ? sites.includes(parcel.origin_site) : end === 'destination' ? sites.includes(parcel.dest_site) : sites.includes(parcel.origin_site) || sites.includes(parcel.dest_site));
    if (!covered) {
      const what = completesWork(e) ? `${e.op} scans` : e.type === 'assign' ? `${e.task} assignments` : `${e.type} events`;
      const whose = end === 'origin' ? 'origin (a pickup is the origin site\'s work)' : end === 'destination' ? 'destination (a delivery is the destination site\'s work)' : 'origin or destination';
      return { code: 'site_not_registered', reason: `this producer is registered for some sites only: its ${what} must name a waybill whose ${whose} is one of them` };
    }
  }
  if (!isWork(e)) return null; // a scan names no assignee; its own site was checked (checkStatedSites)
  if (accountSite !== null && sites.includes(accountSite)) return null;
  return { code: 'site_not_registered', reason: `this producer is registered for some sites only: its ${e.type} events must name a Warden account of one of them` };
}

/**
 * Which end of the parcel a work event acts on (attack review 9): a pickup task (an assignment of
 * task `pickup`, a `pickup` scan) is the origin site's, a delivery task (task `delivery`, a
 * `delivered` scan) the destination site's; a ticket may come from either end.
 */
function parcelEnd(e: ActivityEvent): 'origin' | 'destination' | 'either' {
  if (e.type === 'assign') return e.task === 'pickup' ? 'origin' : 'destination';
  if (e.type === 'scan') return e.op === 'pickup' ? 'origin' : 'destination';
  return 'either';
}

/**
 * A routing (`waybill`) event about a parcel the vault holds must agree with it: its origin and
 * destination sites are the vault's record, not any producer's to restate (attack review 4: a
 * waybill-only token issued by one it_admin re-routed other cities' parcels in the detection
 * engine, so a clerk's reveals of them looked like his own site's). A site left out is fine.
 */
export function checkWaybillAgrees(e: ActivityEvent, parcel: ParcelSites | null, opts: { record?: boolean } = {}): Refusal | null {
  // A canary is held like a real parcel: only a vault record (POST /api/v1/waybills, which then
  // supersedes it) may differ from it. A bare waybill event answering differently for canaries
  // told them apart from real parcels (attack review 7).
  if (e.type !== 'waybill' || !parcel || (parcel.canary && opts.record)) return null;
  // The city too (review 5): the engine takes a parcel's city, and a site's, from these events.
  const cityDiffers = e.dest_city !== undefined && parcel.dest_city != null && cityKey(e.dest_city) !== cityKey(parcel.dest_city);
  const differs = cityDiffers || (e.origin_site !== undefined && e.origin_site !== parcel.origin_site) || (e.dest_site !== undefined && e.dest_site !== parcel.dest_site);
  return differs ? { code: 'waybill_conflict', reason: 'this waybill event names another origin, destination or destination city than the parcel Warden holds (the sites of a parcel are the vault record)' } : null;
}

/**
 * A routing (`waybill`) event naming a destination site Warden's `sites` table holds must give that
 * site's city, when it gives one (attack review 10, F1: a token limited to one Shanghai outlet sent
 * a made-up parcel to a Beijing outlet with `dest_city: 上海`, and the detection engine, which takes
 * a site's city from the first event naming it, placed the Beijing outlet in Shanghai). Cities
 * compare as the engine compares them (`cityKey`). Depends on the sites only, never on the vault.
 * `siteCities`: the sites among the event's, with their city (null: a site without one).
 */
export function checkSiteCity(e: ActivityEvent, siteCities: ReadonlyMap<string, string | null>): Refusal | null {
  if (e.type !== 'waybill' || e.dest_site === undefined || e.dest_city === undefined) return null;
  const city = siteCities.get(e.dest_site);
  if (city == null || cityKey(city) === cityKey(e.dest_city)) return null;
  return { code: 'site_city_conflict', reason: 'this waybill event gives its destination site another city than Warden\'s sites record for that site' };
}

/** What the ingest does with a routing event about a parcel (`judgeWaybill`). */
export interface WaybillVerdict {
  refusal: Refusal | null;
  /**
   * Answered as an unknown number's line would be (accepted) but neither applied nor published:
   * it disagrees with a parcel the vault holds that is none of this producer's business.
   */
  withhold: boolean;
  /** It names a live canary (no producer issued that number). */
  canary: boolean;
  /** It disagrees with the parcel the vault holds (refused or withheld). */
  conflict: boolean;
}

/**
 * A routing event against the sites and the vault (attack review 10):
 * - a known destination site with another city: refused `site_city_conflict` (checkSiteCity);
 * - a parcel the vault holds, restated otherwise: refused `waybill_conflict` only when the parcel
 *   is this producer's business — a real parcel (never a canary: no producer issued one) and a
 *   producer for every site or one with the parcel's origin or destination on its list. Otherwise
 *   the line is answered exactly as a line about a number the vault does not hold (F2: the answer
 *   marked every number the vault held, so a scan of a range found each canary, silently) and
 *   withheld: stored under its id, never applied or published, and on record (the ingest audits
 *   and counts it, and raises an alert on a canary or on repeats).
 * A vault record being stored (`record`: POST /api/v1/waybills, which supersedes a canary holding
 * its number) keeps checkWaybillAgrees' answer.
 */
export function judgeWaybill(p: Producer, e: ActivityEvent, parcel: ParcelSites | null, siteCities: ReadonlyMap<string, string | null>, opts: { record?: boolean } = {}): WaybillVerdict {
  const none: WaybillVerdict = { refusal: null, withhold: false, canary: false, conflict: false };
  if (e.type !== 'waybill') return none;
  const refusal = checkSiteCity(e, siteCities);
  if (refusal) return { ...none, refusal };
  if (!parcel) return none;
  if (opts.record) return { ...none, refusal: checkWaybillAgrees(e, parcel, opts) };
  const canary = parcel.canary === true;
  const disagrees = checkWaybillAgrees(e, { ...parcel, canary: false });
  if (!disagrees) return { ...none, canary };
  const sites = p.registration.sites;
  const business = !canary && (sites === null || sites.includes(parcel.origin_site) || sites.includes(parcel.dest_site));
  return business ? { refusal: disagrees, withhold: false, canary, conflict: true } : { refusal: null, withhold: true, canary, conflict: true };
}

export const gatewayAccountRefusal = (e: ActivityEvent): Refusal => ({
  code: 'gateway_account',
  reason: `${(e as { account: string }).account} is a Warden account: its ${e.type} events come only from Warden's own trail`,
});
