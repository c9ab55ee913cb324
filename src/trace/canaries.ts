/**
 * Canary waybills: realistic fake records planted in the vault that no real work touches. The
 * vault, every list, export and report treat them as ordinary waybills; this module's table is
 * the only place that says which they are, and reading it is for security analysts (audited).
 *
 * Invariants:
 * - A canary is stored through the vault writer, like any waybill (encrypted, masked at ingest).
 * - Planting, listing and rotating are audited with the actor; the audit entries carry counts
 *   and a batch id, never the waybill numbers (the trail is read more widely than the list).
 * - Rotation retires canaries but keeps watching them: touching a retired canary still means the
 *   data left (nobody has a reason to look at it).
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { AuditWriter } from '../audit/writer.js';
import type { Clock } from '../ops/clock.js';
import type { VaultWriter } from '../vault/vault.js';
import { actorName, type Actor, type RequestContext } from '../identity/identity.js';
import { AppError, isAppError } from '../errors.js';
import { canaryRecord, freshRng, type Neighbour } from './canary-data.js';

export const MAX_PLANT = 1000;

export interface CanariesDeps {
  db: Kysely<Database>;
  vault: Pick<VaultWriter, 'ingest'>;
  audit: AuditWriter;
  clock: Clock;
  /** A mobile-number prefix the company controls (calls to it prove the data left); optional. */
  phoneRange?: string | null | undefined;
}

export interface CanaryRow {
  waybill: string;
  batch: string;
  export_id: string | null;
  planted_at: string;
  planted_by: string;
  retired_at: string | null;
}

export interface PlantOptions {
  phoneRange?: string | null | undefined;
  /** The marked export these rows are planted for (its own canaries). */
  exportId?: string | undefined;
  /** Real waybills to sit next to (an export's own rows); default: recent waybills. */
  near?: Neighbour[] | undefined;
}

export function createCanaries(deps: CanariesDeps) {
  const { db, audit, clock } = deps;
  /** waybill → the export it was planted for (null: a vault canary). Read on the hot path, synchronously. */
  const known = new Map<string, string | null>();

  async function refresh(): Promise<void> {
    const rows = await db.selectFrom('trace_canaries').select(['waybill', 'export_id']).execute();
    known.clear();
    for (const r of rows) known.set(r.waybill, r.export_id);
  }

  async function neighbours(): Promise<Neighbour[]> {
    const real = await db
      .selectFrom('waybills')
      .select(['waybill', 'origin_site', 'dest_site', 'origin_city', 'dest_city'])
      .where('waybill', 'not in', db.selectFrom('trace_canaries').select('waybill'))
      .orderBy('created_at', 'desc')
      .limit(500)
      .execute();
    if (real.length) return real;
    const sites = await db.selectFrom('sites').select(['code', 'city']).orderBy('code').limit(500).execute();
    if (!sites.length) throw new AppError('validation_failed', 'no sites yet: canaries are planted on real routes (create sites first)');
    const rng = freshRng();
    return Array.from({ length: 50 }, () => {
      const o = rng.pick(sites);
      const d = rng.pick(sites);
      return { waybill: null, origin_site: o.code, dest_site: d.code, origin_city: o.city, dest_city: d.city };
    });
  }

  /** Stores `count` canaries through the vault; returns their numbers. Audited by the caller's entry. */
  async function store(count: number, opts: PlantOptions): Promise<string[]> {
    if (!Number.isInteger(count) || count < 1 || count > MAX_PLANT) throw new AppError('validation_failed', `count must be an integer from 1 to ${MAX_PLANT}`);
    const rng = freshRng();
    const near = opts.near?.length ? opts.near : await neighbours();
    const planted: string[] = [];
    for (let i = 0; i < count; i++) {
      for (let attempt = 0; ; attempt++) {
        const record = canaryRecord(rng, rng.pick(near), opts.phoneRange ?? deps.phoneRange);
        try {
          planted.push((await deps.vault.ingest(record)).waybill);
          break;
        } catch (err) {
          // A number already taken: draw another (a handful of tries; anything else is real trouble).
          if (!isAppError(err) || err.code !== 'conflict' || attempt >= 8) throw err;
        }
      }
    }
    return planted;
  }

  async function plant(count: number, opts: PlantOptions, actor: Actor, ctx: RequestContext) {
    const waybills = await store(count, opts);
    const batch = randomUUID();
    const now = new Date(clock.now());
    await audit.append(
      [{ kind: 'trace.canaries_planted', ts: now, decision: 'ok', ip: ctx.ip, requestId: ctx.requestId, detail: { actor: actorName(actor), batch, count: waybills.length, export: opts.exportId ?? null } }],
      async (tx) => {
        await tx
          .insertInto('trace_canaries')
          .values(waybills.map((waybill) => ({ waybill, batch, export_id: opts.exportId ?? null, planted_at: now, planted_by: actorName(actor), retired_at: null })))
          .execute();
      },
    );
    for (const w of waybills) known.set(w, opts.exportId ?? null);
    return { batch, planted: waybills.length, waybills };
  }

  /** The protected list: security analysts (and the operator's CLI) only; every read audited. */
  async function list(actor: Actor, ctx: RequestContext, q: { includeRetired?: boolean | undefined; limit?: number | undefined } = {}): Promise<{ canaries: CanaryRow[] }> {
    let query = db.selectFrom('trace_canaries').selectAll();
    if (!q.includeRetired) query = query.where('retired_at', 'is', null);
    const rows = await query.orderBy('planted_at', 'desc').orderBy('waybill').limit(Math.min(q.limit ?? 1000, 10_000)).execute();
    await audit.append([{ kind: 'trace.canaries_listed', ts: new Date(clock.now()), decision: 'ok', ip: ctx.ip, requestId: ctx.requestId, detail: { actor: actorName(actor), count: rows.length } }]);
    const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());
    return { canaries: rows.map((r) => ({ waybill: r.waybill, batch: r.batch, export_id: r.export_id, planted_at: iso(r.planted_at)!, planted_by: r.planted_by, retired_at: iso(r.retired_at) })) };
  }

  /** Retires the live vault canaries (still watched) and plants as many fresh ones (or `count`). */
  async function rotate(count: number | undefined, opts: PlantOptions, actor: Actor, ctx: RequestContext) {
    const live = await db.selectFrom('trace_canaries').select('waybill').where('retired_at', 'is', null).where('export_id', 'is', null).execute();
    const n = count ?? Math.max(1, live.length);
    const fresh = await store(n, opts);
    const batch = randomUUID();
    const now = new Date(clock.now());
    await audit.append(
      [{ kind: 'trace.canaries_rotated', ts: now, decision: 'ok', ip: ctx.ip, requestId: ctx.requestId, detail: { actor: actorName(actor), batch, retired: live.length, planted: fresh.length } }],
      async (tx) => {
        if (live.length) await tx.updateTable('trace_canaries').set({ retired_at: now }).where('waybill', 'in', live.map((l) => l.waybill)).execute();
        await tx.insertInto('trace_canaries').values(fresh.map((waybill) => ({ waybill, batch, export_id: null, planted_at: now, planted_by: actorName(actor), retired_at: null }))).execute();
      },
    );
    for (const w of fresh) known.set(w, null);
    return { batch, retired: live.length, planted: fresh.length, waybills: fresh };
  }

  return {
    refresh,
    plant,
    list,
    rotate,
    /** Synchronous: is this waybill a canary, and for which export (undefined: not a canary). */
    lookup: (waybill: string): string | null | undefined => known.get(waybill),
    size: () => known.size,
  };
}
export type Canaries = ReturnType<typeof createCanaries>;
