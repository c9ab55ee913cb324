/**
 * The key hierarchy: master key → key-encryption keys (KEKs) → one data key per data subject.
 *
 * Invariants:
 * - Only the master key lives outside the database; everything below it is stored wrapped.
 *   (The audit signing key is not here at all: it lives outside the store, src/audit/signing-key.ts.)
 * - A data key is bound to its subject (AAD), so a wrapped key moved to another subject fails.
 * - Several master keys can be loaded at once (primary + previous), so a master-key change is
 *   deployed first and rewrapped afterwards, without downtime.
 * - Deleting a subject's data key crypto-shreds every copy of that person's data.
 */
import { createHash } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../store/schema.js';
import { toBuffer } from '../store/db.js';
import { generateKey, unwrapKey, wrapKey } from './crypto.js';
import type { AuditWriter } from '../audit/writer.js';
import { createRoutingSeal, resealUnderPrimary, type RoutingSeal } from './routing-seal.js';
import { createErasedSubjects, type ErasedSubjects } from './erased.js';
import { AppError } from '../errors.js';
import { createCredentialSeal, resealCredentials, type CredentialSeal } from '../identity/credential-seal.js';

type Db = Kysely<Database> | Transaction<Database>;

export interface MasterKey {
  id: string;
  key: Buffer;
}

export function masterKeyFrom(key: Buffer): MasterKey {
  const id = createHash('sha256').update('warden/master-key-id/v1').update(key).digest('hex').slice(0, 16);
  return { id, key };
}

export interface Keyring {
  readonly primaryMasterKeyId: string;
  readonly blindIndexKey: Buffer;
  /** Encrypts accounts' TOTP secrets. */
  readonly mfaKey: Buffer;
  /** Seals waybill routing (attack review 9): keys derived from the master keys, never stored. */
  readonly routingSeal: RoutingSeal;
  /** Seals credential rows — accounts, sessions, service tokens (attack review 11): keys derived from the master keys, never stored. */
  readonly credentialSeal: CredentialSeal;
  /** The subject's data key, created (in tx) when it does not exist yet. */
  dataKeyForWrite(tx: Db, subjectId: Buffer): Promise<Buffer>;
  /** The subject's data key, or null when it was shredded. */
  dataKeyForRead(db: Db, subjectId: Buffer): Promise<Buffer | null>;
  /** Forgets cached keys (after a shred or a rotation done by another process). */
  forget(subjectId?: Buffer): void;
  /** Erased people as the trail knows them (src/vault/erased.ts): a data key it tombstoned is never used. */
  readonly erased: ErasedSubjects;
  /** The tombstone tags of these subjects' stored data keys (what an erasure records before it shreds them). */
  erasedKeyTags(tx: Db, subjectIds: Buffer[]): Promise<string[]>;
}

export class MasterKeyMismatchError extends Error {
  constructor(storeKeyId: string) {
    super(
      `the master key does not match the one this store was created with (store key id ${storeKeyId}); set WARDEN_MASTER_KEY (or WARDEN_MASTER_KEY_PREVIOUS during a rotation) to that key`,
    );
  }
}

const KEK_AAD = 'warden/kek/v1';
const keyringAad = (name: string) => `warden/keyring/${name}/v1`;
const dekAad = (subjectId: Buffer) => `warden/dek/${subjectId.toString('hex')}/v1`;

