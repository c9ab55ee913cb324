/**
 * Sites, accounts and sessions, and who is calling (the principal); service tokens are issued by
 * ./service-tokens.ts and resolved here.
 *
 * Invariants:
 * - Tokens are stored only as SHA-256 hashes; the admin token is compared in constant time.
 * - A suspended account is refused on its very next request: suspension drops every cached
 *   principal of the account in this process (others re-read within PRINCIPAL_CACHE_MS).
 * - Every login, logout and status change is audited in the transaction that makes it.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import { AppError } from '../errors.js';
import type { Role } from '../contracts/events.js';
import type { AuditWriter } from '../audit/writer.js';
import type { Clock } from '../ops/clock.js';
import { constantTimeEqual, decryptField, encryptField, hashPassword, verifyPassword } from '../vault/crypto.js';
import { Secret, TOTP } from 'otpauth';
import type { LoginThrottle } from './login-throttle.js';
import { profileOf } from '../access/roles.js';

export interface AccountInfo {
  id: string;
  role: Role;
  site: string | null;
  siteCity: string | null;
  status: 'active' | 'suspended';
  statusReason: string | null;
  mfaEnrolled: boolean;
}

export type Principal =
  | { kind: 'admin' }
  | { kind: 'account'; account: AccountInfo; sessionId: string | null; sessionCreatedAt: number | null; mfa: boolean; device: string | null; via: 'session' | 'service_token'; tokenId?: string };

export interface RequestContext {
  ip: string | null;
  requestId: string;
}

export interface IdentityConfig {
  adminToken?: string | undefined;
  sessionTtlMinutes: number;
  maxSessionsPerAccount: number;
}

const PRINCIPAL_CACHE_MS = 2000;

/** The 403 names the reason, so the holder knows whom to ask and why. */
export const suspendedMessage = (reason: string | null) => (reason ? `this account is suspended: ${reason}` : 'this account is suspended');
const SESSION_PREFIX = 'wdn_s_';
export const SERVICE_PREFIX = 'wdn_t_';
// Verifying against a fixed hash keeps "no such account" as slow as "wrong password".
const DUMMY_HASH = hashPassword('warden-timing-equaliser');

export const tokenHash = (token: string) => createHash('sha256').update(token).digest();
export const newToken = (prefix: string) => prefix + randomBytes(32).toString('base64url');

export interface IdentityDeps {
  db: Kysely<Database>;
  audit: AuditWriter;
  clock: Clock;
  throttle: LoginThrottle;
  config: IdentityConfig;
  /** Key that encrypts TOTP secrets at rest. */
  mfaKey: Buffer;
}

