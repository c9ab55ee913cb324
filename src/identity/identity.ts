/**
 * Identity: sites, accounts, sessions and devices, and who is calling (the principal); service
 * tokens are issued by ./service-tokens.ts and resolved in ./principal.ts. This file wires the parts; each part's invariants are in its own header:
 * principal.ts (the one place that decides whether an account may act), login.ts, totp.ts,
 * devices.ts, accounts.ts (dual control, audit of every change), admin-token.ts.
 *
 * Invariants:
 * - Tokens and credentials are stored only as SHA-256 hashes; the admin token is compared in
 *   constant time.
 * - Every login, logout and account change is audited in the transaction that makes it.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../store/schema.js';
import { AppError } from '../errors.js';
import type { AuditWriter } from '../audit/writer.js';
import type { Clock } from '../ops/clock.js';
import type { Metrics } from '../ops/metrics.js';
import type { LoginThrottle } from './login-throttle.js';
import type { AccountInfo, Principal, PrivilegedChange, RequestContext } from './types.js';
import type { CredentialSeal } from './credential-seal.js';
import { accountInfo, createPrincipalResolver } from './principal.js';
import { createAdminToken } from './admin-token.js';
import { createAccountAdmin } from './accounts.js';
import { createLogin } from './login.js';
import { createTotpFactor } from './totp.js';

export type { AccountInfo, Actor, Principal, PrivilegedChange, RequestContext } from './types.js';
export { actorOf, actorName, actorAccount } from './types.js';

export interface IdentityConfig {
  adminToken?: string | undefined;
  sessionTtlMinutes: number;
  maxSessionsPerAccount: number;
  /** New devices an account may enrol per 24 h. */
  newDevicesPerDay?: number | undefined;
  /** How long a resolved principal is reused (0: read on every request, as several processes need). */
  principalCacheMs?: number | undefined;
  /** false: password logins are refused (single sign-on only). */
  localPasswords?: boolean | undefined;
}

export const newToken = (prefix: string) => prefix + randomBytes(32).toString('base64url');
export { SERVICE_PREFIX, tokenHash } from './principal.js';

export interface IdentityDeps {
  db: Kysely<Database>;
  audit: AuditWriter;
  clock: Clock;
  throttle: LoginThrottle;
  config: IdentityConfig;
  /** Key that encrypts TOTP secrets at rest. */
  mfaKey: Buffer;
  /** Seals credential rows (the keyring's; src/identity/credential-seal.ts). */
  credentialSeal: CredentialSeal;
  /** Key from which the failed-login account tag and the admin-token fingerprint keys derive (the keyring's blind-index key). */
  identityKey: Buffer;
  metrics?: Pick<Metrics, 'loginAttempts'> | undefined;
  /** Raises an alert for each privileged-account creation, request and approval (in its transaction). */
  onPrivilegedChange?: ((change: PrivilegedChange, tx: Transaction<Database>) => Promise<void>) | undefined;
}

/** Purpose-bound keys derived from one keyring secret. */
const derive = (key: Buffer, purpose: string) => createHmac('sha256', key).update(`warden/identity/${purpose}/v1`).digest();

export function createIdentityService(deps: IdentityDeps) {
  const { db, audit, clock, config } = deps;
  const totp = createTotpFactor(deps.mfaKey);
  const adminToken = createAdminToken({ db, audit, clock, token: config.adminToken, fingerprintKey: derive(deps.identityKey, 'admin-token') });
  const seal = deps.credentialSeal;
  const principals = createPrincipalResolver({ db, clock, adminToken, seal, audit, cacheMs: config.principalCacheMs });
  const { dropCached } = principals;
  const accounts = createAccountAdmin({ db, audit, clock, totp, seal, dropCached, onPrivilegedChange: deps.onPrivilegedChange });
  const { login, ssoLogin } = createLogin({
    db, audit, clock, totp, seal, dropCached,
    throttle: deps.throttle,
    accountTagKey: derive(deps.identityKey, 'account-tag'),
    metrics: deps.metrics,
    config: { sessionTtlMinutes: config.sessionTtlMinutes, maxSessionsPerAccount: config.maxSessionsPerAccount, newDevicesPerDay: config.newDevicesPerDay ?? 3, localPasswords: config.localPasswords ?? true },
  });

  async function loadAccount(id: string): Promise<AccountInfo | null> {
    const row = await db
      .selectFrom('accounts')
      .leftJoin('sites', 'sites.code', 'accounts.site')
      .select(['accounts.id', 'accounts.role', 'accounts.site', 'accounts.status', 'accounts.status_reason', 'accounts.mfa_secret', 'accounts.approval', 'sites.city'])
      .where('accounts.id', '=', id)
      .executeTakeFirst();
    return row ? accountInfo(row) : null;
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
        await tx.updateTable('sessions').set({ revoked_at: new Date(clock.now()), revoked_reason: 'logout' }).where('id', '=', sessionId).execute();
      },
    );
    dropCached(a.id);
  }

  return {
    ...accounts,
    login,
    ssoLogin,
    logout,
    loadAccount,
    /** Bearer token → principal, or throws (401 unauthenticated, 403 account_suspended / approval_pending). */
    resolvePrincipal: principals.resolve,
    disableAdminToken: adminToken.disable,
    adminTokenState: adminToken.state,
    /** At start: audits a changed admin-token fingerprint and reads whether the trail disabled it. */
    startAdminToken: adminToken.start,
  };
}

export type IdentityService = ReturnType<typeof createIdentityService>;
