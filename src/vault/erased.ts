/**
 * Erased people, as the audit trail knows them (attack review 11: an approved erasure was undone
 * by restoring `subject_keys`, `waybill_parties` and the masked views from an earlier dump, and the
 * live server decrypted again — its own master key unwraps a restored data key).
 *
 * Each `pipl.subject_erased` entry names what it erased: the party rows (`erased_rows`,
 * "waybill|party"; a waybill number and a party role, no data of the person) and a keyed tag of
 * each shredded data key (`erased_keys`: HMAC under a key derived from the keyring's blind-index
 * secret, itself wrapped by the master key — the database alone neither makes nor reads one). The
 * server holds both as a tombstone set:
 * - loaded from the trail at start, added to at every erasure this process performs, and read
 *   again (entries after the last seen, index of migration 0025) at most every REFRESH_MS on the
 *   reveal path and on every data-key cache miss, so a process that did not perform an erasure
 *   learns it within a second — before it unwraps a data key it has not cached;
 * - a party row in the set is erased whatever its columns say: the fetch marks it erased (the
 *   reveal is refused 410 `subject_erased`, audited as denied), the masked views show the erased
 *   mark, a phone search skips it;
 * - a data key whose tag is in the set is refused (src/vault/keyring.ts): a later parcel of the
 *   same number has a new key, never tombstoned.
 * Entries written before this (no rows, no tags) add nothing: those erasures are as strong as before.
 */
import { createHash, createHmac } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../store/schema.js';

type Db = Kysely<Database> | Transaction<Database>;

const REFRESH_MS = 1_000;
const TAG_BYTES = 16;

export interface ErasedSubjects {
  /** Whether the trail says this party row was erased. */
  rowErased(waybill: string, party: string): boolean;
  /** The tag of a data key, as an erasure entry records it. */
  tagOf(subjectId: Buffer, dek: Buffer): string;
  /** Whether the trail says this data key was shredded. */
  keyErased(tag: string): boolean;
  /** Reads the erasure entries written since the last one read. */
  refresh(db: Db): Promise<void>;
  /** `refresh`, at most every REFRESH_MS (the reveal path). */
  fresh(db: Db): Promise<void>;
  /** What an erasure entry of this process records (before its commit: never weaker than the trail). */
  add(detail: ErasureDetail): void;
}

/** The part of a `pipl.subject_erased` entry's detail that names what was erased. */
export interface ErasureDetail {
  erased_rows?: unknown;
  erased_keys?: unknown;
}

export const rowKey = (waybill: string, party: string): string => `${waybill}|${party}`;

/** An erasure mark (pipl_erasures.subject_id: a blind index) as the trail records it: a digest, not the index. */
export const erasureMarkDigest = (mark: Uint8Array): string => createHash('sha256').update('warden/erasure-mark/v1').update(mark).digest('hex').slice(0, 32);

export function createErasedSubjects(tagSecret: Buffer, now: () => number = Date.now): ErasedSubjects {
  const tagKey = createHmac('sha256', tagSecret).update('warden/erased-key-tag/v1').digest();
  const rows = new Set<string>();
  const keys = new Set<string>();
  let lastSeq = 0;
  let lastRead = -Infinity;
  // One read in flight per handle: a transaction (the embedded store's one connection) never waits on a read through another.
  let inFlight: { db: Db; read: Promise<void> } | null = null;

  const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  const add = (d: ErasureDetail) => {
    for (const r of strings(d.erased_rows)) rows.add(r);
    for (const k of strings(d.erased_keys)) keys.add(k);
  };

  async function read(db: Db): Promise<void> {
    const started = now();
    const entries = await db
      .selectFrom('audit_log')
      .select(['seq', 'detail'])
      .where('kind', '=', 'pipl.subject_erased')
      .where('decision', '=', 'ok')
      .where('seq', '>', lastSeq)
      .orderBy('seq')
      .execute();
    for (const e of entries) {
      add((typeof e.detail === 'string' ? JSON.parse(e.detail) : (e.detail ?? {})) as ErasureDetail);
      lastSeq = Math.max(lastSeq, Number(e.seq));
    }
    lastRead = started;
  }

  const refresh = (db: Db): Promise<void> => {
    if (inFlight?.db === db) return inFlight.read;
    const mine = { db, read: read(db).finally(() => inFlight === mine && (inFlight = null)) };
    inFlight = mine;
    return mine.read;
  };

  return {
    rowErased: (waybill, party) => rows.has(rowKey(waybill, party)),
    tagOf: (subjectId, dek) => createHmac('sha256', tagKey).update(subjectId).update(dek).digest().subarray(0, TAG_BYTES).toString('hex'),
    keyErased: (tag) => keys.has(tag),
    refresh,
    fresh: (db) => (now() - lastRead < REFRESH_MS ? Promise.resolve() : refresh(db)),
    add,
  };
}
