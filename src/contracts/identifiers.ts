/**
 * Identifiers of work: waybill, ticket and case numbers. Warden records them as they are given —
 * in the audit trail (permanent), on the bus and in the SIEM — so they must be identifiers, not
 * free text (attack review 6: a phone number, a name or an address typed as a "waybill" landed
 * in all three). The one check for every place that takes one: contract events (./events.ts,
 * ./fast-validate.ts), the upstream work routes, and reveal bases and masked views (waybill,
 * ticket, case: access/access.ts, which audits the refusal).
 *
 * Invariants:
 * - An identifier is 1..max characters of `A-Z a-z 0-9 . _ : -` (so no spaces, no CJK, no `+`,
 *   `@`, `/`), and carries no personal number: no mainland mobile (`1[3-9]` + 9 digits, also
 *   with `86` / `0086` in front) and no resident ID number (17 digits + a digit or X with a known
 *   region, a real birth date and the right check character; written in parts, also an old
 *   15-digit one), whether written as one run of digits or in parts joined by `. _ : -`
 *   (`138_1234_5678`, `110105-19491231-002X`). A longer single run of digits is not one of them:
 *   real waybill numbers are long digit runs (SF + 13 digits may start with 13…), and the
 *   simulator's `WD7` + block + sequence, `TK00000001`, `CASE-0042` and `case-<uuid>` pass.
 *   Canonical UUIDs are opaque (a random one holds 11 digits after a hex letter about once in
 *   3,000 — a case id must never be refused for that).
 * - A refusal names the field and the rule broken, never the value. Where a refusal is audited,
 *   the value appears only as `identifierTag` (keyed HMAC-SHA256, the scheme of the failed-login
 *   account tag, identity/account-tag.ts), so repeats correlate and nothing can be read back.
 */
import { createHmac } from 'node:crypto';
import { AppError } from '../errors.js';
import { validateIdNumber } from '../vault/validate.js';

const isIdNumber = (s: string): boolean => validateIdNumber(s).ok;

export type IdentifierProblem = 'empty' | 'too_long' | 'charset' | 'phone' | 'id_number';

/** The contract's bounds (events.ts), kept: a waybill ≤ 64, a ticket ≤ 200. */
export const WAYBILL_MAX = 64;
export const TICKET_MAX = 200;

const UUID = /[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}/g;
const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isIdChar = (c: number): boolean =>
  isDigit(c) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 /* - */ || c === 46 /* . */ || c === 95 /* _ */ || c === 58; /* : */

const isSeparator = (c: number): boolean => c === 45 /* - */ || c === 46 /* . */ || c === 95 /* _ */ || c === 58; /* : */
const isX = (c: number): boolean => (c | 32) === 120; /* x or X */
/** [start, end) pairs of the current group's digit runs: one array for every call (no allocation per event). */
const SEGS: number[] = [];

/**
 * What is wrong with `value` as an identifier of at most `max` characters, or null. One pass over
 * the characters (contract validation runs it on every event), collecting each group of digit
 * runs joined by separators (`138-1234-5678`, `110105_19491231_002X`); a letter ends a group.
 */
export function identifierProblem(value: string, max: number): IdentifierProblem | null {
  const n = value.length;
  if (n === 0) return 'empty';
  if (n > max) return 'too_long';
  let personal: IdentifierProblem | null = null;
  const segs = SEGS;
  segs.length = 0;
  let run = -1;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? value.charCodeAt(i) : -1;
    if (c >= 0 && isDigit(c)) {
      if (run < 0) run = i;
      continue;
    }
    if (c >= 0 && !isIdChar(c)) return 'charset';
    if (run >= 0) segs.push(run, i);
    run = -1;
    if (c >= 0 && isSeparator(c)) continue;
    if (segs.length) personal ??= groupProblem(value, segs);
    segs.length = 0;
  }
  if (personal && n >= 36) {
    const opaque = value.replace(UUID, '-');
    if (opaque !== value) return identifierProblem(opaque, max);
  }
  return personal;
}