export async function loadKeyring(
  db: Kysely<Database>,
  masterKeys: MasterKey[],
  options: { dekCacheSize?: number } = {},
): Promise<Keyring> {
  const primary = masterKeys[0];
  if (!primary) throw new Error('no master key given');
  const masters = new Map(masterKeys.map((m) => [m.id, m.key]));
  const masterFor = (id: string): Buffer => {
    const key = masters.get(id);
    if (!key) throw new MasterKeyMismatchError(id);
    return key;
  };

  const blindIndexKey = await keyringSecret(db, 'blind_index', primary, masterFor, generateKey);
  const mfaKey = await keyringSecret(db, 'mfa', primary, masterFor, generateKey);

  await ensureActiveKek(db, primary);
  const erased = createErasedSubjects(blindIndexKey);
  await erased.refresh(db);

  const kekCache = new Map<number, Buffer>();
  const dekCache = new Map<string, Buffer>();
  const dekCacheSize = options.dekCacheSize ?? 100_000;

  async function kek(dbh: Db, id: number): Promise<Buffer> {
    const cached = kekCache.get(id);
    if (cached) return cached;
    const row = await dbh.selectFrom('keks').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    const key = unwrapKey(masterFor(row.master_key_id), toBuffer(row.wrapped), KEK_AAD);
    kekCache.set(id, key);
    return key;
  }

  async function activeKek(dbh: Db): Promise<{ id: number; key: Buffer }> {
    const row = await dbh
      .selectFrom('keks')
      .select(['id'])
      .where('status', '=', 'active')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirstOrThrow();
    return { id: row.id, key: await kek(dbh, row.id) };
  }

  function remember(subjectHex: string, dek: Buffer): void {
    if (dekCache.size >= dekCacheSize) {
      // Insertion order approximates age; dropping the oldest keeps the cache bounded.
      const oldest = dekCache.keys().next().value;
      if (oldest !== undefined) dekCache.delete(oldest);
    }
    dekCache.set(subjectHex, dek);
  }

  async function storedDek(dbh: Db, subjectId: Buffer): Promise<Buffer | null> {
    const row = await dbh.selectFrom('subject_keys').selectAll().where('subject_id', '=', subjectId).executeTakeFirst();
    return row ? unwrapKey(await kek(dbh, row.kek_id), toBuffer(row.wrapped_dek), dekAad(subjectId)) : null;
  }

  async function readDek(dbh: Db, subjectId: Buffer): Promise<Buffer | null> {
    const hex = subjectId.toString('hex');
    const cached = dekCache.get(hex);
    if (cached) return cached;
    const dek = await storedDek(dbh, subjectId);
    if (!dek) return null;
    if (await isTombstoned(erased, dbh, subjectId, dek)) throw erasedKeyError();
    remember(hex, dek);
    return dek;
  }

  return {
    primaryMasterKeyId: primary.id,
    blindIndexKey,
    mfaKey,
    routingSeal: createRoutingSeal(masterKeys),
    credentialSeal: createCredentialSeal(masterKeys),
    async dataKeyForWrite(tx, subjectId) {
      const existing = await readDek(tx, subjectId).catch(async (err: unknown) => {
        // A key the trail says was shredded, put back around Warden: shredded again, a new one made.
        if (!(err instanceof AppError && err.code === 'subject_erased')) throw err;
        await tx.deleteFrom('subject_keys').where('subject_id', '=', subjectId).execute();
        return null;
      });
      if (existing) return existing;
      const { id, key } = await activeKek(tx);
      const dek = generateKey();
      await tx
        .insertInto('subject_keys')
        .values({ subject_id: subjectId, kek_id: id, wrapped_dek: wrapKey(key, dek, dekAad(subjectId)) })
        .onConflict((oc) => oc.column('subject_id').doNothing())
        .execute();
      // Another writer may have won the race; whatever is stored is the subject's key.
      const stored = await readDek(tx, subjectId);
      if (!stored) throw new Error('data key vanished while being created');
      return stored;
    },
    dataKeyForRead: readDek,
    forget(subjectId) {
      if (subjectId) dekCache.delete(subjectId.toString('hex'));
      else {
        dekCache.clear();
        kekCache.clear();
      }
    },
    erased,
    async erasedKeyTags(tx, subjectIds) {
      const tags: string[] = [];
      for (const s of subjectIds) {
        const dek = await storedDek(tx, s);
        if (dek) tags.push(erased.tagOf(s, dek));
      }
      return tags;
    },
  };
}

// --- Erased subjects (attack review 11): a data key restored from a copy after its erasure ---

/**
 * Whether the trail says this data key was shredded: the erasures are read again first (a cache
 * miss is when a key is unwrapped, so a process that did not perform an erasure learns it here).
 */
async function isTombstoned(erased: ErasedSubjects, dbh: Db, subjectId: Buffer, dek: Buffer): Promise<boolean> {
  await erased.refresh(dbh);
  return erased.keyErased(erased.tagOf(subjectId, dek));
}

