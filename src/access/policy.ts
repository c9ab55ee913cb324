/**
 * The access policy as data: which role may reveal which fields of which party, on what basis
 * of real work, for which purposes, how many records per window, and how many phone searches.
 *
 * Invariants: a request no rule covers gets no data. Defaults follow the brief (§2); a YAML or
 * JSON file can override any role's rules or quotas, and is validated key by key, including
 * rules that could only fail open (a `task` party on a basis that has no task is refused).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import YAML from 'yaml';
import { PII_FIELDS, PURPOSES, ROLES, type Role } from '../contracts/events.js';

const lit = <T extends readonly string[]>(values: T) => Type.Union(values.map((v) => Type.Literal(v)));

export const BASES = ['assignment', 'site', 'ticket', 'phone_search', 'city', 'case'] as const;
export type Basis = (typeof BASES)[number];

const RuleSchema = Type.Object(
  {
    basis: lit(BASES),
    fields: Type.Array(lit(PII_FIELDS), { minItems: 1 }),
    /** `task`: the party a courier's task concerns (delivery → recipient, pickup → sender). */
    parties: lit(['task', 'both', 'sender', 'recipient'] as const),
    purposes: Type.Array(lit(PURPOSES), { minItems: 1 }),
    /** assignment: how long after the delivered / picked-up scan the assignment still counts. */
    grace_hours: Type.Optional(Type.Number({ minimum: 0, maximum: 24 * 30 })),
    /** assignment: how long after the assignment it counts at most, delivered or not (default 72). */
    expires_hours: Type.Optional(Type.Number({ minimum: 1, maximum: 24 * 30 })),
    /** phone_search: how long a full-number search backs a reveal. */
    within_minutes: Type.Optional(Type.Number({ minimum: 1, maximum: 24 * 60 })),
  },
  { additionalProperties: false },
);

