/**
 * Loading the access policy: defaults from the brief; a YAML/JSON file replaces a role's rules
 * or quotas wholesale and leaves other roles alone; anything it does not understand stops the
 * start, naming the bad key.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_POLICY, loadPolicy, mergePolicy, policyHash, PolicyError } from './policy.js';

const dir = mkdtempSync(join(process.env.WARDEN_TEST_TMP ?? tmpdir(), 'policy-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function file(text: string, ext = 'yaml'): string {
  const p = join(dir, `p${n++}.${ext}`);
  writeFileSync(p, text);
  return p;
}
function loadError(text: string, ext = 'yaml'): PolicyError {
  const p = file(text, ext);
  try {
    loadPolicy(p);
  } catch (err) {
    expect(err).toBeInstanceOf(PolicyError);
    return err as PolicyError;
  }
  throw new Error('expected the policy to be refused');
}

describe('defaults', () => {
  it('are the brief\'s: work-bound roles reveal, sorting / IT / service reveal nothing, no rule grants an ID number', () => {
    const p = loadPolicy();
    expect(p).toBe(DEFAULT_POLICY);
    expect(p.rules.courier).toEqual([expect.objectContaining({ basis: 'assignment', parties: 'task', grace_hours: 24 })]);
    expect(p.rules.outlet_staff[0]!.fields).toEqual(['name', 'phone']);
    expect(p.rules.customer_service.map((r) => r.basis)).toEqual(['ticket', 'phone_search']);
    expect(p.rules.manager).toEqual([expect.objectContaining({ basis: 'city', purposes: ['audit'] })]);
    for (const role of ['sorting', 'it_admin', 'service'] as const) expect(p.rules[role]).toEqual([]);
    for (const rules of Object.values(p.rules)) for (const r of rules) expect(r.fields).not.toContain('id_number');
    expect(p.quotas.courier.account).toEqual({ per_minute: 20, per_hour: 60, per_day: 400 });
    expect(p.quotas.outlet_staff.account).toEqual({ per_minute: 15, per_hour: 40, per_day: 300 });
    expect(p.quotas.manager.account).toEqual({ per_minute: 10, per_day: 50 });
    expect(p.quotas.courier.site).toEqual({ per_minute: 400, per_hour: 1200, per_day: 8000 });
  });

  it('assignments expire 72 h after they are made; customer-service agents search 60 an hour, 300 a day', () => {
    expect(DEFAULT_POLICY.rules.courier[0]!.expires_hours).toBe(72);
    expect(DEFAULT_POLICY.search_quotas.customer_service).toEqual({ per_hour: 60, per_day: 300 });
    for (const role of ['sorting', 'it_admin', 'service'] as const) expect(DEFAULT_POLICY.search_quotas[role]).toEqual({ per_day: 0 });
  });
});

describe('rules that could only fail open are refused', () => {
  it('a task party on a basis other than assignment', () => {
    for (const basis of ['site', 'ticket', 'phone_search', 'city', 'case']) {
      expect(() => mergePolicy({ rules: { outlet_staff: [{ basis, fields: ['name'], parties: 'task', purposes: ['pickup'] }] } })).toThrow(/rules\.outlet_staff\.0\.parties: "task" needs basis assignment/);
    }
    expect(mergePolicy({ rules: { courier: [{ basis: 'assignment', fields: ['name'], parties: 'task', purposes: ['delivery'] }] } }).rules.courier[0]!.parties).toBe('task');
  });

  it('an option of one basis written on another (it would be ignored)', () => {
    expect(() => mergePolicy({ rules: { outlet_staff: [{ basis: 'site', fields: ['name'], parties: 'both', purposes: ['pickup'], expires_hours: 4 }] } })).toThrow(/expires_hours: applies only to basis assignment/);
    expect(() => mergePolicy({ rules: { courier: [{ basis: 'assignment', fields: ['name'], parties: 'task', purposes: ['delivery'], within_minutes: 5 }] } })).toThrow(/within_minutes: applies only to basis phone_search/);
  });
});

describe('search quotas and the policy hash', () => {
  it('a role under search_quotas replaces that role\'s; an unknown role or window is refused', () => {
    const p = mergePolicy({ search_quotas: { customer_service: { per_hour: 5 } } });
    expect(p.search_quotas.customer_service).toEqual({ per_hour: 5 });
    expect(p.search_quotas.courier).toEqual(DEFAULT_POLICY.search_quotas.courier);
    expect(() => mergePolicy({ search_quotas: { agents: { per_hour: 5 } } })).toThrow(/agents/);
    expect(() => mergePolicy({ search_quotas: { customer_service: { per_week: 5 } } })).toThrow(/search_quotas\.customer_service\.per_week/);
  });

  it('search_grant_limit: 10 by default, overridable (0 grants nothing), bounded (attack review 9)', () => {
    expect(DEFAULT_POLICY.search_grant_limit).toBe(10);
    expect(mergePolicy({ search_grant_limit: 3 }).search_grant_limit).toBe(3);
    expect(mergePolicy({ search_grant_limit: 0 }).search_grant_limit).toBe(0);
    expect(() => mergePolicy({ search_grant_limit: -1 })).toThrow(/search_grant_limit/);
    expect(() => mergePolicy({ search_grant_limit: 2.5 })).toThrow(/search_grant_limit/);
    expect(policyHash(mergePolicy({ search_grant_limit: 3 }))).not.toBe(policyHash(DEFAULT_POLICY));
  });

  it('the hash is the same for the same policy whatever the key order, and moves with any change', () => {
    const a = mergePolicy({ search_limit: 20, allow_15_digit_id: true });
    const b = mergePolicy({ allow_15_digit_id: true, search_limit: 20 });
    expect(policyHash(a)).toBe(policyHash(b));
    expect(policyHash(a)).not.toBe(policyHash(DEFAULT_POLICY));
    expect(policyHash(mergePolicy({}))).toBe(policyHash(DEFAULT_POLICY));
    expect(policyHash(mergePolicy({ search_quotas: { courier: { per_hour: 59, per_day: 300 } } }))).not.toBe(policyHash(DEFAULT_POLICY));
  });
});

describe('overrides', () => {
  it('a role under rules replaces that role entirely; the others keep their defaults', () => {
    const p = loadPolicy(
      file(`
rules:
  outlet_staff:
    - { basis: site, fields: [name, phone, address], parties: both, purposes: [pickup, returns] }
`),
    );
    expect(p.rules.outlet_staff).toEqual([{ basis: 'site', fields: ['name', 'phone', 'address'], parties: 'both', purposes: ['pickup', 'returns'] }]);
    expect(p.rules.courier).toEqual(DEFAULT_POLICY.rules.courier);
    expect(p.rules.customer_service).toEqual(DEFAULT_POLICY.rules.customer_service);
    expect(p.quotas).toEqual(DEFAULT_POLICY.quotas);
  });

  it('an empty list takes every right away from a role', () => {
    const p = loadPolicy(file('rules:\n  manager: []\n'));
    expect(p.rules.manager).toEqual([]);
    expect(p.rules.courier).toEqual(DEFAULT_POLICY.rules.courier);
  });

  it('a role under quotas replaces that role\'s quotas (the documented example)', () => {
    const p = loadPolicy(
      file(`
quotas:
  courier:
    account: { per_minute: 10, per_hour: 60, per_day: 300 }
    device:  { per_minute: 10, per_hour: 60, per_day: 300 }
    site:    { per_hour: 2000 }
`),
    );
    expect(p.quotas.courier).toEqual({ account: { per_minute: 10, per_hour: 60, per_day: 300 }, device: { per_minute: 10, per_hour: 60, per_day: 300 }, site: { per_hour: 2000 } });
    expect(p.quotas.outlet_staff).toEqual(DEFAULT_POLICY.quotas.outlet_staff);
  });

  it('reads JSON too, and the scalar keys', () => {
    const p = loadPolicy(file(JSON.stringify({ allow_15_digit_id: true, search_limit: 7 }), 'json'));
    expect(p.allow_15_digit_id).toBe(true);
    expect(p.search_limit).toBe(7);
    expect(p.rules).toEqual(DEFAULT_POLICY.rules);
  });

  it('an empty file is the defaults', () => {
    expect(loadPolicy(file(''))).toEqual(DEFAULT_POLICY);
  });

  it('may grant an ID number when written explicitly', () => {
    const p = mergePolicy({ rules: { security_analyst: [{ basis: 'case', fields: ['id_number'], parties: 'sender', purposes: ['audit'] }] } });
    expect(p.rules.security_analyst[0]!.fields).toEqual(['id_number']);
  });
});

describe('refusals name the bad key', () => {
  it('an unknown top-level key', () => {
    const e = loadError('quota:\n  courier: {}\n');
    expect(e.message).toMatch(/unknown key\(s\) quota/);
  });

  it('a bad field name in a rule', () => {
    const e = loadError('rules:\n  courier:\n    - { basis: assignment, fields: [name, iban], parties: task, purposes: [delivery] }\n');
    expect(e.message).toContain('rules.courier.0.fields.1');
  });

  it('a misspelt rule key', () => {
    const e = loadError('rules:\n  courier:\n    - { basis: assignment, fields: [name], parties: task, purposes: [delivery], grace_hour: 2 }\n');
    expect(e.message).toContain('rules.courier.0.grace_hour');
  });

  it('an unknown basis or purpose', () => {
    expect(loadError('rules:\n  courier:\n    - { basis: friendship, fields: [name], parties: task, purposes: [delivery] }\n').message).toContain('rules.courier.0.basis');
    expect(loadError('rules:\n  courier:\n    - { basis: assignment, fields: [name], parties: task, purposes: [curiosity] }\n').message).toContain('rules.courier.0.purposes.0');
  });

  it('a quota window that does not exist, or a role quota missing a scope', () => {
    expect(loadError('quotas:\n  courier:\n    account: { per_week: 5 }\n    device: {}\n    site: {}\n').message).toContain('quotas.courier.account.per_week');
    expect(loadError('quotas:\n  courier:\n    account: { per_day: 5 }\n').message).toContain('quotas.courier.device');
    expect(loadError('quotas:\n  courier:\n    account: { per_day: -1 }\n    device: {}\n    site: {}\n').message).toContain('quotas.courier.account.per_day');
  });

  it('the file itself is named, and broken YAML is refused', () => {
    const p = file('rules: [unclosed\n');
    expect(() => loadPolicy(p)).toThrow(PolicyError);
    expect(() => loadPolicy(p)).toThrow(p);
    expect(() => mergePolicy(['not', 'a', 'mapping'])).toThrow(/must be a mapping/);
  });

  // Regression, fixed (src/access/policy.ts, PolicySchema / mergePolicy): `Type.Record(lit(ROLES), …)` lets
  // unknown keys through, so a misspelt role under `rules` or `quotas` (`couriers:`,
  // `outlet-staff:`) is silently ignored and the defaults stay in force — the operator
  // believes a restriction applies that does not. Fix: in mergePolicy, reject keys of
  // o.rules / o.quotas that are not in ROLES ("unknown role(s) couriers under rules"), or give
  // both records `{ additionalProperties: false }`.
  it('a misspelt role under rules or quotas', () => {
    expect(() => mergePolicy({ rules: { couriers: [] } })).toThrow(/couriers/);
    expect(() => mergePolicy({ quotas: { 'outlet-staff': { account: { per_day: 1 }, device: { per_day: 1 }, site: { per_day: 1 } } } })).toThrow(/outlet-staff/);
  });
});
