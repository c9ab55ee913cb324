/**
 * One NDJSON line walked byte by byte, in one pass, without a string: the scanner's fast path
 * (./events-scan.ts). The walk follows JSON's grammar for an object of plain values — strings,
 * numbers, true/false/null and flat arrays of them — and notes where the values of the keys
 * attribution reads start and end. Whatever it cannot read exactly is ODD and goes to the JSON
 * parser instead: whitespace between tokens, a nested object or array, an escape in a key or in
 * a value it reads, a key of interest written twice (JSON keeps the last), a broken line.
 *
 * The walk never passes a newline (no JSON token holds one raw), so it needs no line end up front:
 * it finds it; every line it is given must end with one.
 */

/** The line counts for nothing (another type or action, denied, no fields shown). */
export const SKIP = 0;
/** An access reveal with a plain string account and waybill, not denied, fields not `[]`. */
export const REVEAL = 1;
/** An access export: read by the parser. */
export const EXPORT = 2;
/** The walk cannot read the line exactly. */
export const ODD = 3;

/** Where the walk left a line: its end (the newline, or the end of the bytes) and the values read. */
export interface Walked {
  end: number;
  account: number;
  accountEnd: number;
  waybill: number;
  waybillEnd: number;
}

export const walked = (): Walked => ({ end: 0, account: -1, accountEnd: -1, waybill: -1, waybillEnd: -1 });

const K_TYPE = 1;
const K_ACCOUNT = 2;
const K_ACTION = 4;
const K_WAYBILL = 8;
const K_FIELDS = 16;
const K_RESULT = 32;

const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const TYPE = ascii('type');
const ACCOUNT = ascii('account');
const ACTION = ascii('action');
const WAYBILL = ascii('waybill');
const FIELDS = ascii('fields');
const RESULT = ascii('result');
const ACCESS = ascii('access');
const REVEAL_ = ascii('reveal');
const EXPORT_ = ascii('export');
const DENIED = ascii('denied');

/** Bytes [from, to) are `word`. */
const is = (b: Uint8Array, from: number, to: number, word: Uint8Array): boolean => {
  if (to - from !== word.length) return false;
  for (let i = 0; i < word.length; i++) if (b[from + i] !== word[i]) return false;
  return true;
};

/** Which key of interest bytes [from, to) name; 0 for any other. */
function keyOf(b: Uint8Array, from: number, to: number): number {
  switch (to - from) {
    case 4:
      return is(b, from, to, TYPE) ? K_TYPE : 0;
    case 6:
      return is(b, from, to, ACTION) ? K_ACTION : is(b, from, to, FIELDS) ? K_FIELDS : is(b, from, to, RESULT) ? K_RESULT : 0;
    case 7:
      return is(b, from, to, ACCOUNT) ? K_ACCOUNT : is(b, from, to, WAYBILL) ? K_WAYBILL : 0;
    default:
      return 0;
  }
}

const isHex = (c: number) => (c >= 48 && c <= 57) || ((c | 32) >= 97 && (c | 32) <= 102);
const isDigit = (c: number) => c >= 48 && c <= 57;
/** Bytes that end a run of plain string characters: the quote, the backslash, control characters (the newline among them). */
const STOP = new Uint8Array(256);
for (let c = 0; c < 32; c++) STOP[c] = 1;
STOP[34] = STOP[92] = 1;

/** Past the escape at `at` (a backslash); -1 when it is not one JSON allows. */
function pastEscape(b: Uint8Array, at: number): number {
  const c = b[at + 1]!;
  if (c === 34 || c === 92 || c === 47 || c === 98 || c === 102 || c === 110 || c === 114 || c === 116) return at + 2;
  if (c === 117 && isHex(b[at + 2]!) && isHex(b[at + 3]!) && isHex(b[at + 4]!) && isHex(b[at + 5]!)) return at + 6;
  return -1;
}

/** The closing quote of a string whose first character is at `at` (escapes allowed); -1 when there is none on the line. */
function stringEnd(b: Uint8Array, at: number): number {
  let i = at;
  for (;;) {
    while (STOP[b[i]!] === 0) i++;
    const c = b[i];
    if (c === 34) return i;
    if (c !== 92) return -1; // a control character: the newline, or worse
    i = pastEscape(b, i);
    if (i < 0) return -1;
  }
}