const WindowsSchema = Type.Object(
  {
    per_minute: Type.Optional(Type.Integer({ minimum: 0 })),
    per_hour: Type.Optional(Type.Integer({ minimum: 0 })),
    per_day: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  { additionalProperties: false },
);

const RoleQuotaSchema = Type.Object(
  { account: WindowsSchema, device: WindowsSchema, site: WindowsSchema },
  { additionalProperties: false },
);

/**
 * Per-viewer privacy numbers (src/trace/privacy.ts): phone reveals by these roles answer a virtual
 * number bound to (viewer, waybill); every other role keeps the real number. Off unless named.
 */
export const PrivacyNumbersSchema = Type.Object(
  {
    roles: Type.Array(lit(ROLES)),
    /** Virtual numbers: single mobile numbers or ranges "17100000000-17100000999" (≤ 100,000 in all). */
    pool: Type.Array(Type.String({ pattern: '^1[3-9][0-9]{9}(-1[3-9][0-9]{9})?$' }), { minItems: 1 }),
    /** A binding ends this long after the parcel's delivered / picked-up scan. */
    expiry_hours_after_delivery: Type.Number({ minimum: 0, maximum: 24 * 30 }),
    /** ... and at the latest this long after it was made, delivered or not. */
    max_hours: Type.Number({ minimum: 1, maximum: 24 * 60 }),
    /** A number is not given to the same viewer again until this long after its last binding ended. */
    cooldown_hours: Type.Number({ minimum: 0, maximum: 24 * 90 }),
    /** Fewer free numbers than this for a viewer raises a pool-low alert. */
    low_water: Type.Integer({ minimum: 0 }),
    /** Service accounts (the telephony platform) that may ask POST /api/v1/privacy-numbers/route. */
    telephony_accounts: Type.Array(Type.String({ minLength: 1, maxLength: 64 })),
    /** Routes per platform token per minute / hour / day (default ROUTE_LIMITS in src/trace/privacy.ts). */
    route_limits: Type.Optional(WindowsSchema),
    /** Refused routes of one platform token in an hour that raise an alert (default 50). */
    route_refusals_alert: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
);
export type PrivacyNumbers = Static<typeof PrivacyNumbersSchema>;

export const PolicySchema = Type.Object(
  {
    rules: Type.Record(lit(ROLES), Type.Array(RuleSchema)),
    quotas: Type.Record(lit(ROLES), RoleQuotaSchema),
    /** Old 15-digit ID numbers are refused unless this is on. */
    allow_15_digit_id: Type.Boolean(),
    /** Most matches a phone search returns. */
    search_limit: Type.Integer({ minimum: 1, maximum: 1000 }),
    /**
     * Most matched parcels (the newest) one search grants reveals of (basis phone_search): a search
     * is one customer's call, not everyone on a shared number (attack review 9). 0: none.
     */
    search_grant_limit: Type.Integer({ minimum: 0, maximum: 1000 }),
    /** Phone searches per account (each answers "is this a customer?" and may back reveals). */
    search_quotas: Type.Record(lit(ROLES), WindowsSchema),
    /** Per-viewer privacy numbers; absent: every phone reveal answers the real number. */
    privacy_numbers: Type.Optional(PrivacyNumbersSchema),
  },
  { additionalProperties: false },
);

export type Rule = Static<typeof RuleSchema>;
export type Windows = Static<typeof WindowsSchema>;
export type RoleQuota = Static<typeof RoleQuotaSchema>;
export type Policy = {
  rules: Record<Role, Rule[]>;
  quotas: Record<Role, RoleQuota>;
  allow_15_digit_id: boolean;
  search_limit: number;
  search_grant_limit: number;
  search_quotas: Record<Role, Windows>;
  privacy_numbers?: PrivacyNumbers;
};

/** Hours an assignment counts at most when its rule does not say (issue 7: assignments end). */
export const DEFAULT_ASSIGNMENT_EXPIRES_HOURS = 72;

const NONE: RoleQuota = { account: { per_day: 0 }, device: { per_day: 0 }, site: { per_day: 0 } };
const quota = (perMinute: number, perHour: number | undefined, perDay: number, siteFactor = 20): RoleQuota => {
  const account: Windows = { per_minute: perMinute, per_day: perDay, ...(perHour !== undefined ? { per_hour: perHour } : {}) };
  const site: Windows = { per_minute: perMinute * siteFactor, per_day: perDay * siteFactor, ...(perHour !== undefined ? { per_hour: perHour * siteFactor } : {}) };
  return { account, device: { ...account }, site };
};

export const DEFAULT_POLICY: Policy = {
  rules: {
    courier: [
      { basis: 'assignment', fields: ['name', 'phone', 'address'], parties: 'task', purposes: ['delivery', 'pickup', 'returns'], grace_hours: 24, expires_hours: DEFAULT_ASSIGNMENT_EXPIRES_HOURS },
    ],
    outlet_staff: [
      { basis: 'site', fields: ['name', 'phone'], parties: 'both', purposes: ['pickup', 'delivery', 'returns', 'customer_service', 'other'] },
    ],
    customer_service: [
      { basis: 'ticket', fields: ['name', 'phone', 'address'], parties: 'both', purposes: ['customer_service', 'returns'] },
      { basis: 'phone_search', fields: ['name', 'phone', 'address'], parties: 'both', purposes: ['customer_service', 'returns'], within_minutes: 15 },
    ],
    manager: [{ basis: 'city', fields: ['name', 'phone', 'address'], parties: 'both', purposes: ['audit'] }],
    security_analyst: [{ basis: 'case', fields: ['name', 'phone', 'address'], parties: 'both', purposes: ['audit'] }],
    sorting: [],
    it_admin: [],
    service: [],
  },
  quotas: {
    courier: quota(20, 60, 400),
    outlet_staff: quota(15, 40, 300),
    customer_service: quota(20, 60, 400),
    manager: quota(10, undefined, 50, 5),
    security_analyst: quota(20, 100, 500, 5),
    sorting: NONE,
    it_admin: NONE,
    service: NONE,
  },
  allow_15_digit_id: false,
  search_limit: 50,
  search_grant_limit: 10,
  search_quotas: {
    customer_service: { per_hour: 60, per_day: 300 },
    courier: { per_hour: 60, per_day: 300 },
    outlet_staff: { per_hour: 60, per_day: 300 },
    manager: { per_hour: 30, per_day: 100 },
    security_analyst: { per_hour: 60, per_day: 300 },
    sorting: { per_day: 0 },
    it_admin: { per_day: 0 },
    service: { per_day: 0 },
  },
};

const checker = TypeCompiler.Compile(PolicySchema);

export class PolicyError extends Error {}

/** Defaults, with a file's roles/quotas replacing the defaults role by role. */
export function loadPolicy(file?: string): Policy {
  if (!file) return DEFAULT_POLICY;
  let parsed: unknown;
  try {
    parsed = YAML.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new PolicyError(`policy file ${file}: ${(err as Error).message}`);
  }
  return mergePolicy(parsed ?? {}, file);
}

export function mergePolicy(overrides: unknown, source = 'policy'): Policy {
  if (typeof overrides !== 'object' || overrides === null || Array.isArray(overrides)) {
    throw new PolicyError(`${source}: must be a mapping with keys ${Object.keys(PolicySchema.properties).join(', ')}`);
  }
  const o = overrides as Partial<Record<string, unknown>>;
  const unknownKeys = Object.keys(o).filter((k) => !(k in PolicySchema.properties));
  if (unknownKeys.length) throw new PolicyError(`${source}: unknown key(s) ${unknownKeys.join(', ')}`);
  for (const section of ['rules', 'quotas', 'search_quotas'] as const) {
    const given = o[section];
    if (given === undefined) continue;
    if (typeof given !== 'object' || given === null || Array.isArray(given)) throw new PolicyError(`${source}: ${section} must be a mapping of role to settings`);
    const unknownRoles = Object.keys(given).filter((r) => !(ROLES as readonly string[]).includes(r));
    if (unknownRoles.length) throw new PolicyError(`${source}: unknown role(s) ${unknownRoles.join(', ')} under ${section} (roles: ${ROLES.join(', ')})`);
  }
  const merged = {
    rules: { ...DEFAULT_POLICY.rules, ...(o.rules as object | undefined) },
    quotas: { ...DEFAULT_POLICY.quotas, ...(o.quotas as object | undefined) },
    allow_15_digit_id: o.allow_15_digit_id ?? DEFAULT_POLICY.allow_15_digit_id,
    search_limit: o.search_limit ?? DEFAULT_POLICY.search_limit,
    search_grant_limit: o.search_grant_limit ?? DEFAULT_POLICY.search_grant_limit,
    search_quotas: { ...DEFAULT_POLICY.search_quotas, ...(o.search_quotas as object | undefined) },
    ...(o.privacy_numbers !== undefined ? { privacy_numbers: o.privacy_numbers } : {}),
  };
  if (!checker.Check(merged)) {
    const problems = [...checker.Errors(merged)].slice(0, 10).map((e) => `${e.path.replace(/^\//, '').replace(/\//g, '.')}: ${e.message}`);
    throw new PolicyError(`${source}: ${[...new Set(problems)].join('; ')}`);
  }
  const misplaced = ruleProblems(merged as Policy);
  if (misplaced.length) throw new PolicyError(`${source}: ${misplaced.slice(0, 10).join('; ')}`);
  return merged as Policy;
}

/** Options that belong to one basis: elsewhere they would be ignored, or (a task party) fail open. */
const BASIS_OPTIONS: Record<string, Basis> = { grace_hours: 'assignment', expires_hours: 'assignment', within_minutes: 'phone_search' };

function ruleProblems(policy: Policy): string[] {
  const problems: string[] = [];
  for (const [role, rules] of Object.entries(policy.rules)) {
    rules.forEach((r, i) => {
      const at = `rules.${role}.${i}`;
      if (r.parties === 'task' && r.basis !== 'assignment') {
        problems.push(`${at}.parties: "task" needs basis assignment (a ${r.basis} has no task; name sender, recipient or both)`);
      }
      for (const [option, basis] of Object.entries(BASIS_OPTIONS)) {
        if (option in r && r.basis !== basis) problems.push(`${at}.${option}: applies only to basis ${basis}`);
      }
    });
  }
  return problems;
}

/** The policy in force, as a stable hash (keys sorted): what `policy.loaded` records. */
export function policyHash(policy: Policy): string {
  return createHash('sha256').update(canonical(policy)).digest('hex');
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}
