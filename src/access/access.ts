/**
 * The access gateway's behaviour: masked views, phone searches, and reveals.
 *
 * The reveal path, in order (docs/ARCHITECTURE.md): response gate → policy decision on the work
 * context (read with the ciphertext, one round trip) → quota and throttle, in records → audit
 * entry committed → decrypt → respond. Denials are audited too. If the audit entry cannot be
 * committed, everything counted is given back and nothing is decrypted.
 *
 * Invariants: suspension is decided where the principal is resolved (identity); this module asks
 * only the watch gate about responses. A single reveal is a batch of one: the same decisions,
 * counts and audit entries.
 */
import { partiesOf, type Purpose } from '../contracts/events.js';
import { AppError } from '../errors.js';
import type { AuditWriter } from '../audit/writer.js';
import type { AuditEntryInput } from '../audit/kinds.js';
import type { Clock } from '../ops/clock.js';
import type { Metrics } from '../ops/metrics.js';
import type { Principal, RequestContext } from '../identity/identity.js';
import {
  isQualifiedField,
  normaliseSearchPhone,
  type MaskedWaybill,
  type PhoneMatch,
  type PiiDecryptor,
  type QualifiedField,
  type SealedWaybill,
  type SearchScope,
  type VaultReader,
  recordIntegrityError,
  touchesErased,
} from '../vault/vault.js';
import { DEFAULT_ASSIGNMENT_EXPIRES_HOURS, type Policy } from './policy.js';
import type { QuotaCounter, QuotaResult } from './quota.js';
import type { WorkContext } from './work-context.js';
import { evaluateReveal } from './evaluate.js';
import { badIdentifierDetail, badIdentifierError, badIdentifiers, identifierTag, WAYBILL_MAX, type IdentifierInput } from '../contracts/identifiers.js';
import { profileOf } from './roles.js';

export interface RevealBody {
  fields: string[];
  purpose: Purpose;
  ticket?: string | undefined;
  case?: string | undefined;
}

export type AccountPrincipal = Extract<Principal, { kind: 'account' }>;

/** The detection engine's responses, as the gateway consults them (src/watch). */
export interface ResponseGate {
  /** A response that refuses the whole request (step-up), or null. A suspension never reaches here: identity refused the caller already. */
  refuse(principal: AccountPrincipal, action: 'view' | 'search' | 'reveal', now: number): AppError | null | Promise<AppError | null>;
  /** How many of `records` reveals a throttle admits now (all when none applies); `release` gives them back. */
  admit(principal: AccountPrincipal, records: number, now: number): Admission | Promise<Admission>;
}

export interface Admission {
  admitted: number;
  refusal: AppError | null;
  release(): void;
}

export interface AccessDeps {
  policy: Policy;
  vault: VaultReader;
  pii: PiiDecryptor;
  work: WorkContext;
  quotas: QuotaCounter;
  /** Phone searches per account (policy `search_quotas`). */
  searchQuotas: QuotaCounter;
  audit: AuditWriter;
  clock: Clock;
  metrics: Pick<Metrics, 'accessDecisions' | 'recordsRevealed'>;
  gate?: ResponseGate | undefined;
  /** Per-viewer privacy numbers (src/trace/privacy.ts): phone reveals by the roles it names answer a virtual number. */
  privacy?: PrivacyNumberIssuer | undefined;
  /** Key of the tag a refused waybill, ticket or case is audited as (contracts/identifiers.ts): never the value. */
  identifierTagKey: Buffer;
}

/** Newest first by when the parcel was stored; ties by number, highest first. */
const newestFirst = (a: PhoneMatch, b: PhoneMatch): number => b.createdAt - a.createdAt || (a.waybill < b.waybill ? 1 : a.waybill > b.waybill ? -1 : 0);

/** A phone search's answer: the masked matches, and which of them the search backs reveals of. */
export interface SearchAnswer {
  matches: MaskedWaybill[];
  truncated: boolean;
  /** Matched parcels this search grants reveals of (basis phone_search): the newest, up to the policy's `search_grant_limit`. */
  granted: number;
  granted_waybills: string[];
  /** True when more parcels matched than were granted: ask the caller for the waybill, or open a ticket. */
  grant_limited: boolean;
}

/** Issues the virtual number a viewer is shown instead of a party's real phone. */
export interface PrivacyNumberIssuer {
  applies(role: AccountPrincipal['account']['role']): boolean;
  bind(viewer: string, waybill: string, party: 'sender' | 'recipient'): Promise<string>;
}

