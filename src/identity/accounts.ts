/**
 * Sites and accounts: who exists, in which role and site, and who changed that.
 *
 * Invariants:
 * - Every change (creation, role/site change, approval, suspension and its lifting, MFA
 *   enrolment, device revocation) is audited with its actor, in the transaction that makes it.
 * - Privileged roles (roles.ts: may reveal without an assignment, ticket or search) take two
 *   people: a new privileged account is created `pending` and a promotion is held as a pending
 *   request, until a security analyst other than the account and other than whoever asked
 *   approves it. The only exception is the bootstrap admin token creating the first analyst,
 *   while no approved analyst exists (suspended ones count). Each creation, request and
 *   approval raises an alert through `onPrivilegedChange`, in the same transaction.
 * - Nobody acts on their own account (self_action, audited through access/self.ts). An it_admin runs systems, not people with
 *   reveal rights: it may not change or revoke anything of an approved privileged account, and
 *   never enrols the second factor of an account that holds or waits for a privileged role
 *   (attack review 11: enrolled while pending, then approved, the creator held both factors);
 *   that takes the admin token. Approval to a privileged role drops a second factor an account
 *   enrolled (`detail.mfa_cleared`): the admin token enrols the owner's.
 * - Approval into a privileged role of an account whose password an account chose (created, or the
 *   change asked for, by anyone but the admin token) discards that password (attack review 11 F3):
 *   Warden issues a fresh initial password, returned once to the approving analyst only, and ends
 *   the account's sessions, in the approval's transaction (`detail.initial_password_issued`).
 * - The credential columns (password hash, second factor) are written with their credential
 *   seal in the same statement (credential-seal.ts); a factor is enrolled only over an intact row.
 * - Suspending an account ends all its live sessions in the same transaction; lifting the
 *   suspension revives none of them.
 * - A suspension a `suspend` response made (watch/responses.ts) is lifted with that response
 *   (DELETE /accounts/{id}/response, which lifts it here afterwards), never around it: an
 *   unsuspend while one stands is refused (409, audited), so the account and GET /response agree.
 */
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../store/schema.js';
import type { Role } from '../contracts/events.js';
import type { AuditWriter } from '../audit/writer.js';
import type { Clock } from '../ops/clock.js';
import { AppError } from '../errors.js';
import { ADMINISTRATOR_ROLES, profileOf } from '../access/roles.js';
import { randomBytes } from 'node:crypto';
import { hashPassword } from '../vault/crypto.js';
import type { AuditEntryInput } from '../audit/kinds.js';
import { refuseSameHand, refuseSelf } from '../access/self.js';
import { trailRequester } from '../audit/requested-by.js';
import { actorAccount, actorName, type Actor, type PrivilegedChange, type RequestContext } from './types.js';
import { approvedAnalystExists, factorPerTrail } from './account-queries.js';
import { revokeDeviceTx } from './devices.js';
import { accountRow, getAccount, listAccounts, toView, type AccountQuery } from './account-reads.js';
import type { TotpFactor } from './totp.js';
import { badIdentifierError, identifierProblem } from '../contracts/identifiers.js';
import { freeTextDetail } from '../audit/free-text.js';
import type { CredentialSeal } from './credential-seal.js';

type Tx = Transaction<Database>;

export interface AccountsDeps {
  db: Kysely<Database>;
  audit: AuditWriter;
  clock: Clock;
  totp: TotpFactor;
  seal: CredentialSeal;
  /** Drops the cached principals of an account (its next request re-reads it). */
  dropCached(account: string): void;
  /** Raises the alert for a privileged-account change, inside the change's transaction. */
  onPrivilegedChange?: ((change: PrivilegedChange, tx: Tx) => Promise<void>) | undefined;
}

const isPrivileged = (role: string) => profileOf(role as Role).privileged;
/**
 * Whether creating (or moving, promoting into) an account of `role` by `actor` waits for a second
 * person: always for a privileged role; for a role that reveals on its own standing when the
 * actor is an account (an it_admin or analyst — one person); the admin token, the deployment's
 * root credential, provisions such staff directly (its holder is the host's root: docs/security.md).
 */
