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
 */

/** The fields each event type's schema declares (beyond those of every event), as checked here. */
export const FAST_VALIDATED_FIELDS = {
  common: ['id', 'ts', 'account', 'role', 'site', 'device', 'ip', 'city', 'session', 'type'],
  login: ['result', 'mfa', 'app_hash'],
  logout: [],
  waybill: ['waybill', 'origin_site', 'dest_site', 'dest_city'],
  assign: ['waybill', 'task'],
  ticket: ['ticket', 'waybill', 'status'],
  scan: ['waybill', 'op'],
  access: ['action', 'waybill', 'waybills', 'fields', 'purpose', 'ticket', 'result'],
} as const;

type Obj = Record<string, unknown>;

/** `Type.String({ maxLength })` when present (`undefined` = absent, as TypeBox treats it). */
const optStr = (v: unknown, max: number): boolean => v === undefined || (typeof v === 'string' && v.length <= max);
/** Optional `Type.String({ minLength: 1, maxLength })` (`account` where the schema does not require it). */
const optStr1 = (v: unknown, max: number): boolean => v === undefined || (typeof v === 'string' && v.length <= max && v.length >= 1);
/** `Type.String({ minLength: 1, maxLength })`, required. */
const reqStr = (v: unknown, max: number): boolean => typeof v === 'string' && v.length <= max && v.length >= 1;

/** Contract `ts` pattern (`Type.String({ pattern: ISO_UTC })`), for the forms the fast path does not take. */
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

// Last calendar day (`YYYY-MM-DD`) that Date.parse accepted at midnight UTC.
let okDay = '';

const digit = (s: string, i: number): boolean => {
  const c = s.charCodeAt(i);
  return c >= 48 && c <= 57;
};
const two = (s: string, i: number): number => (s.charCodeAt(i) - 48) * 10 + (s.charCodeAt(i + 1) - 48);

/**
 * `ISO_UTC.test(ts) && !isNaN(Date.parse(ts))`. The canonical `YYYY-MM-DDTHH:MM:SS.mmmZ` with
 * hour < 24, minute < 60, second < 60 on a day Date.parse accepts is valid; anything else (other
 * lengths, offsets, hour 24, leap seconds, a new day) asks the regex and Date.parse themselves.
 */
export function isValidTs(ts: string): boolean {
  if (
    ts.length === 24 &&
    ts.charCodeAt(23) === 90 /* Z */ &&
    ts.charCodeAt(19) === 46 /* . */ &&
    ts.charCodeAt(16) === 58 /* : */ &&
    ts.charCodeAt(13) === 58 &&
    ts.charCodeAt(10) === 84 /* T */ &&
    digit(ts, 11) && digit(ts, 12) && digit(ts, 14) && digit(ts, 15) && digit(ts, 17) && digit(ts, 18) &&
    digit(ts, 20) && digit(ts, 21) && digit(ts, 22) &&
    two(ts, 11) < 24 && two(ts, 14) < 60 && two(ts, 17) < 60
  ) {
    if (okDay.length === 10 && ts.startsWith(okDay)) return true;
    const day = ts.slice(0, 10);
    // `day` must itself be \d{4}-\d{2}-\d{2} for the regex; Date.parse then says whether it exists.
    if (
      digit(day, 0) && digit(day, 1) && digit(day, 2) && digit(day, 3) && day.charCodeAt(4) === 45 /* - */ &&
      digit(day, 5) && digit(day, 6) && day.charCodeAt(7) === 45 && digit(day, 8) && digit(day, 9)
    ) {
      if (Number.isNaN(Date.parse(`${day}T00:00:00.000Z`))) return false;
      okDay = day;
      return true;
    }
    return false;
  }
  return ISO_UTC.test(ts) && !Number.isNaN(Date.parse(ts));
}

/** Fields every event has (`id`, `ts` as a string, optional actor fields); `account` and the `ts` pattern are checked by the callers. */
function common(v: Obj): boolean {
  return (
    reqStr(v.id, 200) &&
    typeof v.ts === 'string' &&
    optStr(v.role, 64) &&
    optStr(v.site, 200) &&
    optStr(v.device, 200) &&
    optStr(v.ip, 64) &&
    optStr(v.city, 200) &&
    optStr(v.session, 200)
  );
}

function fieldsOk(v: unknown): boolean {
  if (v === undefined) return true;
  if (!Array.isArray(v)) return false;
  for (let i = 0; i < v.length; i++) {
    const f: unknown = v[i];
    if (f !== 'name' && f !== 'phone' && f !== 'address' && f !== 'id_number') return false;
  }
  return true;
}

function waybillsOk(v: unknown): boolean {
  if (v === undefined) return true;
  if (!Array.isArray(v)) return false;
  for (let i = 0; i < v.length; i++) {
    const w: unknown = v[i];
    if (typeof w !== 'string' || w.length > 64) return false;
  }
  return true;
}

function accessOk(v: Obj): boolean {
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
  return optStr(v.waybill, 64) && optStr(v.ticket, 200) && waybillsOk(v.waybills) && fieldsOk(v.fields);
}

function typeOk(v: Obj, type: string): boolean {
  switch (type) {
    case 'access':
      return reqStr(v.account, 200) && accessOk(v);
    case 'scan': {
      const op = v.op;
      return (
        optStr1(v.account, 200) &&
        reqStr(v.waybill, 64) &&
        (op === 'pickup' || op === 'arrive' || op === 'depart' || op === 'out_for_delivery' || op === 'delivered')
      );
    }
    case 'waybill':
      return (
        optStr1(v.account, 200) &&
        reqStr(v.waybill, 64) &&
        optStr(v.origin_site, 200) &&
        optStr(v.dest_site, 200) &&
        optStr(v.dest_city, 200)
      );
    case 'assign': {
      const task = v.task;
      return reqStr(v.account, 200) && reqStr(v.waybill, 64) && (task === 'pickup' || task === 'delivery');
    }
    case 'login': {
      const result = v.result;
      const mfa = v.mfa;
      return (
        reqStr(v.account, 200) &&
        (result === 'success' || result === 'failure') &&
        (mfa === undefined || typeof mfa === 'boolean') &&
        optStr(v.app_hash, 200)
      );
    }
    case 'logout':
      return reqStr(v.account, 200);
    case 'ticket': {
      const status = v.status;
      return reqStr(v.account, 200) && reqStr(v.ticket, 200) && optStr(v.waybill, 64) && (status === 'open' || status === 'closed');
    }
    default:
      return false;
  }
}

/**
 * True exactly when the TypeBox schema for `value.type` accepts `value` and `Date.parse(value.ts)`
 * is a number: the accept decision of `validateEvent`. Never throws for plain data.
 */
export function isValidEvent(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const v = value as Obj;
  const type = v.type;
  if (typeof type !== 'string') return false;
  return typeOk(v, type) && common(v) && isValidTs(v.ts as string);
}
