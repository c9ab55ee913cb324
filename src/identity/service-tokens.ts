/**
 * Service tokens: the bearer credentials of upstream systems (dispatch, ticketing, a legacy query
 * system), each registered for what it may send.
 *
 * Invariants:
 * - A token is stored only as its SHA-256 hash and shown once; only service accounts hold one.
 * - Every token carries a registration: the event types it may send, optionally the sites it may
 *   speak for, and — only if it sends login/logout/access — the accounts that activity may be
 *   about (a prefix or a list). Those accounts are never Warden's own gateway accounts: that is
 *   refused here when the token is registered and again on every event (accounts created later).
 * - A registration never changes; a different one is a new token (and the old one is revoked).
 * - Issuing and revoking are audited with the actor, in the transaction that does them.
 * - A token issued by a person waits for a second person (pending, refused until approved) when it
 *   grants work (assign, ticket) or when its account is one whose tokens always need two people
 *   (`secondPerson`: the telephony platform, whose token turns virtual numbers into real ones).
 *   Every view of a token says why it needs one (`needs_approval_because`), so nobody approves a
 *   telephony token blind (attack review 8).
 * - A telephony token names no sites: it routes bindings of any site, so a site list would be a
 *   limit it does not have (review 8). Issuing one is refused; one from before is refused on every
 *   route (`standing().site_limited`, src/trace/privacy.ts).
 */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Selectable } from 'kysely';
import type { Database } from '../store/schema.js';
import type { AuditWriter } from '../audit/writer.js';
import type { Clock } from '../ops/clock.js';
import { AppError, type FieldError } from '../errors.js';
import { EVENT_TYPES, type EventType } from '../contracts/events.js';
import { newToken, SERVICE_PREFIX, tokenHash, type RequestContext } from './identity.js';
import { actorName, type Actor } from './types.js';
import { refuseSameHand } from '../access/self.js';
import { identifierProblem, identifierRule } from '../contracts/identifiers.js';
import { trailRequester } from '../audit/requested-by.js';
import type { CredentialSeal } from './credential-seal.js';

/** What one producer may send to POST /api/v1/events and the upstream routes. */
export interface TokenRegistration {
  /** Event types it may send. */
  events: EventType[];
  /** Sites it speaks for; null: any site. */
  sites: string[] | null;
  /** login/logout/access only about accounts starting with this (a legacy system's own accounts). */
  accounts_prefix: string | null;
  /** ... or about exactly these accounts. */
  accounts: string[] | null;
  /** May import history through POST /api/v1/events?mode=backfill (audited). */
  backfill: boolean;
}

/** Event types that describe staff activity (who logged in, who looked at what). */
export const STAFF_ACTIVITY_TYPES: readonly EventType[] = ['login', 'logout', 'access'];

/**
 * A token registered without naming anything, and every token issued before registrations
 * existed (migration 0007): an upstream feed's least — parcels, work and scans, no staff activity.
 */
export const UPSTREAM_DEFAULT: TokenRegistration = { events: ['waybill', 'assign', 'ticket', 'scan'], sites: null, accounts_prefix: null, accounts: null, backfill: false };

export interface RegistrationInput {
  events?: EventType[] | undefined;
  sites?: string[] | undefined;
  accounts_prefix?: string | undefined;
  accounts?: string[] | undefined;
  backfill?: boolean | undefined;
}

/** Why a token issued by a person waits for a second person. */
export type ApprovalReason = 'telephony' | 'grants_work';

export interface ServiceTokenInfo {
  id: string;
  account: string;
  created_at: string;
  revoked_at: string | null;
  registration: TokenRegistration;
  approval: 'pending' | 'approved';
  /** Why it needs (or, approved, needed) a second person when a person issues it; [] when it does not. */
  needs_approval_because: ApprovalReason[];
  requested_by: string | null;
  approved_by: string | null;
}

