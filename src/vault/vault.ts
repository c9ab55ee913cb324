/**
 * The vault: waybill PII stored encrypted per field under the data subject's key, with masked
 * views precomputed at ingest and blind indexes for exact lookup.
 *
 * Two capabilities, two types (the compiler proves who can see plaintext):
 * - VaultReader: masked records, routing, lookups. Handed to every route.
 * - PiiDecryptor: the only thing that turns ciphertext into plaintext. Handed only to the
 *   reveal service, which audits before it calls it.
 */
import { randomBytes } from 'node:crypto';
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database, MaskedWaybillJson } from '../store/schema.js';
import { toBuffer } from '../store/db.js';
import { REVEAL_IN_FLIGHT, turnBatcher } from '../store/turn-batch.js';
import { prepared } from '../store/prepared.js';
import { AppError } from '../errors.js';
import type { Clock } from '../ops/clock.js';
import type { Keyring } from './keyring.js';
import type { RoutingSeal } from './routing-seal.js';
import { blindIndex, decryptField, encryptField, VaultCryptoError } from './crypto.js';
import { maskAddress, maskName, maskParty } from './masking.js';
import { normalizePhone, validateWaybillInput, type WaybillRecord } from './validate.js';

export const PARTIES = ['sender', 'recipient'] as const;
export type PartyName = (typeof PARTIES)[number];
export const PARTY_FIELDS = ['name', 'phone', 'address', 'id_number'] as const;
export type PartyField = (typeof PARTY_FIELDS)[number];
/** "recipient.phone" and friends: the only field names a reveal may ask for. */
export type QualifiedField = `${PartyName}.${PartyField}`;
export const QUALIFIED_FIELDS: readonly QualifiedField[] = PARTIES.flatMap((p) => PARTY_FIELDS.map((f) => `${p}.${f}` as QualifiedField));
export const isQualifiedField = (s: string): s is QualifiedField => (QUALIFIED_FIELDS as readonly string[]).includes(s);

export interface Routing {
  waybill: string;
  origin_site: string;
  dest_site: string;
  origin_city: string | null;
  dest_city: string | null;
}

export type SearchScope =
  | { kind: 'all' }
  /** A condition on the waybill number owned by another domain (the work context's live assignments). */
  | { kind: 'where'; holds: (waybill: RawBuilder<string>) => RawBuilder<boolean> }
  | { kind: 'site'; site: string }
  | { kind: 'city'; city: string };

/** A waybill a phone search found, and which of its parties carry that number. */
export interface PhoneMatch {
  waybill: string;
  parties: PartyName[];
  /** When the parcel was stored: a search grants its newest matches (src/access/access.ts). */
  createdAt: number;
}

/**
 * A correlated read another domain asks the ciphertext fetch to carry, so that a reveal stays
 * one round trip without the vault knowing what it reads (the work context's answer).
 */
export interface Alongside<T> {
  /** The same for every ask (a module constant): the fetch statement's text does not vary. */
  read: AlongsideRead<T>;
  /** This ask's values, `read.arity` of them; the expression reads them as columns of its row. */
  args: ReadonlyArray<string | null>;
}

export interface AlongsideRead<T> {
  arity: number;
  /** One scalar SQL expression over the fetched waybill's number and the ask's args (text columns, in order). */
  select(waybill: RawBuilder<string>, args: ReadonlyArray<RawBuilder<string | null>>): RawBuilder<unknown>;
  parse(value: unknown): T;
}

export interface MaskedWaybill extends MaskedWaybillJson {
  waybill: string;
  origin_site: string;
  dest_site: string;
}

const fieldAad = (waybill: string, party: PartyName, field: PartyField) => `warden/field/v1|${waybill}|${party}|${field}`;

export interface VaultDeps {
  db: Kysely<Database>;
  keyring: Keyring;
  clock: Clock;
  allow15DigitId: boolean;
}

