/**
 * Login: password, then the second factor when enrolled, then the device, then a session bound
 * to that device.
 *
 * Invariants:
 * - An account with TOTP enrolled never logs in without a valid, unused code. A code is used up
 *   by a conditional UPDATE in the login's own transaction (totp.ts), so two logins with the
 *   same code, in one process or several, cannot both succeed.
 * - Without a device credential, a login enrols a new device (bounded per account per day);
 *   with one, it is that device; a credential Warden never issued, or a revoked one, is refused.
 * - Every refusal is audited. What was typed as the account is never stored: a login for an
 *   account that does not exist records a keyed tag of it, and the throttle keys on the tag.
 * - Wrong password, missing or wrong or replayed code, and a bad device credential count as
 *   failures for throttling; a suspension, a pending approval or the device limit do not.
 * - The account's credential columns (password hash, second factor) count only while they match
 *   their credential seal (credential-seal.ts): a hash or secret rewritten outside Warden is
 *   refused (409 `record_integrity`, audited, no throttle count), whatever was typed. The new
 *   session is sealed in its insert.
 * - A suspended person is told that the account is suspended (`account_suspended`), never why:
 *   the reason an analyst gave may name the investigation (attack review 6). It stays on the
 *   account and in the trail, for the security team.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../store/schema.js';
import type { AuditWriter } from '../audit/writer.js';
import type { AuditEntryInput } from '../audit/kinds.js';
import type { Clock } from '../ops/clock.js';
import type { Metrics } from '../ops/metrics.js';
import { AppError } from '../errors.js';
import { hashPassword, verifyPassword } from '../vault/crypto.js';
import type { LoginThrottle } from './login-throttle.js';
import type { AccountInfo, RequestContext } from './types.js';
import { accountTag } from './account-tag.js';
import { consumeStep, type TotpFactor } from './totp.js';
import { DeviceLimitReached, enrolDevice, findDevice, issueDevice, useDevice, type IssuedDevice } from './devices.js';
import { assertMayAct, accountInfo, SESSION_PREFIX, tokenHash } from './principal.js';
import { assertIdentifiers } from '../contracts/identifiers.js';
import type { CredentialSeal } from './credential-seal.js';
import { factorPerTrail } from './account-queries.js';

/** The login's device label, as the route's schema bounds it. */
export const DEVICE_LABEL_MAX = 128;
/**
 * The device label is shown to every analyst and kept with the device: an identifier, never free
 * text (attack review 10: a name, phone and address typed as the label sat outside the vault,
 * where erasure never reaches). 400 `bad_identifier` naming `device`, never the value.
 */
export const assertDeviceLabel = (label: string): void => assertIdentifiers([{ field: 'device', value: label, max: DEVICE_LABEL_MAX }]);

// Verifying against a fixed hash keeps "no such account" as slow as "wrong password".
const DUMMY_HASH = hashPassword('warden-timing-equaliser');

export interface LoginInput {
  account: string;
  password: string;
  /** The client's name for its device: a label only. */
  device: string;
  device_credential?: string | undefined;
  app_hash?: string | undefined;
  otp?: string | undefined;
}

export interface LoginResult {
  token: string;
  expires_at: string;
  session: string;
  mfa: boolean;
  device_id: string;
  /** Only when this login enrolled the device: shown once, present it on every later login. */
  device_credential?: string;
}

export interface LoginDeps {
  db: Kysely<Database>;
  audit: AuditWriter;
  clock: Clock;
  throttle: LoginThrottle;
  totp: TotpFactor;
  seal: CredentialSeal;
  accountTagKey: Buffer;
  metrics?: Pick<Metrics, 'loginAttempts'> | undefined;
  config: { sessionTtlMinutes: number; maxSessionsPerAccount: number; newDevicesPerDay: number; /** false: only single sign-on logs in (WARDEN_LOCAL_PASSWORDS=off). */ localPasswords?: boolean };
  dropCached(account: string): void;
}

