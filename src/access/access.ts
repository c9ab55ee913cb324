/**
 * The access gateway's behaviour: masked views, phone searches, and reveals.
 *
 * The reveal path, in order (docs/ARCHITECTURE.md): policy decision → quota → ciphertext and
 * keys loaded → audit entry committed → decrypt → respond. Denials are audited too. If the
 * audit entry cannot be committed the quota is given back and nothing is decrypted.
 */
import type { Purpose } from '../contracts/events.js';
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
  type PiiDecryptor,
  type QualifiedField,
  type SealedWaybill,
  type SearchScope,
  type VaultReader,
} from '../vault/vault.js';
import type { Policy } from './policy.js';
import type { QuotaLedger } from './quota.js';
import { workSnapshot, type WorkContext } from './work-context.js';
import { evaluateReveal } from './evaluate.js';
import { profileOf } from './roles.js';

export interface RevealBody {
  fields: string[];
  purpose: Purpose;
  ticket?: string | undefined;
  case?: string | undefined;
}

export interface AccessDeps {
  policy: Policy;
  vault: VaultReader;
  pii: PiiDecryptor;
  work: WorkContext;
  quotas: QuotaLedger;
  audit: AuditWriter;
  clock: Clock;
  metrics: Pick<Metrics, 'accessDecisions' | 'recordsRevealed'>;
  /** Extra gate consulted before every data access (the detection engine's response actions). */
  gate?: (principal: Extract<Principal, { kind: 'account' }>, action: 'view' | 'search' | 'reveal', now: number) => AppError | null;
}

type AccountPrincipal = Extract<Principal, { kind: 'account' }>;


