/**
 * evaluateReveal: a reveal is allowed only when rules of the caller's role whose basis holds
 * and whose purposes include the declared one grant every requested field. No rule → no data.
 * Assignments end (expiry, grace, reassignment); a search backs only the party it matched; a
 * case backs a reveal only when open, not about the revealer, and covering the waybill.
 */
import { describe, expect, it } from 'vitest';
import { evaluateReveal, type Decision, type RevealRequest, type RevealSubject } from './evaluate.js';
import { DEFAULT_POLICY, mergePolicy, type Policy } from './policy.js';
import type { CaseStanding, WorkOn } from './work-context.js';
import type { PartyName, QualifiedField, Routing } from '../vault/vault.js';
import type { Purpose } from '../contracts/events.js';

const NOW = Date.parse('2026-03-02T08:00:00Z');
const H = 3_600_000;
const WB: Routing = { waybill: 'SF100000000001', origin_site: 'OUT-SH-1', dest_site: 'OUT-BJ-1', origin_city: '上海', dest_city: '北京' };

/** The whole company's work; `decide` hands the evaluator the asking account's part, as the work context does. */
interface FakeWork {
  assignments?: Array<{ account: string; waybill: string; task: 'pickup' | 'delivery'; assigned_at: Date; completed_at: Date | null; ended_at?: Date | null }>;
  tickets?: Array<{ account: string; waybill: string; ticket: string }>;
  searches?: Array<{ account: string; waybill: string; at: Date; party?: PartyName }>;
  case?: CaseStanding;
}
const work = (w: FakeWork = {}): FakeWork => w;
const t = (d: Date | null | undefined) => (d ? d.getTime() : null);
function workOn(w: FakeWork, account: string, waybill: string): WorkOn {
  return {
    assignments: (w.assignments ?? []).filter((a) => a.account === account && a.waybill === waybill).map((a) => ({ task: a.task, assignedAt: a.assigned_at.getTime(), completedAt: t(a.completed_at), endedAt: t(a.ended_at) })),
    openTickets: (w.tickets ?? []).filter((x) => x.account === account && x.waybill === waybill).map((x) => x.ticket),
    searches: (w.searches ?? []).filter((x) => x.account === account && x.waybill === waybill).map((x) => ({ party: x.party ?? 'recipient', grantedAt: x.at.getTime() })),
    case: w.case ?? null,
  };
}

const who = (account: string, role: RevealSubject['role'], site: string | null = null, siteCity: string | null = null): RevealSubject => ({ account, role, site, siteCity });
const ask = (fields: string[], purpose: Purpose, extra: Partial<RevealRequest> = {}): RevealRequest => ({ routing: WB, fields: fields as QualifiedField[], purpose, ...extra });
const decide = (subject: RevealSubject, req: RevealRequest, w: FakeWork = work(), policy: Policy = DEFAULT_POLICY, now = NOW) =>
  evaluateReveal(policy, subject, req, workOn(w, subject.account, req.routing.waybill), now);
const OPEN_CASE: CaseStanding = { status: 'open', openedBy: 'sa2', approvedBy: 'sa3', namesRevealer: false, covers: true };
const code = (d: Decision) => (d.allowed ? 'allowed' : d.code);

const delivery = (account: string, completedHoursAgo: number | null = null, assignedHoursAgo = 5) => ({
  account,
  waybill: WB.waybill,
  task: 'delivery' as const,
  assigned_at: new Date(NOW - assignedHoursAgo * H),
  completed_at: completedHoursAgo === null ? null : new Date(NOW - completedHoursAgo * H),
});

describe('no rule matched means no data', () => {
  it.each(['sorting', 'it_admin', 'service'] as const)('%s: role_not_permitted, whatever the work context', async (role) => {
    const w = work({ assignments: [{ ...delivery('x1') }], tickets: [{ account: 'x1', waybill: WB.waybill, ticket: 'T1' }] });
    const d = await decide(who('x1', role, 'OUT-BJ-1', '北京'), ask(['recipient.phone'], 'delivery', { ticket: 'T1' }), w);
    expect(code(d)).toBe('role_not_permitted');
  });

  it('a role whose rules a policy file emptied: role_not_permitted; the default for that role allows', async () => {
    const w = work({ assignments: [delivery('c1')] });
    expect(code(await decide(who('c1', 'courier'), ask(['recipient.phone'], 'delivery'), w))).toBe('allowed');
    const noCouriers = mergePolicy({ rules: { courier: [] } });
    expect(code(await decide(who('c1', 'courier'), ask(['recipient.phone'], 'delivery'), w, noCouriers))).toBe('role_not_permitted');
  });

  it('a role with rules but no basis holding: no_work_context', async () => {
    expect(code(await decide(who('c1', 'courier'), ask(['recipient.phone'], 'delivery')))).toBe('no_work_context');
    expect(code(await decide(who('cs1', 'customer_service'), ask(['recipient.phone'], 'customer_service')))).toBe('no_work_context');
  });
});