const erasedKeyError = () =>
  new AppError('subject_erased', 'the person behind this record was erased; a data key put back after its erasure is not used (see `warden audit reconcile`)');

async function keyringSecret(
  db: Kysely<Database>,
  name: string,
  primary: MasterKey,
  masterFor: (id: string) => Buffer,
  create: () => Buffer,
): Promise<Buffer> {
  let row = await db.selectFrom('keyring').selectAll().where('name', '=', name).executeTakeFirst();
  if (!row) {
    const secret = create();
    await db
      .insertInto('keyring')
      .values({ name, wrapped: wrapKey(primary.key, secret, keyringAad(name)), master_key_id: primary.id, public_part: null })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    row = await db.selectFrom('keyring').selectAll().where('name', '=', name).executeTakeFirstOrThrow();
  }
  return unwrapKey(masterFor(row.master_key_id), toBuffer(row.wrapped), keyringAad(name));
}

async function ensureActiveKek(db: Kysely<Database>, primary: MasterKey): Promise<void> {
  await db.transaction().execute(async (tx) => {
    // Serialise first-start KEK creation across processes.
    await sql`select pg_advisory_xact_lock(7243001)`.execute(tx);
    const active = await tx.selectFrom('keks').select('id').where('status', '=', 'active').executeTakeFirst();
    if (!active) {
      await tx.insertInto('keks').values({ wrapped: wrapKey(primary.key, generateKey(), KEK_AAD), master_key_id: primary.id, status: 'active' }).execute();
    }
  });
}

export interface RotationReport {
  newKekId: number;
  dataKeysRewrapped: number;
  mastersRewrapped: number;
  /** Routing seals made under an older master key, made again under the primary. */
  routingSealsResealed: number;
  /** Routing seals that verify under no loaded master key (records changed outside Warden): left failed closed. */
  routingSealsBroken: number;
  /** Credential seals (accounts, live sessions, service tokens) made under an older master key, made again under the primary. */
  credentialSealsResealed: number;
  /** Credential seals that verify under no loaded master key (rows changed outside Warden): left refused. */
  credentialSealsBroken: number;
}

export interface RotationOptions {
  /** The rotation is audited (keys.rotated) in the transaction that activates the new KEK. */
  audit: Pick<AuditWriter, 'append'>;
  /** Who rotated: an account id, "admin", or the OS account of a CLI run. */
  actor: string;
  ip?: string | null;
  requestId?: string | null;
  onProgress?: (done: number) => void;
}

/**
 * Rotates without downtime: a new KEK becomes active, every data key is rewrapped under it in
 * small transactions (readers keep working: a data key's value never changes), and anything
 * still wrapped by a non-primary master key is rewrapped under the primary. The key operation
 * is audited with its actor in the same transaction as the switch to the new KEK (and the move
 * to the current master key), so no rotation happens without its entry.
 */