/** One item of a reveal on its way: decided, counted, audited, then opened. */
interface Outcome {
  waybill: string;
  entry: AuditEntryInput;
  error: AppError | null;
  sealed?: SealedWaybill;
  fields?: QualifiedField[];
}

/** The bound of a ticket or case the gateway takes (the reveal route's). */
const ID_MAX = 64;

/** A refused consumption; a reveal's says the quota counts people, and how many this item showed. */
const quotaError = (q: Extract<QuotaResult, { ok: false }>, what: string, people?: number) =>
  new AppError('quota_exceeded', `${what} quota exceeded: ${q.limit} ${q.window.replace('_', ' ')} for this ${q.scope}${people === undefined ? '' : `, counted in people revealed (this item names ${people === 1 ? 'one party' : `${people} parties, sender and recipient`})`}`, {
    retryAfterSeconds: q.retryAfterSeconds,
    scope: q.scope,
    window: q.window,
  });

export function createAccessService(deps: AccessDeps) {
  const { policy, vault, pii, work, quotas, searchQuotas, audit, clock, metrics } = deps;

  async function staff(principal: Principal, what: string, action: 'view' | 'search' | 'reveal'): Promise<AccountPrincipal> {
    if (principal.kind !== 'account') throw new AppError('role_not_permitted', `the admin token cannot ${what}; log in as a staff account`);
    // Suspension and pending approval were refused when the principal was resolved (identity).
    const gated = await deps.gate?.refuse(principal, action, clock.now());
    if (gated) throw gated;
    return principal;
  }

  const who = (p: AccountPrincipal, ctx: RequestContext) => ({
    account: p.account.id,
    role: p.account.role,
    site: p.account.site,
    device: p.device,
    ip: ctx.ip,
    session: p.sessionId,
    requestId: ctx.requestId,
  });

  const count = (entry: AuditEntryInput) =>
    metrics.accessDecisions.inc({ action: entry.kind.slice(7), decision: entry.decision === 'allowed' ? 'allowed' : 'denied', reason: entry.reason ?? 'none', role: entry.role ?? 'none' });

  /**
   * Waybill, ticket and case as given are identifiers, or the request is refused (400
   * bad_identifier) before anything is looked up: the entry keeps each bad one only as its keyed
   * tag (attack review 6: a phone typed as a waybill landed in the trail, the bus and the SIEM).
   */
  function identifierRefusal(entry: AuditEntryInput, given: readonly IdentifierInput[]): { entry: AuditEntryInput; error: AppError } | null {
    const bad = badIdentifiers(given);
    if (!bad.length) return null;
    const is = (field: string) => bad.some((b) => b.field === field);
    const detail = { ...(is('case') ? {} : (entry.detail ?? {})), ...badIdentifierDetail(deps.identifierTagKey, bad) };
    return { entry: { ...entry, waybill: is('waybill') ? null : entry.waybill, ticket: is('ticket') ? null : entry.ticket, detail }, error: badIdentifierError(bad[0]!) };
  }
  const basis = (waybill: string, body: { ticket?: string | undefined; case?: string | undefined }): IdentifierInput[] => [
    { field: 'waybill', value: waybill, max: WAYBILL_MAX },
    { field: 'ticket', value: body.ticket, max: ID_MAX },
    { field: 'case', value: body.case, max: ID_MAX },
  ];

  /** Audits a refusal, then raises it. An unwritable audit trail still refuses. */
  async function refuse(entry: AuditEntryInput, err: AppError): Promise<never> {
    const denied: AuditEntryInput = { ...entry, decision: 'denied', reason: err.code };
    count(denied);
    await audit.append([denied]);
    throw err;
  }

  async function view(principal: Principal, waybill: string, profile: 'screen' | 'label', ctx: RequestContext): Promise<MaskedWaybill> {
    const p = await staff(principal, 'view waybills', 'view');
    const entry: AuditEntryInput = { kind: profile === 'label' ? 'access.print' : 'access.view', ts: new Date(clock.now()), decision: 'allowed', waybill, ...who(p, ctx) };
    const badId = identifierRefusal(entry, basis(waybill, {}));
    if (badId) return refuse(badId.entry, badId.error);
    if (!profileOf(p.account.role).views) {
      return refuse(entry, new AppError('role_not_permitted', `the ${p.account.role} role does not read waybills`));
    }
    const record = await vault.masked(waybill, profile);
    if (!record) return refuse(entry, new AppError('not_found', `waybill ${waybill} does not exist`));
    await audit.append([entry]);
    count(entry);
    return record;
  }

  function searchScope(p: AccountPrincipal, now: number): SearchScope | null {
    const reach = profileOf(p.account.role).search;
    switch (reach) {
      case 'all':
        return { kind: 'all' };
      case 'assigned': {
        const hours = Math.max(0, ...policy.rules[p.account.role].filter((r) => r.basis === 'assignment').map((r) => r.expires_hours ?? DEFAULT_ASSIGNMENT_EXPIRES_HOURS));
        return { kind: 'where', holds: work.assignedTo(p.account.id, new Date(now - hours * 3_600_000)) };
      }
      case 'site':
        return { kind: 'site', site: p.account.site ?? '' };
      case 'city':
        return { kind: 'city', city: p.account.siteCity ?? '' };
      default:
        return null;
    }
  }

  async function search(principal: Principal, phone: string, ctx: RequestContext): Promise<SearchAnswer> {
    const p = await staff(principal, 'search', 'search');
    const normalised = normaliseSearchPhone(phone);
    const now = clock.now();
    const entry: AuditEntryInput = { kind: 'access.search', ts: new Date(now), decision: 'allowed', ...who(p, ctx) };
    const role = p.account.role;
    const scope = searchScope(p, now);
    if (!scope) return refuse(entry, new AppError('role_not_permitted', `the ${role} role may not search customers`));
    // Each search answers "is this a customer?" and may back reveals: counted per search, like records.
    const q = await searchQuotas.tryConsume({ role, account: p.account.id, device: null, site: null }, 1, now);
    if (!q.ok) return refuse(entry, quotaError(q, 'search'));
    let found: Awaited<ReturnType<typeof findAndRecord>>;
    try {
      found = await findAndRecord(p, normalised, scope, entry, now);
    } catch (err) {
      q.release();
      throw err;
    }
    count(entry);
    const masked = (await Promise.all(found.matches.map((m) => vault.masked(m.waybill)))).filter((m): m is MaskedWaybill => m !== null);
    return { matches: masked, truncated: found.truncated, granted: found.granted.length, granted_waybills: found.granted, grant_limited: found.limited };
  }

  /**
   * The search and its audit entry; the grants (per matched party) commit with the entry.
   *
   * A search is one customer's call: it grants the newest `search_grant_limit` of its matches, not
   * every parcel on a shared number (attack review 9: an office switchboard's 45 recipients, each
   * a different person, were all revealed on one search). The same search again grants the same
   * parcels; the others need a waybill-specific basis (a ticket).
   */
  async function findAndRecord(p: AccountPrincipal, phone: string, scope: SearchScope, entry: AuditEntryInput, now: number) {
    const found = await vault.waybillsByPhone(phone, scope, policy.search_limit + 1);
    const matches = found.slice(0, policy.search_limit);
    const waybills = matches.map((m) => m.waybill);
    const grants = policy.rules[p.account.role].some((r) => r.basis === 'phone_search');
    const cap = policy.search_grant_limit;
    // The search's own read carries each parcel's creation time: no second query to rank them.
    const chosen = !grants ? [] : matches.length <= cap ? matches : [...matches].sort(newestFirst).slice(0, cap);
    const granted = new Set(chosen.map((m) => m.waybill));
    const grantedMatches = matches.filter((m) => granted.has(m.waybill));
    const limited = grants && grantedMatches.length < matches.length;
    const detail = { matches: waybills.length, waybills, ...(grants ? { granted: grantedMatches.length } : {}), ...(limited ? { grant_limited: true } : {}) };
    await audit.append([{ ...entry, detail }], grantedMatches.length ? (tx) => work.grantSearch(p.account.id, grantedMatches, new Date(now), tx) : undefined);
    return { matches, truncated: found.length > matches.length, granted: grantedMatches.map((m) => m.waybill), limited };
  }

  async function decide(p: AccountPrincipal, waybill: string, body: RevealBody, ctx: RequestContext, now: number): Promise<Outcome> {
    const fields = [...new Set(body.fields)];
    const entry: AuditEntryInput = {
      kind: 'access.reveal',
      ts: new Date(now),
      decision: 'allowed',
      waybill,
      fields: fields.filter(isQualifiedField),
      purpose: body.purpose,
      ticket: body.ticket ?? null,
      ...who(p, ctx),
      detail: body.case ? { case: body.case } : null,
    };
    const badId = identifierRefusal(entry, basis(waybill, body));
    if (badId) return { waybill: badId.entry.waybill ?? identifierTag(deps.identifierTagKey, waybill), entry: badId.entry, error: badId.error };
    const bad = fields.filter((f) => !isQualifiedField(f));
    if (bad.length || fields.length === 0) {
      const message = fields.length ? `unknown field(s): ${bad.map((f) => JSON.stringify(f.slice(0, 40))).join(', ')}; use e.g. "recipient.phone"` : 'fields must name at least one field';
      return { waybill, entry, error: new AppError('validation_failed', message) };
    }
    const found = await pii.fetch(waybill, work.workOn(p.account.id, body.case));
    if (!found) return { waybill, entry, error: new AppError('not_found', `waybill ${waybill} does not exist`) };
    // Attack review 9: routing changed outside Warden (it decides site and city reveals) fails
    // closed for everyone, before any rule reads it; the entry says so (no routing, no PII).
    if (!found.sealed.intact) {
      return { waybill, entry: { ...entry, detail: { ...(entry.detail ?? {}), integrity: 'routing_mismatch' } }, error: recordIntegrityError(waybill) };
    }
    const a = p.account;
    const decision = evaluateReveal(
      policy,
      { account: a.id, role: a.role, site: a.site, siteCity: a.siteCity },
      { routing: found.sealed.routing, fields: fields as QualifiedField[], purpose: body.purpose, ticket: body.ticket, caseRef: body.case },
      found.alongside,
      now,
    );
    if (!decision.allowed) return { waybill, entry, error: new AppError(decision.code, decision.message) };
    // A ticket or case named is written onto the entry as what backed the reveal: it must be one
    // (attack review 9: made-up references rode on a search or an assignment into the trail).
    if (body.ticket != null && !found.alongside.openTickets.includes(body.ticket)) {
      return { waybill, entry, error: new AppError('ticket_not_held', `the ticket named is not an open ticket of yours on waybill ${waybill}; name none, or the open ticket assigned to you`) };
    }
    if (body.case != null && !decision.bases.includes('case')) {
      return { waybill, entry, error: new AppError('case_not_held', `the case named does not back this reveal: only a security analyst's open case that covers the waybill does; name none`) };
    }
    // Erased on the person's request (PIPL Art. 47): nothing left to show, and the caller is told so.
    if (touchesErased(found.sealed, fields as QualifiedField[])) {
      return { waybill, entry, error: new AppError('subject_erased', `the person behind the requested field(s) of waybill ${waybill} asked for deletion; their data was erased`) };
    }
    entry.detail = { ...(entry.detail ?? {}), basis: decision.bases.join(',') };
    // The trail says when a phone reveal showed a virtual number, not the real one.
    if (deps.privacy?.applies(a.role) && fields.some((f) => f.endsWith('.phone'))) entry.detail.phone = 'virtual';
    return { waybill, entry, error: null, sealed: found.sealed, fields: fields as QualifiedField[] };
  }

  /**
   * Counts the allowed items against the quota in *people* revealed — an item naming fields of
   * both sender and recipient shows two people and costs 2 (attack review 10: counted as one
   * record, every `parties: both` rule gave out twice its quota) — and then against the throttle
   * (asked once, with the batch's people). Items are admitted in order while the budget holds:
   * after the first refusal every later item is refused too, and what it took is given back.
   */
  async function admit(p: AccountPrincipal, outcomes: Outcome[], now: number): Promise<() => void> {
    const releases: Array<() => void> = [];
    const admitted: Array<{ o: Outcome; people: number; release: () => void }> = [];
    const subject = { role: p.account.role, account: p.account.id, device: p.device, site: p.account.site };
    // Asked together (one statement on the shared ledger), decided in order.
    const asked = outcomes.filter((o) => !o.error);
    const people = asked.map((o) => Math.max(1, partiesOf(o.fields ?? []).length));
    const answers = await Promise.all(asked.map((_, i) => quotas.tryConsume(subject, people[i]!, now)));
    let spent: Extract<QuotaResult, { ok: false }> | null = null;
    asked.forEach((o, i) => {
      const q = answers[i]!;
      if (q.ok && !spent) admitted.push({ o, people: people[i]!, release: q.release });
      else {
        if (q.ok) q.release();
        else spent ??= q;
        o.error = quotaError(spent!, 'reveal', people[i]!);
      }
    });
    const asks = admitted.reduce((sum, a) => sum + a.people, 0);
    const throttle = asks && deps.gate ? await deps.gate.admit(p, asks, now) : null;
    // Whole items only: one the throttle's count ends inside is refused (its share stays counted, towards refusing).
    let within = 0;
    admitted.forEach(({ o, people: n, release }) => {
      within += n;
      if (throttle && within > throttle.admitted) {
        release();
        o.error = throttle.refusal ?? new AppError('throttled', 'reveals are limited pending review; contact your security team');
      } else {
        releases.push(release);
      }
    });
    if (throttle) releases.push(throttle.release);
    return () => releases.forEach((r) => r());
  }

  async function revealItems(p: AccountPrincipal, items: Array<{ waybill: string; fields: string[] }>, body: RevealBody, ctx: RequestContext): Promise<Outcome[]> {
    const now = clock.now();
    const outcomes: Outcome[] = [];
    for (const item of items) outcomes.push(await decide(p, item.waybill, { ...body, fields: item.fields }, ctx, now));
    const release = await admit(p, outcomes, now);
    const entries = outcomes.map((o) => (o.error ? { ...o.entry, decision: 'denied' as const, reason: o.error.code } : o.entry));
    try {
      await audit.append(entries);
    } catch (err) {
      release();
      throw err;
    }
    entries.forEach(count);
    const revealed = outcomes.filter((o) => !o.error).length;
    if (revealed) metrics.recordsRevealed.inc({ role: p.account.role }, revealed);
    return outcomes;
  }

  /** Opens the fields; a phone becomes the viewer's virtual number when the policy says so (after the audit entry). */
  async function opened(p: AccountPrincipal, o: Outcome) {
    const values = await pii.open(o.sealed!, o.fields!).catch(async (err: unknown) => {
      // A field moved or altered in the store (review 11): the allowed entry stands, a denied one says nothing left.
      if (err instanceof AppError && err.code === 'record_integrity') {
        await audit.append([{ ...o.entry, decision: 'denied', reason: err.code, detail: { ...(o.entry.detail ?? {}), integrity: 'field_mismatch' } }]);
      }
      throw err;
    });
    if (!deps.privacy?.applies(p.account.role)) return values;
    for (const f of o.fields!) {
      if (!f.endsWith('.phone') || !values[f]) continue;
      values[f] = await deps.privacy.bind(p.account.id, o.waybill, f.startsWith('sender.') ? 'sender' : 'recipient');
    }
    return values;
  }

  async function reveal(principal: Principal, waybill: string, body: RevealBody, ctx: RequestContext) {
    const p = await staff(principal, 'reveal customer data', 'reveal');
    const [o] = await revealItems(p, [{ waybill, fields: body.fields }], body, ctx);
    if (o!.error) throw o!.error;
    return { waybill, values: await opened(p, o!) };
  }

  async function revealBatch(principal: Principal, body: RevealBody & { waybills?: string[]; items?: Array<{ waybill: string; fields?: string[] }> }, ctx: RequestContext) {
    const p = await staff(principal, 'reveal customer data', 'reveal');
    const listed: Array<{ waybill: string; fields?: string[] | undefined }> = body.items ?? (body.waybills ?? []).map((waybill) => ({ waybill }));
    const items = listed.map((i) => ({ waybill: i.waybill, fields: i.fields ?? body.fields }));
    if (items.length === 0) throw new AppError('validation_failed', 'a batch reveal needs at least one item');
    const outcomes = await revealItems(p, items, body, ctx);
    const results = [];
    for (const o of outcomes) {
      if (o.error) {
        results.push({ waybill: o.waybill, error: { code: o.error.code, message: o.error.message } });
        continue;
      }
      // One altered record refuses its item only, as a re-routed one does (review 11).
      const values = await opened(p, o).catch((err: unknown) => (err instanceof AppError && err.code === 'record_integrity' ? err : Promise.reject(err)));
      results.push(values instanceof AppError ? { waybill: o.waybill, error: { code: values.code, message: values.message } } : { waybill: o.waybill, values });
    }
    return { results };
  }

  return { view, search, reveal, revealBatch };
}

export type AccessService = ReturnType<typeof createAccessService>;