describe('purpose', () => {
  it('manager in their city: audit allowed, delivery refused', async () => {
    const m = who('m1', 'manager', 'HQ-BJ', '北京');
    expect(code(await decide(m, ask(['recipient.phone'], 'audit')))).toBe('allowed');
    const d = await decide(m, ask(['recipient.phone'], 'delivery'));
    expect(code(d)).toBe('purpose_not_allowed');
    expect(d.allowed ? '' : d.message).toContain('delivery');
  });

  it('courier: delivery allowed, customer_service refused', async () => {
    const w = work({ assignments: [delivery('c1')] });
    expect(code(await decide(who('c1', 'courier'), ask(['recipient.name'], 'delivery'), w))).toBe('allowed');
    expect(code(await decide(who('c1', 'courier'), ask(['recipient.name'], 'customer_service'), w))).toBe('purpose_not_allowed');
  });

  it('no basis wins over a wrong purpose (the caller learns nothing about the rules)', async () => {
    expect(code(await decide(who('m1', 'manager', 'HQ-GZ', '广州'), ask(['recipient.phone'], 'delivery')))).toBe('no_work_context');
  });
});

describe('fields', () => {
  it('outlet staff: name and phone granted, address refused', async () => {
    const o = who('o1', 'outlet_staff', 'OUT-BJ-1', '北京');
    expect(code(await decide(o, ask(['recipient.name', 'recipient.phone', 'sender.phone'], 'pickup')))).toBe('allowed');
    const d = await decide(o, ask(['recipient.phone', 'recipient.address'], 'pickup'));
    expect(code(d)).toBe('field_not_allowed');
    expect(d.allowed ? '' : d.message).toContain('recipient.address');
    expect(d.allowed ? '' : d.message).not.toContain('recipient.phone');
  });

  it('courier on a delivery: the recipient, not the sender', async () => {
    const w = work({ assignments: [delivery('c1')] });
    expect(code(await decide(who('c1', 'courier'), ask(['recipient.phone', 'recipient.address'], 'delivery'), w))).toBe('allowed');
    expect(code(await decide(who('c1', 'courier'), ask(['sender.phone'], 'delivery'), w))).toBe('field_not_allowed');
  });

  it('courier with a pickup and a delivery of the same parcel: both parties', async () => {
    const w = work({ assignments: [delivery('c1'), { ...delivery('c1'), task: 'pickup' }] });
    const d = await decide(who('c1', 'courier'), ask(['recipient.phone', 'sender.phone'], 'pickup'), w);
    expect(code(d)).toBe('allowed');
  });

  it('ID numbers: granted by no default rule, granted when a policy says so', async () => {
    const sa = who('sa1', 'security_analyst');
    const w = work({ case: OPEN_CASE });
    expect(code(await decide(sa, ask(['sender.id_number'], 'audit', { caseRef: 'CASE-1' }), w))).toBe('field_not_allowed');
    const p = mergePolicy({ rules: { security_analyst: [{ basis: 'case', fields: ['name', 'id_number'], parties: 'sender', purposes: ['audit'] }] } });
    expect(code(await decide(sa, ask(['sender.id_number'], 'audit', { caseRef: 'CASE-1' }), w, p))).toBe('allowed');
    expect(code(await decide(sa, ask(['recipient.id_number'], 'audit', { caseRef: 'CASE-1' }), w, p))).toBe('field_not_allowed');
  });
});

