/**
 * The contract's rules for the descriptive fields of an event (attack review 10, F4): `role`,
 * `ip`, `city`, `app_hash`, `origin_site`, `dest_site` and `dest_city` were bounded in length only,
 * so a phone number in `city` or `role`, an ID number in `app_hash`, a phone as `dest_site` and a
 * name with an ID number as `dest_city` were stored, put on the bus, and `role` reached an alert's
 * summary, the response reason and the SIEM export. Each field now says what it is:
 *
 * - `role`: one of the contract's roles (`ROLES` in ./events.ts; the public contract lists them).
 * - `ip`: an IPv4 or IPv6 address as `node:net` `isIP` reads one, without an IPv6 zone (`%eth0`:
 *   an interface name, free text).
 * - `app_hash`, `origin_site`, `dest_site`: identifiers (./identifiers.ts, the rule of waybills,
 *   tickets and, at the gateway, `site`), up to the contract's 200 characters.
 * - `city`, `dest_city`: a city name (`cityNameProblem`): 1..CITY_MAX characters of letters (CJK
 *   ideographs, Latin letters with their accented forms) and the separators `space ' ’ - . ·`,
 *   starting with a letter; no digit of any form (ASCII, full-width), and no run of
 *   CITY_NUMERALS_RUN or more Chinese numerals (`一三八…`: a number written out; no city name holds
 *   more than two in a row). `北京`, `上海市`, `Beijing`, `乌鲁木齐`, `Xi'an` pass; a phone or ID
 *   number, or a name followed by one, does not. A bare personal name (`张伟`) cannot be told from
 *   a city name without a gazetteer and passes (docs/contract-extensions.md 1.5).
 *
 * One check for every reader of the contract (`warden detect --in`, the ingest, the bus): the
 * schema path (./events.ts `validateEvent`) explains a refusal by field and rule, never by value;
 * ./fast-validate.ts accepts with the same predicates (`isRole`, `isIpAddress`, `isCityName`).
 * Deliberately no import from ./events.ts (it imports the fast validator, which imports this).
 */
import { isIP } from 'node:net';
import { identifierProblem, identifierRule } from './identifiers.js';

/** The longest city name taken (UTF-16 units): the longest Chinese prefecture names are about 11 characters, English forms under 40. */
export const CITY_MAX = 64;
/** A run of this many Chinese numerals in a "city" is a number written out, not a name. */
export const CITY_NUMERALS_RUN = 4;
/** The contract's bound of identifier-like descriptive fields (`app_hash`, `origin_site`, `dest_site`). */
const FIELD_MAX = 200;

/** `role` ∈ ROLES (./events.ts; equality is tested in field-rules.test.ts): a chain of `===`, no allocation. */
export const isRole = (v: string): boolean =>
  v === 'courier' || v === 'outlet_staff' || v === 'sorting' || v === 'customer_service' ||
  v === 'manager' || v === 'it_admin' || v === 'security_analyst' || v === 'service';

const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/**
 * Exactly node's IPv4 form: four decimal parts 0..255 joined by `.`, no leading zero, nothing
 * else. By character codes (it runs on every event carrying an `ip`).
 */
function isIpv4(v: string): boolean {
  const n = v.length;
  if (n < 7 || n > 15) return false;
  let parts = 0;
  let i = 0;
  for (;;) {
    const start = i;
    let value = 0;
    while (i < n && isDigit(v.charCodeAt(i))) {
      value = value * 10 + (v.charCodeAt(i) - 48);
      i++;
    }
    const len = i - start;
    if (len === 0 || len > 3 || value > 255 || (len > 1 && v.charCodeAt(start) === 48)) return false;
    parts++;
    if (i === n) return parts === 4;
    if (parts === 4 || v.charCodeAt(i) !== 46 /* . */) return false;
    i++;
  }
}

/** An IPv4 or IPv6 address (`isIP`), never with a zone id (`fe80::1%…` carries free text). */
export function isIpAddress(v: string): boolean {
  if (v.indexOf(':') < 0) return isIpv4(v);
  return v.length <= 64 && v.indexOf('%') < 0 && isIP(v) === 6;
}

export type CityProblem = 'empty' | 'too_long' | 'charset' | 'numerals';

