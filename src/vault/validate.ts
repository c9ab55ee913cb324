/**
 * Validation and normalisation of the PII a waybill carries.
 *
 * Invariants:
 * - No error message, code or field path ever contains the submitted value (errors are logged and
 *   returned to callers; a value echoed there would be a leak). Field paths come from a fixed
 *   schema; an unknown key is named only when it looks like an identifier.
 * - Every function here is pure and total: it returns a result, it never throws on bad input.
 * - A value that passes is returned normalised, so equal inputs give equal blind indexes.
 */
import { idNumberCheckChar } from './id-number.js';

export type Result<T, E> = { ok: true; value: T } | { ok: false; error: E };

export type ValidationCode =
  | 'required'
  | 'invalid_type'
  | 'too_short'
  | 'too_long'
  | 'invalid_characters'
  | 'invalid_phone'
  | 'invalid_waybill'
  | 'invalid_site'
  | 'invalid_id_format'
  | 'invalid_id_region'
  | 'invalid_id_birth_date'
  | 'invalid_id_check_char'
  | 'id15_not_allowed'
  | 'unknown_field';

export interface FieldError {
  /** Dotted path into the input, e.g. `sender.phone`. */
  field: string;
  code: ValidationCode;
  /** Human-readable; never contains the submitted value. */
  message: string;
}

export interface ValueError {
  code: ValidationCode;
  message: string;
}

// ---------------------------------------------------------------------------------------------
// Phones

/**
 * - `mobile`: `1[3-9]\d{9}`, normalised to 11 digits; an extension (privacy numbers: AXN host
 *   number + 1–4 digit extension) becomes `13812345678-1234`.
 * - `landline`: area code (010 and 02x are 3 digits + 8-digit number; all other 0xxx are
 *   4 digits + 7–8 digit number; numbers never start with 0), optional extension of 1–6 digits: `0755-12345678` / `010-12345678-123`.
 * - `hotline`: national 400/800 business numbers, `400-123-4567`.
 */
export type PhoneKind = 'mobile' | 'landline' | 'hotline';

export interface NormalizedPhone {
  kind: PhoneKind;
  /** Normalised form, as stored. */
  value: string;
}