describe('union of rules', () => {
  // Customer service where a ticket grants name and phone, and a recent search grants the address.
  const split = mergePolicy({
    rules: {
      customer_service: [
        { basis: 'ticket', fields: ['name', 'phone'], parties: 'both', purposes: ['customer_service'] },
        { basis: 'phone_search', fields: ['address'], parties: 'recipient', purposes: ['customer_service', 'returns'], within_minutes: 15 },
      ],
    },
  });
  const cs = who('cs1', 'customer_service', 'CS-SH', '上海');
  const ticket = { account: 'cs1', waybill: WB.waybill, ticket: 'T-7' };
  const search = { account: 'cs1', waybill: WB.waybill, at: new Date(NOW - 5 * 60_000) };

  it('grants the fields of every rule that holds', async () => {
    const d = await decide(cs, ask(['recipient.name', 'recipient.phone', 'recipient.address'], 'customer_service'), work({ tickets: [ticket], searches: [search] }), split);
    expect(d.allowed).toBe(true);
    if (d.allowed) {
      expect(d.bases).toEqual(['ticket', 'phone_search']);
      expect([...d.grants.get('recipient')!].sort()).toEqual(['address', 'name', 'phone']);
      expect([...d.grants.get('sender')!].sort()).toEqual(['name', 'phone']);
    }
  });

  it('only the holding rule counts: with the ticket alone the address is refused', async () => {
    const w = work({ tickets: [ticket] });
    expect(code(await decide(cs, ask(['recipient.name'], 'customer_service'), w, split))).toBe('allowed');
    expect(code(await decide(cs, ask(['recipient.name', 'recipient.address'], 'customer_service'), w, split))).toBe('field_not_allowed');
  });

  it('a rule whose purpose does not fit adds nothing: for returns the ticket rule grants no name', async () => {
    const w = work({ tickets: [ticket], searches: [search] });
    expect(code(await decide(cs, ask(['recipient.address'], 'returns'), w, split))).toBe('allowed');
    expect(code(await decide(cs, ask(['recipient.address', 'recipient.name'], 'returns'), w, split))).toBe('field_not_allowed');
  });

  it('a party limit in one rule holds even when another rule covers the field elsewhere', async () => {
    const w = work({ searches: [search] });
    expect(code(await decide(cs, ask(['sender.address'], 'customer_service'), w, split))).toBe('field_not_allowed');
  });
});