export function createVaultReader({ db, keyring }: Pick<VaultDeps, 'db' | 'keyring'>) {
  async function routing(waybill: string): Promise<Routing | null> {
    const row = await db
      .selectFrom('waybills')
      .select(['waybill', 'origin_site', 'dest_site', 'origin_city', 'dest_city'])
      .where('waybill', '=', waybill)
      .executeTakeFirst();
    return row ?? null;
  }

  async function masked(waybill: string, profile: 'screen' | 'label' = 'screen'): Promise<MaskedWaybill | null> {
    const row = await db
      .selectFrom('waybills')
      .select(['waybill', 'origin_site', 'dest_site', 'masked', 'label'])
      .where('waybill', '=', waybill)
      .executeTakeFirst();
    if (!row) return null;
    const view = parseJson<MaskedWaybillJson>(profile === 'label' ? row.label : row.masked);
    // A party the trail says was erased shows as erased, whatever its row says (attack review 11: views restored from a dump).
    await keyring.erased.fresh(db);
    for (const party of PARTIES) if (keyring.erased.rowErased(row.waybill, party)) view[party] = { name: ERASED_MARK, phone: ERASED_MARK, address: ERASED_MARK };
    if (profile === 'label') for (const party of PARTIES) view[party] = { ...view[party], address: remaskLabelAddress(view[party].address) };
    return { waybill: row.waybill, origin_site: row.origin_site, dest_site: row.dest_site, sender: view.sender, recipient: view.recipient };
  }

  /**
   * Waybills where either party has this phone number (already normalised), within a scope,
   * limited after scoping so a busy number never hides the caller's own parcels. An erased party
   * is never found (attack review 7: its index outlived the erasure and a search re-linked the
   * person to their erased parcels): erasure clears its index, and the search skips it anyway.
   */
  async function waybillsByPhone(normalisedPhone: string, scope: SearchScope, limit: number): Promise<PhoneMatch[]> {
    const bidx = blindIndex(keyring.blindIndexKey, 'phone', normalisedPhone);
    let q = db
      .selectFrom('waybill_parties as p')
      .innerJoin('waybills as w', 'w.waybill', 'p.waybill')
      .select(['p.waybill', 'w.created_at', sql<string>`string_agg(p.party, ',' order by p.party)`.as('parties')])
      .where('p.phone_bidx', '=', bidx)
      .where('p.erased_at', 'is', null)
      .groupBy(['p.waybill', 'w.created_at']);
    if (scope.kind === 'where') {
      q = q.where(scope.holds(sql.ref('p.waybill')));
    } else if (scope.kind === 'site') {
      q = q.where((eb) => eb.or([eb('w.origin_site', '=', scope.site), eb('w.dest_site', '=', scope.site)]));
    } else if (scope.kind === 'city') {
      q = q.where((eb) => eb.or([eb('w.origin_city', '=', scope.city), eb('w.dest_city', '=', scope.city)]));
    }
    const rows = await q.orderBy('p.waybill').limit(limit).execute();
    // Nor a party the trail says was erased (attack review 11: its row and index restored from a dump).
    await keyring.erased.fresh(db);
    return rows
      .map((r) => ({ waybill: r.waybill, parties: (r.parties.split(',') as PartyName[]).filter((p) => !keyring.erased.rowErased(r.waybill, p)), createdAt: new Date(r.created_at).getTime() }))
      .filter((m) => m.parties.length > 0);
  }

  return { routing, masked, waybillsByPhone };
}
export type VaultReader = ReturnType<typeof createVaultReader>;