const MOBILE_RE = /^1[3-9]\d{9}$/;
const EXTENSION_SEPARATOR_RE = /^(.*?)\s*(?:转|分机|ext\.?|x|#|,|，)\s*(\d{1,6})$/i;
const TRAILING_HYPHEN_EXT_RE = /^(.*\d)\s*-\s*(\d{1,6})$/;
const PHONE_CHARS_RE = /^[+\d\s\-()]+$/;

const PHONE_ERROR: ValueError = {
  code: 'invalid_phone',
  message:
    'must be a mainland mobile number (11 digits starting 13–19, optional +86), a landline with area code (e.g. 010-12345678), or a 400/800 number',
};

function parsePhoneBody(body: string): NormalizedPhone | null {
  if (!PHONE_CHARS_RE.test(body)) return null;
  let s = body.replace(/[\s\-()]/g, '');
  let international = false;
  if (s.startsWith('+86')) {
    s = s.slice(3);
    international = true;
  } else if (s.startsWith('0086')) {
    s = s.slice(4);
    international = true;
  } else if (s.startsWith('86') && s.length === 13 && MOBILE_RE.test(s.slice(2))) {
    s = s.slice(2);
  }
  if (!/^\d+$/.test(s)) return null;
  if (MOBILE_RE.test(s)) return { kind: 'mobile', value: s };
  if (/^[48]00\d{7}$/.test(s)) return { kind: 'hotline', value: `${s.slice(0, 3)}-${s.slice(3, 6)}-${s.slice(6)}` };
  // Dialled from abroad, the trunk prefix 0 is dropped: +86 10 12345678.
  if (international && !s.startsWith('0')) s = `0${s}`;
  if (!s.startsWith('0')) return null;
  const areaLen = /^0(?:10|2\d)/.test(s) ? 3 : 4;
  const area = s.slice(0, areaLen);
  const subscriber = s.slice(areaLen);
  // Cities with 3-digit area codes (Beijing, Shanghai, Guangzhou…) all have 8-digit numbers.
  const subscriberRe = areaLen === 3 ? /^[1-9]\d{7}$/ : /^[1-9]\d{6,7}$/;
  if (!/^0[1-9]\d{1,2}$/.test(area) || !subscriberRe.test(subscriber)) return null;
  return { kind: 'landline', value: `${area}-${subscriber}` };
}

/**
 * Normalises a phone number; see {@link PhoneKind} for what is accepted. Full-width digits and
 * `＋` are folded (NFKC). Foreign numbers are refused: Warden handles mainland parcels.
 */
export function normalizePhone(input: unknown): Result<NormalizedPhone, ValueError> {
  if (typeof input !== 'string') return { ok: false, error: { code: 'invalid_type', message: 'must be a string' } };
  const s = input.normalize('NFKC').trim();
  if (s === '') return { ok: false, error: { code: 'required', message: 'is required' } };
  if (s.length > 40) return { ok: false, error: PHONE_ERROR };
  const whole = parsePhoneBody(s);
  if (whole) return { ok: true, value: whole };
  const m = EXTENSION_SEPARATOR_RE.exec(s) ?? TRAILING_HYPHEN_EXT_RE.exec(s);
  if (m) {
    const main = parsePhoneBody(m[1]!);
    const ext = m[2]!;
    if (main && main.kind !== 'hotline' && (main.kind === 'landline' || ext.length <= 4)) {
      return { ok: true, value: { kind: main.kind, value: `${main.value}-${ext}` } };
    }
  }
  return { ok: false, error: PHONE_ERROR };
}

/** Only mainland mobile numbers (optionally with a 1–4 digit privacy-number extension). */
export function normalizeMobile(input: unknown): Result<string, ValueError> {
  const r = normalizePhone(input);
  if (!r.ok) return r;
  if (r.value.kind !== 'mobile') {
    return { ok: false, error: { code: 'invalid_phone', message: 'must be a mainland mobile number: 11 digits starting 13–19' } };
  }
  return { ok: true, value: r.value.value };
}

// ---------------------------------------------------------------------------------------------
// Resident ID numbers (GB 11643-1999)

/** Province-level prefixes of GB/T 2260, plus 81/82/83 (HK/MO/TW residence permits). */
const PROVINCE_PREFIXES = new Set([
  '11', '12', '13', '14', '15', '21', '22', '23', '31', '32', '33', '34', '35', '36', '37',
  '41', '42', '43', '44', '45', '46', '50', '51', '52', '53', '54', '61', '62', '63', '64', '65',
  '71', '81', '82', '83',
]);

export interface ValidateIdOptions {
  /** Accept old 15-digit numbers (converted to their 18-character form). Default false. */
  allow15?: boolean;
  /** Accept the 2023 Foreign Permanent Resident ID Card (leading 9 + province code). Default true. */
  allowForeignPermanent?: boolean;
  /** Reference "today" for the not-in-the-future check; default now. */
  now?: Date;
}

export interface NormalizedIdNumber {
  /** 18 characters, check character uppercase. */
  value: string;
  /** Birth date as YYYY-MM-DD. */
  birthDate: string;
  /** True when the input was an old 15-digit number. */
  upgradedFrom15: boolean;
}

function idError(code: ValidationCode, message: string): { ok: false; error: ValueError } {
  return { ok: false, error: { code, message } };
}

/** China Standard Time calendar date (UTC+8) as YYYYMMDD. */
function cstDate(now: Date): string {
  const d = new Date(now.getTime() + 8 * 3600_000);
  return `${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}${String(d.getUTCDate()).padStart(2, '0')}`;
}

function checkBirthDate(yyyymmdd: string, now: Date): string | null {
  const y = Number(yyyymmdd.slice(0, 4));
  const m = Number(yyyymmdd.slice(4, 6));
  const d = Number(yyyymmdd.slice(6, 8));
  if (y < 1900 || m < 1 || m > 12 || d < 1) return null;
  const days = new Date(Date.UTC(y, m, 0)).getUTCDate();
  if (d > days) return null;
  if (yyyymmdd > cstDate(now)) return null;
  return `${yyyymmdd.slice(0, 4)}-${yyyymmdd.slice(4, 6)}-${yyyymmdd.slice(6, 8)}`;
}

function regionOk(id: string, allowForeign: boolean): boolean {
  if (id[0] === '9') return allowForeign && PROVINCE_PREFIXES.has(id.slice(1, 3));
  return PROVINCE_PREFIXES.has(id.slice(0, 2));
}

/**
 * Validates a resident ID number: format, province-level region prefix, a real birth date
 * (1900-01-01 to today in China Standard Time) and the ISO 7064 MOD 11-2 check character.
 * Whitespace is removed and a lowercase `x` is accepted; the result is uppercase.
 */
export function validateIdNumber(input: unknown, options: ValidateIdOptions = {}): Result<NormalizedIdNumber, ValueError> {
  const now = options.now ?? new Date();
  const allowForeign = options.allowForeignPermanent ?? true;
  if (typeof input !== 'string') return idError('invalid_type', 'must be a string');
  const s = input.normalize('NFKC').replace(/\s+/g, '').toUpperCase();
  if (s === '') return idError('required', 'is required');
  if (/^\d{15}$/.test(s)) {
    if (!options.allow15) return idError('id15_not_allowed', 'old 15-digit ID numbers are not accepted; give the 18-character number');
    if (!regionOk(s, false)) return idError('invalid_id_region', 'region code is not a known province');
    const birth = checkBirthDate(`19${s.slice(6, 12)}`, now);
    if (!birth) return idError('invalid_id_birth_date', 'birth date is not a real date between 1900 and today');
    const body = `${s.slice(0, 6)}19${s.slice(6)}`;
    return { ok: true, value: { value: body + idNumberCheckChar(body), birthDate: birth, upgradedFrom15: true } };
  }
  if (!/^\d{17}[\dX]$/.test(s)) return idError('invalid_id_format', 'must be 18 characters: 17 digits and a check digit or X');
  if (!regionOk(s, allowForeign)) return idError('invalid_id_region', 'region code is not a known province');
  const birth = checkBirthDate(s.slice(6, 14), now);
  if (!birth) return idError('invalid_id_birth_date', 'birth date is not a real date between 1900 and today');
  if (idNumberCheckChar(s.slice(0, 17)) !== s[17]) return idError('invalid_id_check_char', 'check character does not match');
  return { ok: true, value: { value: s, birthDate: birth, upgradedFrom15: false } };
}

// ---------------------------------------------------------------------------------------------
// Waybills

/**
 * Carrier prefix of 0–4 letters + 10–20 digits, uppercased. The brief says prefix + 12–15 digits;
 * we are a little wider because carriers differ and a too-strict check only moves the problem to
 * the order system.
 */
export const WAYBILL_RE = /^[A-Z]{0,4}\d{10,20}$/;
/** Site codes are ours (identity module); kept plain: letters, digits, `_ . : -`, 1–64. */
export const SITE_RE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

export function normalizeWaybill(input: unknown): Result<string, ValueError> {
  if (typeof input !== 'string') return { ok: false, error: { code: 'invalid_type', message: 'must be a string' } };
  const s = input.normalize('NFKC').trim().toUpperCase();
  if (s === '') return { ok: false, error: { code: 'required', message: 'is required' } };
  if (!WAYBILL_RE.test(s)) {
    return { ok: false, error: { code: 'invalid_waybill', message: 'must be a carrier prefix of up to 4 letters followed by 10–20 digits' } };
  }
  return { ok: true, value: s };
}

export interface Party {
  name: string;
  phone: string;
  address: string;
}

export interface SenderParty extends Party {
  id_number?: string;
}

export interface WaybillRecord {
  waybill: string;
  origin_site: string;
  dest_site: string;
  sender: SenderParty;
  recipient: Party;
}

export interface ValidateWaybillOptions {
  /** Passed to {@link validateIdNumber}. */
  allow15?: boolean;
  /** Accept landlines and 400/800 numbers for the sender (business senders). Default true. */
  senderLandline?: boolean;
  /** Accept landlines for the recipient. Default true (offices receive parcels too). */
  recipientLandline?: boolean;
  now?: Date;
}

export type WaybillValidation = { ok: true; value: WaybillRecord } | { ok: false; errors: FieldError[] };

// Cc: control characters; Cf: format characters (bidi overrides, zero-width) that can disguise text.
const FORBIDDEN_CHARS_RE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}]/u;
const IDENT_RE = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

