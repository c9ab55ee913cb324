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
 * - A canary is a parcel like any other where producers can test it: its vault row has origin and
 *   destination sites of a real route and their cities (the vault writer fills them from the sites,
 *   as for a real record), so a rule comparing a producer's event with the stored parcel
 *   (`waybill_conflict`, src/events/producer.ts) can hold a canary to it like a real parcel (attack
 *   review 7: exempting canaries told them apart).
 * - A real waybill takes precedence: a vault record arriving with a canary's number (POST
 *   /api/v1/waybills through `realWaybillsFirst`, the only caller of `supersede`) replaces it (the
 *   canary leaves the vault and the watched set, its row is renamed and retired,
 *   `trace.canary_superseded` is audited and raised) and the producer gets the ordinary answer. A
 *   routing (`waybill`) event alone never supersedes one. Numbers are drawn from gaps below real
 *   ones so this stays rare.
 * - An export whose block has no free number gets fewer marks, possibly none: nothing is recorded
 *   for a batch that planted nothing (no empty insert, no entry).
 * - The table never holds a number in plaintext (attack review 9): each row keeps the number's
 *   keyed blind index (`mac`) and the number sealed (canary-data.ts); lookups, the tripwire and the
 *   supersede match blind indexes, the list opens the sealed numbers. Each planting's entry carries
 *   `macs_sha256`, the digest of the batch's blind indexes, so `audit reconcile` names a batch whose
 *   rows were deleted or added around Warden. Rows of an older store are sealed at start
 *   (`sealPlaintext`, audited as `trace.canaries_sealed` with each batch's count and digest).
 */
import { randomInt, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { AuditWriter } from '../audit/writer.js';
import type { Clock } from '../ops/clock.js';
import type { VaultWriter } from '../vault/vault.js';
import { actorName, type Actor, type RequestContext } from '../identity/identity.js';
import type { AlertOut } from '../detect/engine.js';
import { AppError, isAppError } from '../errors.js';
import { canaryKeys, canaryMac, canaryRecord, freshRng, macsDigest, neighbourNumber, openCanary, sealCanary, type Neighbour } from './canary-data.js';

/** How a superseded canary's row is renamed (its number now belongs to a real parcel). */
const SUPERSEDED = '~superseded~';

export const MAX_PLANT = 1000;

export interface CanariesDeps {
  db: Kysely<Database>;
  vault: Pick<VaultWriter, 'ingest'>;
  audit: AuditWriter;
  clock: Clock;
  /** A mobile-number prefix the company controls (calls to it prove the data left); optional. */
  phoneRange?: string | null | undefined;
  /** The keyring's blind-index key: the canary keys derive from it. */
  blindIndexKey: Buffer;
  /** The watch's alert path: a superseded canary is raised (`canary_superseded`); absent, audited only. */
  raise?: ((alerts: AlertOut[]) => Promise<void>) | undefined;
}

export const SUPERSEDED_DETECTOR = 'canary_superseded';

export interface CanaryRow {
  waybill: string;
  batch: string;
  export_id: string | null;
  planted_at: string;
  planted_by: string;
  retired_at: string | null;
  /** A real waybill took this number; the canary left the vault. */
  superseded: boolean;
}

export interface PlantOptions {
  phoneRange?: string | null | undefined;
  /** The marked export these rows are planted for (its own canaries). */
  exportId?: string | undefined;
  /** Real waybills to sit next to (an export's own rows); default: recent waybills. */
  near?: Neighbour[] | undefined;
  /** Numbers strictly inside the range of `near`'s, and at most as many as fit (an export's block). */
  inside?: boolean | undefined;
  /** A creation time drawn inside this window (an export's date filter); default now. */
  within?: { from: Date; to: Date } | undefined;
}

export function createCanaries(deps: CanariesDeps) {
  const { db, audit, clock } = deps;
  const keys = canaryKeys(deps.blindIndexKey);
  const macOf = (waybill: string) => canaryMac(keys, waybill);
  /** blind index → the export it was planted for (null: a vault canary). Read on the hot path, synchronously. */
  const known = new Map<string, string | null>();

  /**
   * Picks up canaries planted elsewhere (the CLI, another process). A canary leaves the watched set
   * only when its row says a real waybill superseded it: a row that vanished (deleted around
   * Warden) stays watched by this process (fail closed); `audit reconcile` names its batch.
   */
  async function refresh(): Promise<void> {
    const rows = await db.selectFrom('trace_canaries').select(['mac', 'export_id']).where('sealed', 'is not', null).execute();
    for (const r of rows) {
      if (r.mac.includes(SUPERSEDED)) known.delete(bareMac(r.mac));
      else known.set(r.mac, r.export_id);
    }
  }

  /** The canaries among these numbers (retired ones too; `live`: unretired only), read from the store. */
  async function among(waybills: readonly string[], opts: { live?: boolean } = {}): Promise<Set<string>> {
    const byMac = new Map(waybills.map((w) => [macOf(w), w]));
    const out = new Set<string>();
    const macs = [...byMac.keys()];
    for (let i = 0; i < macs.length; i += 500) {
      let q = db.selectFrom('trace_canaries').select('mac').where('mac', 'in', macs.slice(i, i + 500));
      if (opts.live) q = q.where('retired_at', 'is', null);
      for (const r of await q.execute()) out.add(byMac.get(r.mac)!);
    }
    return out;
  }

  /**
   * Rows an older store kept in plaintext (`sealed` null, the number in `mac`): sealed and indexed
   * in one transaction with a `trace.canaries_sealed` entry that binds each touched batch (its row
   * count and blind-index digest after sealing). Run at start; nothing to do, nothing recorded.
   */
  async function sealPlaintext(): Promise<number> {
    const plain = await db.selectFrom('trace_canaries').select(['mac', 'batch']).where('sealed', 'is', null).execute();
    if (!plain.length) return 0;
    const converted = plain.map((r) => {
      const [waybill, superseded] = r.mac.split(SUPERSEDED) as [string, string | undefined];
      const mac = macOf(waybill);
      return { from: r.mac, batch: r.batch, waybill, mac: superseded === undefined ? mac : `${mac}${SUPERSEDED}${superseded}`, sealed: sealCanary(keys, waybill, mac) };
    });
    const batches = [...new Set(plain.map((r) => r.batch))];
    const entry = async () => {
      const rows = await db.selectFrom('trace_canaries').select(['mac', 'batch', 'sealed']).where('batch', 'in', batches).execute();
      const renamed = new Map(converted.map((c) => [c.from, c.mac]));
      return batches.map((b) => {
        const macs = rows.filter((r) => r.batch === b).map((r) => bareMac(renamed.get(r.mac) ?? r.mac));
        return `${b}:${macs.length}:${macsDigest(macs)}`;
      });
    };
    await audit.append(
      [{ kind: 'trace.canaries_sealed', ts: new Date(clock.now()), decision: 'ok', requestId: 'warden-start', detail: { actor: 'warden', count: converted.length, batches: await entry() } }],
      async (tx) => {
        for (const c of converted) await tx.updateTable('trace_canaries').set({ mac: c.mac, sealed: c.sealed }).where('mac', '=', c.from).where('sealed', 'is', null).execute();
      },
    );
    return converted.length;
  }

  async function neighbours(): Promise<Neighbour[]> {
    const real = await db
      .selectFrom('waybills')
      .select(['waybill', 'origin_site', 'dest_site', 'origin_city', 'dest_city'])
      .orderBy('created_at', 'desc')
      .limit(500 + known.size)
      .execute()
      .then((rows) => rows.filter((r) => !known.has(macOf(r.waybill))).slice(0, 500));
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

  /** Stores up to `count` canaries through the vault; returns their numbers. Audited by the caller's entry. */
  async function store(count: number, opts: PlantOptions): Promise<string[]> {
    if (!Number.isInteger(count) || count < 1 || count > MAX_PLANT) throw new AppError('validation_failed', `count must be an integer from 1 to ${MAX_PLANT}`);
    const rng = freshRng();
    const near = opts.near?.length ? opts.near : await neighbours();
    const known = near.flatMap((n) => (n.waybill ? [n.waybill] : []));
    const planted: string[] = [];
    for (let i = 0; i < count; i++) {
      for (let attempt = 0; ; attempt++) {
        const at = rng.pick(near);
        const taken = [...known, ...planted];
        // No gap below this one (consecutive numbers): below the lowest known, unless held inside the block.
        const number = neighbourNumber(at.waybill, rng, taken, opts.inside === true) ?? (opts.inside ? null : neighbourNumber([...taken].sort()[0] ?? null, rng, taken, false));
        try {
          if (number === null) throw new AppError('conflict', 'no free number next to this waybill');
          planted.push((await deps.vault.ingest(canaryRecord(rng, at, opts.phoneRange ?? deps.phoneRange, number))).waybill);
          break;
        } catch (err) {
          // A number already taken: draw another (a handful of tries; anything else is real trouble).
          if (!isAppError(err) || err.code !== 'conflict') throw err;
          if (attempt >= 8 && opts.inside) return planted; // the block has no room left: fewer marks
          if (attempt >= 8) throw err;
        }
      }
    }
    if (opts.within && planted.length) {
      const from = opts.within.from.getTime();
      const span = Math.max(1, opts.within.to.getTime() - from);
      // Dated inside the window the export asked for, like the real rows beside it.
      for (const w of planted) await db.updateTable('waybills').set({ created_at: new Date(from + randomInt(Math.min(span, 2 ** 47))) }).where('waybill', '=', w).execute();
    }
    return planted;
  }

  /**
   * A real waybill arrived with this number: if it is a canary, retire it for good — out of the
   * vault and the watched set, its row renamed — so the real one can be stored. Audited with the
   * producer that sent it (a run of these names who is guessing numbers) and without the number (the
   * trail is read more widely than the list). True when a canary made room.
   */
  async function supersede(waybill: string, by: Superseder): Promise<boolean> {
    const mac = macOf(waybill);
    const row = await db.selectFrom('trace_canaries').select(['batch', 'export_id']).where('mac', '=', mac).executeTakeFirst();
    if (!row) return false;
    const now = new Date(clock.now());
    await audit.append(
      [{ kind: 'trace.canary_superseded', ts: now, decision: 'ok', ip: by.ip, requestId: by.requestId, account: by.account ?? undefined, detail: { actor: by.actor, batch: row.batch, export: row.export_id, count: 1 } }],
      async (tx) => {
        await tx.updateTable('trace_canaries').set({ mac: `${mac}${SUPERSEDED}${now.getTime()}`, retired_at: now }).where('mac', '=', mac).execute();
        await tx.deleteFrom('waybills').where('waybill', '=', waybill).execute();
      },
    );
    known.delete(mac);
    await alertSuperseded(row.batch, now.getTime());
    return true;
  }

  /**
   * Each superseded canary is a tripwire gone. Rare by design (numbers come from gaps below real
   * ones), so a run of them means a producer is sending guessed numbers to retire the watch: the
   * analysts hear of it. One alert per hour, counting that hour's supersedes; no number in it.
   */
  let hourly = { hour: -1, count: 0 };
  async function alertSuperseded(batch: string, now: number): Promise<void> {
    const hour = Math.floor(now / 3_600_000);
    hourly = hourly.hour === hour ? { hour, count: hourly.count + 1 } : { hour, count: 1 };
    if (!deps.raise || hourly.count > 1) return;
    await deps.raise([{
      id: `canary-superseded-${hour}`,
      ts: new Date(now).toISOString(),
      detector: SUPERSEDED_DETECTOR,
      severity: 'medium',
      score: 50,
      summary: 'A real waybill arrived with a canary\'s number and replaced it (the canary is retired). Rare by design: several in an hour mean someone may be sending guessed numbers to retire canaries; see trace.canary_superseded in the audit trail and plant fresh ones.',
      evidence: { batch },
      incident: 'canary-superseded',
      risk: 0,
      response: 'none',
      event_id: `canary-superseded-${hour}`,
    } as unknown as AlertOut]);
  }

  async function plant(count: number, opts: PlantOptions, actor: Actor, ctx: RequestContext) {
    const waybills = await store(count, opts);
    const batch = randomUUID();
    // An export's block with no gap (consecutive real numbers): fewer marks — here none, and nothing to record.
    if (!waybills.length) return { batch, planted: 0, waybills };
    const now = new Date(clock.now());
    const rows = waybills.map((waybill) => rowOf(waybill, batch, opts.exportId ?? null, now, actorName(actor)));
    await audit.append(
      [{ kind: 'trace.canaries_planted', ts: now, decision: 'ok', ip: ctx.ip, requestId: ctx.requestId, detail: { actor: actorName(actor), batch, count: waybills.length, export: opts.exportId ?? null, macs_sha256: macsDigest(rows.map((r) => r.mac)) } }],
      async (tx) => {
        await tx.insertInto('trace_canaries').values(rows).execute();
      },
    );
    for (const r of rows) known.set(r.mac, opts.exportId ?? null);
    return { batch, planted: waybills.length, waybills };
  }

  function rowOf(waybill: string, batch: string, exportId: string | null, at: Date, by: string) {
    const mac = macOf(waybill);
    return { mac, sealed: sealCanary(keys, waybill, mac), batch, export_id: exportId, planted_at: at, planted_by: by, retired_at: null };
  }

  /** The protected list: security analysts (and the operator's CLI) only; every read audited. */
  async function list(actor: Actor, ctx: RequestContext, q: { includeRetired?: boolean | undefined; limit?: number | undefined } = {}): Promise<{ canaries: CanaryRow[] }> {
    let query = db.selectFrom('trace_canaries').selectAll();
    if (!q.includeRetired) query = query.where('retired_at', 'is', null);
    const rows = await query.orderBy('planted_at', 'desc').orderBy('mac').limit(Math.min(q.limit ?? 1000, 10_000)).execute();
    await audit.append([{ kind: 'trace.canaries_listed', ts: new Date(clock.now()), decision: 'ok', ip: ctx.ip, requestId: ctx.requestId, detail: { actor: actorName(actor), count: rows.length } }]);
    const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());
    return {
      canaries: rows.map((r) => {
        const [mac, superseded] = r.mac.split(SUPERSEDED) as [string, string | undefined];
        const waybill = r.sealed ? openCanary(keys, r.sealed, mac) : mac;
        return { waybill, batch: r.batch, export_id: r.export_id, planted_at: iso(r.planted_at)!, planted_by: r.planted_by, retired_at: iso(r.retired_at), superseded: superseded !== undefined };
      }),
    };
  }

  /** Retires the live vault canaries (still watched) and plants as many fresh ones (or `count`). */
  async function rotate(count: number | undefined, opts: PlantOptions, actor: Actor, ctx: RequestContext) {
    const live = await db.selectFrom('trace_canaries').select('mac').where('retired_at', 'is', null).where('export_id', 'is', null).execute();
    const n = count ?? Math.max(1, live.length);
    const fresh = await store(n, opts);
    const batch = randomUUID();
    const now = new Date(clock.now());
    const rows = fresh.map((waybill) => rowOf(waybill, batch, null, now, actorName(actor)));
    await audit.append(
      [{ kind: 'trace.canaries_rotated', ts: now, decision: 'ok', ip: ctx.ip, requestId: ctx.requestId, detail: { actor: actorName(actor), batch, retired: live.length, planted: fresh.length, macs_sha256: macsDigest(rows.map((r) => r.mac)) } }],
      async (tx) => {
        if (live.length) await tx.updateTable('trace_canaries').set({ retired_at: now }).where('mac', 'in', live.map((l) => l.mac)).execute();
        if (rows.length) await tx.insertInto('trace_canaries').values(rows).execute();
      },
    );
    for (const r of rows) known.set(r.mac, null);
    return { batch, retired: live.length, planted: fresh.length, waybills: fresh };
  }

  return {
    refresh,
    plant,
    list,
    rotate,
    supersede,
    among,
    sealPlaintext,
    /** Synchronous: is this waybill a canary, and for which export (undefined: not a canary). */
    lookup: (waybill: string): string | null | undefined => (known.size ? known.get(macOf(waybill)) : undefined),
    size: () => known.size,
  };
}
export type Canaries = ReturnType<typeof createCanaries>;

/** A row's blind index without its superseded suffix (what the planting's digest covers). */
export const bareMac = (mac: string): string => mac.split(SUPERSEDED)[0]!;

/** Who sent the real waybill that retires a canary: its producer's audit actor and account, and the request. */
export interface Superseder extends RequestContext {
  actor: string;
  account: string | null;
}

/** The vault's ingest as upstream producers reach it: it knows who is sending. */
export type ProducerVault = { ingest(input: unknown, by: Superseder): ReturnType<VaultWriter['ingest']> };

/**
 * The vault writer as upstream producers reach it: a real waybill whose number a canary holds
 * replaces the canary (see `supersede`) instead of being refused as a duplicate.
 */
export function realWaybillsFirst(vault: Pick<VaultWriter, 'ingest'>, canaries: Pick<Canaries, 'supersede'>): ProducerVault {
  return {
    async ingest(input: unknown, by: Superseder) {
      try {
        return await vault.ingest(input);
      } catch (err) {
        const waybill = (input as { waybill?: unknown } | null)?.waybill;
        if (!isAppError(err) || err.code !== 'conflict' || typeof waybill !== 'string') throw err;
        if (!(await canaries.supersede(waybill, by))) throw err;
        return vault.ingest(input);
      }
    },
  };
}