/** Assignments and tickets back reveals: a token that may send them grants work to whoever it names. */
export const grantsWork = (r: TokenRegistration): boolean => r.events.includes('assign') || r.events.includes('ticket');

export interface ServiceTokensDeps {
  db: Kysely<Database>;
  audit: AuditWriter;
  clock: Clock;
  /** Service accounts whose tokens always need a second person, whatever they send (policy privacy_numbers.telephony_accounts). */
  secondPerson?: ((account: string) => boolean) | undefined;
  /** Seals each token row in its insert (credential-seal.ts). */
  seal: CredentialSeal;
}

/** A token as it stands now, for a route only a two-person token may use (never cached). */
export interface TokenStanding {
  id: string;
  account: string;
  live: boolean;
  approval: 'pending' | 'approved';
  /** Who issued it (from its creation entry in the trail): an account id, or `admin` for the admin token. */
  issued_by: string | null;
  approved_by: string | null;
  /** Two people stand behind it: a second person approved it, or the installation's admin token issued it. */
  two_person: boolean;
  /** Registered for some sites only: a limit routing cannot keep, so it routes nothing (src/trace/privacy.ts). */
  site_limited: boolean;
}

const MAX_CACHED = 10_000;

const TOKEN_COLUMNS = ['id', 'account', 'created_at', 'revoked_at', 'registration', 'approval', 'requested_by', 'approved_by'] as const;