function cleanText(
  input: unknown,
  field: string,
  min: number,
  max: number,
  errors: FieldError[],
  opts: { needsLetter?: boolean } = {},
): string | undefined {
  if (input === undefined || input === null) {
    errors.push({ field, code: 'required', message: `${field} is required` });
    return undefined;
  }
  if (typeof input !== 'string') {
    errors.push({ field, code: 'invalid_type', message: `${field} must be a string` });
    return undefined;
  }
  if (FORBIDDEN_CHARS_RE.test(input.replace(/[\t\r\n]/g, ' '))) {
    errors.push({ field, code: 'invalid_characters', message: `${field} contains control or invisible formatting characters` });
    return undefined;
  }
  const s = input.normalize('NFC').replace(/\s+/g, ' ').trim();
  const n = codePoints(s);
  if (n === 0) {
    errors.push({ field, code: 'required', message: `${field} is required` });
    return undefined;
  }
  if (n < min) {
    errors.push({ field, code: 'too_short', message: `${field} must be at least ${min} characters` });
    return undefined;
  }
  if (n > max) {
    errors.push({ field, code: 'too_long', message: `${field} must be at most ${max} characters` });
    return undefined;
  }
  if (opts.needsLetter && !/\p{L}/u.test(s)) {
    errors.push({ field, code: 'invalid_characters', message: `${field} must contain letters` });
    return undefined;
  }
  return s;
}

function pushValueError(errors: FieldError[], field: string, e: ValueError): void {
  errors.push({ field, code: e.code, message: `${field} ${e.message}` });
}

