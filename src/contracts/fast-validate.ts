/**
 * Hand-written accept/reject check for contract v1 activity events (`./events.ts`).
 *
 * `isValidEvent(v)` is exactly `checker[v.type].Check(v) && !isNaN(Date.parse(v.ts))`, the
 * decision `validateEvent` makes with the TypeBox schemas, without TypeBox's generic code: one
 * read per field, a switch on `type`, literal sets as `===` chains, and the `ts` pattern checked
 * by character codes with the date's validity memoised (the same calendar day repeats for
 * thousands of events). Equivalence with the schemas is property-tested in
 * `fast-validate.test.ts`, which also fails when a schema gains a field this file does not know.
 *
 * It only ever *accepts* faster: `validateEvent` returns at once when this says yes and otherwise
 * runs the TypeBox path, which both decides and names the offending field. So a field or enum
 * member added to the schemas and not here costs speed, never a wrong rejection; a new
 * *constraint* on an existing field must be added here (the field-list test catches new fields).
 *
 * Deliberately no imports from `./events.ts` (it imports this file): the tables are literal.
 * Waybill and ticket fields are also identifiers (`./identifiers.ts`, the one check of them), and
 * `role`, `ip`, `city`, `app_hash`, `origin_site`, `dest_site`, `dest_city` follow their rules
 * (`./field-rules.ts`, attack review 10), which the schema path checks after the schema: this
 * decides as all of them together.
 */
import { isIdentifier } from './identifiers.js';
import { isCityName, isIpAddress, isRole } from './field-rules.js';

/** The fields each event type's schema declares (beyond those of every event), as checked here. */
export const FAST_VALIDATED_FIELDS = {
  common: ['id', 'ts', 'account', 'role', 'site', 'device', 'ip', 'city', 'session', 'type'],
  login: ['result', 'mfa', 'app_hash'],
  logout: [],
  waybill: ['waybill', 'origin_site', 'dest_site', 'dest_city'],
  assign: ['waybill', 'task'],
  ticket: ['ticket', 'waybill', 'status'],
  scan: ['waybill', 'op'],
  access: ['action', 'waybill', 'waybills', 'fields', 'parties', 'purpose', 'ticket', 'result'],
} as const;

type Obj = Record<string, unknown>;

/** A waybill or ticket field: the schema's string bound, then an identifier (./identifiers.ts) unless empty where the schema allows it. */
const optId = (v: unknown, max: number): boolean => v === undefined || (typeof v === 'string' && (v.length === 0 || isIdentifier(v, max)));
const reqId = (v: unknown, max: number): boolean => typeof v === 'string' && isIdentifier(v, max);

/** `role`, `ip`, a city, an identifier-valued descriptive field: the schema's bound, then its rule (./field-rules.ts). */
const optRole = (v: unknown): boolean => v === undefined || (typeof v === 'string' && isRole(v));
const optIp = (v: unknown): boolean => v === undefined || (typeof v === 'string' && v.length <= 64 && isIpAddress(v));
const optCity = (v: unknown): boolean => v === undefined || (typeof v === 'string' && isCityName(v));
const optIdent = (v: unknown, max: number): boolean => v === undefined || (typeof v === 'string' && isIdentifier(v, max));

/** `Type.String({ maxLength })` when present (`undefined` = absent, as TypeBox treats it). */
const optStr = (v: unknown, max: number): boolean => v === undefined || (typeof v === 'string' && v.length <= max);
/** Optional `Type.String({ minLength: 1, maxLength })` (`account` where the schema does not require it). */
const optStr1 = (v: unknown, max: number): boolean => v === undefined || (typeof v === 'string' && v.length <= max && v.length >= 1);
/** `Type.String({ minLength: 1, maxLength })`, required. */
const reqStr = (v: unknown, max: number): boolean => typeof v === 'string' && v.length <= max && v.length >= 1;

/** Contract `ts` pattern (`Type.String({ pattern: ISO_UTC })`), for the forms the fast path does not take. */
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

// Memo of the last timestamp converted (an event's ts is validated, then read again by the
// engine: the second call is a pointer comparison), and of the last calendar day Date.parse
// accepted, as y*10000+m*100+d, with its midnight UTC.
let lastTs = ''; // with lastMs NaN: '' is not a valid ts
const lastMs = new Float64Array([NaN]); // a typed array: no boxed number allocated per store
let dayKey = -1;
let dayBase = NaN;

/** Value of the ASCII digit at i, or -1e6 for any other character (any field using it goes negative). */
const dg = (s: string, i: number): number => {
  const c = s.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : -1e6;
};