/**
 * The personal number a group of digit runs spells, if any. A single run is judged whole (a longer
 * run is a waybill number); runs joined by separators are judged in every consecutive stretch, the
 * separators dropped (attack review 8: `138_1234_5678`, `110105-19491231-002X` passed), including
 * an old 15-digit ID number — a plain 15-digit run stays a waybill number.
 */
function groupProblem(v: string, segs: readonly number[]): IdentifierProblem | null {
  const k = segs.length / 2;
  for (let i = 0; i < k; i++) {
    let digits = '';
    for (let j = i; j < k; j++) {
      digits += v.slice(segs[2 * j]!, segs[2 * j + 1]!);
      if (digits.length > 18) break;
      const end = segs[2 * j + 1]!;
      // A check character X straight after the digits, or after one separator, ending the group.
      const xAt = isX(v.charCodeAt(end)) ? end : isSeparator(v.charCodeAt(end)) && isX(v.charCodeAt(end + 1)) ? end + 1 : -1;
      const xEnds = xAt >= 0 && (xAt + 1 >= v.length || !/[A-Za-z0-9]/.test(v[xAt + 1]!));
      const problem = digitsProblem(digits, i !== j, xEnds && j === k - 1);
      if (problem) return problem;
    }
  }
  return null;
}

/** Whether `d` (digits only) is a mainland mobile or a resident ID number; `joined`: written in parts. */
function digitsProblem(d: string, joined: boolean, xFollows: boolean): IdentifierProblem | null {
  const len = d.length;
  if (len === 11 || (len === 13 && d.startsWith('86')) || (len === 15 && d.startsWith('0086'))) {
    const second = d.charCodeAt(len - 10);
    if (d.charCodeAt(len - 11) === 49 /* 1 */ && second >= 51 /* 3 */ && second <= 57) return 'phone';
  }
  // Only what is a resident ID number (region, real birth date, check character): an 18-digit
  // waybill number is valid (vault WAYBILL_RE) and is refused only by that rare coincidence.
  if (len === 18 && isIdNumber(d)) return 'id_number';
  if (len === 17 && xFollows && isIdNumber(`${d}X`)) return 'id_number';
  if (len === 15 && joined && validateIdNumber(d, { allow15: true }).ok) return 'id_number';
  return null;
}

export const isIdentifier = (value: string, max: number): boolean => identifierProblem(value, max) === null;

const RULES: Record<IdentifierProblem, (max: number) => string> = {
  empty: () => 'must not be empty',
  too_long: (max) => `at most ${max} characters`,
  charset: () => 'letters, digits and . _ : - only (no spaces, no Chinese characters)',
  phone: () => 'looks like a mobile phone number, not an identifier',
  id_number: () => 'looks like a resident ID number, not an identifier',
};

/** The rule `problem` broke, for a message naming the field: never the value. */
export const identifierRule = (problem: IdentifierProblem, max: number): string => RULES[problem](max);

/** What an audit entry may hold of a refused value: `hmac:` + the first 16 hex digits of HMAC-SHA256(key, value). */
export function identifierTag(key: Buffer, value: string): string {
  return `hmac:${createHmac('sha256', key).update(value, 'utf8').digest('hex').slice(0, 16)}`;
}

/** The tag key, bound to its purpose, from a keyring secret (as identity derives the account-tag key from the blind-index secret). */
export const identifierTagKey = (secret: Buffer): Buffer => createHmac('sha256', secret).update('warden/identifier-tag/v1').digest();

export interface IdentifierInput {
  field: string;
  value: string | null | undefined;
  max: number;
}
export interface BadIdentifier {
  field: string;
  problem: IdentifierProblem;
  max: number;
  value: string;
}

/** Every given (non-null) value of `inputs` that is not an identifier. */
export function badIdentifiers(inputs: readonly IdentifierInput[]): BadIdentifier[] {
  const out: BadIdentifier[] = [];
  for (const { field, value, max } of inputs) {
    if (value === null || value === undefined) continue;
    const problem = identifierProblem(value, max);
    if (problem) out.push({ field, problem, max, value });
  }
  return out;
}