function checkUnknown(obj: Record<string, unknown>, allowed: readonly string[], prefix: string, errors: FieldError[]): void {
  for (const key of Object.keys(obj)) {
    if (allowed.includes(key)) continue;
    // The key itself is user input: name it only when it is an identifier, never a value.
    const field = IDENT_RE.test(key) ? `${prefix}${key}` : `${prefix}<unknown>`;
    errors.push({ field, code: 'unknown_field', message: `${field} is not an accepted field` });
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function validatePhoneField(input: unknown, field: string, allowLandline: boolean, errors: FieldError[]): string | undefined {
  if (input === undefined || input === null) {
    errors.push({ field, code: 'required', message: `${field} is required` });
    return undefined;
  }
  const r = allowLandline ? normalizePhone(input) : normalizeMobile(input);
  if (!r.ok) {
    pushValueError(errors, field, r.error);
    return undefined;
  }
  return typeof r.value === 'string' ? r.value : r.value.value;
}

function validateParty(
  input: unknown,
  prefix: 'sender' | 'recipient',
  options: ValidateWaybillOptions,
  errors: FieldError[],
): SenderParty | undefined {
  if (input === undefined || input === null) {
    errors.push({ field: prefix, code: 'required', message: `${prefix} is required` });
    return undefined;
  }
  if (!isObject(input)) {
    errors.push({ field: prefix, code: 'invalid_type', message: `${prefix} must be an object` });
    return undefined;
  }
  const allowed = prefix === 'sender' ? ['name', 'phone', 'address', 'id_number'] : ['name', 'phone', 'address'];
  checkUnknown(input, allowed, `${prefix}.`, errors);
  const name = cleanText(input.name, `${prefix}.name`, 1, 64, errors, { needsLetter: true });
  const allowLandline = prefix === 'sender' ? (options.senderLandline ?? true) : (options.recipientLandline ?? true);
  const phone = validatePhoneField(input.phone, `${prefix}.phone`, allowLandline, errors);
  const address = cleanText(input.address, `${prefix}.address`, 4, 200, errors);
  let idNumber: string | undefined;
  if (prefix === 'sender' && input.id_number !== undefined && input.id_number !== null && input.id_number !== '') {
    const r = validateIdNumber(input.id_number, { allow15: options.allow15 ?? false, ...(options.now ? { now: options.now } : {}) });
    if (r.ok) idNumber = r.value.value;
    else pushValueError(errors, `${prefix}.id_number`, r.error);
  }
  if (name === undefined || phone === undefined || address === undefined) return undefined;
  return idNumber === undefined ? { name, phone, address } : { name, phone, address, id_number: idNumber };
}

/**
 * Validates a waybill as the order system sends it. Collects every field error (not just the
 * first) so one round trip fixes a record. An empty or null `sender.id_number` counts as absent.
 */
export function validateWaybillInput(body: unknown, options: ValidateWaybillOptions = {}): WaybillValidation {
  const errors: FieldError[] = [];
  if (!isObject(body)) {
    return { ok: false, errors: [{ field: '', code: 'invalid_type', message: 'body must be a JSON object' }] };
  }
  checkUnknown(body, ['waybill', 'origin_site', 'dest_site', 'sender', 'recipient'], '', errors);
  let waybill: string | undefined;
  if (body.waybill === undefined || body.waybill === null) {
    errors.push({ field: 'waybill', code: 'required', message: 'waybill is required' });
  } else {
    const r = normalizeWaybill(body.waybill);
    if (r.ok) waybill = r.value;
    else pushValueError(errors, 'waybill', r.error);
  }
  const site = (field: 'origin_site' | 'dest_site'): string | undefined => {
    const v = body[field];
    if (v === undefined || v === null || v === '') {
      errors.push({ field, code: 'required', message: `${field} is required` });
      return undefined;
    }
    if (typeof v !== 'string') {
      errors.push({ field, code: 'invalid_type', message: `${field} must be a string` });
      return undefined;
    }
    if (!SITE_RE.test(v)) {
      errors.push({ field, code: 'invalid_site', message: `${field} must be a site code: letters, digits, _ . : -, at most 64` });
      return undefined;
    }
    return v;
  };
  const origin = site('origin_site');
  const dest = site('dest_site');
  const sender = validateParty(body.sender, 'sender', options, errors);
  const recipient = validateParty(body.recipient, 'recipient', options, errors);
  if (errors.length > 0 || !waybill || !origin || !dest || !sender || !recipient) {
    return { ok: false, errors };
  }
  const { name, phone, address } = recipient;
  return { ok: true, value: { waybill, origin_site: origin, dest_site: dest, sender, recipient: { name, phone, address } } };
}
