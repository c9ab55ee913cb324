/**
 * The credential seal (attack review 11): a keyed MAC over the columns of a credential row that
 * decide who is authenticated, stored with the row (`credential_seal`) and checked where the row
 * is read to authenticate — login, and principal resolution in the statement that already reads
 * the session or token (docs/decisions/0020-credential-seal.md).
 *
 * - accounts: id, password_hash, mfa_secret. A password hash written by the database owner, or a
 *   second factor nulled, no longer matches: the login is refused (409 `record_integrity`).
 * - sessions: id, token_hash, account, device, mfa flag, expiry. A row inserted or rewritten
 *   outside Warden (a minted session, mfa set to true, another account) is refused.
 * - service_tokens: id, token_hash, account, registration (what it may send).
 *
 * Invariants (as the routing seal, src/vault/routing-seal.ts):
 * - The MAC key is HKDF-SHA256 of each loaded master key (info `warden/credential-seal/v1`),
 *   never stored. A seal is `0x01 ‖ master key id (8 bytes) ‖ HMAC-SHA256(key, domain ‖ JSON)`;
 *   the JSON names the row kind and its id, so a seal copied from another row fails.
 * - Every Warden writer of a sealed column writes the seal in the same statement.
 * - A missing seal is a broken seal. Accounts and service tokens written before migration 0024
 *   are sealed once at the first start after it, only while no `auth.credentials_sealed` entry
 *   exists; sessions of before are ended by the migration (their holders log in again).
 * - `warden keys rotate` re-seals under the primary master key; a seal that verifies under no
 *   loaded key is left as it is (the row stays refused) and counted.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../store/schema.js';
import { toBuffer } from '../store/db.js';
import type { AuditWriter } from '../audit/writer.js';
import { createRowSealer, KEY_ID_BYTES, ROW_SEAL_BYTES } from '../vault/row-seal.js';

type Bytes = Uint8Array | Buffer;

export interface AccountCredentials {
  id: string;
  password_hash: string | null;
  mfa_secret: Bytes | null;
}
export interface SessionCredentials {
  id: string;
  token_hash: Bytes;
  account: string;
  device: string;
  mfa: boolean;
  expires_at: Date | string;
}
export interface ServiceTokenCredentials {
  id: string;
  token_hash: Bytes;
  account: string;
  registration: unknown;
}
interface Sealed {
  account: AccountCredentials;
  session: SessionCredentials;
  service_token: ServiceTokenCredentials;
}
export type SealedRow = keyof Sealed;

export const CREDENTIAL_SEAL_BYTES = ROW_SEAL_BYTES;

const hex = (b: Bytes | null) => (b === null ? null : toBuffer(b).toString('hex'));

/** Keys sorted at every level: a registration read back from jsonb (keys reordered) seals the same. */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
  return v;
}
const registrationOf = (r: unknown) => JSON.stringify(canonical(typeof r === 'string' ? JSON.parse(r) : r));

/** Unambiguous: a JSON array naming the row kind first (null stays null, never "null"). */
function values<K extends SealedRow>(kind: K, r: Sealed[K]): unknown[] {
  switch (kind) {
    case 'account': {
      const a = r as AccountCredentials;
      return [kind, a.id, a.password_hash, hex(a.mfa_secret)];
    }
    case 'session': {
      const s = r as SessionCredentials;
      return [kind, s.id, hex(s.token_hash), s.account, s.device, s.mfa, new Date(s.expires_at).getTime()];
    }
    default: {
      const t = r as ServiceTokenCredentials;
      return [kind, t.id, hex(t.token_hash), t.account, registrationOf(t.registration)];
    }
  }
}

export interface CredentialSeal {
  /** The seal of this row under the primary master key. */
  seal<K extends SealedRow>(kind: K, r: Sealed[K]): Buffer;
  /** True only when `seal` seals exactly these columns of this row under a loaded master key. */
  check<K extends SealedRow>(kind: K, r: Sealed[K], seal: Bytes | null | undefined): boolean;
  /** The master key id a seal was made under (hex), or null for no seal / not one of ours. */
  keyIdOf(seal: Bytes | null | undefined): string | null;
  readonly primaryKeyId: string;
}

export function createCredentialSeal(masterKeys: readonly { id: string; key: Buffer }[]): CredentialSeal {
  const sealer = createRowSealer(masterKeys, 'warden/credential-seal/v1');
  return {
    primaryKeyId: sealer.primaryKeyId,
    keyIdOf: sealer.keyIdOf,
    seal: (kind, r) => sealer.seal(values(kind, r)),
    check: (kind, r, seal) => sealer.check(values(kind, r), seal),
  };
}

const PAGE = 500;
const SEALED_KIND = 'auth.credentials_sealed';

/**
 * The one-time sealing of accounts and service tokens written before the seal (migration 0024
 * counted them in `credential_seal_upgrade`). Runs at start, before requests are served; sealed
 * and audited (`auth.credentials_sealed`, with the counts) in one transaction, and never again
 * once such an entry exists (or when the store had no credentials when migrated).
 */