export function createServiceTokens({ db, audit, clock, secondPerson, seal }: ServiceTokensDeps) {
  // Registrations never change, so a token's is read once (revocation is the authenticator's).
  const cache = new Map<string, TokenRegistration>();
  // Nor does who issued a token (its creation entry): read once per token.
  const issuers = new Map<string, string>();

  /** Why a person issuing this token needs a second person: its account always does (telephony), it grants work. */
  const approvalReasons = (accountId: string, r: TokenRegistration): ApprovalReason[] => [
    ...(secondPerson?.(accountId) === true ? (['telephony'] as const) : []),
    ...(grantsWork(r) ? (['grants_work'] as const) : []),
  ];

  async function serviceAccount(accountId: string) {
    const account = await db.selectFrom('accounts').select(['id', 'role']).where('id', '=', accountId).executeTakeFirst();
    if (!account) throw new AppError('not_found', `account ${accountId} does not exist`);
    if (account.role !== 'service') throw new AppError('validation_failed', 'service tokens are only for service accounts');
    return account;
  }

  /** Checks a registration against the store; every problem is named at once. */
  async function resolve(input: RegistrationInput): Promise<TokenRegistration> {
    const events = input.events === undefined ? UPSTREAM_DEFAULT.events : [...new Set(input.events)];
    const problems: FieldError[] = [];
    for (const t of events) if (!EVENT_TYPES.includes(t)) problems.push({ field: 'events', code: 'unknown_event_type', message: `"${String(t).slice(0, 40)}" is not an event type` });
    if (events.length === 0) problems.push({ field: 'events', code: 'required', message: 'name at least one event type' });
    const staffActivity = events.some((t) => STAFF_ACTIVITY_TYPES.includes(t));
    const prefix = input.accounts_prefix ?? null;
    const accounts = input.accounts ? [...new Set(input.accounts)] : null;
    if (staffActivity && prefix === null && !accounts?.length) {
      problems.push({ field: 'accounts_prefix', code: 'required', message: 'login/logout/access need the accounts they are about (accounts_prefix or accounts): a system\'s own accounts, never Warden\'s' });
    }
    if (!staffActivity && (prefix !== null || accounts)) {
      problems.push({ field: prefix !== null ? 'accounts_prefix' : 'accounts', code: 'not_applicable', message: 'only applies to tokens registered for login, logout or access' });
    }
    // Both are recorded in the trail (`admin.service_token_created`): identifiers, never a phone or
    // ID number typed in their place (attack review 10, contracts/identifiers.ts).
    for (const [field, v] of [['accounts_prefix', prefix] as const, ...(accounts ?? []).map((a, i) => [`accounts.${i}`, a] as const)]) {
      const bad = v === null ? null : identifierProblem(v, 200);
      if (bad) problems.push({ field, code: 'bad_identifier', message: identifierRule(bad, 200) });
    }
    if (prefix !== null) {
      const clash = await db.selectFrom('accounts').select(sql<number>`count(*)::int`.as('n')).where(sql<boolean>`starts_with(id, ${prefix})`).executeTakeFirstOrThrow();
      if (clash.n > 0) problems.push({ field: 'accounts_prefix', code: 'gateway_accounts', message: `${clash.n} Warden account(s) start with "${prefix}": their activity comes only from Warden's own trail` });
    }
    if (accounts?.length) {
      const clash = await db.selectFrom('accounts').select('id').where('id', 'in', accounts).limit(5).execute();
      if (clash.length) problems.push({ field: 'accounts', code: 'gateway_accounts', message: `${clash.map((a) => a.id).join(', ')} are Warden accounts: their activity comes only from Warden's own trail` });
    }
    const sites = input.sites ? [...new Set(input.sites)] : null;
    if (sites?.length) {
      const known = new Set((await db.selectFrom('sites').select('code').where('code', 'in', sites).execute()).map((s) => s.code));
      const unknown = sites.filter((s) => !known.has(s));
      if (unknown.length) problems.push({ field: 'sites', code: 'unknown_site', message: `no such site: ${unknown.slice(0, 5).join(', ')}` });
    } else if (sites) {
      problems.push({ field: 'sites', code: 'required', message: 'omit sites for any site, or name at least one' });
    }
    if (problems.length) throw new AppError('validation_failed', `token registration: ${problems[0]!.field} ${problems[0]!.message}`, { fields: problems });
    return { events, sites, accounts_prefix: prefix, accounts, backfill: input.backfill === true };
  }

  /** Issues a token for a service account, registered for `input` (UPSTREAM_DEFAULT when empty); shown once. */
  async function create(accountId: string, input: RegistrationInput, by: Actor, ctx: RequestContext) {
    await serviceAccount(accountId);
    const registration = await resolve(input);
    const because = approvalReasons(accountId, registration);
    if (because.includes('telephony') && registration.sites !== null) {
      const message = 'a telephony token routes privacy numbers of every site: it cannot be limited to sites (omit sites)';
      throw new AppError('validation_failed', `token registration: sites ${message}`, { fields: [{ field: 'sites', code: 'not_applicable', message }] });
    }
    const actor = actorName(by);
    // A person granting work (or issuing a telephony token) waits for a second person; the admin
    // token is the installation's own (switch it off after setup: POST /api/v1/admin-token/disable).
    const approval = by.kind === 'account' && because.length > 0 ? ('pending' as const) : ('approved' as const);
    const token = newToken(SERVICE_PREFIX);
    const id = randomUUID();
    const now = new Date(clock.now());
    await audit.append(
      [{
        kind: 'admin.service_token_created',
        ts: now,
        decision: 'ok',
        account: accountId,
        role: 'service',
        ip: ctx.ip,
        requestId: ctx.requestId,
        detail: {
          actor,
          token_id: id,
          events: registration.events,
          sites: registration.sites,
          accounts_prefix: registration.accounts_prefix,
          accounts: registration.accounts,
          backfill: registration.backfill,
          approval,
        },
      }],
      async (tx) => {
        const sealed = { id, token_hash: tokenHash(token), account: accountId, registration: JSON.stringify(registration) };
        await tx.insertInto('service_tokens').values({ ...sealed, created_at: now, revoked_at: null, approval, requested_by: approval === 'pending' ? actor : null, credential_seal: seal.seal('service_token', sealed) }).execute();
      },
    );
    cache.set(id, registration);
    return { id, token, account: accountId, created_at: now.toISOString(), registration, approval, needs_approval_because: because };
  }

  /** A second person lets a pending token (one that grants work, or a telephony platform's) be used (never who asked for it, nor an account linked to it by creation: access/self.ts). */
  async function approve(accountId: string, tokenId: string, by: Actor, ctx: RequestContext): Promise<ServiceTokenInfo> {
    await serviceAccount(accountId);
    const row = await db.selectFrom('service_tokens').select(['id', 'approval', 'requested_by', 'revoked_at']).where('id', '=', tokenId).where('account', '=', accountId).executeTakeFirst();
    if (!row || row.revoked_at) throw new AppError('not_found', `account ${accountId} has no live token ${tokenId}`);
    const now = new Date(clock.now());
    const actor = actorName(by);
    const entry = { kind: 'admin.service_token_approved' as const, ts: now, account: accountId, role: 'service' as const, detail: { actor, token_id: tokenId, requested_by: row.requested_by } };
    if (row.approval !== 'pending') throw new AppError('conflict', `token ${tokenId} is not waiting for approval`);
    // Who asked is who the trail says (attack review 10: `requested_by` rewritten to another person).
    const requestedBy = await trailRequester(db, audit, { of: 'service_token', id: tokenId, row: row.requested_by }, entry, by, ctx);
    await refuseSameHand(db, audit, entry, by, ctx, 'approve a token you asked for', [requestedBy]);
    await audit.append([{ ...entry, decision: 'ok', ip: ctx.ip, requestId: ctx.requestId }], async (tx) => {
      const moved = await tx.updateTable('service_tokens').set({ approval: 'approved', approved_by: actor }).where('id', '=', tokenId).where('approval', '=', 'pending').returning('id').executeTakeFirst();
      if (!moved) throw new AppError('conflict', `token ${tokenId} is no longer pending`);
    });
    return (await list(accountId)).find((t) => t.id === tokenId)!;
  }

  async function list(accountId: string): Promise<ServiceTokenInfo[]> {
    await serviceAccount(accountId);
    const rows = await db.selectFrom('service_tokens').select(TOKEN_COLUMNS).where('account', '=', accountId).orderBy('created_at').orderBy('id').execute();
    return rows.map(toInfo);
  }

  /** Live tokens waiting for a second person, across every service account, oldest first: one query (at most `limit`, and whether more wait). */
  async function listPending(limit: number): Promise<{ tokens: ServiceTokenInfo[]; truncated: boolean }> {
    const rows = await db.selectFrom('service_tokens').select(TOKEN_COLUMNS).where('approval', '=', 'pending').where('revoked_at', 'is', null).orderBy('created_at').orderBy('id').limit(limit + 1).execute();
    return { tokens: rows.slice(0, limit).map(toInfo), truncated: rows.length > limit };
  }

  function toInfo(r: Pick<Selectable<Database['service_tokens']>, (typeof TOKEN_COLUMNS)[number]>): ServiceTokenInfo {
    const registration = parseRegistration(r.registration);
    return {
      id: r.id,
      account: r.account,
      created_at: new Date(r.created_at).toISOString(),
      revoked_at: r.revoked_at ? new Date(r.revoked_at).toISOString() : null,
      registration,
      approval: r.approval,
      needs_approval_because: approvalReasons(r.account, registration),
      requested_by: r.requested_by,
      approved_by: r.approved_by,
    };
  }

  /** Revokes a token; refused on its next request (within the authenticator's cache time, 2 s). */
  async function revoke(accountId: string, tokenId: string, actor: string, ctx: RequestContext) {
    await serviceAccount(accountId);
    const now = new Date(clock.now());
    await audit.append(
      [{ kind: 'admin.service_token_revoked', ts: now, decision: 'ok', account: accountId, role: 'service', ip: ctx.ip, requestId: ctx.requestId, detail: { actor, token_id: tokenId } }],
      async (tx) => {
        const row = await tx.updateTable('service_tokens').set({ revoked_at: now }).where('id', '=', tokenId).where('account', '=', accountId).where('revoked_at', 'is', null).returning('id').executeTakeFirst();
        if (!row) throw new AppError('not_found', `account ${accountId} has no live token ${tokenId}`);
      },
    );
    return { id: tokenId, account: accountId, revoked_at: now.toISOString() };
  }

  /** The registration of a token the authenticator accepted. */
  async function registration(tokenId: string): Promise<TokenRegistration> {
    const hit = cache.get(tokenId);
    if (hit) return hit;
    const row = await db.selectFrom('service_tokens').select('registration').where('id', '=', tokenId).executeTakeFirst();
    if (!row) throw new AppError('unauthenticated', 'token is invalid, expired or revoked');
    const reg = parseRegistration(row.registration);
    if (cache.size >= MAX_CACHED) cache.clear();
    cache.set(tokenId, reg);
    return reg;
  }

  /** Who issued a token: the actor of its creation entry (null when the trail has none: fail closed). */
  async function issuerOf(tokenId: string, accountId: string): Promise<string | null> {
    if (issuers.has(tokenId)) return issuers.get(tokenId)!;
    const rows = await db.selectFrom('audit_log').select('detail').where('kind', '=', 'admin.service_token_created').where('account', '=', accountId).where('decision', '=', 'ok').execute();
    const detail = rows.map((r) => (typeof r.detail === 'string' ? JSON.parse(r.detail) : r.detail) as Record<string, unknown> | null).find((d) => d?.token_id === tokenId);
    const issuer = typeof detail?.actor === 'string' ? detail.actor : null;
    if (issuers.size >= MAX_CACHED) issuers.clear();
    if (issuer !== null) issuers.set(tokenId, issuer);
    return issuer;
  }

  /** Whether the trail's issuer names the admin token: `admin`, and no account is called that (else it cannot be told apart: fail closed). */
  async function byAdminToken(issuer: string | null): Promise<boolean> {
    const admin = actorName({ kind: 'admin' });
    if (issuer !== admin) return false;
    return !(await db.selectFrom('accounts').select('id').where('id', '=', admin).executeTakeFirst());
  }

  /**
   * A token as it stands now (read fresh: approval and revocation), and whether two people stand
   * behind it — a second person approved it, or the admin token issued it. A token issued before
   * its account needed two people, by one person, has neither: it is not two-person (reissue it).
   */
  async function standing(tokenId: string): Promise<TokenStanding | null> {
    const row = await db.selectFrom('service_tokens').select(['id', 'account', 'approval', 'approved_by', 'revoked_at', 'registration']).where('id', '=', tokenId).executeTakeFirst();
    if (!row) return null;
    const issuedBy = await issuerOf(row.id, row.account);
    const live = row.revoked_at === null;
    const two = live && row.approval === 'approved' && (row.approved_by !== null || (await byAdminToken(issuedBy)));
    return { id: row.id, account: row.account, live, approval: row.approval, issued_by: issuedBy, approved_by: row.approved_by, two_person: two, site_limited: parseRegistration(row.registration).sites !== null };
  }

  return { create, approve, list, listPending, revoke, registration, standing };
}

export type ServiceTokens = ReturnType<typeof createServiceTokens>;

/** jsonb comes back parsed from pg and PGlite; anything malformed grants nothing. */
function parseRegistration(raw: unknown): TokenRegistration {
  const r = (typeof raw === 'string' ? JSON.parse(raw) : raw) as Partial<TokenRegistration> | null;
  const strings = (v: unknown): string[] | null => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : null);
  return {
    events: (strings(r?.events) ?? []).filter((t): t is EventType => EVENT_TYPES.includes(t as EventType)),
    sites: r?.sites == null ? null : (strings(r.sites) ?? []),
    accounts_prefix: typeof r?.accounts_prefix === 'string' ? r.accounts_prefix : null,
    accounts: strings(r?.accounts),
    backfill: r?.backfill === true,
  };
}