/**
 * `Date.parse(ts)` when `ts` matches the contract's `ts` pattern, NaN otherwise: the contract's
 * `ts` check (`ISO_UTC.test(ts) && !isNaN(Date.parse(ts))`) is `!isNaN(tsMillis(ts))`.
 *
 * The canonical `YYYY-MM-DDTHH:MM:SS.mmmZ` with hour < 24, minute < 60, second < 60 is computed
 * from its digits on top of the day's midnight, which Date.parse itself gives (and so decides
 * whether the day exists); every other form (other lengths, offsets, hour 24, second 60) goes to
 * the regex and Date.parse.
 */
export function tsMillis(ts: string): number {
  return ts === lastTs ? lastMs[0]! : computeTs(ts);
}

/** tsMillis without the memo check (a near-miss string comparison for every new timestamp). */
function computeTs(ts: string): number {
  if (
    ts.length === 24 &&
    ts.charCodeAt(4) === 45 /* - */ && ts.charCodeAt(7) === 45 && ts.charCodeAt(10) === 84 /* T */ &&
    ts.charCodeAt(13) === 58 /* : */ && ts.charCodeAt(16) === 58 && ts.charCodeAt(19) === 46 /* . */ &&
    ts.charCodeAt(23) === 90 /* Z */
  ) {
    const y = dg(ts, 0) * 1000 + dg(ts, 1) * 100 + dg(ts, 2) * 10 + dg(ts, 3);
    const mo = dg(ts, 5) * 10 + dg(ts, 6);
    const d = dg(ts, 8) * 10 + dg(ts, 9);
    const h = dg(ts, 11) * 10 + dg(ts, 12);
    const mi = dg(ts, 14) * 10 + dg(ts, 15);
    const sec = dg(ts, 17) * 10 + dg(ts, 18);
    const ms = dg(ts, 20) * 100 + dg(ts, 21) * 10 + dg(ts, 22);
    // A non-digit anywhere makes its field negative: not the pattern, whatever the other fields.
    if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || sec < 0 || ms < 0) return NaN;
    if (h < 24 && mi < 60 && sec < 60) {
      const key = y * 10000 + mo * 100 + d;
      if (key !== dayKey) {
        const base = Date.parse(`${ts.slice(0, 10)}T00:00:00.000Z`);
        if (Number.isNaN(base)) return NaN;
        dayKey = key;
        dayBase = base;
      }
      const t = dayBase + h * 3_600_000 + mi * 60_000 + sec * 1000 + ms;
      lastTs = ts;
      lastMs[0] = t;
      return t;
    }
  }
  return ISO_UTC.test(ts) ? Date.parse(ts) : NaN;
}

/** `ISO_UTC.test(ts) && !isNaN(Date.parse(ts))`: the contract's `ts` check. */
export const isValidTs = (ts: string): boolean => !Number.isNaN(tsMillis(ts));

function fieldsOk(v: unknown): boolean {
  if (v === undefined) return true;
  if (!Array.isArray(v)) return false;
  for (let i = 0; i < v.length; i++) {
    const f: unknown = v[i];
    if (f !== 'name' && f !== 'phone' && f !== 'address' && f !== 'id_number') return false;
  }
  return true;
}

/** Extension 1.4: at most two of `sender`, `recipient` (`Type.Array(..., { maxItems: 2 })`). */
function partiesOk(v: unknown): boolean {
  if (v === undefined) return true;
  if (!Array.isArray(v) || v.length > 2) return false;
  for (let i = 0; i < v.length; i++) {
    const p: unknown = v[i];
    if (p !== 'sender' && p !== 'recipient') return false;
  }
  return true;
}

function waybillsOk(v: unknown): boolean {
  if (v === undefined) return true;
  if (!Array.isArray(v)) return false;
  for (let i = 0; i < v.length; i++) {
    const w: unknown = v[i];
    if (typeof w !== 'string' || (w.length !== 0 && !isIdentifier(w, 64))) return false;
  }
  return true;
}

/** The `ts` field: a string matching the pattern that Date.parse accepts. */
const tsOk = (ts: unknown): boolean => typeof ts === 'string' && !Number.isNaN(computeTs(ts));

// One function per event type, each reading every field of its schema itself (the fields every
// event has are repeated in each). A property read in a function only ever sees that type's
// object shapes (one to three in practice), which V8 serves from fast inline caches; one shared
// helper reading `role`, `site`, ... of all seven types would see a dozen shapes and fall back to
// the slower generic (megamorphic) lookup on every read.

