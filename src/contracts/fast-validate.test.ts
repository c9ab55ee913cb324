/**
 * The hand-written validator must decide exactly as the TypeBox schemas (plus the Date.parse check)
 * do. Cases are generated *from the schemas themselves* (every declared field, its length limits,
 * its literal members, its array items), then mutated: missing fields, wrong types, bad enum
 * members, bad timestamps, extra fields, arrays for strings and strings for arrays, strings one
 * over or at their limit, another event type's fields, non-objects. Each case is checked as a JS
 * value and after a JSON round trip (the replay path), and through validateEvent.
 */
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { TSchema } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import {
  AccessEvent,
  AssignEvent,
  EVENT_TYPES,
  LoginEvent,
  LogoutEvent,
  ScanEvent,
  TicketEvent,
  WaybillEvent,
  parseEventLine,
  validateEvent,
  type EventType,
} from './events.js';
import { FAST_VALIDATED_FIELDS, isValidEvent, isValidTs, tsMillis } from './fast-validate.js';
import { eventIdentifierProblem } from './identifiers.js';
import { eventFieldRuleProblem } from './field-rules.js';

const SCHEMAS: Record<EventType, TSchema> = {
  login: LoginEvent,
  logout: LogoutEvent,
  waybill: WaybillEvent,
  assign: AssignEvent,
  ticket: TicketEvent,
  scan: ScanEvent,
  access: AccessEvent,
};
const CHECKERS = Object.fromEntries(EVENT_TYPES.map((t) => [t, TypeCompiler.Compile(SCHEMAS[t])])) as Record<
  EventType,
  ReturnType<typeof TypeCompiler.Compile>
>;

/** The reference: the schema for `type`, then `Date.parse(ts)` (what validateEvent did before the fast path), then the identifier fields, then the descriptive fields' rules (review 10). */
function reference(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const type = (value as { type?: unknown }).type;
  if (typeof type !== 'string' || !Object.hasOwn(CHECKERS, type)) return false;
  return CHECKERS[type as EventType].Check(value) && !Number.isNaN(Date.parse((value as { ts: string }).ts)) && eventIdentifierProblem(value as Record<string, unknown>) === null && eventFieldRuleProblem(value as Record<string, unknown>) === null;
}

// ---- deterministic random source (mulberry32) ------------------------------------------------
let seed = 0x5eed;
function rnd(): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
const chance = (p: number): boolean => rnd() < p;

const UNITS = ['a', 'Z', '7', '-', '_', ' ', '.', ':', '上', '海', 'é', '\u0000', '"', '\\', '\n'];
/** A string of exactly `len` UTF-16 code units (surrogate pairs count 2, as `.length` does). */
function str(len: number): string {
  let s = '';
  while (s.length < len) s += len - s.length >= 2 && chance(0.05) ? '😀' : pick(UNITS);
  return s;
}
/** A length near the interesting points of [min, max]. */
function lengthIn(min: number, max: number): number {
  const r = rnd();
  if (r < 0.2) return min;
  if (r < 0.35) return max;
  if (r < 0.45) return Math.min(max, min + 1);
  return int(min, Math.min(max, min + 40));
}

