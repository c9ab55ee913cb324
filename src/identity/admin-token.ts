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
 * - The trail says so too (attack review 9: the database owner deleted the revocation row and
 *   restarted, and the token came back). At start the configured token's fingerprint (a keyed
 *   hash, never the token) is audited as `admin.admin_token_configured` whenever it differs from
 *   the last one recorded (a new WARDEN_ADMIN_TOKEN leaves a trace); `admin.admin_token_disabled`
 *   names the fingerprint it disabled. The token is disabled when the table *or* the trail says so
 *   (fail closed); `audit reconcile` names a revocation the trail has and the table lacks, and any
 *   act by `admin` after its token was disabled.
 */
import { createHmac } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { AuditWriter } from '../audit/writer.js';
import type { Clock } from '../ops/clock.js';
import { AppError } from '../errors.js';
import { constantTimeEqual } from '../vault/crypto.js';
import { actorName, type Actor, type RequestContext } from './types.js';
import { approvedAnalystExists } from './account-queries.js';

/** The fingerprint as the trail names it: the keyed hash's first 16 bytes, hex (reconcile compares it with the row). */
export const trailFingerprint = (fingerprint: Buffer): string => fingerprint.subarray(0, 16).toString('hex');

/** The fingerprint the trail last recorded as configured (undefined: none recorded yet; null: no token). */
async function lastConfigured(db: Kysely<Database>): Promise<string | null | undefined> {
  const row = await db.selectFrom('audit_log').select('detail').where('kind', '=', 'admin.admin_token_configured').where('decision', '=', 'ok').orderBy('seq', 'desc').limit(1).executeTakeFirst();
  if (!row) return undefined;
  const d = (typeof row.detail === 'string' ? JSON.parse(row.detail) : row.detail) as Record<string, unknown> | null;
  return typeof d?.fingerprint === 'string' ? d.fingerprint : null;
}

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
  const fp = fingerprint ? trailFingerprint(fingerprint) : null;
  let disabled = false;
  let checkedAt = Number.NEGATIVE_INFINITY;
  /** The trail's disabling of this token (its entry's time and actor), read once at start. */
  let trailDisabled: { at: Date; by: string } | null = null;
  let ready: Promise<void> | null = null;

  /** The newest entry that disabled this fingerprint (or carried its disabling over at an upgrade). */
  async function disabledInTrail(): Promise<{ at: Date; by: string } | null> {
    if (!fp) return null;
    const row = await db
      .selectFrom('audit_log')
      .select(['ts', 'detail'])
      .where('kind', 'in', ['admin.admin_token_disabled', 'admin.admin_token_configured'])
      .where('decision', '=', 'ok')
      .where(sql<boolean>`detail->>'fingerprint' = ${fp} and (kind = 'admin.admin_token_disabled' or (detail->>'disabled') = 'true')`)
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (!row) return null;
    const d = (typeof row.detail === 'string' ? JSON.parse(row.detail) : row.detail) as Record<string, unknown>;
    return { at: new Date(row.ts), by: String(d.disabled_by ?? d.actor ?? 'admin') };
  }

  /** Records the configured fingerprint when it changed (once per process), and reads the trail's disabling. */
  function start(): Promise<void> {
    ready ??= (async () => {
      const last = await lastConfigured(db);
      trailDisabled = await disabledInTrail();
      if (last === fp || (last === undefined && fp === null)) return;
      const row = await revocation();
      const now = new Date(clock.now());
      // `disabled` carries a revocation made before the trail named fingerprints (an upgrade) into the trail.
      await audit.append([{ kind: 'admin.admin_token_configured', ts: now, decision: 'ok', detail: { actor: 'warden', fingerprint: fp, previous_fingerprint: last ?? null, disabled: row !== undefined || trailDisabled !== null } }]);
      if (row && !trailDisabled) trailDisabled = { at: new Date(row.disabled_at), by: row.disabled_by };
    })().catch((err: unknown) => {
      ready = null;
      throw err;
    });
    return ready;
  }

  async function revocation() {
    if (!fingerprint) return undefined;
    return db.selectFrom('admin_token_revocations').select(['disabled_at', 'disabled_by']).where('fingerprint', '=', fingerprint).executeTakeFirst();
  }

  /** Is this presented value the configured admin token, and still enabled? */
  async function accepts(presented: string): Promise<boolean> {
    if (!token || !constantTimeEqual(presented, token)) return false;
    if (disabled) return false;
    await start();
    if (trailDisabled) {
      disabled = true;
      return false;
    }
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
    await start();
    if (trailDisabled) throw new AppError('conflict', 'the admin token is already disabled');
    const at = new Date(clock.now());
    const by = actorName(actor);
    await audit.append([{ kind: 'admin.admin_token_disabled', ts: at, decision: 'ok', account: by, ip: ctx.ip, requestId: ctx.requestId, detail: { actor: by, fingerprint: fp } }], async (tx) => {
      const inserted = await tx
        .insertInto('admin_token_revocations')
        .values({ fingerprint, disabled_at: at, disabled_by: by })
        .onConflict((oc) => oc.column('fingerprint').doNothing())
        .returning('disabled_at')
        .executeTakeFirst();
      if (!inserted) throw new AppError('conflict', 'the admin token is already disabled');
    });
    disabled = true;
    trailDisabled = { at, by };
    return { disabled: true, disabled_at: at.toISOString(), disabled_by: by };
  }

  async function state() {
    await start();
    const r = await revocation();
    // The trail's word stands when the row is gone (deleted around Warden): still disabled.
    const at = r ? new Date(r.disabled_at) : trailDisabled?.at ?? null;
    return {
      configured: fingerprint !== null,
      disabled: r !== undefined || trailDisabled !== null,
      disabled_at: at ? at.toISOString() : null,
      disabled_by: r?.disabled_by ?? trailDisabled?.by ?? null,
    };
  }

  return { accepts, disable, state, start };
}

export type AdminToken = ReturnType<typeof createAdminToken>;