/** Stores waybills. Ingest sees plaintext once, encrypts, and keeps only masks in clear. */
export function createVaultWriter(deps: VaultDeps) {
  const { db, keyring, clock } = deps;

  async function ingest(input: unknown): Promise<{ waybill: string; created_at: string }> {
    const result = validateWaybillInput(input, { allow15: deps.allow15DigitId, now: new Date(clock.now()) });
    if (!result.ok) {
      throw new AppError('validation_failed', `waybill is invalid: ${result.errors.map((e) => `${e.field} ${e.message}`).join('; ')}`, {
        fields: result.errors,
      });
    }
    const record = result.value;
    const createdAt = new Date(clock.now());
    await db.transaction().execute(async (tx) => {
      const sites = await tx.selectFrom('sites').select(['code', 'city']).where('code', 'in', [record.origin_site, record.dest_site]).execute();
      const cityOf = (code: string) => sites.find((s) => s.code === code)?.city ?? null;
      const routing: Routing = {
        waybill: record.waybill,
        origin_site: record.origin_site,
        dest_site: record.dest_site,
        origin_city: cityOf(record.origin_site),
        dest_city: cityOf(record.dest_site),
      };
      const inserted = await tx
        .insertInto('waybills')
        .values({
          ...routing,
          // The routing the access decision reads, sealed with the row (attack review 9).
          routing_seal: keyring.routingSeal.seal(routing),
          masked: JSON.stringify(maskRecord(record, 'screen')),
          label: JSON.stringify(maskRecord(record, 'label')),
          created_at: createdAt,
        })
        .onConflict((oc) => oc.column('waybill').doNothing())
        .returning('waybill')
        .executeTakeFirst();
      if (!inserted) throw new AppError('conflict', `waybill ${record.waybill} already exists`);
      for (const party of PARTIES) {
        const p = record[party] as WaybillRecord['sender'];
        // The data subject is the person behind a phone number: shredding their key erases every waybill they are on.
        const phoneIndex = blindIndex(keyring.blindIndexKey, 'phone', p.phone);
        const subjectId = phoneIndex;
        const dek = await keyring.dataKeyForWrite(tx, subjectId);
        const enc = (field: PartyField, value: string) => encryptField(dek, value, fieldAad(record.waybill, party, field));
        await tx
          .insertInto('waybill_parties')
          .values({
            waybill: record.waybill,
            party,
            subject_id: subjectId,
            name_ct: enc('name', p.name),
            phone_ct: enc('phone', p.phone),
            address_ct: enc('address', p.address),
            id_number_ct: p.id_number ? enc('id_number', p.id_number) : null,
            phone_bidx: phoneIndex,
            id_bidx: p.id_number ? blindIndex(keyring.blindIndexKey, 'id_number', p.id_number) : null,
          })
          .execute();
      }
    });
    return { waybill: record.waybill, created_at: createdAt.toISOString() };
  }

  return { ingest };
}
export type VaultWriter = ReturnType<typeof createVaultWriter>;

function maskRecord(record: WaybillRecord, profile: 'screen' | 'label'): MaskedWaybillJson {
  return {
    sender: maskParty(record.sender, profile) as MaskedWaybillJson['sender'],
    recipient: maskParty(record.recipient, profile) as MaskedWaybillJson['recipient'],
  };
}

export interface SealedWaybill {
  routing: Routing;
  /**
   * The routing matches its seal (src/vault/routing-seal.ts). False: the row was changed outside
   * Warden (or never sealed); the record fails closed, `open` refuses it.
   */
  intact: boolean;
  parties: Map<PartyName, { subjectId: Buffer; ciphertexts: Partial<Record<PartyField, Buffer>>; erased: boolean }>;
}

/** Whether any of these fields belongs to a party whose person was erased (crypto-shredded). */
export function touchesErased(sealed: SealedWaybill, fields: readonly QualifiedField[]): boolean {
  return fields.some((q) => sealed.parties.get(q.split('.')[0] as PartyName)?.erased === true);
}

/**
 * The privileged capability. `fetch` reads routing and ciphertext in one query (no plaintext),
 * with whatever the caller asks it to carry alongside (the work context's answer for this
 * waybill); `open` decrypts the chosen fields, and is called only after the reveal's audit
 * entry committed.
 */
