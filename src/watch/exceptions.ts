/**
 * Analyst exceptions to detection ("this device / network / account / app build is fine until a
 * date"): stored, handed to the engine, listed, removed — every change audited with its actor.
 *
 * Invariant: nobody adds or removes an exception about themselves — naming their account, or
 * one of the devices or networks they have used — so no analyst can switch detection off on
 * themselves.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { DetectionEngine } from '../detect/engine.js';
import type { DetectionException } from '../detect/exceptions.js';
import type { AuditWriter } from '../audit/writer.js';
import type { Clock } from '../ops/clock.js';
import { AppError } from '../errors.js';
import { footprintOf, isOwn, refuseSameHand, refuseSelf } from '../access/self.js';
import { actorName, type Actor, type RequestContext } from '../identity/identity.js';

type ExceptionRow = Database['detect_exceptions'] extends infer T ? { [K in keyof T]: unknown } : never;

export interface ExceptionsDeps {
  db: Kysely<Database>;
  engine: DetectionEngine;
  audit: AuditWriter;
  clock: Clock;
}

/** The account, device or network an exception is about. */
function subjectOf(x: { kind: DetectionException['kind']; account?: string | null | undefined; value: string }) {
  return {
    account: x.account ?? (x.kind === 'account' ? x.value : null),
    device: x.kind === 'device' ? x.value : null,
    network: x.kind === 'network' ? x.value : null,
  };
}

export function createExceptions(deps: ExceptionsDeps) {
  const { db, engine, audit, clock } = deps;

  /** Hands the engine every exception still in force (at start). */
  async function load(): Promise<void> {
    const rows = await db.selectFrom('detect_exceptions').selectAll().where('removed_at', 'is', null).where('until', '>', new Date(clock.now())).execute();
    for (const x of rows) engine.addException(toException(x));
  }

  async function add(input: Omit<DetectionException, 'created_by'>, actor: Actor, ctx: RequestContext) {
    const ts = new Date(clock.now());
    const subject = subjectOf(input);
    if (isOwn(await footprintOf(db, actor, ctx), subject)) {
      await refuseSelf(audit, { kind: 'watch.exception_added', ts, account: subject.account, detail: { exception_kind: input.kind } }, actor, ctx, 'add an exception for yourself (your account, device or network)');
    }
    // Nor through a puppet: not for an account linked to the actor by creation (access/self.ts).
    await refuseSameHand(db, audit, { kind: 'watch.exception_added', ts, account: subject.account, detail: { exception_kind: input.kind } }, actor, ctx, 'add an exception for yourself (your account, device or network)', [subject.account]);
    const id = randomUUID();
    const x = { ...input, created_by: actorName(actor) };
    try {
      engine.addException(x);
    } catch (err) {
      throw new AppError('validation_failed', (err as Error).message.slice(0, 200));
    }
    try {
      await audit.append(
        [{ kind: 'watch.exception_added', ts, decision: 'ok', account: input.account ?? null, ip: ctx.ip, requestId: ctx.requestId, reason: input.kind, detail: { exception: id, until: input.until, actor: x.created_by } }],
        async (tx) => {
          await tx
            .insertInto('detect_exceptions')
            .values({ id, kind: input.kind, account: input.account ?? null, value: input.value, until: new Date(input.until), reason: input.reason, created_by: x.created_by, created_at: ts, removed_at: null })
            .execute();
        },
      );
    } catch (err) {
      // Not on record, so not in force.
      engine.removeException({ kind: input.kind, value: input.value, ...(input.account ? { account: input.account } : {}) });
      throw err;
    }
    return { id, ...x };
  }

  async function remove(id: string, actor: Actor, ctx: RequestContext) {
    const row = await db.selectFrom('detect_exceptions').selectAll().where('id', '=', id).where('removed_at', 'is', null).executeTakeFirst();
    if (!row) throw new AppError('not_found', `exception ${id} does not exist`);
    const ts = new Date(clock.now());
    if (isOwn(await footprintOf(db, actor, ctx), subjectOf(row))) {
      await refuseSelf(audit, { kind: 'watch.exception_removed', ts, account: row.account, detail: { exception: id } }, actor, ctx, 'remove an exception about yourself');
    }
    await refuseSameHand(db, audit, { kind: 'watch.exception_removed', ts, account: row.account, detail: { exception: id } }, actor, ctx, 'remove an exception about yourself', [subjectOf(row).account]);
    await audit.append(
      [{ kind: 'watch.exception_removed', ts, decision: 'ok', account: row.account, ip: ctx.ip, requestId: ctx.requestId, reason: row.kind, detail: { exception: id, actor: actorName(actor) } }],
      async (tx) => {
        await tx.updateTable('detect_exceptions').set({ removed_at: ts }).where('id', '=', id).execute();
      },
    );
    engine.removeException({ kind: row.kind, value: row.value, ...(row.account ? { account: row.account } : {}) });
    return { id, removed: true };
  }

  async function list() {
    const rows = await db.selectFrom('detect_exceptions').selectAll().where('removed_at', 'is', null).orderBy('created_at', 'desc').limit(1000).execute();
    return rows.map((r) => ({ ...r, until: new Date(r.until).toISOString(), created_at: new Date(r.created_at).toISOString() }));
  }

  return { load, add, remove, list };
}
export type Exceptions = ReturnType<typeof createExceptions>;

function toException(x: ExceptionRow): DetectionException {
  return {
    kind: x.kind as DetectionException['kind'],
    ...(x.account ? { account: x.account as string } : {}),
    value: x.value as string,
    until: new Date(x.until as string | Date).toISOString(),
    reason: x.reason as string,
    created_by: x.created_by as string,
  };
}
