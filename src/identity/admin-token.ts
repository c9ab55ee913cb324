/**
 * The bootstrap admin token, and switching it off for good once a company runs on its own
 * accounts (it_admin for systems, security analysts for approvals).
 *
 * Invariants:
 * - The token is compared in constant time and recognised by value only.
 * - Disabling stores a keyed fingerprint of the value in the store: that value is refused from
 *   then on, by every process and after every restart. Only deploying a different
 *   WARDEN_ADMIN_TOKEN brings an admin token back (and the old value never works again).
 * - It cannot be disabled while no active, approved security analyst exists (nobody could then
 *   approve a privileged account again).
 */
import { createHmac } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { AuditWriter } from '../audit/writer.js';
import type { Clock } from '../ops/clock.js';
import { AppError } from '../errors.js';
import { constantTimeEqual } from '../vault/crypto.js';
import { actorName, type Actor, type RequestContext } from './types.js';
import { approvedAnalystExists } from './account-queries.js';

const RECHECK_MS = 2000;

export interface AdminTokenDeps {
  db: Kysely<Database>;
  audit: AuditWriter;
  clock: Clock;
  /** The configured token (WARDEN_ADMIN_TOKEN), if any. */
  token: string | undefined;
  /** Key for the stored fingerprint (derived from the keyring). */
  fingerprintKey: Buffer;
}

export function createAdminToken(deps: AdminTokenDeps) {
  const { db, audit, clock, token } = deps;
  const fingerprint = token ? createHmac('sha256', deps.fingerprintKey).update(token, 'utf8').digest() : null;
  let disabled = false;
  let checkedAt = Number.NEGATIVE_INFINITY;

  async function revocation() {
    if (!fingerprint) return undefined;
    return db.selectFrom('admin_token_revocations').select(['disabled_at', 'disabled_by']).where('fingerprint', '=', fingerprint).executeTakeFirst();
  }

  /** Is this presented value the configured admin token, and still enabled? */
  async function accepts(presented: string): Promise<boolean> {
    if (!token || !constantTimeEqual(presented, token)) return false;
    if (disabled) return false;
    const now = clock.now();
    if (now - checkedAt < RECHECK_MS && now >= checkedAt) return true;
    disabled = (await revocation()) !== undefined;
    checkedAt = now;
    return !disabled;
  }

  async function disable(actor: Actor, ctx: RequestContext) {
    if (!fingerprint) throw new AppError('conflict', 'no admin token is configured (WARDEN_ADMIN_TOKEN is unset)');
    if (!(await approvedAnalystExists(db, { activeOnly: true }))) {
      throw new AppError('conflict', 'the admin token cannot be disabled before an active security analyst exists (nobody could approve privileged accounts)');
    }
    const at = new Date(clock.now());
    const by = actorName(actor);
    await audit.append([{ kind: 'admin.admin_token_disabled', ts: at, decision: 'ok', account: by, ip: ctx.ip, requestId: ctx.requestId, detail: { actor: by } }], async (tx) => {
      const inserted = await tx
        .insertInto('admin_token_revocations')
        .values({ fingerprint, disabled_at: at, disabled_by: by })
        .onConflict((oc) => oc.column('fingerprint').doNothing())
        .returning('disabled_at')
        .executeTakeFirst();
      if (!inserted) throw new AppError('conflict', 'the admin token is already disabled');
    });
    disabled = true;
    return { disabled: true, disabled_at: at.toISOString(), disabled_by: by };
  }

  async function state() {
    const r = await revocation();
    return {
      configured: fingerprint !== null,
      disabled: r !== undefined,
      disabled_at: r ? new Date(r.disabled_at).toISOString() : null,
      disabled_by: r?.disabled_by ?? null,
    };
  }

  return { accepts, disable, state };
}

export type AdminToken = ReturnType<typeof createAdminToken>;