const pad = (n: number, w: number): string => String(n).padStart(w, '0');
const VALID_TS = [
  '2026-11-02T08:15:00.123Z',
  '2026-11-02T08:15:00Z',
  '2026-11-02T08:15:00.1Z',
  '2026-11-02T08:15:00.123456789Z',
  '2026-11-02T08:15:00+08:00',
  '2026-11-02T08:15:00.000-05:30',
  '2026-11-02T24:00:00.000Z',
  '2024-02-29T23:59:59.999Z',
  '2026-02-30T00:00:00.000Z', // Date.parse accepts day 30 of February
  '0000-01-01T00:00:00.000Z',
  '9999-12-31T23:59:59.999Z',
];
const BAD_TS = [
  '',
  '2026-11-02',
  '2026-11-02T08:15:00.123',
  '2026-11-02 08:15:00.123Z',
  '2026-11-02T08:15:00.1234567890Z',
  '2026-13-02T08:15:00.123Z',
  '2026-00-02T08:15:00.123Z',
  '2026-11-00T08:15:00.123Z',
  '2026-11-32T08:15:00.123Z',
  '2026-11-02T25:15:00.123Z',
  '2026-11-02T24:00:01.000Z',
  '2026-11-02T08:60:00.123Z',
  '2026-11-02T08:15:60.123Z',
  '2026-11-02T08:15:00.123z',
  '2026-11-02t08:15:00.123Z',
  '2026-11-02T08:15:00.123Z\n',
  ' 2026-11-02T08:15:00.123Z',
  '2026-11-02T08:15:00.12aZ',
  '２026-11-02T08:15:00.123Z',
  '2026-11-02T08:15:00+24:00',
  '2026-11-02T08:15:00+0800',
  '+02026-11-02T08:15:00.123Z',
  '2026/11/02T08:15:00.123Z',
  '2026-11-02T08:15:00,123Z',
  'Mon, 02 Nov 2026 08:15:00 GMT',
];
function randomTs(): string {
  const r = rnd();
  if (r < 0.55) {
    // Canonical form, mostly valid, sometimes with an out-of-range part.
    const y = chance(0.9) ? int(2020, 2030) : int(0, 9999);
    const mo = chance(0.95) ? int(1, 12) : pick([0, 13, 99]);
    const d = chance(0.95) ? int(1, 31) : pick([0, 32, 99]);
    const h = chance(0.95) ? int(0, 23) : pick([24, 25, 99]);
    const mi = chance(0.95) ? int(0, 59) : pick([60, 99]);
    const s = chance(0.95) ? int(0, 59) : pick([60, 99]);
    return `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}T${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}.${pad(int(0, 999), 3)}Z`;
  }
  if (r < 0.8) return pick(VALID_TS);
  if (r < 0.95) return pick(BAD_TS);
  // A valid canonical timestamp with one character replaced.
  const base = `2026-11-0${int(1, 9)}T${pad(int(0, 23), 2)}:${pad(int(0, 59), 2)}:${pad(int(0, 59), 2)}.${pad(int(0, 999), 3)}Z`;
  const i = int(0, base.length - 1);
  return base.slice(0, i) + pick(['0', '9', 'x', ':', '-', '.', 'T', 'Z', '', '  ']) + base.slice(i + 1);
}

type Schema = {
  const?: unknown;
  anyOf?: Schema[];
  type?: string;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  items?: Schema;
  maxItems?: number;
  properties?: Record<string, Schema>;
  required?: string[];
};

/** A value the schema accepts (timestamps: mostly valid). */
function gen(s: Schema): unknown {
  if (s.const !== undefined) return s.const;
  if (s.anyOf) return gen(pick(s.anyOf));
  switch (s.type) {
    case 'string':
      if (s.pattern) return randomTs();
      return str(lengthIn(s.minLength ?? 0, s.maxLength ?? 50));
    case 'boolean':
      return chance(0.5);
    case 'array': {
      const n = chance(0.2) ? 0 : int(1, Math.min(6, s.maxItems ?? 6));
      return Array.from({ length: n }, () => gen(s.items!));
    }
    default:
      throw new Error(`generator does not know schema ${JSON.stringify(s)}`);
  }
}