export function createAccessService(deps: AccessDeps) {
  const { policy, vault, pii, work, quotas, audit, clock, metrics } = deps;

  function staff(principal: Principal, what: string, action: 'view' | 'search' | 'reveal'): AccountPrincipal {
    if (principal.kind !== 'account') throw new AppError('role_not_permitted', `the admin token cannot ${what}; log in as a staff account`);
    // Suspension and pending approval were refused when the principal was resolved (identity).
    const gated = deps.gate?.(principal, action, clock.now());
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

  /** Audits a refusal, then raises it. An unwritable audit trail still refuses. */
  async function refuse(entry: AuditEntryInput, err: AppError): Promise<never> {
    metrics.accessDecisions.inc({ action: entry.kind.slice(7), decision: 'denied', reason: err.code, role: entry.role ?? 'none' });
    await audit.append([{ ...entry, decision: 'denied', reason: err.code }]);
    throw err;
  }

  async function view(principal: Principal, waybill: string, profile: 'screen' | 'label', ctx: RequestContext): Promise<MaskedWaybill> {
    const p = staff(principal, 'view waybills', 'view');
    const entry: AuditEntryInput = { kind: profile === 'label' ? 'access.print' : 'access.view', ts: new Date(clock.now()), decision: 'allowed', waybill, ...who(p, ctx) };
    if (!profileOf(p.account.role).views) {
      return refuse(entry, new AppError('role_not_permitted', `the ${p.account.role} role does not read waybills`));
    }
    const record = await vault.masked(waybill, profile);
    if (!record) return refuse(entry, new AppError('not_found', `waybill ${waybill} does not exist`));
    await audit.append([entry]);
    metrics.accessDecisions.inc({ action: 'view', decision: 'allowed', reason: 'none', role: p.account.role });
    return record;
  }

  async function search(principal: Principal, phone: string, ctx: RequestContext): Promise<{ matches: MaskedWaybill[]; truncated: boolean }> {
    const p = staff(principal, 'search', 'search');
    const normalised = normaliseSearchPhone(phone);
    const now = clock.now();
    const entry: AuditEntryInput = { kind: 'access.search', ts: new Date(now), decision: 'allowed', ...who(p, ctx) };
    const role = p.account.role;
    const reach = profileOf(role).search;
    if (!reach) {
      return refuse(entry, new AppError('role_not_permitted', `the ${role} role may not search customers`));
    }
    const limit = policy.search_limit;
    const scope: SearchScope =
      reach === 'all'
        ? { kind: 'all' }
        : reach === 'assigned'
          ? { kind: 'assigned', account: p.account.id }
          : reach === 'site'
            ? { kind: 'site', site: p.account.site ?? '' }
            : { kind: 'city', city: p.account.siteCity ?? '' };
    const found = await vault.waybillsByPhone(normalised, scope, limit + 1);
    const truncated = found.length > limit;
    const waybills = found.slice(0, limit);
    const grants = policy.rules[role].some((r) => r.basis === 'phone_search');
    await audit.append([{ ...entry, detail: { matches: waybills.length, waybills } }], grants ? (tx) => work.grantSearch(p.account.id, waybills, new Date(now), tx) : undefined);
    metrics.accessDecisions.inc({ action: 'search', decision: 'allowed', reason: 'none', role });
    const matches = (await Promise.all(waybills.map((w) => vault.masked(w)))).filter((m): m is MaskedWaybill => m !== null);
    return { matches, truncated };
  }

  async function decide(p: AccountPrincipal, waybill: string, body: RevealBody, ctx: RequestContext, now: number) {
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
    const bad = fields.filter((f) => !isQualifiedField(f));
    if (bad.length || fields.length === 0) {
      return { entry, error: new AppError('validation_failed', fields.length ? `unknown field(s): ${bad.map((f) => JSON.stringify(f.slice(0, 40))).join(', ')}; use e.g. "recipient.phone"` : 'fields must name at least one field') };
    }
    const sealed = await pii.fetch(waybill, p.account.id);
    if (!sealed) return { entry, error: new AppError('not_found', `waybill ${waybill} does not exist`) };
    const routing = sealed.routing;
    const decision = await evaluateReveal(
      policy,
      { account: p.account.id, role: p.account.role, site: p.account.site, siteCity: p.account.siteCity },
      { routing, fields: fields as QualifiedField[], purpose: body.purpose, ticket: body.ticket, caseRef: body.case },
      workSnapshot(sealed.work),
      now,
    );
    if (!decision.allowed) return { entry, error: new AppError(decision.code, decision.message) };
    entry.detail = { ...(entry.detail ?? {}), basis: decision.bases.join(',') };
    return { entry, error: null, qualified: fields as QualifiedField[], sealed };
  }

  function quotaSubject(p: AccountPrincipal) {
    return { role: p.account.role, account: p.account.id, device: p.device, site: p.account.site };
  }

  async function reveal(principal: Principal, waybill: string, body: RevealBody, ctx: RequestContext) {
    const p = staff(principal, 'reveal customer data', 'reveal');
    const now = clock.now();
    const d = await decide(p, waybill, body, ctx, now);
    if (d.error) return refuse(d.entry, d.error);
    const q = quotas.tryConsume(quotaSubject(p), 1, now);
    if (!q.ok) {
      return refuse(
        d.entry,
        new AppError('quota_exceeded', `reveal quota exceeded: ${q.limit} records ${q.window.replace('_', ' ')} for this ${q.scope}`, { retryAfterSeconds: q.retryAfterSeconds, scope: q.scope, window: q.window }),
      );
    }
    try {
      await audit.append([d.entry]);
    } catch (err) {
      q.release();
      throw err;
    }
    metrics.accessDecisions.inc({ action: 'reveal', decision: 'allowed', reason: 'none', role: p.account.role });
    metrics.recordsRevealed.inc({ role: p.account.role });
    return { waybill, values: await pii.open(d.sealed!, d.qualified!) };
  }

  async function revealBatch(principal: Principal, body: RevealBody & { waybills?: string[]; items?: Array<{ waybill: string; fields?: string[] }> }, ctx: RequestContext) {
    const p = staff(principal, 'reveal customer data', 'reveal');
    const now = clock.now();
    const items = body.items ?? (body.waybills ?? []).map((waybill) => ({ waybill, fields: body.fields }));
    if (items.length === 0) throw new AppError('validation_failed', 'a batch reveal needs at least one item');
    const entries: AuditEntryInput[] = [];
    const outcomes: Array<{ waybill: string; error?: AppError; sealed?: SealedWaybill; fields?: QualifiedField[]; release?: () => void }> = [];
    for (const item of items) {
      const d = await decide(p, item.waybill, { ...body, fields: item.fields ?? body.fields }, ctx, now);
      if (d.error) {
        entries.push({ ...d.entry, decision: 'denied', reason: d.error.code });
        outcomes.push({ waybill: item.waybill, error: d.error });
        continue;
      }
      const q = quotas.tryConsume(quotaSubject(p), 1, now);
      if (!q.ok) {
        const err = new AppError('quota_exceeded', `reveal quota exceeded: ${q.limit} records ${q.window.replace('_', ' ')} for this ${q.scope}`, { retryAfterSeconds: q.retryAfterSeconds });
        entries.push({ ...d.entry, decision: 'denied', reason: err.code });
        outcomes.push({ waybill: item.waybill, error: err });
        continue;
      }
      entries.push(d.entry);
      outcomes.push({ waybill: item.waybill, sealed: d.sealed!, fields: d.qualified!, release: q.release });
    }
    try {
      await audit.append(entries);
    } catch (err) {
      for (const o of outcomes) o.release?.();
      throw err;
    }
    for (const e of entries) {
      metrics.accessDecisions.inc({ action: 'reveal', decision: e.decision === 'allowed' ? 'allowed' : 'denied', reason: e.reason ?? 'none', role: p.account.role });
    }
    const results = [];
    for (const o of outcomes) {
      results.push(o.error ? { waybill: o.waybill, error: { code: o.error.code, message: o.error.message } } : { waybill: o.waybill, values: await pii.open(o.sealed!, o.fields!) });
    }
    metrics.recordsRevealed.inc({ role: p.account.role }, results.filter((r) => 'values' in r).length);
    return { results };
  }

  return { view, search, reveal, revealBatch };
}

export type AccessService = ReturnType<typeof createAccessService>;