/** Past a number, `true`, `false` or `null` starting at `at`; -1 when it is none of them. */
function literalEnd(b: Uint8Array, at: number): number {
  const c = b[at];
  if (c === 116) return b[at + 1] === 114 && b[at + 2] === 117 && b[at + 3] === 101 ? at + 4 : -1;
  if (c === 102) return b[at + 1] === 97 && b[at + 2] === 108 && b[at + 3] === 115 && b[at + 4] === 101 ? at + 5 : -1;
  if (c === 110) return b[at + 1] === 117 && b[at + 2] === 108 && b[at + 3] === 108 ? at + 4 : -1;
  let i = at;
  if (b[i] === 45) i++;
  if (b[i] === 48) i++;
  else if (isDigit(b[i]!)) while (isDigit(b[i]!)) i++;
  else return -1;
  if (b[i] === 46) {
    if (!isDigit(b[++i]!)) return -1;
    while (isDigit(b[i]!)) i++;
  }
  if (b[i] === 101 || b[i] === 69) {
    i++;
    if (b[i] === 43 || b[i] === 45) i++;
    if (!isDigit(b[i]!)) return -1;
    while (isDigit(b[i]!)) i++;
  }
  return i;
}

/** Past a flat array of strings and literals starting at `at` (its `[`); -1 otherwise. */
function arrayEnd(b: Uint8Array, at: number): number {
  let i = at + 1;
  if (b[i] === 93) return i + 1;
  for (;;) {
    if (b[i] === 34) {
      i = stringEnd(b, i + 1);
      if (i < 0) return -1;
      i++;
    } else {
      i = literalEnd(b, i);
      if (i < 0) return -1;
    }
    const c = b[i];
    if (c === 93) return i + 1;
    if (c !== 44) return -1;
    i++;
  }
}

/**
 * Walks the line starting at `s` (its `{`; it ends with a newline); fills `w` (where the newline
 * is, and the account and waybill of a REVEAL) and says what the line is.
 */
export function walkLine(b: Uint8Array, s: number, w: Walked): number {
  if (b[s] !== 123) return ODD;
  let i = s + 1;
  let keys = 0;
  let access = false;
  let action = SKIP;
  let denied = false;
  let noFields = false;
  w.account = -1;
  w.waybill = -1;
  if (b[i] === 125) i++;
  else
    for (;;) {
      // A key: no escapes (the parser knows what they spell).
      if (b[i] !== 34) return ODD;
      const k = ++i;
      while (STOP[b[i]!] === 0) i++;
      if (b[i] !== 34) return ODD;
      const key = keyOf(b, k, i);
      if (key !== 0) {
        if (keys & key) return ODD;
        keys |= key;
      }
      if (b[++i] !== 58) return ODD;
      const v = ++i;
      const c = b[v];
      if (c === 34) {
        if (key === 0) i = stringEnd(b, v + 1);
        else {
          i = v + 1;
          while (STOP[b[i]!] === 0) i++;
          if (b[i] !== 34) return ODD;
        }
        if (i < 0) return ODD;
        if (key === K_TYPE) access = is(b, v + 1, i, ACCESS);
        else if (key === K_ACTION) action = is(b, v + 1, i, REVEAL_) ? REVEAL : is(b, v + 1, i, EXPORT_) ? EXPORT : SKIP;
        else if (key === K_RESULT) denied = is(b, v + 1, i, DENIED);
        else if (key === K_ACCOUNT) (w.account = v + 1), (w.accountEnd = i);
        else if (key === K_WAYBILL) (w.waybill = v + 1), (w.waybillEnd = i);
        i++;
      } else if (c === 91) {
        if (key === K_FIELDS) noFields = b[v + 1] === 93;
        i = arrayEnd(b, v);
      } else i = literalEnd(b, v);
      if (i < 0) return ODD;
      // A key read as a non-string keeps its "not a string" meaning: account and waybill stay unset.
      if (b[i] === 44) i++;
      else if (b[i] === 125) {
        i++;
        break;
      } else return ODD;
    }
  for (let c; (c = b[i]) === 32 || c === 9 || c === 13; ) i++;
  if (b[i] !== 10) return ODD;
  w.end = i;
  if (!access) return SKIP;
  if (action === EXPORT) return EXPORT;
  return action === REVEAL && !denied && !noFields && w.account >= 0 && w.waybill >= 0 ? REVEAL : SKIP;
}