/** A refusal decided inside the login transaction (it rolls back, then the refusal is audited). */
class Refusal extends Error {
  constructor(
    readonly reason: string,
    readonly error: AppError,
    readonly countsAsFailure: boolean,
  ) {
    super(reason);
  }
}

/** The account row does not match its credential seal: refused whatever was typed (no throttle count: the owner did nothing wrong). */
function integrityRefusal(detail: Record<string, string | boolean>): Refusal {
  detail.integrity = 'account_mismatch';
  return new Refusal('record_integrity', new AppError('record_integrity', "this account's credentials were changed outside Warden and are refused; contact your security team"), false);
}

export function createLogin(deps: LoginDeps) {
  const { db, audit, clock, throttle, config } = deps;

  async function endExcessSessions(tx: Transaction<Database>, account: string, keep: string, now: number): Promise<void> {
    const live = await tx
      .selectFrom('sessions')
      .select('id')
      .where('account', '=', account)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', new Date(now))
      .orderBy('created_at', 'desc')
      .orderBy('id')
      .execute();
    // Keep the new session whatever its created_at ranks as (a slow login can commit last).
    const excess = live.filter((s) => s.id !== keep).slice(config.maxSessionsPerAccount - 1).map((s) => s.id);
    if (excess.length) await tx.updateTable('sessions').set({ revoked_at: new Date(now), revoked_reason: 'session_limit' }).where('id', 'in', excess).execute();
  }

  /** What a login (password or single sign-on) checks of the account, with its site's city. */
  function accountForLogin(account: string) {
    return db
      .selectFrom('accounts')
      .leftJoin('sites', 'sites.code', 'accounts.site')
      .select(['accounts.id', 'accounts.password_hash', 'accounts.status', 'accounts.status_reason', 'accounts.role', 'accounts.site', 'accounts.mfa_secret', 'accounts.approval', 'accounts.credential_seal', 'sites.city'])
      .where('accounts.id', '=', account)
      .executeTakeFirst();
  }

  async function login(input: LoginInput, ctx: RequestContext): Promise<LoginResult> {
    assertDeviceLabel(input.device);
    const now = clock.now();
    const typed = accountTag(deps.accountTagKey, input.account);
    const row = await accountForLogin(input.account);
    const detail: Record<string, string | boolean> = input.app_hash ? { app_hash: input.app_hash, mfa: false } : { mfa: false };
    const base = { kind: 'auth.login' as const, ts: new Date(now), account: row?.id ?? typed, role: row?.role ?? null, site: row?.site ?? null, ip: ctx.ip, requestId: ctx.requestId };
    let device: string | null = null;

    const refuse = async (r: Refusal): Promise<never> => {
      if (r.countsAsFailure) await throttle.failure(typed, ctx.ip, now);
      deps.metrics?.loginAttempts.inc({ result: r.reason });
      await audit.append([{ ...base, device, decision: 'denied', reason: r.reason, detail }]);
      throw r.error;
    };

    if (config.localPasswords === false) {
      return refuse(new Refusal('password_login_disabled', new AppError('password_login_disabled', 'local passwords are switched off here: sign in through single sign-on (GET /api/v1/sso/start)'), false));
    }
    const verdict = await throttle.check(typed, ctx.ip, now);
    if (!verdict.ok) {
      detail.scope = verdict.scope;
      return refuse(new Refusal('login_throttled', new AppError('login_throttled', `too many failed logins; try again in ${verdict.retryAfterSeconds} s`, { retryAfterSeconds: verdict.retryAfterSeconds }), false));
    }
    if (row && !deps.seal.check('account', row, row.credential_seal)) return refuse(integrityRefusal(detail));
    const passwordOk = await verifyPassword(input.password, row?.password_hash ?? (await DUMMY_HASH));
    if (!row || !row.password_hash || !passwordOk) return refuse(new Refusal('invalid_credentials', new AppError('invalid_credentials', 'account or password is wrong'), true));

    // A factor the trail says is enrolled, gone from the row: removed outside Warden (a seal replayed from before enrolment).
    if (!row.mfa_secret && (await factorPerTrail(db, row.id)).enrolled) {
      detail.integrity = 'mfa_removed';
      return refuse(new Refusal('record_integrity', new AppError('record_integrity', "this account's second factor was removed outside Warden; contact your security team"), false));
    }
    let step: number | null = null;
    if (row.mfa_secret && input.otp === undefined) {
      return refuse(new Refusal('otp_required', new AppError('otp_required', 'this account has a second factor: send its current one-time code as "otp"'), true));
    }
    if (input.otp !== undefined) {
      // The authenticator's clock is the wall clock, whatever clock the server runs on (the demo's
      // simulated one: attack review 10 — a real authenticator's code never matched it).
      step = row.mfa_secret ? deps.totp.stepOf(row.id, row.mfa_secret, input.otp, Date.now()) : null;
      if (step === null) return refuse(new Refusal('invalid_second_factor', new AppError('invalid_credentials', 'the one-time code is wrong or expired'), true));
      detail.mfa = true;
    }
    try {
      assertMayAct(accountInfo(row));
    } catch (err) {
      return refuse(new Refusal((err as AppError).code, err as AppError, false));
    }

    return openSession({ row, input, ctx, now, base, detail, mfa: step !== null, step, typed, refuse, setDevice: (d) => (device = d) });
  }

  /**
   * The second half of every login (password or single sign-on): the device (its credential, or
   * a new one enrolled within the daily limit), then a session bound to it, the oldest beyond the
   * limit ended — one transaction with the audit entries.
   */
  async function openSession(a: {
    row: { id: string; role: string; site: string | null };
    input: Pick<LoginInput, 'device' | 'device_credential' | 'app_hash'>;
    ctx: RequestContext;
    now: number;
    base: Omit<AuditEntryInput, 'decision'>;
    detail: Record<string, string | boolean>;
    mfa: boolean;
    /** A TOTP step to use up in the transaction (password logins). */
    step: number | null;
    typed: string;
    refuse: (r: Refusal) => Promise<never>;
    setDevice: (d: string | null) => void;
  }): Promise<LoginResult> {
    const { row, input, ctx, now, base, detail, step, refuse, setDevice } = a;
    let issued: IssuedDevice | null = null;
    const known = input.device_credential !== undefined ? await findDevice(db, input.device_credential) : null;
    if (input.device_credential !== undefined) {
      if (!known || known.revoked) {
        setDevice(known?.id ?? null);
        const reason = known ? 'device_revoked' : 'device_unknown';
        return refuse(new Refusal(reason, new AppError('invalid_device_credential', known ? 'this device was revoked; log in without a device credential to enrol a new one' : 'the device credential is not one Warden issued'), true));
      }
    }
    issued = known ? null : issueDevice();
    const deviceId = known?.id ?? issued!.id;
    setDevice(deviceId);

    const token = SESSION_PREFIX + randomBytes(32).toString('base64url');
    const sessionId = randomUUID();
    const expiresAt = new Date(now + config.sessionTtlMinutes * 60_000);
    const sealed = { id: sessionId, token_hash: tokenHash(token), account: row.id, device: deviceId, mfa: a.mfa, expires_at: expiresAt };
    const entries: AuditEntryInput[] = [{ ...base, device: deviceId, session: sessionId, decision: 'allowed', detail: issued ? { ...detail, device_enrolled: true } : detail }];
    if (issued) entries.push({ kind: 'auth.device_enrolled', ts: new Date(now), decision: 'ok', account: row.id, role: row.role, site: row.site, device: deviceId, ip: ctx.ip, session: sessionId, requestId: ctx.requestId, detail: { actor: row.id } });
    try {
      await audit.append(entries, async (tx) => {
        if (step !== null && !(await consumeStep(tx, row.id, step))) {
          throw new Refusal('otp_replayed', new AppError('invalid_credentials', 'this one-time code was already used; wait for the next one'), true);
        }
        if (issued) {
          await enrolDevice(tx, issued, { account: row.id, label: input.device, now, perDay: config.newDevicesPerDay });
        } else if (!(await useDevice(tx, row.id, deviceId, now))) {
          throw new Refusal('device_revoked', new AppError('invalid_device_credential', 'this device was revoked; log in without a device credential to enrol a new one'), true);
        }
        await tx
          .insertInto('sessions')
          .values({ ...sealed, ip: ctx.ip, app_hash: input.app_hash ?? null, created_at: new Date(now), revoked_at: null, revoked_reason: null, credential_seal: deps.seal.seal('session', sealed) })
          .execute();
        await endExcessSessions(tx, row.id, sessionId, now);
      });
    } catch (err) {
      // A device issued by this login was never stored (the transaction rolled back).
      if (issued) setDevice(null);
      if (err instanceof Refusal) return refuse(err);
      if (err instanceof DeviceLimitReached) {
        return refuse(new Refusal('device_limit', new AppError('device_limit', `this account enrolled ${config.newDevicesPerDay} new devices in the last 24 h; log in with an enrolled device's credential, or try again in ${err.retryAfterSeconds} s`, { retryAfterSeconds: err.retryAfterSeconds }), false));
      }
      throw err;
    }
    await throttle.success(a.typed, ctx.ip, now);
    deps.metrics?.loginAttempts.inc({ result: 'success' });
    deps.dropCached(row.id);
    return { token, expires_at: expiresAt.toISOString(), session: sessionId, mfa: a.mfa, device_id: deviceId, ...(issued ? { device_credential: issued.credential } : {}) };
  }

  /**
   * A login whose first factor was the organisation's identity provider (src/identity/oidc.ts):
   * the provider said who it is and which role and site its claims map to. The account must
   * exist here with that role and site (role changes go through account administration, with
   * its dual control); then the same device and session rules as a password login.
   */
  async function ssoLogin(input: SsoLoginInput, ctx: RequestContext): Promise<LoginResult> {
    assertDeviceLabel(input.device);
    const now = clock.now();
    const typed = accountTag(deps.accountTagKey, input.account);
    const row = await accountForLogin(input.account);
    const detail: Record<string, string | boolean> = { method: 'oidc', mfa: input.mfa, ...(input.acr ? { acr: input.acr } : {}) };
    const base = { kind: 'auth.login' as const, ts: new Date(now), account: row?.id ?? typed, role: row?.role ?? null, site: row?.site ?? null, ip: ctx.ip, requestId: ctx.requestId };
    let device: string | null = null;
    const refuse = async (r: Refusal): Promise<never> => {
      deps.metrics?.loginAttempts.inc({ result: r.reason });
      await audit.append([{ ...base, device, decision: 'denied', reason: r.reason, detail }]);
      throw r.error;
    };
    if (row && !deps.seal.check('account', row, row.credential_seal)) return refuse(integrityRefusal(detail));
    if (!row) return refuse(new Refusal('sso_account_unknown', new AppError('sso_refused', 'the identity provider signed you in, but there is no Warden account for you; ask your administrator'), false));
    if (row.role !== input.role || (row.site ?? null) !== (input.site ?? null)) {
      return refuse(new Refusal('sso_role_mismatch', new AppError('sso_refused', `your identity provider's groups give role ${input.role}${input.site ? ` at ${input.site}` : ''}, but this Warden account is ${row.role}${row.site ? ` at ${row.site}` : ''}; ask your administrator to align them`), false));
    }
    try {
      assertMayAct(accountInfo(row));
    } catch (err) {
      return refuse(new Refusal((err as AppError).code, err as AppError, false));
    }
    return openSession({ row, input, ctx, now, base, detail, mfa: input.mfa, step: null, typed, refuse, setDevice: (d) => (device = d) });
  }

  return { login, ssoLogin };
}

export interface SsoLoginInput {
  account: string;
  role: string;
  site: string | null;
  /** The provider authenticated with a second factor (acr/amr as configured). */
  mfa: boolean;
  acr?: string | undefined;
  device: string;
  device_credential?: string | undefined;
}
