/**
 * Decides one reveal: does real work back it, for this purpose, for exactly these fields?
 *
 * Invariant: fields are granted only by a rule whose basis holds and whose purposes include the
 * declared one; anything not granted is refused. "No rule matched" means no data.
 */
import type { Purpose, Role } from '../contracts/events.js';
import type { ErrorCode } from '../errors.js';
import type { Policy, Rule } from './policy.js';
import type { WorkContextReader } from './work-context.js';
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

export type Decision =
  | { allowed: true; bases: string[]; grants: Map<PartyName, Set<PartyField>> }
  | { allowed: false; code: Extract<ErrorCode, 'role_not_permitted' | 'no_work_context' | 'purpose_not_allowed' | 'field_not_allowed' | 'case_required'>; message: string };

const CASE_RE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{2,63}$/;

export async function evaluateReveal(policy: Policy, subject: RevealSubject, req: RevealRequest, work: WorkContextReader, now: number): Promise<Decision> {
  const rules = policy.rules[subject.role] ?? [];
  if (rules.length === 0) {
    return { allowed: false, code: 'role_not_permitted', message: `the ${subject.role} role may not reveal customer data` };
  }
  const grants = new Map<PartyName, Set<PartyField>>();
  const bases: string[] = [];
  let anyBasis = false;
  let purposeRefused = false;
  let caseMissing = false;

  for (const rule of rules) {
    const parties = await basisParties(rule, subject, req, work, now);
    if (parties === 'case_missing') {
      caseMissing = true;
      continue;
    }
    if (!parties) continue;
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
    if (caseMissing) return { allowed: false, code: 'case_required', message: 'a reveal by a security analyst needs a case reference' };
    return { allowed: false, code: 'no_work_context', message: `no assignment, open ticket, recent search or site/city scope backs access to waybill ${req.routing.waybill}` };
  }
  if (grants.size === 0 && purposeRefused) {
    return { allowed: false, code: 'purpose_not_allowed', message: `purpose "${req.purpose}" is not allowed for the ${subject.role} role on this waybill` };
  }
  const refused = req.fields.filter((q) => {
    const [party, field] = q.split('.') as [PartyName, PartyField];
    return !grants.get(party)?.has(field);
  });
  if (refused.length) {
    return { allowed: false, code: 'field_not_allowed', message: `not allowed to reveal ${refused.join(', ')}` };
  }
  return { allowed: true, bases, grants };
}

async function basisParties(rule: Rule, s: RevealSubject, req: RevealRequest, work: WorkContextReader, now: number): Promise<PartyName[] | null | 'case_missing'> {
  const fixed = (): PartyName[] => (rule.parties === 'sender' ? ['sender'] : rule.parties === 'recipient' ? ['recipient'] : [...PARTIES]);
  const w = req.routing;
  switch (rule.basis) {
    case 'assignment': {
      const graceMs = (rule.grace_hours ?? 24) * 3_600_000;
      const live = (await work.assignments(s.account, w.waybill)).filter(
        (a) => new Date(a.assigned_at).getTime() <= now + 60_000 && (!a.completed_at || now <= new Date(a.completed_at).getTime() + graceMs),
      );
      if (!live.length) return null;
      if (rule.parties !== 'task') return fixed();
      return [...new Set(live.map((a) => (a.task === 'delivery' ? 'recipient' : 'sender') as PartyName))];
    }
    case 'site':
      return s.site && (w.origin_site === s.site || w.dest_site === s.site) ? fixed() : null;
    case 'city':
      return s.siteCity && (w.origin_city === s.siteCity || w.dest_city === s.siteCity) ? fixed() : null;
    case 'ticket':
      return (await work.openTicket(s.account, w.waybill, req.ticket)) ? fixed() : null;
    case 'phone_search': {
      const at = await work.searchGrant(s.account, w.waybill);
      const windowMs = (rule.within_minutes ?? 15) * 60_000;
      return at && now - at.getTime() <= windowMs ? fixed() : null;
    }
    case 'case':
      return req.caseRef && CASE_RE.test(req.caseRef) ? fixed() : 'case_missing';
    default:
      return null;
  }
}