describe('bases', () => {
  const c1 = who('c1', 'courier', 'OUT-BJ-1', '北京');

  it('assignment: live until 24 h after the delivered scan, not after', async () => {
    expect(code(await decide(c1, ask(['recipient.phone'], 'delivery'), work({ assignments: [delivery('c1', 23.9)] })))).toBe('allowed');
    expect(code(await decide(c1, ask(['recipient.phone'], 'delivery'), work({ assignments: [delivery('c1', 24.1)] })))).toBe('no_work_context');
  });

  it('assignment: the grace period follows the policy', async () => {
    const p = mergePolicy({ rules: { courier: [{ ...DEFAULT_POLICY.rules.courier[0]!, grace_hours: 2 }] } });
    expect(code(await decide(c1, ask(['recipient.phone'], 'delivery'), work({ assignments: [delivery('c1', 1.5)] }), p))).toBe('allowed');
    expect(code(await decide(c1, ask(['recipient.phone'], 'delivery'), work({ assignments: [delivery('c1', 3)] }), p))).toBe('no_work_context');
  });

  it('assignment: one dated in the future does not count yet (a minute of clock skew does)', async () => {
    expect(code(await decide(c1, ask(['recipient.phone'], 'delivery'), work({ assignments: [delivery('c1', null, -0.5)] })))).toBe('no_work_context');
    expect(code(await decide(c1, ask(['recipient.phone'], 'delivery'), work({ assignments: [delivery('c1', null, -30 / 3600)] })))).toBe('allowed');
  });

  it('assignment: somebody else\'s assignment is no basis', async () => {
    expect(code(await decide(c1, ask(['recipient.phone'], 'delivery'), work({ assignments: [delivery('c2')] })))).toBe('no_work_context');
  });

  it('site: origin or destination is the caller\'s site', async () => {
    expect(code(await decide(who('o1', 'outlet_staff', 'OUT-SH-1', '上海'), ask(['sender.phone'], 'pickup')))).toBe('allowed');
    expect(code(await decide(who('o1', 'outlet_staff', 'OUT-BJ-1', '北京'), ask(['sender.phone'], 'pickup')))).toBe('allowed');
    expect(code(await decide(who('o3', 'outlet_staff', 'OUT-BJ-2', '北京'), ask(['sender.phone'], 'pickup')))).toBe('no_work_context');
  });

  it('city: origin or destination city is the manager\'s', async () => {
    expect(code(await decide(who('m2', 'manager', 'HQ-SH', '上海'), ask(['sender.name'], 'audit')))).toBe('allowed');
    expect(code(await decide(who('m3', 'manager', 'HQ-GZ', '广州'), ask(['sender.name'], 'audit')))).toBe('no_work_context');
    expect(code(await decide(who('m4', 'manager', null, null), ask(['sender.name'], 'audit'), work(), DEFAULT_POLICY))).toBe('no_work_context');
  });

  it('ticket: an open ticket of the caller, and the named one when a ticket is given', async () => {
    const w = work({ tickets: [{ account: 'cs2', waybill: WB.waybill, ticket: 'T-9' }, { account: 'cs1', waybill: WB.waybill, ticket: 'T-1' }] });
    expect(code(await decide(who('cs1', 'customer_service'), ask(['recipient.phone'], 'customer_service', { ticket: 'T-1' }), w))).toBe('allowed');
    expect(code(await decide(who('cs1', 'customer_service'), ask(['recipient.phone'], 'customer_service', { ticket: 'T-9' }), w))).toBe('no_work_context');
    expect(code(await decide(who('cs3', 'customer_service'), ask(['recipient.phone'], 'customer_service'), w))).toBe('no_work_context');
  });

  it('phone search: within 15 minutes, not after', async () => {
    const at = (min: number) => work({ searches: [{ account: 'cs1', waybill: WB.waybill, at: new Date(NOW - min * 60_000) }] });
    expect(code(await decide(who('cs1', 'customer_service'), ask(['recipient.address'], 'customer_service'), at(14)))).toBe('allowed');
    expect(code(await decide(who('cs1', 'customer_service'), ask(['recipient.address'], 'customer_service'), at(16)))).toBe('no_work_context');
  });

  it('case: an open case, approved by a second analyst, covering the waybill; a reference alone is nothing', async () => {
    const sa = who('sa1', 'security_analyst');
    const withCase = (c: Partial<CaseStanding> | null) => work(c ? { case: { ...OPEN_CASE, ...c } } : {});
    const phone = (c: Partial<CaseStanding> | null, caseRef = 'CASE-2026-11') => decide(sa, ask(['recipient.phone'], 'audit', caseRef ? { caseRef } : {}), withCase(c));
    expect(code(await phone({}))).toBe('allowed');
    expect(code(await phone({ openedBy: 'sa1', approvedBy: 'sa2' }))).toBe('allowed');
    expect(code(await phone({}, ''))).toBe('case_required');
    expect(code(await phone(null))).toBe('case_required');
    expect(code(await phone({ status: 'pending', approvedBy: null }))).toBe('case_required');
    expect(code(await phone({ status: 'closed' }))).toBe('case_required');
    expect(code(await phone({ approvedBy: 'sa2', openedBy: 'sa2' }))).toBe('case_required');
    expect(code(await phone({ approvedBy: null }))).toBe('case_required');
    expect(code(await phone({ covers: false }))).toBe('case_out_of_scope');
    expect(code(await phone({ namesRevealer: true }))).toBe('self_action');
  });
});