/** 400 `bad_identifier` naming the field and the rule: never the value. */
export function badIdentifierError(bad: BadIdentifier): AppError {
  const rule = identifierRule(bad.problem, bad.max);
  return new AppError('bad_identifier', `${bad.field} is not an identifier: ${rule}`, { fields: [{ field: bad.field, code: 'bad_identifier', message: rule }] });
}

/** Refuses (throws 400 bad_identifier) where the refusal is not audited: nothing of the value is kept. */
export function assertIdentifiers(inputs: readonly IdentifierInput[]): void {
  const [bad] = badIdentifiers(inputs);
  if (bad) throw badIdentifierError(bad);
}

/** What an audit entry records of refused identifiers: which fields, and each value as its keyed tag. */
export function badIdentifierDetail(key: Buffer, bad: readonly BadIdentifier[]): Record<string, string> {
  const detail: Record<string, string> = { bad_identifier: bad.map((b) => b.field).join(',') };
  for (const b of bad) detail[`${b.field}_tag`] = identifierTag(key, b.value);
  return detail;
}

/** Per event type, its identifier fields (the schema's, events.ts): others' are not its own, and are dropped unread. */
const FIELDS_BY_TYPE: Readonly<Record<string, { waybill: boolean; ticket: boolean; waybills: boolean }>> = {
  waybill: { waybill: true, ticket: false, waybills: false },
  assign: { waybill: true, ticket: false, waybills: false },
  scan: { waybill: true, ticket: false, waybills: false },
  ticket: { waybill: true, ticket: true, waybills: false },
  access: { waybill: true, ticket: true, waybills: true },
};

/**
 * The identifier fields of a contract event the schema accepted: the first that is not an
 * identifier, with its rule, or null. Empty ones are the schema's to judge (the contract lets an
 * optional waybill or ticket be empty; a required one has its minimum length).
 */
export function eventIdentifierProblem(e: { type?: unknown; waybill?: unknown; waybills?: unknown; ticket?: unknown }): { field: string; problem: IdentifierProblem; max: number } | null {
  const has = typeof e.type === 'string' && Object.hasOwn(FIELDS_BY_TYPE, e.type) ? FIELDS_BY_TYPE[e.type]! : null;
  if (!has) return null;
  const check = (field: string, v: unknown, max: number) => {
    const problem = typeof v === 'string' && v !== '' ? identifierProblem(v, max) : null;
    return problem ? { field, problem, max } : null;
  };
  const found = check('waybill', e.waybill, WAYBILL_MAX) ?? (has.ticket ? check('ticket', e.ticket, TICKET_MAX) : null);
  if (found || !has.waybills || !Array.isArray(e.waybills)) return found;
  for (let i = 0; i < e.waybills.length; i++) {
    const bad = check(`waybills.${i}`, e.waybills[i], WAYBILL_MAX);
    if (bad) return bad;
  }
  return null;
}

/** The contract's bound of the fields every event carries (events.ts `Common`). */
export const EVENT_FIELD_MAX = 200;
/** The fields of every event that name a thing (not free text): identifiers at the gateway. */
export const EVENT_ID_FIELDS = ['id', 'account', 'site', 'device', 'session'] as const;

/**
 * The gateway's rule for `id`, `account`, `site`, `device` and `session` of an ingested event
 * (attack review 9: a name and a phone number sent as an event id or a scan's site landed in the
 * audit trail, an ID number and a name as an assignee's account). The contract bounds them only in
 * length; Warden takes them only as identifiers (docs/contract-extensions.md 1.3). The first that
 * is not one, with its rule, or null; absent fields are not checked (an empty given one is).
 */
export function eventFieldIdentifierProblem(e: Partial<Record<(typeof EVENT_ID_FIELDS)[number], unknown>>): { field: string; problem: IdentifierProblem; max: number } | null {
  for (const field of EVENT_ID_FIELDS) {
    const v = e[field];
    if (typeof v !== 'string') continue;
    const problem = identifierProblem(v, EVENT_FIELD_MAX);
    if (problem) return { field, problem, max: EVENT_FIELD_MAX };
  }
  return null;
}