function access(v: Obj): boolean {
  const action = v.action;
  if (action !== 'view' && action !== 'reveal' && action !== 'search' && action !== 'export' && action !== 'print') return false;
  const purpose = v.purpose;
  if (
    purpose !== undefined &&
    purpose !== 'delivery' && purpose !== 'pickup' && purpose !== 'customer_service' &&
    purpose !== 'returns' && purpose !== 'audit' && purpose !== 'other'
  ) return false;
  const result = v.result;
  if (result !== undefined && result !== 'allowed' && result !== 'denied') return false;
  return (
    reqStr(v.id, 200) && reqStr(v.account, 200) &&
    optRole(v.role) && optStr(v.site, 200) && optStr(v.device, 200) && optIp(v.ip) && optCity(v.city) && optStr(v.session, 200) &&
    optId(v.waybill, 64) && optId(v.ticket, 200) && waybillsOk(v.waybills) && fieldsOk(v.fields) && partiesOk(v.parties) &&
    tsOk(v.ts)
  );
}

function scan(v: Obj): boolean {
  const op = v.op;
  if (op !== 'pickup' && op !== 'arrive' && op !== 'depart' && op !== 'out_for_delivery' && op !== 'delivered') return false;
  return (
    reqStr(v.id, 200) && optStr1(v.account, 200) &&
    optRole(v.role) && optStr(v.site, 200) && optStr(v.device, 200) && optIp(v.ip) && optCity(v.city) && optStr(v.session, 200) &&
    reqId(v.waybill, 64) &&
    tsOk(v.ts)
  );
}

function waybill(v: Obj): boolean {
  return (
    reqStr(v.id, 200) && optStr1(v.account, 200) &&
    optRole(v.role) && optStr(v.site, 200) && optStr(v.device, 200) && optIp(v.ip) && optCity(v.city) && optStr(v.session, 200) &&
    reqId(v.waybill, 64) && optIdent(v.origin_site, 200) && optIdent(v.dest_site, 200) && optCity(v.dest_city) &&
    tsOk(v.ts)
  );
}

function assign(v: Obj): boolean {
  const task = v.task;
  if (task !== 'pickup' && task !== 'delivery') return false;
  return (
    reqStr(v.id, 200) && reqStr(v.account, 200) &&
    optRole(v.role) && optStr(v.site, 200) && optStr(v.device, 200) && optIp(v.ip) && optCity(v.city) && optStr(v.session, 200) &&
    reqId(v.waybill, 64) &&
    tsOk(v.ts)
  );
}

function login(v: Obj): boolean {
  const result = v.result;
  if (result !== 'success' && result !== 'failure') return false;
  const mfa = v.mfa;
  return (
    reqStr(v.id, 200) && reqStr(v.account, 200) &&
    optRole(v.role) && optStr(v.site, 200) && optStr(v.device, 200) && optIp(v.ip) && optCity(v.city) && optStr(v.session, 200) &&
    (mfa === undefined || typeof mfa === 'boolean') && optIdent(v.app_hash, 200) &&
    tsOk(v.ts)
  );
}

function logout(v: Obj): boolean {
  return (
    reqStr(v.id, 200) && reqStr(v.account, 200) &&
    optRole(v.role) && optStr(v.site, 200) && optStr(v.device, 200) && optIp(v.ip) && optCity(v.city) && optStr(v.session, 200) &&
    tsOk(v.ts)
  );
}

function ticket(v: Obj): boolean {
  const status = v.status;
  if (status !== 'open' && status !== 'closed') return false;
  return (
    reqStr(v.id, 200) && reqStr(v.account, 200) &&
    optRole(v.role) && optStr(v.site, 200) && optStr(v.device, 200) && optIp(v.ip) && optCity(v.city) && optStr(v.session, 200) &&
    reqId(v.ticket, 200) && optId(v.waybill, 64) &&
    tsOk(v.ts)
  );
}

/**
 * True exactly when the TypeBox schema for `value.type` accepts `value`, `Date.parse(value.ts)`
 * is a number and its waybill and ticket fields are identifiers: the accept decision of
 * `validateEvent`. Never throws for plain data.
 */
export function isValidEvent(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const v = value as Obj;
  switch (v.type) {
    case 'access':
      return access(v);
    case 'scan':
      return scan(v);
    case 'waybill':
      return waybill(v);
    case 'assign':
      return assign(v);
    case 'login':
      return login(v);
    case 'logout':
      return logout(v);
    case 'ticket':
      return ticket(v);
    default:
      return false;
  }
}