export function createPiiDecryptor({ db, keyring }: Pick<VaultDeps, 'db' | 'keyring'>) {
  /**
   * The fetches of one event-loop turn go in one statement: the asked waybills and their args
   * are arrays (one text for any number of asks, so it is a prepared statement on PostgreSQL,
   * docs/decisions/0016-prepared-reveal-statements.md); each ask's correlated read (the caller's
   * work context) is computed once per ask, then joined to its waybill and parties. Nothing is
   * shared between asks but the round trip. One batch (one statement) per kind of read.
   */
  interface Ask {
    waybill: string;
    args: ReadonlyArray<string | null>;
  }
  const batches = new Map<AlongsideRead<unknown>, (ask: Ask) => Promise<{ sealed: SealedWaybill; alongside: unknown } | null>>();
  const batchFor = (read: AlongsideRead<unknown>) => {
    let batch = batches.get(read);
    if (!batch) {
      batch = turnBatcher<Ask, { sealed: SealedWaybill; alongside: unknown } | null>(async (asks) => {
        const result = await prepared(db, fetchStatement(read, asks).compile(db));
        const byAsk = new Map<number, FetchRow[]>();
        for (const row of result.rows) {
          const list = byAsk.get(row.i);
          if (list) list.push(row);
          else byAsk.set(row.i, [row]);
        }
        await keyring.erased.fresh(db);
        return asks.map((_, i) => sealedOf(byAsk.get(i + 1) ?? [], read, keyring));
      }, { maxInFlight: REVEAL_IN_FLIGHT });
      batches.set(read, batch);
    }
    return batch;
  };

  async function fetch<T>(waybill: string, alongside: Alongside<T>): Promise<{ sealed: SealedWaybill; alongside: T } | null> {
    return (await batchFor(alongside.read)({ waybill, args: alongside.args })) as { sealed: SealedWaybill; alongside: T } | null;
  }

  async function open(sealed: SealedWaybill, fields: readonly QualifiedField[]): Promise<Partial<Record<QualifiedField, string | null>>> {
    // Fail closed: a record whose routing was changed outside Warden is never decrypted (callers check `intact` first and audit it).
    if (!sealed.intact) throw recordIntegrityError(sealed.routing.waybill);
    const values: Partial<Record<QualifiedField, string | null>> = {};
    for (const q of fields) {
      const [party, field] = q.split('.') as [PartyName, PartyField];
      const p = sealed.parties.get(party);
      const ct = p?.ciphertexts[field];
      if (!p || !ct || p.erased) {
        values[q] = null;
        continue;
      }
      // A shredded subject (no data key) reads as null: the data is gone for everyone.
      const dek = await keyring.dataKeyForRead(db, p.subjectId);
      values[q] = dek ? openField(dek, ct, sealed.routing.waybill, party, field) : null;
    }
    return values;
  }

  return { fetch, open };
}
export type PiiDecryptor = ReturnType<typeof createPiiDecryptor>;

interface FetchRow {
  i: number;
  waybill: string;
  origin_site: string;
  dest_site: string;
  origin_city: string | null;
  dest_city: string | null;
  routing_seal: Uint8Array | null;
  party: PartyName | null;
  subject_id: Uint8Array | null;
  name_ct: Uint8Array | null;
  phone_ct: Uint8Array | null;
  address_ct: Uint8Array | null;
  id_number_ct: Uint8Array | null;
  erased_at: Date | null;
  alongside: unknown;
}

/** The fetch of a turn's asks: arrays in, the read computed once per ask (materialized), then the join. */
function fetchStatement(read: AlongsideRead<unknown>, asks: ReadonlyArray<{ waybill: string; args: ReadonlyArray<string | null> }>) {
  const cols = Array.from({ length: read.arity }, (_, k) => `a${k}`);
  const arrays = [asks.map((a) => a.waybill), ...cols.map((_, k) => asks.map((a) => a.args[k] ?? null))].map((values) => sql`${values}::text[]`);
  const names = sql.join([sql`waybill`, ...cols.map((c) => sql.id(c)), sql`i`]);
  const alongside = read.select(sql<string>`u.waybill`, cols.map((c) => sql.ref<string | null>(`u.${c}`)));
  return sql<FetchRow>`
    with r as materialized (
      select u.i::int as i, u.waybill, ${alongside} as alongside
      from unnest(${sql.join(arrays)}) with ordinality as u(${names}))
    select r.i, w.waybill, w.origin_site, w.dest_site, w.origin_city, w.dest_city, w.routing_seal, p.party, p.subject_id, p.name_ct, p.phone_ct, p.address_ct, p.id_number_ct, p.erased_at, r.alongside
    from r
    join waybills w on w.waybill = r.waybill
    left join waybill_parties p on p.waybill = w.waybill`;
}

