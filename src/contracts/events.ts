/**
 * Activity-event contract, version 1 (../shared/contracts/events.md).
 *
 * This is a public contract: other teams write producers for it. Extend it compatibly
 * (new optional fields, new enum members only with a version note), never break it.
 * Unknown fields are accepted, so parsing never refuses or strips them; what Warden stores and
 * publishes carries only the contract's fields and the documented extensions (contractFieldsOnly,
 * docs/contract-extensions.md 1.2): anything else could be plaintext PII or junk.
 */
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { isValidEvent } from './fast-validate.js';
import { eventIdentifierProblem, identifierRule } from './identifiers.js';
import { eventFieldRuleProblem } from './field-rules.js';

export const ROLES = [
  'courier',
  'outlet_staff',
  'sorting',
  'customer_service',
  'manager',
  'it_admin',
  'security_analyst',
  'service',
] as const;
export type Role = (typeof ROLES)[number];

export const EVENT_TYPES = ['login', 'logout', 'waybill', 'assign', 'ticket', 'scan', 'access'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const ACCESS_ACTIONS = ['view', 'reveal', 'search', 'export', 'print'] as const;
export type AccessAction = (typeof ACCESS_ACTIONS)[number];

export const PII_FIELDS = ['name', 'phone', 'address', 'id_number'] as const;
export type PiiField = (typeof PII_FIELDS)[number];

/** The people on a waybill: a reveal's `parties` (extension 1.4) names which of them it showed. */
export const REVEAL_PARTIES = ['sender', 'recipient'] as const;
export type RevealParty = (typeof REVEAL_PARTIES)[number];

/**
 * The parties whose fields a list of qualified fields (`recipient.phone`) names, in contract
 * order, each once: how many people a reveal shows (attack review 10: sender and recipient are two).
 */
export function partiesOf(fields: readonly string[]): RevealParty[] {
  return REVEAL_PARTIES.filter((p) => fields.some((f) => f.startsWith(`${p}.`)));
}

export const PURPOSES = ['delivery', 'pickup', 'customer_service', 'returns', 'audit', 'other'] as const;
export type Purpose = (typeof PURPOSES)[number];

export const SCAN_OPS = ['pickup', 'arrive', 'depart', 'out_for_delivery', 'delivered'] as const;
export type ScanOp = (typeof SCAN_OPS)[number];

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** ISO-8601 UTC with milliseconds, as the contract requires; seconds-only and offsets are accepted too. */
const ISO_UTC = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?(Z|[+-]\\d{2}:\\d{2})$';

const literalUnion = <T extends readonly string[]>(values: T) =>
  Type.Union(values.map((v) => Type.Literal(v)) as never) as unknown as ReturnType<typeof Type.String>;

const Common = {
  id: Type.String({ minLength: 1, maxLength: 200 }),
  ts: Type.String({ pattern: ISO_UTC }),
  account: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  role: Type.Optional(Type.String({ maxLength: 64 })),
  site: Type.Optional(Type.String({ maxLength: 200 })),
  device: Type.Optional(Type.String({ maxLength: 200 })),
  ip: Type.Optional(Type.String({ maxLength: 64 })),
  city: Type.Optional(Type.String({ maxLength: 200 })),
  session: Type.Optional(Type.String({ maxLength: 200 })),
};
const open = { additionalProperties: true } as const;
const withAccount = { ...Common, account: Type.String({ minLength: 1, maxLength: 200 }) };

export const LoginEvent = Type.Object(
  {
    ...withAccount,
    type: Type.Literal('login'),
    result: literalUnion(['success', 'failure'] as const),
    mfa: Type.Optional(Type.Boolean()),
    app_hash: Type.Optional(Type.String({ maxLength: 200 })),
  },
  open,
);
export const LogoutEvent = Type.Object({ ...withAccount, type: Type.Literal('logout') }, open);
export const WaybillEvent = Type.Object(
  {
    ...Common,
    type: Type.Literal('waybill'),
    waybill: Type.String({ minLength: 1, maxLength: 64 }),
    origin_site: Type.Optional(Type.String({ maxLength: 200 })),
    dest_site: Type.Optional(Type.String({ maxLength: 200 })),
    dest_city: Type.Optional(Type.String({ maxLength: 200 })),
  },
  open,
);
export const AssignEvent = Type.Object(
  {
    ...withAccount,
    type: Type.Literal('assign'),
    waybill: Type.String({ minLength: 1, maxLength: 64 }),
    task: literalUnion(['pickup', 'delivery'] as const),
  },
  open,
);
export const TicketEvent = Type.Object(
  {
    ...withAccount,
    type: Type.Literal('ticket'),
    ticket: Type.String({ minLength: 1, maxLength: 200 }),
    waybill: Type.Optional(Type.String({ maxLength: 64 })),
    status: literalUnion(['open', 'closed'] as const),
  },
  open,
);
export const ScanEvent = Type.Object(
  {
    ...Common,
    type: Type.Literal('scan'),
    waybill: Type.String({ minLength: 1, maxLength: 64 }),
    op: literalUnion(SCAN_OPS),
  },
  open,
);
export const AccessEvent = Type.Object(
  {
    ...withAccount,
    type: Type.Literal('access'),
    action: literalUnion(ACCESS_ACTIONS),
    waybill: Type.Optional(Type.String({ maxLength: 64 })),
    waybills: Type.Optional(Type.Array(Type.String({ maxLength: 64 }))),
    fields: Type.Optional(Type.Array(literalUnion(PII_FIELDS))),
    /** Extension 1.4 (docs/contract-extensions.md): whose fields `fields` are; absent = not said. */
    parties: Type.Optional(Type.Array(literalUnion(REVEAL_PARTIES), { maxItems: 2 })),
    purpose: Type.Optional(literalUnion(PURPOSES)),
    ticket: Type.Optional(Type.String({ maxLength: 200 })),
    result: Type.Optional(literalUnion(['allowed', 'denied'] as const)),
  },
  open,
);

export type LoginEvent = Static<typeof LoginEvent> & { result: 'success' | 'failure' };
export type LogoutEvent = Static<typeof LogoutEvent>;
export type WaybillEvent = Static<typeof WaybillEvent>;
export type AssignEvent = Static<typeof AssignEvent> & { task: 'pickup' | 'delivery' };
export type TicketEvent = Static<typeof TicketEvent> & { status: 'open' | 'closed' };
export type ScanEvent = Static<typeof ScanEvent> & { op: ScanOp };
export type AccessEvent = Static<typeof AccessEvent> & {
  action: AccessAction;
  fields?: PiiField[];
  parties?: RevealParty[];
  purpose?: Purpose;
  result?: 'allowed' | 'denied';
};
/**
 * Set by Warden, never taken from a producer (a sender's own values are overwritten), on every
 * event it stores or publishes: contract extension 1.1, docs/contract-extensions.md.
 */
export interface Provenance {
  /** Who produced it: `warden` (the gateway's own trail), `token:<id>`, `admin`, `account:<id>`. */
  producer?: string;
  /** Imported history (POST /api/v1/events?mode=backfill), not live activity. */
  backfill?: boolean;
}

export type ActivityEvent = (
  | LoginEvent
  | LogoutEvent
  | WaybillEvent
  | AssignEvent
  | TicketEvent
  | ScanEvent
  | AccessEvent
) & Provenance;

const schemas = { login: LoginEvent, logout: LogoutEvent, waybill: WaybillEvent, assign: AssignEvent, ticket: TicketEvent, scan: ScanEvent, access: AccessEvent } satisfies Record<EventType, { properties: object }>;

/** Warden's own fields on every event it stores or publishes (extension 1.1, Provenance). */
export const PROVENANCE_FIELDS = ['producer', 'backfill'] as const;

/** Per type: the fields Warden stores and publishes (the schema's, then the provenance fields). */
export const KNOWN_FIELDS: Readonly<Record<EventType, ReadonlySet<string>>> = Object.fromEntries(
  EVENT_TYPES.map((t) => [t, new Set([...Object.keys(schemas[t].properties), ...PROVENANCE_FIELDS])]),
) as unknown as Record<EventType, ReadonlySet<string>>;

/**
 * A valid event with only its known fields, and how many others it carried (dropped). The same
 * object when nothing is dropped; a new one otherwise (so `__proto__` and the like never land).
 */
export function contractFieldsOnly(e: ActivityEvent): { event: ActivityEvent; dropped: number } {
  const known = KNOWN_FIELDS[e.type];
  const keys = Object.keys(e);
  let dropped = 0;
  for (const k of keys) if (!known.has(k)) dropped++;
  if (dropped === 0) return { event: e, dropped };
  const out: Record<string, unknown> = {};
  for (const k of keys) if (known.has(k)) out[k] = (e as unknown as Record<string, unknown>)[k];
  return { event: out as unknown as ActivityEvent, dropped };
}

const checkers = {
  login: TypeCompiler.Compile(LoginEvent),
  logout: TypeCompiler.Compile(LogoutEvent),
  waybill: TypeCompiler.Compile(WaybillEvent),
  assign: TypeCompiler.Compile(AssignEvent),
  ticket: TypeCompiler.Compile(TicketEvent),
  scan: TypeCompiler.Compile(ScanEvent),
  access: TypeCompiler.Compile(AccessEvent),
} satisfies Record<EventType, unknown>;

/**
 * A refusal's `code` is set where it is more precise than "not a contract event": a waybill,
 * ticket, `app_hash` or site field that is no identifier (`bad_identifier`), a `role`, `ip` or
 * city that is not one (`bad_field`, ./field-rules.ts).
 */
export type ParseResult = { ok: true; event: ActivityEvent } | { ok: false; reason: string; code?: 'bad_identifier' | 'bad_field' };

/**
 * Validates an already-parsed JSON value against the contract, its waybill and ticket fields as
 * identifiers (./identifiers.ts), its role, ip, city, app_hash and routing fields by their rules
 * (./field-rules.ts); the reason names the offending field, never its value.
 * A hand-written check (`./fast-validate.ts`, property-tested to decide exactly as the schemas do)
 * accepts valid events; anything it does not accept goes through the schemas, which decide and
 * explain.
 */
export function validateEvent(value: unknown): ParseResult {
  if (isValidEvent(value)) return { ok: true, event: value as ActivityEvent };
  return validateWithSchema(value);
}

/** The schema (TypeBox) path of validateEvent: the reference decision, and the reasons. */
function validateWithSchema(value: unknown): ParseResult {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, reason: 'not a JSON object' };
  }
  const type = (value as { type?: unknown }).type;
  if (typeof type !== 'string') return { ok: false, reason: 'missing required field "type"' };
  const checker = (checkers as Record<string, (typeof checkers)[EventType]>)[type];
  if (!checker) return { ok: false, reason: `unknown event type "${type.slice(0, 40)}"` };
  if (checker.Check(value)) {
    if (Number.isNaN(Date.parse((value as { ts: string }).ts))) {
      return { ok: false, reason: 'field "ts" is not a valid date' };
    }
    // Waybills and tickets land in the trail, the bus and the SIEM: identifiers, never free text (the value is not repeated).
    const bad = eventIdentifierProblem(value as Record<string, unknown>);
    if (bad) return { ok: false, code: 'bad_identifier', reason: `field "${bad.field}": bad_identifier: ${identifierRule(bad.problem, bad.max)}` };
    // Roles, addresses, cities, build hashes and routing sites say what they are (attack review 10): never free text.
    const wrong = eventFieldRuleProblem(value as Record<string, unknown>);
    if (wrong) return { ok: false, code: wrong.code, reason: `field "${wrong.field}": ${wrong.code}: ${wrong.rule}` };
    return { ok: true, event: value as ActivityEvent };
  }
  const first = checker.Errors(value).First();
  const path = first?.path ? first.path.replace(/^\//, '').replace(/\//g, '.') : '';
  if (first && first.value === undefined && path) {
    return { ok: false, reason: `missing required field "${path}"` };
  }
  return { ok: false, reason: path ? `field "${path}": ${first?.message ?? 'invalid'}` : (first?.message ?? 'invalid event') };
}

/** Parses one NDJSON line. Blank lines are the caller's to skip. */
export function parseEventLine(line: string): ParseResult {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    return { ok: false, reason: `invalid JSON: ${(err as Error).message.slice(0, 120)}` };
  }
  return validateEvent(value);
}

/** Event time in epoch milliseconds. */
export const eventTime = (e: { ts: string }): number => Date.parse(e.ts);

/** Alert (detector output), contract section "Alerts (output)". */
export interface Alert {
  id: string;
  ts: string;
  account?: string;
  device?: string;
  detector: string;
  severity: Severity;
  score: number;
  summary: string;
  evidence: Record<string, unknown>;
  [extra: string]: unknown;
}