/** Waybill and ticket fields: mostly identifiers, sometimes one holding a phone or ID number, sometimes any string. */
const ID_UNITS = ['A', 'z', 'W', '0', '1', '3', '7', '9', '-', '_', '.', ':'];
const PERSONAL = ['13812345678', '8613912345678', '139-1234-5678', '11010519491231002X', '440306199001011236'];
function identifier(s: Schema): string {
  const max = s.maxLength ?? 64;
  const r = rnd();
  if (r < 0.1) return gen(s) as string;
  let v = '';
  const len = lengthIn(Math.max(1, s.minLength ?? 0), Math.min(max, 30));
  while (v.length < len) v += pick(ID_UNITS);
  if (r < 0.2) v = `${pick(['', 'SF', 'TK-'])}${pick(PERSONAL)}${pick(['', 'A', '-1', '0'])}`;
  return v.slice(0, max);
}
/** Descriptive fields (review 10): mostly what their rule takes, sometimes a near miss, now and then any string. */
const ROLES_OK = ['courier', 'outlet_staff', 'sorting', 'customer_service', 'manager', 'it_admin', 'security_analyst', 'service'];
const ROLES_BAD = ['Courier', 'courier ', 'admin', '', '张伟 13812345678'];
const IPS_OK = ['10.1.2.3', '0.0.0.0', '255.255.255.255', '203.0.113.77', '::1', '::', 'fe80::1', '2001:db8::8a2e:370:7334', '::ffff:10.0.0.1'];
const IPS_BAD = ['1.2.3.04', '256.1.1.1', '1.2.3', '1.2.3.4.5', 'fe80::1%eth0', '1.2.3.4 ', '13812345678', '', '1.2.3.4:80', '１.2.3.4'];
const CITIES_OK = ['北京', '上海市', 'Beijing', '乌鲁木齐', "Xi'an", 'São Paulo', 'St. Petersburg', '六盘水', '克孜勒苏柯尔克孜自治州', 'x'.repeat(64)];
const CITIES_BAD = ['张伟 13812345678', '北京1', '一三八一二三四', '１３８', ' Beijing', '', 'x'.repeat(65), '张伟110105198503062019', 'Bei\njing'];
const described = (ok: readonly string[], bad: readonly string[]): string => (chance(0.85) ? pick(ok) : pick(bad));
function genField(k: string, p: Schema): unknown {
  if (k === 'waybill' || k === 'ticket' || k === 'app_hash' || k === 'origin_site' || k === 'dest_site') return identifier(p);
  if (chance(0.05)) return gen(p);
  if (k === 'role') return described(ROLES_OK, ROLES_BAD);
  if (k === 'ip') return described(IPS_OK, IPS_BAD);
  if (k === 'city' || k === 'dest_city') return described(CITIES_OK, CITIES_BAD);
  if (k === 'waybills' && p.items) return Array.from({ length: chance(0.2) ? 0 : int(1, 6) }, () => identifier(p.items!));
  return gen(p);
}

function genEvent(type: EventType): Record<string, unknown> {
  const schema = SCHEMAS[type] as unknown as Schema;
  const req = new Set(schema.required ?? []);
  const out: Record<string, unknown> = {};
  for (const [k, p] of Object.entries(schema.properties!)) if (req.has(k) || chance(0.6)) out[k] = genField(k, p);
  return out;
}

/** Every value the schemas mention, for "a valid value of some other field". */
const ALL_LITERALS: unknown[] = [];
(function collect(s: Schema): void {
  if (s.const !== undefined) ALL_LITERALS.push(s.const);
  s.anyOf?.forEach(collect);
  if (s.items) collect(s.items);
  if (s.properties) Object.values(s.properties).forEach(collect);
})({ anyOf: Object.values(SCHEMAS) as unknown as Schema[] });

/** Plausible strings no schema lists (a producer's new enum member, a typo, a neighbouring word). */
const STRAY = ['email', 'unknown', 'admin', 'read', 'write', 'true', 'null', '0', 'names', 'id', 'Phone', 'view_all', 'closed ', 'deliver'];

