/**
 * The routing seal (attack review 9): a keyed MAC over the columns of a waybill row that an
 * access decision reads (waybill, origin/destination site and city), stored with the row
 * (`waybills.routing_seal`) and checked in the reveal's one fetch. A change made outside Warden
 * (an `update waybills set dest_site = …` by whoever owns the database) no longer matches the
 * seal, and the record fails closed: nothing is decrypted, the reveal answers `record_integrity`
 * and its audit entry says the routing did not match (docs/decisions/0019-routing-seal.md).
 *
 * Invariants:
 * - The MAC key is derived from the master key (HKDF-SHA256) and never stored: the database
 *   alone cannot make a seal. Each loaded master key gives one seal key; a seal names the
 *   master key id it was made under, so seals made before a master-key change still verify
 *   while the previous key is loaded, and the key rotation re-seals them under the primary.
 * - Warden's own writers seal in the statement that writes the routing (vault ingest is the only
 *   one: a canary superseded by a real parcel is deleted, then ingested again, sealed anew).
 * - A missing seal is a broken seal. Rows written before the seal existed are sealed once, at
 *   the first start after migration 0019, only while no `vault.routing_sealed` entry exists in
 *   the audit trail; that entry (with the count) closes the window for good.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../store/schema.js';
import { toBuffer } from '../store/db.js';
import type { AuditWriter } from '../audit/writer.js';
import { createRowSealer, KEY_ID_BYTES, ROW_SEAL_BYTES } from './row-seal.js';
import type { MasterKey } from './keyring.js';

/** The row columns a seal covers: everything the access decision reads from the waybill row. */
export interface SealedRouting {
  waybill: string;
  origin_site: string;
  dest_site: string;
  origin_city: string | null;
  dest_city: string | null;
}

export const SEAL_BYTES = ROW_SEAL_BYTES;

export interface RoutingSeal {
  /** The seal of this routing under the primary master key. */
  seal(r: SealedRouting): Buffer;
  /** True only when `seal` is a seal of exactly this routing under a loaded master key. */
  check(r: SealedRouting, seal: Uint8Array | Buffer | null | undefined): boolean;
  /** The master key id a seal was made under (hex), or null for no seal / not one of ours. */
  keyIdOf(seal: Uint8Array | Buffer | null | undefined): string | null;
  readonly primaryKeyId: string;
}

/** Unambiguous: a JSON array of the five values (null stays null, never "null"). */
const valuesOf = (r: SealedRouting) => [r.waybill, r.origin_site, r.dest_site, r.origin_city, r.dest_city];

export function createRoutingSeal(masterKeys: readonly MasterKey[]): RoutingSeal {
  const sealer = createRowSealer(masterKeys, 'warden/routing-seal/v1');
  return {
    primaryKeyId: sealer.primaryKeyId,
    keyIdOf: sealer.keyIdOf,
    seal: (r) => sealer.seal(valuesOf(r)),
    check: (r, seal) => sealer.check(valuesOf(r), seal),
  };
}

const PAGE = 500;

/**
 * The one-time upgrade of rows written before the seal existed (migration 0019 counted them in
 * `routing_seal_upgrade`). Runs at start, before requests are served; sealed and audited
 * (`vault.routing_sealed`, with the count) in one transaction. It never runs twice: an entry of
 * that kind in the trail (which the database owner cannot remove without `audit verify`
 * failing) ends it, and so does a store that had no waybills when migrated. Afterwards a row
 * without a seal fails closed like a row whose seal does not match.
 */
export async function sealLegacyRoutings(deps: { db: Kysely<Database>; seal: RoutingSeal; audit: Pick<AuditWriter, 'append'>; now: Date }): Promise<{ sealed: number } | null> {
  const { db, seal } = deps;
  const marker = await db.selectFrom('routing_seal_upgrade').select(['legacy']).where('id', '=', 1).executeTakeFirst();
  if (!marker || Number(marker.legacy) === 0) return null;
  const done = await db.selectFrom('audit_log').select('seq').where('kind', '=', 'vault.routing_sealed').limit(1).executeTakeFirst();
  if (done) {
    await db.updateTable('routing_seal_upgrade').set({ legacy: 0 }).where('id', '=', 1).execute();
    return null;
  }
  let sealed = 0;
  await deps.audit.append([], async (tx, more) => {
    // Several processes may start at once: one seals, the others then find the entry.
    await sql`select pg_advisory_xact_lock(7243019)`.execute(tx);
    const again = await tx.selectFrom('audit_log').select('seq').where('kind', '=', 'vault.routing_sealed').limit(1).executeTakeFirst();
    if (again) return;
    for (;;) {
      const rows = await tx
        .selectFrom('waybills')
        .select(['waybill', 'origin_site', 'dest_site', 'origin_city', 'dest_city'])
        .where('routing_seal', 'is', null)
        .orderBy('waybill')
        .limit(PAGE)
        .execute();
      for (const r of rows) await tx.updateTable('waybills').set({ routing_seal: seal.seal(r) }).where('waybill', '=', r.waybill).where('routing_seal', 'is', null).execute();
      sealed += rows.length;
      if (rows.length < PAGE) break;
    }
    await tx.updateTable('routing_seal_upgrade').set({ legacy: 0 }).where('id', '=', 1).execute();
    more([{ kind: 'vault.routing_sealed', ts: deps.now, decision: 'ok', account: 'warden:start', detail: { count: sealed, migrated_rows: Number(marker.legacy), seal_key: seal.primaryKeyId } }]);
  });
  return { sealed };
}

/**
 * After a master-key change (keys rotation, inside its run): seals made under an older master
 * key that still verify are made again under the primary; a seal that does not verify is left
 * as it is (the record stays failed closed) and counted.
 */
export async function resealUnderPrimary(db: Kysely<Database> | Transaction<Database>, seal: RoutingSeal): Promise<{ resealed: number; broken: number }> {
  let resealed = 0;
  let broken = 0;
  let after = '';
  const primaryId = Buffer.from(seal.primaryKeyId, 'hex');
  for (;;) {
    const rows = await db
      .selectFrom('waybills')
      .select(['waybill', 'origin_site', 'dest_site', 'origin_city', 'dest_city', 'routing_seal'])
      .where('routing_seal', 'is not', null)
      .where(sql<boolean>`substring(routing_seal from 2 for ${KEY_ID_BYTES}) <> ${primaryId}`)
      .where('waybill', '>', after)
      .orderBy('waybill')
      .limit(PAGE)
      .execute();
    for (const r of rows) {
      const current = toBuffer(r.routing_seal!);
      if (!seal.check(r, current)) {
        broken++;
        continue;
      }
      await db.updateTable('waybills').set({ routing_seal: seal.seal(r) }).where('waybill', '=', r.waybill).where('routing_seal', '=', current).execute();
      resealed++;
    }
    if (rows.length < PAGE) break;
    after = rows[rows.length - 1]!.waybill;
  }
  return { resealed, broken };
}