const needsSecondPerson = (role: string, actor: Actor) => isPrivileged(role) || (profileOf(role as Role).standing && actor.kind === 'account');
const isAnalyst = (a: Actor) => a.kind === 'account' && profileOf(a.role).analyst;
const isAdministrator = (a: Actor) => a.kind === 'account' && ADMINISTRATOR_ROLES.includes(a.role);

/**
 * Names the trail gives actors that are no account (types.ts `actorName`: the admin token, Warden's
 * own `warden-*` jobs, CLI operators `os:*`): an account so named would pass for them in the audit
 * and be "the same hand" as the admin token (attack review 2). Attack review 10 added Warden's
 * other names — `warden` (the admin token's configuration, canary sealing), `warden:start`,
 * `warden:retention-schedule` — and the name forms the trail and the bus use for who sent or
 * tried something: `token:<id>`, `account:<id>` (producers), `unknown:<tag>` (a failed login),
 * `system:`, `hmac:<tag>` (a refused identifier), `unrecorded` (old events).
 */
const RESERVED_ID = /^(admin$|warden$|unrecorded$|warden[-:_.]|os:|token:|account:|unknown:|system:|hmac:)/i;
const RESERVED_MESSAGE = 'admin, warden, warden-*, warden:*, unrecorded, os:*, token:*, account:*, unknown:*, system:* and hmac:* are names Warden gives the admin token, itself, CLI operators and senders in the trail';

/**
 * An account id is written into every entry of its acts (permanent, sent to the SIEM): a mobile
 * or resident ID number is no account id (attack review 10, the identifier rule of
 * contracts/identifiers.ts; `@` of an e-mail-like id reads as a separator). 400 naming the field.
 * A site's code too (it is every entry's `site`).
 */