describe('assignments end', () => {
  const c1 = who('c1', 'courier', 'OUT-BJ-1', '北京');
  const phone = (w: FakeWork, policy: Policy = DEFAULT_POLICY) => decide(c1, ask(['recipient.phone'], 'delivery'), w, policy);

  it('expires 72 h after the assignment, delivered or not', async () => {
    expect(code(await phone(work({ assignments: [delivery('c1', null, 71.9)] })))).toBe('allowed');
    expect(code(await phone(work({ assignments: [delivery('c1', null, 72.1)] })))).toBe('no_work_context');
    expect(code(await phone(work({ assignments: [delivery('c1', 1, 72.1)] })))).toBe('no_work_context');
  });

  it('an assignment dated 2020 grants nothing', async () => {
    const old = { ...delivery('c1'), assigned_at: new Date('2020-01-01T00:00:00Z') };
    expect(code(await phone(work({ assignments: [old] })))).toBe('no_work_context');
  });

  it('the expiry follows the policy', async () => {
    const p = mergePolicy({ rules: { courier: [{ ...DEFAULT_POLICY.rules.courier[0]!, expires_hours: 4 }] } });
    expect(code(await phone(work({ assignments: [delivery('c1', null, 3.9)] }), p))).toBe('allowed');
    expect(code(await phone(work({ assignments: [delivery('c1', null, 4.1)] }), p))).toBe('no_work_context');
  });

  it('a reassignment ends it from that moment', async () => {
    const ended = (hoursAgo: number) => work({ assignments: [{ ...delivery('c1'), ended_at: new Date(NOW - hoursAgo * H) }] });
    expect(code(await phone(ended(1)))).toBe('no_work_context');
    expect(code(await phone(ended(-1)))).toBe('allowed');
  });
});

describe('fail closed on parties', () => {
  it('a search on one party\'s phone backs that party only', async () => {
    const cs = who('cs1', 'customer_service', 'CS-SH', '上海');
    const w = work({ searches: [{ account: 'cs1', waybill: WB.waybill, at: new Date(NOW - 60_000), party: 'sender' }] });
    expect(code(await decide(cs, ask(['sender.address', 'sender.phone'], 'customer_service'), w))).toBe('allowed');
    expect(code(await decide(cs, ask(['recipient.address'], 'customer_service'), w))).toBe('field_not_allowed');
    const both = work({ searches: [{ account: 'cs1', waybill: WB.waybill, at: new Date(NOW - 60_000), party: 'sender' }, { account: 'cs1', waybill: WB.waybill, at: new Date(NOW - 60_000), party: 'recipient' }] });
    expect(code(await decide(cs, ask(['sender.address', 'recipient.address'], 'customer_service'), both))).toBe('allowed');
  });

  it('a `task` party on a basis without a task grants nothing, should such a rule ever get past the loader', async () => {
    const p: Policy = { ...DEFAULT_POLICY, rules: { ...DEFAULT_POLICY.rules, outlet_staff: [{ basis: 'site', fields: ['name', 'phone'], parties: 'task', purposes: ['pickup'] }] } };
    const d = await decide(who('o1', 'outlet_staff', 'OUT-BJ-1', '北京'), ask(['recipient.phone'], 'pickup'), work(), p);
    expect(code(d)).toBe('field_not_allowed');
    expect(code(await decide(who('o1', 'outlet_staff', 'OUT-BJ-1', '北京'), ask(['sender.name'], 'pickup'), work(), p))).toBe('field_not_allowed');
  });
});

describe('party tied to purpose (attack review 10): the policy model already says it, rule by rule', () => {
  // The default outlet rule grants both parties for every purpose (the demo's counter reveals name
  // the recipient with purpose pickup, and `other` is a purpose): a carrier ties them by splitting it.
  const tied = mergePolicy({
    rules: {
      outlet_staff: [
        { basis: 'site', fields: ['name', 'phone'], parties: 'recipient', purposes: ['delivery'] },
        { basis: 'site', fields: ['name', 'phone'], parties: 'sender', purposes: ['pickup'] },
      ],
    },
  });
  const o = who('o1', 'outlet_staff', 'OUT-BJ-1', '北京');

  it('allowed: delivery → the recipient, pickup → the sender', async () => {
    expect(code(await decide(o, ask(['recipient.name', 'recipient.phone'], 'delivery'), work(), tied))).toBe('allowed');
    expect(code(await decide(o, ask(['sender.name', 'sender.phone'], 'pickup'), work(), tied))).toBe('allowed');
  });

  it('denied: the other party for that purpose, both at once, or a purpose no rule names', async () => {
    expect(code(await decide(o, ask(['sender.phone'], 'delivery'), work(), tied))).toBe('field_not_allowed');
    expect(code(await decide(o, ask(['recipient.phone'], 'pickup'), work(), tied))).toBe('field_not_allowed');
    expect(code(await decide(o, ask(['sender.phone', 'recipient.phone'], 'delivery'), work(), tied))).toBe('field_not_allowed');
    expect(code(await decide(o, ask(['recipient.phone'], 'other'), work(), tied))).toBe('purpose_not_allowed');
  });
});