export async function sealLegacyCredentials(deps: { db: Kysely<Database>; seal: CredentialSeal; audit: Pick<AuditWriter, 'append'>; now: Date }): Promise<{ accounts: number; serviceTokens: number } | null> {
  const { db, seal } = deps;
  const marker = await db.selectFrom('credential_seal_upgrade').select(['legacy', 'sessions_ended']).where('id', '=', 1).executeTakeFirst();
  if (!marker || Number(marker.legacy) === 0) return null;
  const done = await db.selectFrom('audit_log').select('seq').where('kind', '=', SEALED_KIND).limit(1).executeTakeFirst();
  if (done) {
    await db.updateTable('credential_seal_upgrade').set({ legacy: 0 }).where('id', '=', 1).execute();
    return null;
  }
  let accounts = 0;
  let serviceTokens = 0;
  await deps.audit.append([], async (tx, more) => {
    await sql`select pg_advisory_xact_lock(7243024)`.execute(tx);
    const again = await tx.selectFrom('audit_log').select('seq').where('kind', '=', SEALED_KIND).limit(1).executeTakeFirst();
    if (again) return;
    for (;;) {
      const rows = await tx.selectFrom('accounts').select(['id', 'password_hash', 'mfa_secret']).where('credential_seal', 'is', null).orderBy('id').limit(PAGE).execute();
      for (const r of rows) await tx.updateTable('accounts').set({ credential_seal: seal.seal('account', r) }).where('id', '=', r.id).where('credential_seal', 'is', null).execute();
      accounts += rows.length;
      if (rows.length < PAGE) break;
    }
    for (;;) {
      const rows = await tx.selectFrom('service_tokens').select(['id', 'token_hash', 'account', 'registration']).where('credential_seal', 'is', null).orderBy('id').limit(PAGE).execute();
      for (const r of rows) await tx.updateTable('service_tokens').set({ credential_seal: seal.seal('service_token', r) }).where('id', '=', r.id).where('credential_seal', 'is', null).execute();
      serviceTokens += rows.length;
      if (rows.length < PAGE) break;
    }
    await tx.updateTable('credential_seal_upgrade').set({ legacy: 0 }).where('id', '=', 1).execute();
    more([{ kind: SEALED_KIND, ts: deps.now, decision: 'ok', account: 'warden:start', detail: { accounts, service_tokens: serviceTokens, migrated_rows: Number(marker.legacy), sessions_ended: Number(marker.sessions_ended), seal_key: seal.primaryKeyId } }]);
  });
  return { accounts, serviceTokens };
}

type Db = Kysely<Database> | Transaction<Database>;

/**
 * After a master-key change (inside `warden keys rotate`): credential seals made under an older
 * master key that still verify are made again under the primary; a seal that does not verify is
 * left as it is (the row stays refused) and counted.
 */
export async function resealCredentials(db: Db, seal: CredentialSeal): Promise<{ resealed: number; broken: number }> {
  const primaryId = Buffer.from(seal.primaryKeyId, 'hex');
  let resealed = 0;
  let broken = 0;
  const notPrimary = sql<boolean>`substring(credential_seal from 2 for ${KEY_ID_BYTES}) <> ${primaryId}`;
  const tally = async (pass: () => Promise<{ resealed: number; broken: number }>) => {
    const r = await pass();
    resealed += r.resealed;
    broken += r.broken;
  };
  const walk = async <K extends SealedRow>(kind: K, page: (after: string) => Promise<(Sealed[K] & { credential_seal: Bytes | null })[]>, write: (r: Sealed[K], current: Buffer, next: Buffer) => Promise<unknown>) => {
    let n = 0;
    let bad = 0;
    let after = '';
    for (;;) {
      const rows = await page(after);
      for (const r of rows) {
        const current = toBuffer(r.credential_seal!);
        if (!seal.check(kind, r, current)) {
          bad++;
          continue;
        }
        await write(r, current, seal.seal(kind, r));
        n++;
      }
      if (rows.length < PAGE) break;
      after = rows[rows.length - 1]!.id;
    }
    return { resealed: n, broken: bad };
  };
  await tally(() =>
    walk(
      'account',
      (after) => db.selectFrom('accounts').select(['id', 'password_hash', 'mfa_secret', 'credential_seal']).where('credential_seal', 'is not', null).where(notPrimary).where('id', '>', after).orderBy('id').limit(PAGE).execute(),
      (r, current, next) => db.updateTable('accounts').set({ credential_seal: next }).where('id', '=', r.id).where('credential_seal', '=', current).execute(),
    ),
  );
  await tally(() =>
    walk(
      'session',
      (after) => db.selectFrom('sessions').select(['id', 'token_hash', 'account', 'device', 'mfa', 'expires_at', 'credential_seal']).where('credential_seal', 'is not', null).where('revoked_at', 'is', null).where(notPrimary).where('id', '>', after).orderBy('id').limit(PAGE).execute(),
      (r, current, next) => db.updateTable('sessions').set({ credential_seal: next }).where('id', '=', r.id).where('credential_seal', '=', current).execute(),
    ),
  );
  await tally(() =>
    walk(
      'service_token',
      (after) => db.selectFrom('service_tokens').select(['id', 'token_hash', 'account', 'registration', 'credential_seal']).where('credential_seal', 'is not', null).where(notPrimary).where('id', '>', after).orderBy('id').limit(PAGE).execute(),
      (r, current, next) => db.updateTable('service_tokens').set({ credential_seal: next }).where('id', '=', r.id).where('credential_seal', '=', current).execute(),
    ),
  );
  return { resealed, broken };
}
