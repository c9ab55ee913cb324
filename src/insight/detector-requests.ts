/**
 * Changing a detector's settings takes two analysts (review 3: one analyst could turn a detector
 * off, or blunt it, for an accomplice). A change is first a *request* — validated by the detection
 * config's own resolver, stored (one per detector; a newer request replaces an older one) and
 * audited as `detect.settings_requested` — and is saved into `detector_settings` only when a
 * second analyst approves it: not its requester, nor an account linked to the requester by
 * creation (`sameHand`, `self_action`, audited). The approval is audited as
 * `detect.settings_changed` with the approver as actor and the requester beside; saved settings
 * apply when the engine is next built (at start). Any analyst may discard a request (audited).
 * Only an analyst's own account asks (attack review 8): the shared admin token, whose holder set
 * the analysts' first passwords, is refused (403, audited as denied), so it is never one of the two.
 * The request's entry carries `settings_sha256`, the digest of the settings asked for; approval
 * compares the stored request with the entry that recorded it and refuses (409
 * `audit_inconsistent`) a request changed around Warden (attack review 9: the database owner
 * swapped "enabled: false" into the row between the second analyst's read and approval).
 * The reason is free text: it stays on the request row (the approver reads it there); the
 * entries carry `reason_sha256`/`reason_length` only (attack review 10: a customer's name and
 * phone as a reason sat in the permanent trail).
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../store/schema.js';
import type { AuditWriter } from '../audit/writer.js';
import type { Clock } from '../ops/clock.js';
import type { Logger } from '../ops/logger.js';
import type { DetectConfig } from '../detect/config.js';
import { AppError } from '../errors.js';
import { canonicalDigest } from '../audit/chain.js';
import { freeTextDetail } from '../audit/free-text.js';
import { refuseSameHand } from '../access/self.js';
import { actorName, type Actor, type RequestContext } from '../identity/identity.js';

type Settings = Record<string, number | boolean>;
type DetectorName = keyof DetectConfig['detectors'];

export interface DetectorRequestsDeps {
  db: Kysely<Database>;
  audit: AuditWriter;
  clock: Clock;
  logger: Logger;
  running: DetectConfig;
  /** The detection config with `settings` over the running ones; throws an AppError naming what is wrong. */
  validate(detector: string, settings: unknown): DetectConfig;
}

const parse = (v: unknown): Settings => (typeof v === 'string' ? JSON.parse(v) : v) as Settings;