function assertAccountId(id: string, field = 'id'): void {
  const problem = identifierProblem(id.replace(/@/g, '.'), 200);
  if (problem === 'phone' || problem === 'id_number') throw badIdentifierError({ field, problem, max: 200, value: id });
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
/** A one-time initial password: 130 random bits as 26 base32 characters (read out or typed without ambiguity). */
export function newInitialPassword(): string {
  const bytes = randomBytes(17);
  let bits = 0;
  let acc = 0;
  let out = '';
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5 && out.length < 26) {
      out += BASE32[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
    acc &= (1 << bits) - 1;
  }
  return out;
}

/** A bootstrap creation lost the race to another analyst's creation; redo it as pending. */
class BootstrapTaken extends Error {}

export function createAccountAdmin(deps: AccountsDeps) {
  const { db, audit, clock } = deps;
  const now = () => new Date(clock.now());
  const row = (id: string) => accountRow(db, id);

  /** The sealed credential columns of an account, as stored. */
  const credentialsOf = (id: string) => db.selectFrom('accounts').select(['id', 'password_hash', 'mfa_secret', 'credential_seal']).where('id', '=', id).executeTakeFirstOrThrow();

  /** Nobody acts on their own account: the refusal is audited with its actor (the rule is access/self.ts's). */
  async function refuseOwn(actor: Actor, ctx: RequestContext, account: string, kind: AuditEntryInput['kind'], what: string): Promise<void> {
    if (actorAccount(actor) === account) await refuseSelf(audit, { kind, ts: now(), account, detail: {} }, actor, ctx, `${what} your own account`);
  }


  async function checkSite(role: Role, site: string | null): Promise<void> {
    if (site) {
      const exists = await db.selectFrom('sites').select('code').where('code', '=', site).executeTakeFirst();
      if (!exists) throw new AppError('validation_failed', `site ${site} does not exist`, { fields: [{ field: 'site', code: 'unknown_site', message: 'no such site' }] });
    } else if (profileOf(role).needsSite) {
      throw new AppError('validation_failed', `a ${role} account needs a site`, { fields: [{ field: 'site', code: 'required', message: 'required for this role' }] });
    }
  }

  /**
   * Whether approving `id` into privileged `role` replaces its password: the account has one and an
   * account, not the admin token, created it (and so chose the password) — the creator read from the
   * trail's `admin.account_created` entries (never `accounts.created_by`); no entry counts as an
   * account. Who asked for a promotion does not matter: they never knew the owner's password.
   */
  async function passwordToReplace(id: string, role: Role, passwordHash: string | null): Promise<boolean> {
    if (!isPrivileged(role) || passwordHash === null) return false;
    const created = await db.selectFrom('audit_log').select('detail').where('kind', '=', 'admin.account_created').where('decision', '=', 'ok').where('account', '=', id).execute();
    const actors = created.map((e) => ((typeof e.detail === 'string' ? JSON.parse(e.detail) : e.detail) as { actor?: unknown } | null)?.actor);
    return actors.length === 0 || actors.some((a) => a !== 'admin');
  }

  async function privilegedChange(tx: Tx, c: Omit<PrivilegedChange, 'at'>): Promise<void> {
    await deps.onPrivilegedChange?.({ ...c, at: now() }, tx);
  }

  async function createSite(input: { code: string; kind: 'outlet' | 'sorting' | 'cs' | 'hq'; city: string }, actor: Actor, ctx: RequestContext) {
    assertAccountId(input.code, 'code');
    const by = actorName(actor);
    await audit.append(
      [{ kind: 'admin.site_created', ts: now(), decision: 'ok', account: by, ip: ctx.ip, requestId: ctx.requestId, detail: { site: input.code, site_kind: input.kind, actor: by } }],
      async (tx) => {
        const inserted = await tx.insertInto('sites').values(input).onConflict((oc) => oc.column('code').doNothing()).returning('code').executeTakeFirst();
        if (!inserted) throw new AppError('conflict', `site ${input.code} already exists`);
      },
    );
    return input;
  }

  async function createAccount(input: { id: string; role: Role; site?: string | null | undefined; password?: string | null | undefined }, actor: Actor, ctx: RequestContext) {
    if (actor.kind === 'account' && !isAdministrator(actor)) throw new AppError('forbidden', `the ${actor.role} role may not create accounts`);
    if (RESERVED_ID.test(input.id)) throw new AppError('validation_failed', `account id ${input.id} is reserved for Warden's own actors`, { fields: [{ field: 'id', code: 'reserved', message: RESERVED_MESSAGE }] });
    assertAccountId(input.id);
    const site = input.site ?? null;
    await checkSite(input.role, site);
    const password_hash = input.password ? await hashPassword(input.password) : null;
    const privileged = isPrivileged(input.role);
    const dual = needsSecondPerson(input.role, actor);
    const by = actorName(actor);
    const create = async (bootstrap: boolean) => {
      const approval = dual && !bootstrap ? ('pending' as const) : ('approved' as const);
      const at = now();
      await audit.append(
        [{ kind: 'admin.account_created', ts: at, decision: 'ok', account: input.id, role: input.role, site, ip: ctx.ip, requestId: ctx.requestId, detail: { actor: by, approval, ...(bootstrap ? { bootstrap: true } : {}) } }],
        async (tx) => {
          if (bootstrap && (await approvedAnalystExists(tx))) throw new BootstrapTaken();
          const inserted = await tx
            .insertInto('accounts')
            .values({
              id: input.id, role: input.role, site, password_hash, status: 'active', status_reason: null, status_changed_at: null, mfa_secret: null,
              credential_seal: deps.seal.seal('account', { id: input.id, password_hash, mfa_secret: null }),
              approval, pending_role: null, pending_site: null, requested_by: approval === 'pending' ? by : null, requested_at: approval === 'pending' ? at : null,
              created_by: by, approved_by: bootstrap ? by : null, mfa_last_step: null,
            })
            .onConflict((oc) => oc.column('id').doNothing())
            .returning('id')
            .executeTakeFirst();
          if (!inserted) throw new AppError('conflict', `account ${input.id} already exists`);
          if (privileged) await privilegedChange(tx, { change: approval === 'pending' ? 'created_pending' : 'created', account: input.id, role: input.role, site, actor: by });
        },
      );
    };
    const bootstrap = privileged && actor.kind === 'admin' && profileOf(input.role).analyst && !(await approvedAnalystExists(db));
    try {
      await create(bootstrap);
    } catch (err) {
      if (!(err instanceof BootstrapTaken)) throw err;
      await create(false);
    }
    return toView(await row(input.id));
  }

  /** PATCH {role?, site?}: promotion to a privileged role (or a privileged site change), and an account's move of staff who reveal on their own standing, wait for approval; anything else applies at once. */
  async function updateAccount(id: string, change: { role?: Role | undefined; site?: string | null | undefined }, actor: Actor, ctx: RequestContext) {
    await refuseOwn(actor, ctx, id, 'admin.account_changed', 'change');
    const r = await row(id);
    const current = r.role as Role;
    const role = change.role ?? current;
    const site = change.site !== undefined ? change.site : r.site;
    if ((current === 'service') !== (role === 'service')) throw new AppError('validation_failed', 'a service account keeps its role, and staff cannot become a service', { fields: [{ field: 'role', code: 'service_role', message: 'cannot change to or from service' }] });
    const holdsPrivilege = r.approval === 'approved' && isPrivileged(current);
    if (holdsPrivilege && !isAnalyst(actor)) throw new AppError('forbidden', `changing a ${current} account takes a security analyst`);
    await checkSite(role, site);
    const pendingOutcome = needsSecondPerson(role, actor) && (r.approval === 'pending' || role !== current || site !== r.site);
    if (!pendingOutcome && role === current && site === r.site && r.pending_role === null) return toView(r);
    const by = actorName(actor);
    const at = now();
    const detail = { actor: by, from_role: current, to_role: role, from_site: r.site, to_site: site, outcome: pendingOutcome ? 'pending_approval' : 'applied' };
    await audit.append([{ kind: 'admin.account_changed', ts: at, decision: 'ok', account: id, role, site, ip: ctx.ip, requestId: ctx.requestId, detail }], async (tx) => {
      let q = tx.updateTable('accounts').where('id', '=', id);
      if (!pendingOutcome) {
        // Demotion or an ordinary change: at once, and any pending request is void.
        q = q.set({ role, site, approval: 'approved', pending_role: null, pending_site: null, requested_by: null, requested_at: null });
      } else if (r.approval === 'pending') {
        // Never active yet: the request itself changes, and whoever changed it may not approve it.
        q = q.set({ role, site, requested_by: by, requested_at: at });
      } else {
        q = q.set({ pending_role: role, pending_site: site, requested_by: by, requested_at: at });
      }
      await q.execute();
      if (pendingOutcome && isPrivileged(role)) await privilegedChange(tx, { change: 'promotion_requested', account: id, role, site, actor: by });
    });
    deps.dropCached(id);
    return toView(await row(id));
  }

  /**
   * `seen` is what the approver was shown (the view's `pending_approval`): a request its requester
   * changed after that (attack review 4: a clerk's request swapped to security_analyst while the
   * approver read it) is refused (409, audited), nothing approved.
   */
  async function approveAccount(id: string, seen: { role: Role; site: string | null }, actor: Actor, ctx: RequestContext) {
    if (!isAnalyst(actor)) throw new AppError('forbidden', 'only a security analyst approves a privileged account');
    await refuseOwn(actor, ctx, id, 'admin.account_approved', 'approve');
    const r = await row(id);
    if (r.approval !== 'pending' && r.pending_role === null) throw new AppError('conflict', `account ${id} has nothing waiting for approval`);
    const by = actorName(actor);
    // Neither who asked nor the account itself, directly or through an account linked by creation.
    // Who asked is who the trail says (attack review 10: `requested_by` rewritten to another analyst).
    const refusal = { kind: 'admin.account_approved' as const, ts: now(), account: id, detail: { requested_by: r.requested_by } };
    const requestedBy = await trailRequester(db, audit, { of: 'account', id, row: r.requested_by }, refusal, actor, ctx);
    await refuseSameHand(db, audit, refusal, actor, ctx, 'approve a change you asked for, or one to your own account', [requestedBy, id]);
    const role = (r.pending_role ?? r.role) as Role;
    const site = r.pending_role !== null ? r.pending_site : r.site;
    if (seen.role !== role || (seen.site ?? null) !== site) {
      await audit.append([{ kind: 'admin.account_approved', ts: now(), decision: 'denied', account: id, role, site, ip: ctx.ip, requestId: ctx.requestId, reason: 'request_changed', detail: { actor: by, requested_by: r.requested_by, approved_role: seen.role, approved_site: seen.site ?? null } }]);
      throw new AppError('conflict', `the request for account ${id} now asks for ${role}${site ? ` at ${site}` : ''}, not what you approved (${seen.role}${seen.site ? ` at ${seen.site}` : ''}); read it again`);
    }
    // A second factor enrolled by anyone but the admin token (an it_admin, before the rule of attack
    // review 11 or while the account held an ordinary role) does not survive into a privileged role;
    // nor does a password an account chose (attack review 11 F3: the creator signed in as the analyst).
    const creds = await credentialsOf(id);
    const clearFactor = isPrivileged(role) && creds.mfa_secret !== null && (await factorPerTrail(db, id)).by !== 'admin';
    const initialPassword = (await passwordToReplace(id, role, creds.password_hash)) ? newInitialPassword() : null;
    const rewrite = clearFactor || initialPassword !== null;
    if (rewrite && !deps.seal.check('account', creds, creds.credential_seal)) {
      await audit.append([{ kind: 'admin.account_approved', ts: now(), decision: 'denied', account: id, role, site, ip: ctx.ip, requestId: ctx.requestId, reason: 'record_integrity', detail: { actor: by, integrity: 'account_mismatch' } }]);
      throw new AppError('record_integrity', `account ${id}'s credentials were changed outside Warden; nothing approved`);
    }
    const password_hash = initialPassword !== null ? await hashPassword(initialPassword) : creds.password_hash;
    const mfa_secret = clearFactor ? null : creds.mfa_secret;
    const credentials = rewrite
      ? { password_hash, ...(clearFactor ? { mfa_secret: null, mfa_last_step: null } : {}), credential_seal: deps.seal.seal('account', { id, password_hash, mfa_secret }) }
      : {};
    const at = now();
    await audit.append(
      [{ kind: 'admin.account_approved', ts: at, decision: 'ok', account: id, role, site, ip: ctx.ip, requestId: ctx.requestId, detail: { actor: by, requested_by: r.requested_by, from_role: r.role, ...(clearFactor ? { mfa_cleared: true } : {}), ...(initialPassword !== null ? { initial_password_issued: true } : {}) } }],
      async (tx) => {
        // Approves exactly the request that was read: a request changed meanwhile is not approved blind.
        let q = tx
          .updateTable('accounts')
          .set({ role, site, approval: 'approved', pending_role: null, pending_site: null, requested_by: null, requested_at: null, approved_by: by, ...credentials })
          .where('id', '=', id)
          .where('requested_by', '=', r.requested_by ?? '')
          .where('role', '=', r.role)
          .where((eb) => (r.site === null ? eb('site', 'is', null) : eb('site', '=', r.site)))
          .where((eb) => (r.pending_role === null ? eb('pending_role', 'is', null) : eb('pending_role', '=', r.pending_role)))
          .where((eb) => (r.pending_site === null ? eb('pending_site', 'is', null) : eb('pending_site', '=', r.pending_site)));
        if (rewrite) q = q.where('credential_seal', '=', creds.credential_seal!);
        const moved = await q.executeTakeFirst();
        if (Number(moved.numUpdatedRows) !== 1) throw new AppError('conflict', `the request for account ${id} changed meanwhile; read it again`);
        // Whoever signed in with the discarded password is signed out.
        if (initialPassword !== null) await tx.updateTable('sessions').set({ revoked_at: at, revoked_reason: 'initial_password' }).where('account', '=', id).where('revoked_at', 'is', null).execute();
        if (isPrivileged(role)) await privilegedChange(tx, { change: 'approved', account: id, role, site, actor: by, requestedBy: r.requested_by });
      },
    );
    deps.dropCached(id);
    const view = toView(await row(id));
    return initialPassword !== null ? { ...view, initial_password: initialPassword } : view;
  }

  /**
   * Attack review 6: an unsuspend lifted a detection suspension while GET /response still said
   * `suspend`. A response is lowered or cleared only through the watch (by another analyst, never
   * on one's own account), which then lifts the suspension it made; identity does not go around it.
   */
  async function refuseUnderResponse(accountId: string, a: Actor, ctx: RequestContext): Promise<void> {
    const standing = await db.selectFrom('account_responses').select('alert_id').where('account', '=', accountId).where('action', '=', 'suspend').executeTakeFirst();
    if (!standing) return;
    const alert = standing.alert_id;
    await audit.append([{ kind: 'admin.account_unsuspended', ts: now(), decision: 'denied', account: accountId, ip: ctx.ip, requestId: ctx.requestId, reason: 'response_standing', detail: { actor: actorName(a), response: 'suspend', ...(alert ? { alert } : {}) } }]);
    throw new AppError('conflict', `account ${accountId} is suspended by a suspend response${alert ? ` (alert ${alert})` : ''}: lift that response with DELETE /api/v1/accounts/${accountId}/response, which lifts the suspension too`);
  }

  /** Suspends (ending every live session at once) or lifts a suspension (reviving none); a suspension a response made is lifted with the response. */
  async function setStatus(accountId: string, status: 'active' | 'suspended', reason: string | null, a: Actor, ctx: RequestContext) {
    if (status === 'suspended') await refuseOwn(a, ctx, accountId, 'admin.account_suspended', 'suspend');
    // Lifting is refused through a puppet too (attack review 2): not the account, nor one linked to it by creation.
    else await refuseSameHand(db, audit, { kind: 'admin.account_unsuspended', ts: now(), account: accountId, detail: {} }, a, ctx, 'lift the suspension of your own account', [accountId]);
    if (status === 'active') await refuseUnderResponse(accountId, a, ctx);
    const r = await row(accountId);
    const at = now();
    await audit.append(
      [{
        kind: status === 'suspended' ? 'admin.account_suspended' : 'admin.account_unsuspended',
        // The reason (free text, may name people) stays on the row (`status_reason`), for analysts;
        // the trail keeps its fingerprint only (attack review 10, audit/free-text.ts).
        ts: at, decision: 'ok', account: accountId, role: r.role, site: r.site, ip: ctx.ip, reason: null, requestId: ctx.requestId,
        detail: { actor: actorName(a), ...freeTextDetail(reason) },
      }],
      async (tx) => {
        await tx.updateTable('accounts').set({ status, status_reason: reason, status_changed_at: at }).where('id', '=', accountId).execute();
        if (status === 'suspended') {
          await tx.updateTable('sessions').set({ revoked_at: at, revoked_reason: 'suspended' }).where('account', '=', accountId).where('revoked_at', 'is', null).execute();
        }
      },
    );
    deps.dropCached(accountId);
    return { id: accountId, status, reason };
  }

  /** Enrols (or replaces) the account's TOTP second factor; the secret is shown once. */
  async function enrolMfa(accountId: string, actor: Actor, ctx: RequestContext) {
    await refuseOwn(actor, ctx, accountId, 'admin.mfa_enrolled', 'enrol a second factor for');
    const r = await row(accountId);
    const denied = (reason: string, detail: Record<string, string>) =>
      audit.append([{ kind: 'admin.mfa_enrolled', ts: now(), decision: 'denied', account: accountId, role: r.role, site: r.site, ip: ctx.ip, requestId: ctx.requestId, reason, detail: { actor: actorName(actor), ...detail } }]);
    const privilegedRole = isPrivileged(r.role) ? r.role : r.pending_role !== null && isPrivileged(r.pending_role) ? r.pending_role : null;
    if (isAdministrator(actor) && privilegedRole !== null) {
      // Pending included (attack review 11): whoever provisions a privileged account never holds its second factor.
      await denied('privileged_account', { account_role: privilegedRole, approval: r.approval });
      throw new AppError('forbidden', `enrolling the second factor of a ${privilegedRole} account (approved or pending) takes the admin token`);
    }
    const creds = await credentialsOf(accountId);
    if (!deps.seal.check('account', creds, creds.credential_seal)) {
      // Never re-seal a password hash written outside Warden.
      await denied('record_integrity', { integrity: 'account_mismatch' });
      throw new AppError('record_integrity', `account ${accountId}'s credentials were changed outside Warden; nothing enrolled`);
    }
    const factor = deps.totp.create(accountId);
    await audit.append([{ kind: 'admin.mfa_enrolled', ts: now(), decision: 'ok', account: accountId, role: r.role, site: r.site, ip: ctx.ip, requestId: ctx.requestId, detail: { actor: actorName(actor) } }], async (tx) => {
      const next = deps.seal.seal('account', { id: accountId, password_hash: creds.password_hash, mfa_secret: factor.sealed });
      const moved = await tx.updateTable('accounts').set({ mfa_secret: factor.sealed, mfa_last_step: null, credential_seal: next }).where('id', '=', accountId).where('credential_seal', '=', creds.credential_seal!).executeTakeFirst();
      if (Number(moved.numUpdatedRows) !== 1) throw new AppError('conflict', `account ${accountId}'s credentials changed meanwhile; try again`);
    });
    deps.dropCached(accountId);
    return { account: accountId, secret: factor.base32, otpauth_url: factor.url };
  }

  /** Revokes a device the account used: its credential is refused and every session on it ends (all accounts). */
  async function revokeDevice(accountId: string, device: string, actor: Actor, ctx: RequestContext) {
    await refuseOwn(actor, ctx, accountId, 'admin.device_revoked', 'revoke a device of');
    const r = await row(accountId);
    if (isAdministrator(actor) && r.approval === 'approved' && isPrivileged(r.role)) throw new AppError('forbidden', `revoking a ${r.role}'s device takes a security analyst`);
    const link = await db.selectFrom('account_devices').select('device').where('account', '=', accountId).where('device', '=', device).executeTakeFirst();
    if (!link) throw new AppError('not_found', `account ${accountId} has no device ${device}`);
    const by = actorName(actor);
    const at = now();
    let ended: string[] = [];
    await audit.append([{ kind: 'admin.device_revoked', ts: at, decision: 'ok', account: accountId, role: r.role, site: r.site, device, ip: ctx.ip, requestId: ctx.requestId, detail: { actor: by } }], async (tx) => {
      const accounts = await revokeDeviceTx(tx, device, by, at.getTime());
      if (!accounts) throw new AppError('conflict', `device ${device} is already revoked`);
      ended = accounts;
    });
    for (const a of ended) deps.dropCached(a);
    return { account: accountId, device, revoked_at: at.toISOString(), revoked_by: by };
  }

  return {
    createSite, createAccount, updateAccount, approveAccount, setStatus, enrolMfa, revokeDevice,
    listAccounts: (q: AccountQuery) => listAccounts(db, q),
    getAccount: (id: string) => getAccount(db, id),
  };
}

export type AccountAdmin = ReturnType<typeof createAccountAdmin>;