/** A party is erased when its row says so or the trail does (src/vault/erased.ts). */
function sealedOf<T>(rows: FetchRow[], read: AlongsideRead<T>, keyring: Pick<Keyring, 'routingSeal' | 'erased'>): { sealed: SealedWaybill; alongside: T } | null {
  const seal = keyring.routingSeal;
  const first = rows[0];
  if (!first) return null;
  const parties: SealedWaybill['parties'] = new Map();
  for (const r of rows) {
    if (!r.party || !r.subject_id) continue;
    const ciphertexts: Partial<Record<PartyField, Buffer>> = {};
    if (r.name_ct) ciphertexts.name = toBuffer(r.name_ct);
    if (r.phone_ct) ciphertexts.phone = toBuffer(r.phone_ct);
    if (r.address_ct) ciphertexts.address = toBuffer(r.address_ct);
    if (r.id_number_ct) ciphertexts.id_number = toBuffer(r.id_number_ct);
    parties.set(r.party, { subjectId: toBuffer(r.subject_id), ciphertexts, erased: r.erased_at !== null || keyring.erased.rowErased(r.waybill, r.party) });
  }
  const routing: Routing = { waybill: first.waybill, origin_site: first.origin_site, dest_site: first.dest_site, origin_city: first.origin_city, dest_city: first.dest_city };
  return {
    sealed: { routing, intact: seal.check(routing, first.routing_seal), parties },
    alongside: read.parse(first.alongside),
  };
}

/**
 * The answer for a record whose routing does not match its seal: names the waybill (as every
 * refusal does), nothing of its routing or parties.
 */
/**
 * A field that does not authenticate under its waybill|party|field binding was moved or altered in
 * the store (attack review 11: ciphertexts swapped between waybills answered 500 `internal`): 409
 * `record_integrity`, like a re-routed record, nothing decrypted.
 */
function openField(dek: Buffer, ct: Parameters<typeof decryptField>[1], waybill: string, party: PartyName, field: PartyField): string {
  try {
    return decryptField(dek, ct, fieldAad(waybill, party, field));
  } catch (err) {
    if (err instanceof VaultCryptoError) throw recordIntegrityError(waybill, 'a field of it does not authenticate where it is stored');
    throw err;
  }
}

export const recordIntegrityError = (waybill: string, what = 'its routing does not match its seal') =>
  new AppError('record_integrity', `waybill ${waybill} was changed outside Warden (${what}); nothing was revealed, and the refusal is audited`);

/**
 * A stored label address masked again as it is read: labels stored before attack review 10 kept a
 * lane or house number written in Chinese numerals (漕溪路二百五十弄****). Masking a mask keeps
 * only what it recognises of it, so this never shows more than was stored; a clean one is unchanged.
 */
const remaskLabelAddress = (stored: string): string => (stored === ERASED_MARK ? stored : maskAddress(stored, 'label'));

/** What erasure writes over an erased party's masked views: nothing of the person is left. */
export const ERASED_MARK = '[已删除]';

/** An erased person's rows are grouped under this: random, so no phone or ID number leads to it. */
const erasedSubjectId = (): Buffer => randomBytes(32);

/**
 * Crypto-shreds people (PIPL Art. 47), inside the caller's transaction: their data keys are
 * deleted — every copy of their ciphertext, backups included, stops decrypting — and their
 * rows lose ciphertext, masked views and every lookup that leads back to the person (attack
 * review 7): the phone and ID blind indexes are nulled, and the subject id (the phone's blind
 * index too) is replaced by a random one, the same for all of a person's erased rows (a breach
 * report still counts them as one person) but computable from nothing. A later parcel of the
 * same number is a new subject with a new key that never meets the erased rows. Returns the
 * rows touched (waybill, party).
 */
