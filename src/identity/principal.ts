/**
 * Who is calling: bearer token → principal. The one place that decides whether an account may
 * act at all (suspended, pending approval, session ended, device revoked); routes and the access
 * service rely on it and do not check account status again.
 *
 * Invariants:
 * - Tokens are looked up by SHA-256 hash only. The session or service-token row, and its
 *   account's credential columns, authenticate only while they match their credential seal
 *   (credential-seal.ts), checked on the row the lookup read (no statement added): a row
 *   inserted or rewritten outside Warden is refused (409 `record_integrity`, audited as
 *   `auth.record_integrity` with the account and the row, no token or secret).
 * - A session acts only while it is live, its account is approved and not suspended, and the
 *   enrolled device it is bound to is not revoked. A session without an enrolled device (from
 *   before device binding) is refused: log in again.
 * - A session ended by a suspension stays ended after the suspension is lifted; while the
 *   account is suspended its holder is told so (403), afterwards it is simply invalid (401).
 * - Resolved principals are cached ≤ PRINCIPAL_CACHE_MS; any change to an account drops its
 *   cached principals in this process at once (other processes re-read within the cache time).
 *   With several processes on one database (PostgreSQL) the cache is off (`cacheMs` 0): every
 *   request reads its session, so a revocation or suspension at one process holds at every
 *   process on the next request.
 * - With the cache off, the account's response (step-up, throttle, suspend: account_responses)
 *   is read in the same statement as its session and kept with that principal object, which
 *   lives for one request: the response gate uses it instead of reading again
 *   (`responseReadWith`; docs/decisions/0015-reveal-statements.md). A cached principal carries
 *   none, and the gate reads.
 */
import { createHash } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { Role } from '../contracts/events.js';
import type { Clock } from '../ops/clock.js';
import { AppError } from '../errors.js';
import { toBuffer } from '../store/db.js';
import { turnBatcher } from '../store/turn-batch.js';
import { prepared } from '../store/prepared.js';
import type { AccountInfo, Principal } from './types.js';
import type { AdminToken } from './admin-token.js';
import type { AuditWriter } from '../audit/writer.js';
import type { CredentialSeal } from './credential-seal.js';

export const PRINCIPAL_CACHE_MS = 2000;
export const SESSION_PREFIX = 'wdn_s_';
export const SERVICE_PREFIX = 'wdn_t_';
const MAX_CACHED = 100_000;

export const tokenHash = (token: string) => createHash('sha256').update(token).digest();

/**
 * The suspended person is told whom to ask, never why: an analyst's reason may name the
 * investigation (attack review 6). The reason stays on the account and in the trail for the
 * security side.
 */
export const SUSPENDED_MESSAGE = 'this account is suspended; contact your security team';

/** The account's response row as read with its session (null: none in force). */
export interface ResponseRead {
  action: 'step_up' | 'throttle' | 'suspend';
  reason: string;
  since: number;
  alert: string | null;
}
const responsesRead = new WeakMap<object, ResponseRead | null>();
/** The response read with this principal's session in this request; undefined when it was not (cached principal, service token). */
export const responseReadWith = (principal: object): ResponseRead | null | undefined => responsesRead.get(principal);

const invalid = () => new AppError('unauthenticated', 'token is invalid, expired or revoked');

interface AccountRow {
  id: string;
  role: string;
  site: string | null;
  status: 'active' | 'suspended';
  status_reason: string | null;
  mfa_secret: Uint8Array | null;
  approval: 'approved' | 'pending';
  city: string | null;
}

/** What the credential seal of an account covers, as read with the session or token. */
interface SealedAccountRow {
  id: string;
  password_hash: string | null;
  mfa_secret: Uint8Array | null;
  credential_seal: Uint8Array | null;
}

export const RECORD_INTEGRITY_MESSAGE = 'this credential\'s record was changed outside Warden and is refused; contact your security team';

export const accountInfo = (r: AccountRow): AccountInfo => ({
  id: r.id,
  role: r.role as Role,
  site: r.site,
  siteCity: r.city,
  status: r.status,
  statusReason: r.status_reason,
  mfaEnrolled: r.mfa_secret !== null,
  approval: r.approval,
});