function wrongValue(field: string, schema: Schema | undefined): unknown {
  const r = rnd();
  const max = schema?.maxLength ?? schema?.items?.maxLength;
  if (r < 0.15 && max !== undefined) return str(max + (chance(0.7) ? 1 : 0)); // over-long, or exactly at the limit
  if (r < 0.25 && schema?.type === 'array' && schema.items) {
    // An array with one bad (or over-long) element.
    const a = (gen(schema) as unknown[]).slice();
    a.splice(int(0, a.length), 0, pick([null, 1, 'NAME', '', pick(STRAY), pick(ALL_LITERALS), str((schema.items.maxLength ?? 64) + 1), ['x'], {}]));
    return a;
  }
  if (r < 0.3 && schema?.maxItems !== undefined && schema.items) {
    // One element more than the bound, or exactly at it.
    return Array.from({ length: schema.maxItems + (chance(0.7) ? 1 : 0) }, () => gen(schema.items!));
  }
  if (r < 0.35 && schema) {
    const v = gen(schema);
    if (typeof v === 'string' && v.length > 0) return pick([v.toUpperCase(), `${v} `, ` ${v}`, v.slice(1), [v], { v }]);
    if (Array.isArray(v)) return pick([v.join(','), v[0] ?? '', {}]);
  }
  if (r < 0.4) return pick(ALL_LITERALS);
  if (r < 0.45) return pick(STRAY);
  if (field === 'ts' && r < 0.7) return randomTs();
  return pick([null, undefined, 0, 1, -1, 1.5, NaN, true, false, '', 'x', [], ['x'], {}, { a: 1 }, str(1), str(65), str(201)]);
}

const EXTRA_KEYS = ['extra', 'Type', 'ID', 'waybillz', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'length', '0', ''];

/** A generated case: valid, or one to three mutations of a valid event. */
function genCase(): unknown {
  const r = rnd();
  if (r < 0.01) return pick([null, undefined, 0, 'login', [], [{ type: 'login' }], true, {}]);
  const type = pick(EVENT_TYPES);
  const e: Record<string, unknown> = genEvent(type);
  if (r < 0.3) return e;
  const schema = SCHEMAS[type] as unknown as Schema;
  const fields = Object.keys(schema.properties!);
  const mutations = int(1, 3);
  for (let m = 0; m < mutations; m++) {
    const k = rnd();
    const field = pick(fields);
    if (k < 0.2) delete e[field];
    else if (k < 0.6) e[field] = wrongValue(field, schema.properties![field]);
    else if (k < 0.7) e.ts = randomTs();
    else if (k < 0.8) {
      // Extra fields are allowed (additionalProperties: true), whatever their value.
      const key = pick([...EXTRA_KEYS, ...fields.filter((f) => !(f in e))]);
      Object.defineProperty(e, key, { value: wrongValue(key, undefined), enumerable: true, configurable: true, writable: true });
    } else if (k < 0.9) e.type = chance(0.8) ? pick(EVENT_TYPES) : pick(['LOGIN', 'login ', '', 'teleport', 'toString', '__proto__', 1, null]);
    else {
      // Fields of another type's event (validated under this type's schema).
      Object.assign(e, genEvent(pick(EVENT_TYPES)), { type });
    }
  }
  return e;
}

/** JSON.stringify drops undefined and NaN becomes null; "__proto__" stays an own key through JSON.parse. */
function viaJson(v: unknown): { line: string; value: unknown } | undefined {
  if (v === undefined) return undefined;
  let line = JSON.stringify(v);
  if (line === undefined) return undefined;
  // Object.defineProperty(e, '__proto__') is an own key; stringify keeps it, parse restores it.
  return { line, value: JSON.parse(line) };
}

/**
 * validateEvent's accept decision. It throws (TypeError) when `type` names an Object.prototype
 * member ("toString", "__proto__", ...), before and after the fast path: the fast path rejects
 * those and the schema path then throws as it always did. A throw is not an accept.
 */
function accepts(fn: () => { ok: boolean }): boolean {
  try {
    return fn().ok;
  } catch {
    return false;
  }
}

const show = (v: unknown): string => {
  try {
    return JSON.stringify(v, (_k, x) => (x === undefined ? '<undefined>' : Number.isNaN(x) ? '<NaN>' : x));
  } catch {
    return String(v);
  }
};

