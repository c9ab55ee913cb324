/**
 * Decides one reveal: does real work back it, for this purpose, for exactly these fields?
 *
 * Invariants: fields are granted only by a rule whose basis holds and whose purposes include the
 * declared one; anything not granted is refused. "No rule matched" means no data. A rule whose
 * parties cannot be known (a `task` party on a basis without a task) grants no party. Pure: the
 * work context's facts come in, a decision goes out.
 */
import type { Purpose, Role } from '../contracts/events.js';
import type { ErrorCode } from '../errors.js';
import { DEFAULT_ASSIGNMENT_EXPIRES_HOURS, type Policy, type Rule } from './policy.js';
import type { AssignmentWork, WorkOn } from './work-context.js';
import { PARTIES, type PartyField, type PartyName, type QualifiedField, type Routing } from '../vault/vault.js';

export interface RevealSubject {
  account: string;
  role: Role;
  site: string | null;
  siteCity: string | null;
}

export interface RevealRequest {
  routing: Routing;
  fields: QualifiedField[];
  purpose: Purpose;
  ticket?: string | undefined;
  caseRef?: string | undefined;
}

type RefusalCode = Extract<ErrorCode, 'role_not_permitted' | 'no_work_context' | 'purpose_not_allowed' | 'field_not_allowed' | 'case_required' | 'case_out_of_scope' | 'self_action'>;
interface Refusal {
  allowed: false;
  code: RefusalCode;
  message: string;
}
export type Decision = { allowed: true; bases: string[]; grants: Map<PartyName, Set<PartyField>> } | Refusal;

const HOUR = 3_600_000;
/** Clock skew tolerated between the upstream system that assigned and this gateway. */
const SKEW_MS = 60_000;

const refusal = (code: RefusalCode, message: string): Refusal => ({ allowed: false, code, message });

export function evaluateReveal(policy: Policy, subject: RevealSubject, req: RevealRequest, work: WorkOn, now: number): Decision {
  const rules = policy.rules[subject.role] ?? [];
  if (rules.length === 0) return refusal('role_not_permitted', `the ${subject.role} role may not reveal customer data`);
  const grants = new Map<PartyName, Set<PartyField>>();
  const bases: string[] = [];
  const refusals: Refusal[] = [];
  let anyBasis = false;
  let purposeRefused = false;

  for (const rule of rules) {
    const parties = basisParties(rule, subject, req, work, now);
    if (parties === null) continue;
    if (!Array.isArray(parties)) {
      refusals.push(parties);
      continue;
    }
    anyBasis = true;
    if (!(rule.purposes as readonly string[]).includes(req.purpose)) {
      purposeRefused = true;
      continue;
    }
    for (const p of parties) {
      let set = grants.get(p);
      if (!set) grants.set(p, (set = new Set()));
      for (const f of rule.fields) set.add(f as PartyField);
    }
    bases.push(rule.basis);
  }

  if (!anyBasis) {
    return refusals[0] ?? refusal('no_work_context', `no assignment, open ticket, recent search or site/city scope backs access to waybill ${req.routing.waybill}`);
  }
  if (grants.size === 0 && purposeRefused) {
    return refusal('purpose_not_allowed', `purpose "${req.purpose}" is not allowed for the ${subject.role} role on this waybill`);
  }
  const refused = req.fields.filter((q) => {
    const [party, field] = q.split('.') as [PartyName, PartyField];
    return !grants.get(party)?.has(field);
  });
  if (refused.length) return refusal('field_not_allowed', `not allowed to reveal ${refused.join(', ')}`);
  return { allowed: true, bases, grants };
}

/** The parties a rule's basis grants on this waybill; null when the basis does not hold. */
function basisParties(rule: Rule, s: RevealSubject, req: RevealRequest, work: WorkOn, now: number): PartyName[] | Refusal | null {
  const w = req.routing;
  switch (rule.basis) {
    case 'assignment': {
      const live = work.assignments.filter((a) => assignmentLive(a, rule, now));
      if (!live.length) return null;
      if (rule.parties !== 'task') return fixedParties(rule);
      return [...new Set(live.map((a): PartyName => (a.task === 'delivery' ? 'recipient' : 'sender')))];
    }
    case 'site':
      return s.site && (w.origin_site === s.site || w.dest_site === s.site) ? fixedParties(rule) : null;
    case 'city':
      return s.siteCity && (w.origin_city === s.siteCity || w.dest_city === s.siteCity) ? fixedParties(rule) : null;
    case 'ticket':
      return (req.ticket ? work.openTickets.includes(req.ticket) : work.openTickets.length > 0) ? fixedParties(rule) : null;
    case 'phone_search': {
      const windowMs = (rule.within_minutes ?? 15) * 60_000;
      const searched = new Set(work.searches.filter((g) => now - g.grantedAt <= windowMs && g.grantedAt <= now + SKEW_MS).map((g) => g.party));
      // The search found one party's number: it backs that party, not whoever else is on the parcel.
      return searched.size ? fixedParties(rule).filter((p) => searched.has(p)) : null;
    }
    case 'case':
      return caseParties(rule, req, work);
    default:
      return null;
  }
}

/**
 * Live from its time until the earliest of: its expiry (default 72 h), the grace after its
 * delivered / picked-up scan, and a reassignment of the task to another account.
 */
export function assignmentLive(a: AssignmentWork, rule: Rule, now: number): boolean {
  const expiresMs = (rule.expires_hours ?? DEFAULT_ASSIGNMENT_EXPIRES_HOURS) * HOUR;
  const graceMs = (rule.grace_hours ?? 24) * HOUR;
  return (
    a.assignedAt <= now + SKEW_MS &&
    now < a.assignedAt + expiresMs &&
    (a.completedAt === null || now <= a.completedAt + graceMs) &&
    (a.endedAt === null || now < a.endedAt)
  );
}

function caseParties(rule: Rule, req: RevealRequest, work: WorkOn): PartyName[] | Refusal {
  if (!req.caseRef) return refusal('case_required', 'a reveal by a security analyst needs an open case (POST /api/v1/cases) that covers the waybill');
  const c = work.case;
  if (!c) return refusal('case_required', 'the case named does not exist');
  // Open means a second analyst approved it; the check is repeated here so a bad row cannot pass.
  if (c.status !== 'open' || !c.approvedBy || c.approvedBy === c.openedBy) {
    return refusal('case_required', `the case named is ${c.status === 'open' ? 'not approved by a second analyst' : c.status}; only an open case backs a reveal`);
  }
  if (c.namesRevealer) return refusal('self_action', 'the case names your own account; another analyst must work it');
  if (!c.covers) return refusal('case_out_of_scope', `the case does not cover waybill ${req.routing.waybill}: it names neither the waybill nor an account that accessed it`);
  return fixedParties(rule);
}

/** A rule's parties when they do not depend on a task; `task` here grants nothing (fail closed). */
function fixedParties(rule: Rule): PartyName[] {
  switch (rule.parties) {
    case 'sender':
      return ['sender'];
    case 'recipient':
      return ['recipient'];
    case 'both':
      return [...PARTIES];
    default:
      return [];
  }
}