export function createDetectorRequests(deps: DetectorRequestsDeps) {
  const { db, audit, clock } = deps;

  /** The stored (approved) settings of one detector, {} when none. */
  async function savedOf(detector: string): Promise<Settings> {
    const row = await db.selectFrom('detector_settings').select('settings').where('detector', '=', detector).executeTakeFirst();
    return row ? parse(row.settings) : {};
  }

  /** "key: running -> candidate" for each key of `keys`. */
  function changesOf(detector: string, merged: Settings, keys: string[]) {
    const cfg = deps.validate(detector, merged);
    const effective = cfg.detectors[detector as DetectorName] as unknown as Settings;
    const running = deps.running.detectors[detector as DetectorName] as unknown as Settings;
    return { effective, running, changes: keys.sort().map((k) => `${k}: ${String(running[k])} -> ${String(effective[k])}`) };
  }

  async function request(detector: string, settings: Settings, reason: string, actor: Actor, ctx: RequestContext) {
    if (actor.kind !== 'account') await refuseAdminToken(detector, actor, ctx);
    const merged = { ...(await savedOf(detector)), ...settings };
    const { effective, running, changes } = changesOf(detector, merged, Object.keys(settings));
    const now = new Date(clock.now());
    const who = actorName(actor);
    const row = { detector, settings: JSON.stringify(merged), requested_by: who, requested_at: now, reason: reason.slice(0, 300) };
    await audit.append(
      // The reason (free text) stays on the request row, where the approver reads it; the trail keeps its fingerprint (attack review 10).
      [{ kind: 'detect.settings_requested', ts: now, decision: 'ok', reason: null, ip: ctx.ip, requestId: ctx.requestId, detail: { detector, actor: who, changes, approval: 'pending', settings_sha256: canonicalDigest(merged), ...freeTextDetail(row.reason) } }],
      async (tx) => {
        await tx.insertInto('detector_settings_requests').values(row).onConflict((oc) => oc.column('detector').doUpdateSet({ settings: row.settings, requested_by: who, requested_at: now, reason: row.reason })).execute();
      },
    );
    return { detector, settings: effective, running, applies: 'restart' as const, approval: 'pending' as const, requested_by: who, requested_at: now.toISOString() };
  }

  /**
   * The stored request is the one its `detect.settings_requested` entry recorded: same requester,
   * same time, same settings digest. Otherwise it was written around Warden: 409, never approved.
   */
  async function assertAudited(q: Kysely<Database> | Transaction<Database>, detector: string, req: { settings: unknown; requested_by: string; requested_at: Date | string }): Promise<void> {
    const entry = await q
      .selectFrom('audit_log')
      .select(['ts', 'detail'])
      .where('kind', '=', 'detect.settings_requested')
      .where('decision', '=', 'ok')
      .where(sql<boolean>`detail->>'detector' = ${detector}`)
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    const d = (entry ? (typeof entry.detail === 'string' ? JSON.parse(entry.detail) : entry.detail) : null) as Record<string, unknown> | null;
    const same = !!entry && !!d
      && typeof d.settings_sha256 === 'string'
      && d.settings_sha256 === canonicalDigest(parse(req.settings))
      && d.actor === req.requested_by
      && new Date(entry.ts).getTime() === new Date(req.requested_at).getTime();
    if (!same) {
      deps.logger.error({ detector, requested_by: req.requested_by }, 'a stored detector settings request differs from the audit entry that recorded it: changed around Warden; refused');
      throw new AppError('audit_inconsistent', `the stored settings change of ${detector} is not the one its audit entry recorded (changed outside Warden, or requested before requests were fingerprinted); it cannot be approved: discard it and ask again, and tell the security team`);
    }
  }

  /** The admin token never asks: audited as denied, then 403. */
  async function refuseAdminToken(detector: string, actor: Actor, ctx: RequestContext): Promise<never> {
    const err = new AppError('forbidden', 'the admin token may not ask for a detector settings change: a security analyst asks from their own account, and a second analyst approves it');
    await audit.append([{ kind: 'detect.settings_requested', ts: new Date(clock.now()), decision: 'denied', reason: err.code, ip: ctx.ip, requestId: ctx.requestId, detail: { detector: detector.slice(0, 64), actor: actorName(actor) } }]);
    throw err;
  }

  /**
   * `seen` is the `requested_at` of the request the approver was shown: a request replaced after
   * that (its requester swapping in "enabled: false" while the approver reads) is not approved blind.
   */
  async function approve(detector: string, seen: string, actor: Actor, ctx: RequestContext) {
    const req = await db.selectFrom('detector_settings_requests').selectAll().where('detector', '=', detector).executeTakeFirst();
    if (!req) throw new AppError('not_found', `no settings change of ${detector} is waiting for approval`);
    if (new Date(req.requested_at).getTime() !== Date.parse(seen)) throw new AppError('conflict', `the settings change of ${detector} was replaced after you read it (requested_at ${new Date(req.requested_at).toISOString()}); read it again`);
    await assertAudited(db, detector, req);
    const now = new Date(clock.now());
    await refuseSameHand(db, audit, { kind: 'detect.settings_changed', ts: now, detail: { detector } }, actor, ctx, 'approve a settings change you requested', [req.requested_by]);
    const merged = parse(req.settings);
    const { effective, running, changes } = changesOf(detector, merged, Object.keys(merged));
    const who = actorName(actor);
    const settings = JSON.stringify(merged);
    await audit.append(
      [{ kind: 'detect.settings_changed', ts: now, decision: 'ok', reason: null, ip: ctx.ip, requestId: ctx.requestId, detail: { detector, actor: who, requested_by: req.requested_by, changes, applies: 'restart', settings_sha256: canonicalDigest(merged), ...freeTextDetail(req.reason) } }],
      async (tx) => {
        // Only the request that was read, still as audited: a newer one (or a discard, or a row rewritten) meanwhile is not approved unseen.
        const held = await tx.selectFrom('detector_settings_requests').select('settings').where('detector', '=', detector).forUpdate().executeTakeFirst();
        if (held && canonicalDigest(parse(held.settings)) !== canonicalDigest(merged)) await assertAudited(tx, detector, { ...req, settings: held.settings });
        const gone = await tx.deleteFrom('detector_settings_requests').where('detector', '=', detector).where('requested_at', '=', new Date(req.requested_at)).where('requested_by', '=', req.requested_by).executeTakeFirst();
        if (Number(gone.numDeletedRows) !== 1) throw new AppError('conflict', `the settings change of ${detector} was replaced or discarded meanwhile; look again`);
        await tx
          .insertInto('detector_settings')
          .values({ detector, settings, updated_by: req.requested_by, updated_at: now, reason: req.reason })
          .onConflict((oc) => oc.column('detector').doUpdateSet({ settings, updated_by: req.requested_by, updated_at: now, reason: req.reason }))
          .execute();
      },
    );
    deps.logger.warn({ detector, actor: who, requested_by: req.requested_by, keys: Object.keys(merged) }, 'detector settings approved; they apply at the next start');
    return { detector, settings: effective, running, applies: 'restart' as const, approval: 'approved' as const, updated_by: req.requested_by, approved_by: who, updated_at: now.toISOString() };
  }

  async function discard(detector: string, actor: Actor, ctx: RequestContext) {
    const now = new Date(clock.now());
    const who = actorName(actor);
    await audit.append(
      [{ kind: 'detect.settings_request_discarded', ts: now, decision: 'ok', ip: ctx.ip, requestId: ctx.requestId, detail: { detector, actor: who } }],
      async (tx) => {
        const gone = await tx.deleteFrom('detector_settings_requests').where('detector', '=', detector).executeTakeFirst();
        if (Number(gone.numDeletedRows) !== 1) throw new AppError('not_found', `no settings change of ${detector} is waiting for approval`);
      },
    );
    return { detector, discarded: true };
  }

  /** Every waiting request, by detector. */
  async function pending() {
    const rows = await db.selectFrom('detector_settings_requests').selectAll().execute();
    return new Map(rows.map((r) => [r.detector, { settings: parse(r.settings), requested_by: r.requested_by, requested_at: new Date(r.requested_at).toISOString(), reason: r.reason }]));
  }

  return { request, approve, discard, pending };
}