describe('fast validator = TypeBox schemas + Date.parse', () => {
  it('starts with nothing memoised as valid (this runs first, on fresh module state)', () => {
    expect(isValidTs('')).toBe(false);
    expect(Object.is(tsMillis(''), NaN)).toBe(true);
    expect(isValidEvent({ id: 'e', ts: '', type: 'logout', account: 'a' })).toBe(false);
  });

  it('knows exactly the fields each schema declares (a new field must be added to fast-validate.ts)', () => {
    const common = new Set<string>(FAST_VALIDATED_FIELDS.common);
    for (const type of EVENT_TYPES) {
      const declared = Object.keys((SCHEMAS[type] as unknown as Schema).properties!).sort();
      const known = [...new Set([...FAST_VALIDATED_FIELDS.common, ...FAST_VALIDATED_FIELDS[type]])].sort();
      expect(known, type).toEqual(declared);
      expect([...common].every((f) => declared.includes(f)), type).toBe(true);
    }
  });

  it('accepts every valid generated event and rejects every one the schemas reject (200,000 cases)', () => {
    seed = 0x5eed;
    let accepted = 0;
    let rejected = 0;
    for (let i = 0; i < 100_000; i++) {
      const c = genCase();
      const want = reference(c);
      if (isValidEvent(c) !== want) throw new Error(`case ${i}: fast ${!want}, schemas ${want}: ${show(c)}`);
      if (accepts(() => validateEvent(c)) !== want) throw new Error(`case ${i}: validateEvent disagrees (schemas ${want}): ${show(c)}`);
      want ? accepted++ : rejected++;
      const j = viaJson(c);
      if (j) {
        const wantJ = reference(j.value);
        if (isValidEvent(j.value) !== wantJ) throw new Error(`case ${i} (JSON): fast ${!wantJ}, schemas ${wantJ}: ${j.line}`);
        if (accepts(() => parseEventLine(j.line)) !== wantJ) throw new Error(`case ${i} (JSON): parseEventLine disagrees: ${j.line}`);
        wantJ ? accepted++ : rejected++;
      }
    }
    // Both outcomes are well represented, so neither side of the decision goes untested.
    expect(accepted).toBeGreaterThan(40_000);
    expect(rejected).toBeGreaterThan(40_000);
  });

  it('covers each mutation kind with both outcomes per event type', () => {
    seed = 0xc0ffee;
    const seen = new Map<string, { ok: number; bad: number }>();
    for (let i = 0; i < 4_000; i++) {
      const type = pick(EVENT_TYPES);
      const schema = SCHEMAS[type] as unknown as Schema;
      for (const field of Object.keys(schema.properties!)) {
        const e = genEvent(type);
        e[field] = wrongValue(field, schema.properties![field]);
        const want = reference(e);
        expect(isValidEvent(e), `${type}.${field}: ${show(e)}`).toBe(want);
        const s = seen.get(`${type}.${field}`) ?? { ok: 0, bad: 0 };
        want ? s.ok++ : s.bad++;
        seen.set(`${type}.${field}`, s);
      }
    }
    // Every field of every type was seen rejected at least once (`type` and optional fields also accepted).
    for (const [k, s] of seen) expect(s.bad, k).toBeGreaterThan(0);
  });

  it('timestamps: the pattern plus Date.parse, in every form', () => {
    seed = 0x75;
    const all = [...VALID_TS, ...BAD_TS, ...Array.from({ length: 20_000 }, randomTs)];
    const pattern = new RegExp((LoginEvent.properties.ts as unknown as Schema).pattern!);
    for (const ts of all) {
      const want = pattern.test(ts) && !Number.isNaN(Date.parse(ts));
      expect(isValidTs(ts), ts).toBe(want);
      // And the time it gives is Date.parse's (NaN outside the pattern).
      expect(Object.is(tsMillis(ts), pattern.test(ts) ? Date.parse(ts) : NaN), ts).toBe(true);
    }
    // A non-digit must never pass as a digit of a memoised day ("202x" read as 2020 - 1000 = 1020).
    expect(isValidTs('1020-11-02T00:00:00.000Z')).toBe(true);
    expect(isValidTs('202x-11-02T00:00:00.000Z')).toBe(false);
    expect(isValidTs('1020-11-02T00:00:00.000Z')).toBe(true);
    expect(isValidTs('1020-11-0xT00:00:00.000Z')).toBe(false);
    // The memoised day must not leak into the next day's answer.
    expect(isValidTs('2026-11-02T00:00:00.000Z')).toBe(true);
    expect(isValidTs('2026-11-32T00:00:00.000Z')).toBe(false);
    expect(isValidTs('2026-11-02T23:59:59.999Z')).toBe(true);
  });

  it('rejections keep their schema reasons', () => {
    const base = { id: 'e1', ts: '2026-11-02T08:15:00.123Z', type: 'access', account: 'u1', action: 'reveal' };
    expect(validateEvent(base)).toEqual({ ok: true, event: base });
    expect(validateEvent({ ...base, action: 'steal' })).toMatchObject({ ok: false, reason: expect.stringContaining('"action"') });
    expect(validateEvent({ ...base, account: undefined })).toEqual({ ok: false, reason: 'missing required field "account"' });
    expect(validateEvent({ ...base, ts: '2026-13-02T08:15:00.123Z' })).toEqual({ ok: false, reason: 'field "ts" is not a valid date' });
    expect(validateEvent({ ...base, fields: 'phone' })).toMatchObject({ ok: false, reason: expect.stringContaining('"fields"') });
    expect(validateEvent({ ...base, waybill: 'x'.repeat(65) })).toMatchObject({ ok: false, reason: expect.stringContaining('"waybill"') });
    expect(validateEvent({ ...base, type: 'teleport' })).toEqual({ ok: false, reason: 'unknown event type "teleport"' });
    expect(validateEvent({ ...base, waybill: '13812345678' })).toEqual({ ok: false, code: 'bad_identifier', reason: 'field "waybill": bad_identifier: looks like a mobile phone number, not an identifier' });
    expect(validateEvent({ ...base, waybills: ['WD7300100000001', '张三'] })).toEqual({ ok: false, code: 'bad_identifier', reason: 'field "waybills.1": bad_identifier: letters, digits and . _ : - only (no spaces, no Chinese characters)' });
    // Review 10: descriptive fields say what they are; the reason names the field and rule, never the value.
    expect(validateEvent({ ...base, role: '张伟 13812345678' })).toMatchObject({ ok: false, code: 'bad_field', reason: expect.stringMatching(/^field "role": bad_field: /) });
    expect(validateEvent({ ...base, ip: '13812345678' })).toMatchObject({ ok: false, code: 'bad_field', reason: expect.stringMatching(/^field "ip": bad_field: /) });
    expect(validateEvent({ ...base, city: '北京 13812345678' })).toMatchObject({ ok: false, code: 'bad_field', reason: expect.stringMatching(/^field "city": bad_field: /) });
    expect(validateEvent({ ...base, type: 'login', result: 'success', app_hash: '110105198503062019' })).toMatchObject({ ok: false, code: 'bad_identifier', reason: expect.stringMatching(/^field "app_hash": bad_identifier: /) });
    expect(validateEvent({ id: 'w', ts: base.ts, type: 'waybill', waybill: 'SF1', dest_site: '13812345678' })).toMatchObject({ ok: false, code: 'bad_identifier', reason: expect.stringMatching(/^field "dest_site": /) });
    expect(validateEvent({ id: 'w', ts: base.ts, type: 'waybill', waybill: 'SF1', dest_city: '张伟110105198503062019' })).toMatchObject({ ok: false, code: 'bad_field', reason: expect.stringMatching(/^field "dest_city": /) });
    expect(validateEvent([base])).toEqual({ ok: false, reason: 'not a JSON object' });
    expect(parseEventLine('{"id":')).toMatchObject({ ok: false, reason: expect.stringMatching(/^invalid JSON/) });
  });
});