export async function shredSubjects(tx: Kysely<Database>, subjectIds: Buffer[], at: Date): Promise<Array<{ waybill: string; party: PartyName }>> {
  if (subjectIds.length === 0) return [];
  await tx.deleteFrom('subject_keys').where('subject_id', 'in', subjectIds).execute();
  const rows: Array<{ waybill: string; party: PartyName }> = [];
  for (const subjectId of subjectIds) {
    rows.push(...(await tx
      .updateTable('waybill_parties')
      .set({ subject_id: erasedSubjectId(), name_ct: null, phone_ct: null, address_ct: null, id_number_ct: null, phone_bidx: null, id_bidx: null, erased_at: at })
      .where('subject_id', '=', subjectId)
      .where('erased_at', 'is', null)
      .returning(['waybill', 'party'])
      .execute()));
  }
  const erased = { name: ERASED_MARK, phone: ERASED_MARK, address: ERASED_MARK };
  for (const waybill of new Set(rows.map((r) => r.waybill))) {
    const parties = rows.filter((r) => r.waybill === waybill).map((r) => r.party);
    const w = await tx.selectFrom('waybills').select(['masked', 'label']).where('waybill', '=', waybill).executeTakeFirstOrThrow();
    const masked = parseJson<MaskedWaybillJson>(w.masked);
    const label = parseJson<MaskedWaybillJson>(w.label);
    for (const party of parties) masked[party] = label[party] = { ...erased };
    await tx.updateTable('waybills').set({ masked: JSON.stringify(masked), label: JSON.stringify(label) }).where('waybill', '=', waybill).execute();
  }
  return rows;
}

export const CORRECTABLE_FIELDS = ['name', 'address'] as const;
export type CorrectableField = (typeof CORRECTABLE_FIELDS)[number];

/**
 * Corrects one field of a person on every waybill they are on (PIPL Art. 46), inside the
 * caller's transaction: re-encrypted under their data key, masked views recomputed. The phone
 * number is the person's identity here (their key is bound to it), so it is not corrected.
 */
export async function correctSubjectField(tx: Kysely<Database>, keyring: Keyring, subjectIds: Buffer[], field: CorrectableField, value: string): Promise<number> {
  if (subjectIds.length === 0) return 0;
  const rows = await tx.selectFrom('waybill_parties').select(['waybill', 'party', 'subject_id']).where('subject_id', 'in', subjectIds).where('erased_at', 'is', null).execute();
  for (const r of rows) {
    const subjectId = toBuffer(r.subject_id);
    const dek = await keyring.dataKeyForWrite(tx, subjectId);
    const ct = encryptField(dek, value, fieldAad(r.waybill, r.party, field));
    await tx.updateTable('waybill_parties').set(field === 'name' ? { name_ct: ct } : { address_ct: ct }).where('waybill', '=', r.waybill).where('party', '=', r.party).execute();
    const w = await tx.selectFrom('waybills').select(['masked', 'label']).where('waybill', '=', r.waybill).executeTakeFirstOrThrow();
    const masked = parseJson<MaskedWaybillJson>(w.masked);
    const label = parseJson<MaskedWaybillJson>(w.label);
    masked[r.party] = { ...masked[r.party], [field]: field === 'name' ? maskName(value, 'screen') : maskAddress(value, 'screen') };
    label[r.party] = { ...label[r.party], [field]: field === 'name' ? maskName(value, 'label') : maskAddress(value, 'label') };
    await tx.updateTable('waybills').set({ masked: JSON.stringify(masked), label: JSON.stringify(label) }).where('waybill', '=', r.waybill).execute();
  }
  return rows.length;
}

/** Decrypts one stored field blob with a given data key (tests and the erasure proof: a backup copy). */
export function openFieldBlob(dek: Buffer, blob: Buffer, waybill: string, party: PartyName, field: PartyField): string {
  return decryptField(dek, blob, fieldAad(waybill, party, field));
}

export function normaliseSearchPhone(input: string): string {
  const r = normalizePhone(input);
  if (!r.ok) {
    throw new AppError('validation_failed', `phone ${r.error.message}`, { fields: [{ field: 'phone', code: r.error.code, message: r.error.message }] });
  }
  return r.value.value;
}

function parseJson<T>(v: unknown): T {
  return (typeof v === 'string' ? JSON.parse(v) : v) as T;
}