/** Refuses an account that may not act; the single suspension check of the gateway. */
export function assertMayAct(account: AccountInfo): void {
  if (account.status === 'suspended') throw new AppError('account_suspended', SUSPENDED_MESSAGE);
  if (account.approval === 'pending') throw new AppError('approval_pending', 'this account waits for a security analyst to approve it');
}

export interface PrincipalDeps {
  db: Kysely<Database>;
  clock: Clock;
  adminToken: AdminToken;
  seal: CredentialSeal;
  /** Records a refusal of a row whose seal does not match. */
  audit: Pick<AuditWriter, 'append'>;
  /** Default PRINCIPAL_CACHE_MS; 0 turns the cache off. */
  cacheMs?: number | undefined;
}

export function createPrincipalResolver(deps: PrincipalDeps) {
  const { db, clock } = deps;
  const cacheMs = deps.cacheMs ?? PRINCIPAL_CACHE_MS;
  const cache = new Map<string, { principal: Extract<Principal, { kind: 'account' }>; until: number; expiresAt: number }>();
  const keysByAccount = new Map<string, Set<string>>();

  /**
   * A row that does not match its seal: refused, and audited (the account the row names, which
   * row; never the token, hash or secret). Fail closed: if the entry cannot be written the
   * request is refused all the same.
   */
  async function broken(row: 'session' | 'service_token' | 'account', account: string, ids: { session?: string; token?: string }): Promise<never> {
    await deps.audit
      .append([{ kind: 'auth.record_integrity', ts: new Date(clock.now()), decision: 'denied', account, reason: 'record_integrity', ...(ids.session ? { session: ids.session } : {}), detail: { row, ...(ids.token ? { token: ids.token } : {}) } }])
      .catch(() => undefined);
    throw new AppError('record_integrity', RECORD_INTEGRITY_MESSAGE);
  }
  const accountIntact = (a: SealedAccountRow) => deps.seal.check('account', a, a.credential_seal);

  function dropCached(account: string): void {
    for (const key of keysByAccount.get(account) ?? []) cache.delete(key);
    keysByAccount.delete(account);
  }

  function remember(key: string, principal: Extract<Principal, { kind: 'account' }>, now: number, expiresAt: number): void {
    if (cacheMs <= 0) return;
    if (cache.size >= MAX_CACHED) {
      cache.clear();
      keysByAccount.clear();
    }
    cache.set(key, { principal, until: now + cacheMs, expiresAt });
    let keys = keysByAccount.get(principal.account.id);
    if (!keys) keysByAccount.set(principal.account.id, (keys = new Set()));
    keys.add(key);
  }

  /** The session reads of one event-loop turn share one query (every request reads its session when the cache is off). */
  const readSessions = turnBatcher(async (hashes: Buffer[]) => {
    const query = db
      .selectFrom('sessions as s')
      .innerJoin('accounts as a', 'a.id', 's.account')
      .leftJoin('sites', 'sites.code', 'a.site')
      .leftJoin('devices as d', 'd.id', 's.device')
      .leftJoin('account_responses as r', 'r.account', 's.account')
      .select(['s.token_hash', 's.id as session', 's.account as session_account', 's.created_at', 's.expires_at', 's.revoked_at', 's.revoked_reason', 's.mfa', 's.device', 's.credential_seal as session_seal', 'd.id as enrolled', 'd.revoked_at as device_revoked_at'])
      .select(['a.id', 'a.role', 'a.site', 'a.status', 'a.status_reason', 'a.mfa_secret', 'a.approval', 'a.password_hash', 'a.credential_seal', 'sites.city'])
      .select(['r.action as response_action', 'r.reason as response_reason', 'r.since as response_since', 'r.alert_id as response_alert'])
      // One text for any number of hashes: a prepared statement (docs/decisions/0016-prepared-reveal-statements.md).
      .where('s.token_hash', '=', sql<Buffer>`any(${hashes}::bytea[])`)
      .compile();
    const { rows } = await prepared(db, query);
    const byHash = new Map(rows.map((r) => [toBuffer(r.token_hash).toString('base64'), r]));
    return hashes.map((h) => byHash.get(h.toString('base64')));
    // Not limited to one batch in flight (review 5): every staff request reads its session here, so
    // one slow statement would hold up every sign-in of the process, not only reveals.
  });

  async function sessionPrincipal(hash: Buffer, now: number) {
    const s = await readSessions(hash);
    if (!s) throw invalid();
    const account = accountInfo(s);
    if (s.revoked_at) {
      if (s.revoked_reason === 'suspended' && account.status === 'suspended') assertMayAct(account);
      throw s.revoked_reason === 'suspended' ? new AppError('unauthenticated', 'this session ended when the account was suspended; log in again') : invalid();
    }
    const expiresAt = new Date(s.expires_at).getTime();
    if (expiresAt <= now || !s.enrolled || s.device_revoked_at) throw invalid();
    // The session row (minted, or its account, device, mfa flag or expiry rewritten), then its account's credentials.
    const sessionRow = { id: s.session, token_hash: s.token_hash, account: s.session_account, device: s.device, mfa: s.mfa, expires_at: s.expires_at };
    if (!deps.seal.check('session', sessionRow, s.session_seal)) await broken('session', s.session_account, { session: s.session });
    if (!accountIntact(s)) await broken('account', s.id, { session: s.session });
    const principal = { kind: 'account' as const, account, sessionId: s.session, sessionCreatedAt: new Date(s.created_at).getTime(), mfa: s.mfa, device: s.device, via: 'session' as const };
    // Only an object that lives for this request may carry what was read now (see the header).
    if (cacheMs <= 0) {
      const r = s.response_action ? { action: s.response_action, reason: s.response_reason ?? '', since: new Date(s.response_since!).getTime(), alert: s.response_alert ?? null } : null;
      responsesRead.set(principal, r);
    }
    return { principal, expiresAt };
  }

  async function serviceTokenPrincipal(hash: Buffer) {
    const t = await db.selectFrom('service_tokens').selectAll().where('token_hash', '=', hash).executeTakeFirst();
    if (!t || t.revoked_at) throw invalid();
    if (!deps.seal.check('service_token', t, t.credential_seal)) await broken('service_token', t.account, { token: t.id });
    if (t.approval === 'pending') throw new AppError('approval_pending', 'this service token grants work and waits for a second person\'s approval');
    const a = await db
      .selectFrom('accounts')
      .leftJoin('sites', 'sites.code', 'accounts.site')
      .select(['accounts.id', 'accounts.role', 'accounts.site', 'accounts.status', 'accounts.status_reason', 'accounts.mfa_secret', 'accounts.approval', 'accounts.password_hash', 'accounts.credential_seal', 'sites.city'])
      .where('accounts.id', '=', t.account)
      .executeTakeFirst();
    if (!a) throw invalid();
    if (!accountIntact(a)) await broken('account', a.id, { token: t.id });
    const principal = { kind: 'account' as const, account: accountInfo(a), sessionId: null, sessionCreatedAt: null, mfa: false, device: null, via: 'service_token' as const, tokenId: t.id };
    return { principal, expiresAt: Number.POSITIVE_INFINITY };
  }

  /** Resolves a bearer token, or throws: unauthenticated (401), account_suspended / approval_pending (403). */
  async function resolve(token: string): Promise<Principal> {
    const isSession = token.startsWith(SESSION_PREFIX);
    const isService = token.startsWith(SERVICE_PREFIX);
    if (!isSession && !isService) {
      if (await deps.adminToken.accepts(token)) return { kind: 'admin' };
      throw invalid();
    }
    const hash = tokenHash(token);
    const key = hash.toString('base64');
    const now = clock.now();
    const hit = cache.get(key);
    if (hit && hit.until > now && hit.expiresAt > now) {
      assertMayAct(hit.principal.account);
      return hit.principal;
    }
    const { principal, expiresAt } = isSession ? await sessionPrincipal(hash, now) : await serviceTokenPrincipal(hash);
    remember(key, principal, now, expiresAt);
    assertMayAct(principal.account);
    return principal;
  }

  return { resolve, dropCached };
}

export type PrincipalResolver = ReturnType<typeof createPrincipalResolver>;