const isLatinLetter = (c: number): boolean =>
  (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 0xc0 && c <= 0x24f && c !== 0xd7 && c !== 0xf7);
const isIdeograph = (c: number): boolean => (c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf);
/** space ' ’ - . · */
const isCitySeparator = (c: number): boolean => c === 32 || c === 39 || c === 0x2019 || c === 45 || c === 46 || c === 0xb7;
/** Chinese numerals a number is written with (small and financial forms, 〇 and 零, 两 and 幺), as a table by code unit. */
const NUMERALS = new Uint8Array(0xa000);
for (const ch of '〇零一二三四五六七八九十两幺壹贰叁肆伍陆柒捌玖拾') NUMERALS[ch.charCodeAt(0)] = 1;

/** What is wrong with `v` as a city name, or null. One pass over the characters. */
export function cityNameProblem(v: string): CityProblem | null {
  const n = v.length;
  if (n === 0) return 'empty';
  if (n > CITY_MAX) return 'too_long';
  let numerals = 0;
  for (let i = 0; i < n; i++) {
    const c = v.charCodeAt(i);
    if (isIdeograph(c) || c === 0x3007 /* 〇 */) {
      numerals = NUMERALS[c] === 1 ? numerals + 1 : 0;
      if (numerals >= CITY_NUMERALS_RUN) return 'numerals';
      continue;
    }
    numerals = 0;
    if (isLatinLetter(c)) continue;
    if (i > 0 && isCitySeparator(c)) continue;
    return 'charset';
  }
  return null;
}

export const isCityName = (v: string): boolean => cityNameProblem(v) === null;

const CITY_RULES: Record<CityProblem, string> = {
  empty: 'a city name must not be empty (leave the field out when unknown)',
  too_long: `a city name is at most ${CITY_MAX} characters`,
  charset: "a city name is letters (Chinese characters, Latin letters) and space ' - . · only, starting with a letter: no digits",
  numerals: `a city name holds no number written in Chinese numerals (${CITY_NUMERALS_RUN} or more in a row)`,
};

/** The code a refusal carries: identifiers keep `bad_identifier`; roles, addresses and city names are `bad_field` (contract extension 1.5). */
export type FieldRuleCode = 'bad_identifier' | 'bad_field';
export interface FieldRuleProblem {
  field: string;
  code: FieldRuleCode;
  /** The rule broken, for the refusal's reason: never the value. */
  rule: string;
}

type Fields = Partial<Record<'type' | 'role' | 'ip' | 'city' | 'app_hash' | 'origin_site' | 'dest_site' | 'dest_city', unknown>>;

const identifierField = (field: string, v: unknown): FieldRuleProblem | null => {
  if (typeof v !== 'string') return null;
  const p = identifierProblem(v, FIELD_MAX);
  return p ? { field, code: 'bad_identifier', rule: identifierRule(p, FIELD_MAX) } : null;
};
const cityField = (field: string, v: unknown): FieldRuleProblem | null => {
  if (typeof v !== 'string') return null;
  const p = cityNameProblem(v);
  return p ? { field, code: 'bad_field', rule: CITY_RULES[p] } : null;
};

/**
 * The first descriptive field of an event the schema accepted that breaks its rule, or null.
 * Absent fields are not checked; a field of another type (`app_hash` on a scan) is not this
 * type's, and is dropped unread before anything keeps the event (./events.ts contractFieldsOnly).
 */
export function eventFieldRuleProblem(e: Fields): FieldRuleProblem | null {
  if (typeof e.role === 'string' && !isRole(e.role)) {
    return { field: 'role', code: 'bad_field', rule: 'a role is one of the contract\'s: courier, outlet_staff, sorting, customer_service, manager, it_admin, security_analyst, service' };
  }
  if (typeof e.ip === 'string' && !isIpAddress(e.ip)) return { field: 'ip', code: 'bad_field', rule: 'an IPv4 or IPv6 address (no zone id)' };
  const found = cityField('city', e.city);
  if (found) return found;
  if (e.type === 'login') return identifierField('app_hash', e.app_hash);
  if (e.type !== 'waybill') return null;
  return identifierField('origin_site', e.origin_site) ?? identifierField('dest_site', e.dest_site) ?? cityField('dest_city', e.dest_city);
}