export async function rotateKeys(db: Kysely<Database>, masterKeys: MasterKey[], options: RotationOptions): Promise<RotationReport> {
  const primary = masterKeys[0];
  if (!primary) throw new Error('no master key given');
  const masters = new Map(masterKeys.map((m) => [m.id, m.key]));
  const masterFor = (id: string) => {
    const key = masters.get(id);
    if (!key) throw new MasterKeyMismatchError(id);
    return key;
  };

  const toMove = await countNotUnder(db, primary.id);
  const newKek = generateKey();
  // The id is drawn first so the audit entry can name the KEK it activates.
  const drawn = await sql<{ id: number }>`select nextval(pg_get_serial_sequence('keks', 'id')) as id`.execute(db);
  const newKekId = Number(drawn.rows[0]!.id);
  let mastersRewrapped = 0;
  await options.audit.append(
    [
      {
        kind: 'keys.rotated',
        ts: new Date(),
        decision: 'ok',
        account: options.actor,
        ip: options.ip ?? null,
        requestId: options.requestId ?? null,
        detail: { new_kek_id: newKekId, master_key_id: primary.id, moved_to_current_master_key: toMove },
      },
    ],
    async (tx) => {
      mastersRewrapped = await rewrapUnderPrimary(tx, primary, masterFor);
      await sql`select pg_advisory_xact_lock(7243001)`.execute(tx);
      await tx.insertInto('keks').values({ id: newKekId, wrapped: wrapKey(primary.key, newKek, KEK_AAD), master_key_id: primary.id, status: 'active' }).execute();
      await tx.updateTable('keks').set({ status: 'retired' }).where('id', '!=', newKekId).where('status', '=', 'active').execute();
    },
  );
  const onProgress = options.onProgress;

  const kekCache = new Map<number, Buffer>([[newKekId, newKek]]);
  const kekById = async (id: number) => {
    const cached = kekCache.get(id);
    if (cached) return cached;
    const row = await db.selectFrom('keks').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    const key = unwrapKey(masterFor(row.master_key_id), toBuffer(row.wrapped), KEK_AAD);
    kekCache.set(id, key);
    return key;
  };

  let dataKeysRewrapped = 0;
  for (;;) {
    const page = await db.selectFrom('subject_keys').selectAll().where('kek_id', '!=', newKekId).limit(500).execute();
    if (page.length === 0) break;
    // Unwrap the page's KEKs first: inside the transaction only `tx` may be used (the embedded
    // store has a single connection, held by the transaction).
    for (const id of new Set(page.map((r) => r.kek_id))) await kekById(id);
    await db.transaction().execute(async (tx) => {
      for (const row of page) {
        const subjectId = toBuffer(row.subject_id);
        const dek = unwrapKey(await kekById(row.kek_id), toBuffer(row.wrapped_dek), dekAad(subjectId));
        await tx
          .updateTable('subject_keys')
          .set({ kek_id: newKekId, wrapped_dek: wrapKey(newKek, dek, dekAad(subjectId)) })
          .where('subject_id', '=', subjectId)
          .where('kek_id', '=', row.kek_id)
          .execute();
      }
    });
    dataKeysRewrapped += page.length;
    onProgress?.(dataKeysRewrapped);
  }
  // The routing seals follow the master key: those under a previous one are made again under the primary.
  const reseal = await resealUnderPrimary(db, createRoutingSeal(masterKeys));
  // So do the credential seals (accounts, sessions, service tokens).
  const credentials = await resealCredentials(db, createCredentialSeal(masterKeys));
  return {
    newKekId, dataKeysRewrapped, mastersRewrapped, routingSealsResealed: reseal.resealed, routingSealsBroken: reseal.broken,
    credentialSealsResealed: credentials.resealed, credentialSealsBroken: credentials.broken,
  };
}

async function countNotUnder(db: Db, masterKeyId: string): Promise<number> {
  const a = await db.selectFrom('keyring').select((eb) => eb.fn.countAll<number>().as('n')).where('master_key_id', '!=', masterKeyId).executeTakeFirstOrThrow();
  const b = await db.selectFrom('keks').select((eb) => eb.fn.countAll<number>().as('n')).where('master_key_id', '!=', masterKeyId).executeTakeFirstOrThrow();
  return Number(a.n) + Number(b.n);
}

/** Moves everything wrapped by an older master key under the primary (inside the rotation's transaction). */
async function rewrapUnderPrimary(tx: Transaction<Database>, primary: MasterKey, masterFor: (id: string) => Buffer): Promise<number> {
  let moved = 0;
  for (const row of await tx.selectFrom('keyring').selectAll().where('master_key_id', '!=', primary.id).execute()) {
    const secret = unwrapKey(masterFor(row.master_key_id), toBuffer(row.wrapped), keyringAad(row.name));
    await tx.updateTable('keyring').set({ wrapped: wrapKey(primary.key, secret, keyringAad(row.name)), master_key_id: primary.id }).where('name', '=', row.name).execute();
    moved++;
  }
  for (const row of await tx.selectFrom('keks').selectAll().where('master_key_id', '!=', primary.id).execute()) {
    const key = unwrapKey(masterFor(row.master_key_id), toBuffer(row.wrapped), KEK_AAD);
    await tx.updateTable('keks').set({ wrapped: wrapKey(primary.key, key, KEK_AAD), master_key_id: primary.id }).where('id', '=', row.id).execute();
    moved++;
  }
  return moved;
}