export function createIdentityService(deps: IdentityDeps) {
  const { db, audit, clock, throttle, config } = deps;
  const mfaAad = (account: string) => `warden/mfa/v1|${account}`;
  const totpFor = (account: string, base32: string) => new TOTP({ issuer: 'Warden', label: account, secret: Secret.fromBase32(base32), digits: 6, period: 30 });
  const cache = new Map<string, { principal: Principal; until: number; expiresAt: number }>();
  const cacheKeysByAccount = new Map<string, Set<string>>();

  function dropCached(account: string): void {
    for (const key of cacheKeysByAccount.get(account) ?? []) cache.delete(key);
    cacheKeysByAccount.delete(account);
  }

  async function loadAccount(id: string): Promise<AccountInfo | null> {
    const row = await db
      .selectFrom('accounts')
      .leftJoin('sites', 'sites.code', 'accounts.site')
      .select(['accounts.id', 'accounts.role', 'accounts.site', 'accounts.status', 'accounts.status_reason', 'accounts.mfa_secret', 'sites.city'])
      .where('accounts.id', '=', id)
      .executeTakeFirst();
    return row
      ? { id: row.id, role: row.role as Role, site: row.site, siteCity: row.city, status: row.status, statusReason: row.status_reason, mfaEnrolled: row.mfa_secret !== null }
      : null;
  }

  async function createSite(input: { code: string; kind: 'outlet' | 'sorting' | 'cs' | 'hq'; city: string }, ctx: RequestContext) {
    const now = new Date(clock.now());
    await audit.append(
      [{ kind: 'admin.site_created', ts: now, decision: 'ok', account: 'admin', ip: ctx.ip, requestId: ctx.requestId, detail: { site: input.code, site_kind: input.kind } }],
      async (tx) => {
        const inserted = await tx.insertInto('sites').values(input).onConflict((oc) => oc.column('code').doNothing()).returning('code').executeTakeFirst();
        if (!inserted) throw new AppError('conflict', `site ${input.code} already exists`);
      },
    );
    return input;
  }

  async function createAccount(input: { id: string; role: Role; site?: string | null; password?: string | null }, ctx: RequestContext) {
    const site = input.site ?? null;
    if (site) {
      const exists = await db.selectFrom('sites').select('code').where('code', '=', site).executeTakeFirst();
      if (!exists) throw new AppError('validation_failed', `site ${site} does not exist`, { fields: [{ field: 'site', code: 'unknown_site', message: 'no such site' }] });
    } else if (profileOf(input.role).needsSite) {
      throw new AppError('validation_failed', `a ${input.role} account needs a site`, { fields: [{ field: 'site', code: 'required', message: 'required for this role' }] });
    }
    const password_hash = input.password ? await hashPassword(input.password) : null;
    await audit.append(
      [{ kind: 'admin.account_created', ts: new Date(clock.now()), decision: 'ok', account: input.id, role: input.role, site, ip: ctx.ip, requestId: ctx.requestId }],
      async (tx) => {
        const inserted = await tx
          .insertInto('accounts')
          .values({ id: input.id, role: input.role, site, password_hash, status: 'active', status_reason: null, status_changed_at: null, mfa_secret: null })
          .onConflict((oc) => oc.column('id').doNothing())
          .returning('id')
          .executeTakeFirst();
        if (!inserted) throw new AppError('conflict', `account ${input.id} already exists`);
      },
    );
    return { id: input.id, role: input.role, site, status: 'active' as const };
  }

  /** Enrols (or replaces) the account's TOTP second factor; the secret is shown once. */
  async function enrolMfa(accountId: string, ctx: RequestContext) {
    const account = await loadAccount(accountId);
    if (!account) throw new AppError('not_found', `account ${accountId} does not exist`);
    const secret = new Secret({ size: 20 });
    const sealed = encryptField(deps.mfaKey, secret.base32, mfaAad(accountId));
    await audit.append([{ kind: 'admin.mfa_enrolled', ts: new Date(clock.now()), decision: 'ok', account: accountId, role: account.role, site: account.site, ip: ctx.ip, requestId: ctx.requestId }], async (tx) => {
      await tx.updateTable('accounts').set({ mfa_secret: sealed }).where('id', '=', accountId).execute();
    });
    dropCached(accountId);
    return { account: accountId, secret: secret.base32, otpauth_url: totpFor(accountId, secret.base32).toString() };
  }

  async function login(input: { account: string; password: string; device: string; app_hash?: string | undefined; otp?: string | undefined }, ctx: RequestContext) {
    const now = clock.now();
    const verdict = throttle.check(input.account, ctx.ip, now);
    const base = { kind: 'auth.login' as const, ts: new Date(now), account: input.account, device: input.device, ip: ctx.ip, requestId: ctx.requestId };
    const appDetail: Record<string, string | boolean> = input.app_hash ? { app_hash: input.app_hash, mfa: false } : { mfa: false };
    if (!verdict.ok) {
      await audit.append([{ ...base, decision: 'denied', reason: 'login_throttled', detail: { ...appDetail, scope: verdict.scope } }]);
      throw new AppError('login_throttled', `too many failed logins; try again in ${verdict.retryAfterSeconds} s`, { retryAfterSeconds: verdict.retryAfterSeconds });
    }
    const row = await db.selectFrom('accounts').select(['id', 'password_hash', 'status', 'status_reason', 'role', 'site', 'mfa_secret']).where('id', '=', input.account).executeTakeFirst();
    const passwordOk = await verifyPassword(input.password, row?.password_hash ?? (await DUMMY_HASH));
    if (!row || !row.password_hash || !passwordOk) {
      throttle.failure(input.account, ctx.ip, now);
      await audit.append([{ ...base, role: row?.role ?? null, site: row?.site ?? null, decision: 'denied', reason: 'invalid_credentials', detail: appDetail }]);
      throw new AppError('invalid_credentials', 'account or password is wrong');
    }
    let mfa = false;
    if (input.otp !== undefined) {
      const base32 = row.mfa_secret ? decryptField(deps.mfaKey, Buffer.from(row.mfa_secret), mfaAad(row.id)) : null;
      if (!base32 || totpFor(row.id, base32).validate({ token: input.otp, timestamp: now, window: 1 }) === null) {
        throttle.failure(input.account, ctx.ip, now);
        await audit.append([{ ...base, role: row.role, site: row.site, decision: 'denied', reason: 'invalid_second_factor', detail: appDetail }]);
        throw new AppError('invalid_credentials', 'the one-time code is wrong or expired');
      }
      mfa = true;
      appDetail.mfa = true;
    }
    if (row.status === 'suspended') {
      await audit.append([{ ...base, role: row.role, site: row.site, decision: 'denied', reason: 'account_suspended', detail: appDetail }]);
      throw new AppError('account_suspended', suspendedMessage(row.status_reason ?? null));
    }
    throttle.success(input.account, ctx.ip, now);
    const token = newToken(SESSION_PREFIX);
    const sessionId = randomUUID();
    const expiresAt = new Date(now + config.sessionTtlMinutes * 60_000);
    await audit.append([{ ...base, role: row.role, site: row.site, session: sessionId, decision: 'allowed', detail: appDetail }], async (tx) => {
      await tx
        .insertInto('sessions')
        .values({ id: sessionId, token_hash: tokenHash(token), account: row.id, device: input.device, ip: ctx.ip, app_hash: input.app_hash ?? null, mfa, created_at: new Date(now), expires_at: expiresAt, revoked_at: null })
        .execute();
      // Beyond the limit the oldest live sessions end (and their holders must log in again).
      const live = await tx
        .selectFrom('sessions')
        .select('id')
        .where('account', '=', row.id)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', new Date(now))
        .orderBy('created_at', 'desc')
        .orderBy('id')
        .execute();
      // Keep the new session whatever its created_at ranks as (a slow login can commit last).
      const excess = live.filter((s) => s.id !== sessionId).slice(config.maxSessionsPerAccount - 1).map((s) => s.id);
      if (excess.length) await tx.updateTable('sessions').set({ revoked_at: new Date(now) }).where('id', 'in', excess).execute();
    });
    dropCached(row.id);
    return { token, expires_at: expiresAt.toISOString(), session: sessionId, mfa };
  }

  async function logout(principal: Principal, ctx: RequestContext) {
    if (principal.kind !== 'account' || principal.via !== 'session' || !principal.sessionId) {
      throw new AppError('bad_request', 'only a login session can be ended');
    }
    const sessionId = principal.sessionId;
    const a = principal.account;
    await audit.append(
      [{ kind: 'auth.logout', ts: new Date(clock.now()), decision: 'ok', account: a.id, role: a.role, site: a.site, device: principal.device, ip: ctx.ip, session: sessionId, requestId: ctx.requestId }],
      async (tx) => {
        await tx.updateTable('sessions').set({ revoked_at: new Date(clock.now()) }).where('id', '=', sessionId).execute();
      },
    );
    dropCached(a.id);
  }

  async function setStatus(accountId: string, status: 'active' | 'suspended', reason: string | null, actor: string, ctx: RequestContext) {
    const account = await loadAccount(accountId);
    if (!account) throw new AppError('not_found', `account ${accountId} does not exist`);
    await audit.append(
      [{
        kind: status === 'suspended' ? 'admin.account_suspended' : 'admin.account_unsuspended',
        ts: new Date(clock.now()),
        decision: 'ok',
        account: accountId,
        role: account.role,
        site: account.site,
        ip: ctx.ip,
        reason,
        requestId: ctx.requestId,
        detail: { actor },
      }],
      async (tx) => {
        await tx.updateTable('accounts').set({ status, status_reason: reason, status_changed_at: new Date(clock.now()) }).where('id', '=', accountId).execute();
      },
    );
    dropCached(accountId);
    return { id: accountId, status, reason };
  }

  /** Resolves a bearer token; null when it is not a valid credential. */
  async function authenticate(token: string): Promise<Principal | null> {
    if (config.adminToken && !token.startsWith(SESSION_PREFIX) && !token.startsWith(SERVICE_PREFIX)) {
      return constantTimeEqual(token, config.adminToken) ? { kind: 'admin' } : null;
    }
    const hash = tokenHash(token);
    const key = hash.toString('base64');
    const now = clock.now();
    const hit = cache.get(key);
    if (hit && hit.until > now && hit.expiresAt > now) return hit.principal;
    let principal: Principal | null = null;
    let expiresAt = Number.POSITIVE_INFINITY;
    if (token.startsWith(SESSION_PREFIX)) {
      const s = await db.selectFrom('sessions').selectAll().where('token_hash', '=', hash).executeTakeFirst();
      if (!s || s.revoked_at || new Date(s.expires_at).getTime() <= now) return null;
      const account = await loadAccount(s.account);
      if (!account) return null;
      principal = { kind: 'account', account, sessionId: s.id, sessionCreatedAt: new Date(s.created_at).getTime(), mfa: s.mfa, device: s.device, via: 'session' };
      expiresAt = new Date(s.expires_at).getTime();
    } else if (token.startsWith(SERVICE_PREFIX)) {
      const t = await db.selectFrom('service_tokens').selectAll().where('token_hash', '=', hash).executeTakeFirst();
      if (!t || t.revoked_at) return null;
      const account = await loadAccount(t.account);
      if (!account) return null;
      principal = { kind: 'account', account, sessionId: null, sessionCreatedAt: null, mfa: false, device: null, via: 'service_token', tokenId: t.id };
    } else {
      return null;
    }
    cache.set(key, { principal, until: now + PRINCIPAL_CACHE_MS, expiresAt });
    const accountId = principal.account.id;
    let keys = cacheKeysByAccount.get(accountId);
    if (!keys) cacheKeysByAccount.set(accountId, (keys = new Set()));
    keys.add(key);
    if (cache.size > 100_000) {
      cache.clear();
      cacheKeysByAccount.clear();
    }
    return principal;
  }

  return { createSite, createAccount, enrolMfa, login, logout, setStatus, authenticate, loadAccount };
}

export type IdentityService = ReturnType<typeof createIdentityService>;
