/**
 * Devices the server enrolled: the binding of a session to the thing it runs on.
 *
 * Invariants:
 * - A device id is generated here; the name a client sends is only a label, so choosing
 *   another account's device name gives a different device (no shared quota, no lock-out).
 * - The credential is 256 random bits, returned once at enrolment and stored only as SHA-256.
 *   Whoever presents it is that device, for any account (a shared outlet terminal is one device).
 * - An account enrols at most `perDay` new devices in any 24 h. The count is taken inside the
 *   login transaction, which the audit writer serialises, so concurrent logins cannot exceed it.
 * - Revoking a device ends every live session bound to it, of every account, in the same
 *   transaction; its credential is refused from then on.
 */
import { createHash, randomBytes } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../store/schema.js';

export const DEVICE_CREDENTIAL_PREFIX = 'wdn_d_';
const DAY_MS = 86_400_000;

const credentialHash = (credential: string) => createHash('sha256').update(credential).digest();

export interface IssuedDevice {
  id: string;
  credential: string;
}

/** A fresh id and credential; nothing is stored until enrolDevice runs in the login's transaction. */
export function issueDevice(): IssuedDevice {
  return { id: `dev_${randomBytes(12).toString('base64url')}`, credential: DEVICE_CREDENTIAL_PREFIX + randomBytes(32).toString('base64url') };
}

export interface KnownDevice {
  id: string;
  revoked: boolean;
}

/** The device a credential belongs to, or null for a credential Warden never issued. */
export async function findDevice(db: Kysely<Database>, credential: string): Promise<KnownDevice | null> {
  if (!credential.startsWith(DEVICE_CREDENTIAL_PREFIX)) return null;
  const row = await db.selectFrom('devices').select(['id', 'revoked_at']).where('credential_hash', '=', credentialHash(credential)).executeTakeFirst();
  return row ? { id: row.id, revoked: row.revoked_at !== null } : null;
}

/** Refused: the account already enrolled its share of new devices in the last 24 h. */
export class DeviceLimitReached extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super('device enrolment limit reached');
  }
}

export async function enrolDevice(tx: Transaction<Database>, d: IssuedDevice, input: { account: string; label: string; now: number; perDay: number }): Promise<void> {
  const since = new Date(input.now - DAY_MS);
  const recent = await tx
    .selectFrom('devices')
    .select([sql<number>`count(*)`.as('n'), sql<Date | null>`min(enrolled_at)`.as('oldest')])
    .where('enrolled_by', '=', input.account)
    .where('enrolled_at', '>', since)
    .executeTakeFirstOrThrow();
  if (Number(recent.n) >= input.perDay) {
    const oldest = recent.oldest ? new Date(recent.oldest).getTime() : input.now;
    throw new DeviceLimitReached(Math.max(1, Math.ceil((oldest + DAY_MS - input.now) / 1000)));
  }
  const at = new Date(input.now);
  await tx.insertInto('devices').values({ id: d.id, credential_hash: credentialHash(d.credential), label: input.label, enrolled_by: input.account, enrolled_at: at, revoked_at: null, revoked_by: null }).execute();
  await tx.insertInto('account_devices').values({ account: input.account, device: d.id, first_seen: at, last_seen: at }).execute();
}

/** Records that the account used the device; false when the device was revoked meanwhile. */
export async function useDevice(tx: Transaction<Database>, account: string, device: string, now: number): Promise<boolean> {
  const row = await tx.selectFrom('devices').select('revoked_at').where('id', '=', device).executeTakeFirst();
  if (!row || row.revoked_at) return false;
  const at = new Date(now);
  await tx
    .insertInto('account_devices')
    .values({ account, device, first_seen: at, last_seen: at })
    .onConflict((oc) => oc.columns(['account', 'device']).doUpdateSet({ last_seen: at }))
    .execute();
  return true;
}

/** Revokes the device and ends its live sessions; returns the accounts whose sessions ended, or null if it was already revoked. */
export async function revokeDeviceTx(tx: Transaction<Database>, device: string, actor: string, now: number): Promise<string[] | null> {
  const at = new Date(now);
  const revoked = await tx.updateTable('devices').set({ revoked_at: at, revoked_by: actor }).where('id', '=', device).where('revoked_at', 'is', null).returning('id').executeTakeFirst();
  if (!revoked) return null;
  const ended = await tx
    .updateTable('sessions')
    .set({ revoked_at: at, revoked_reason: 'device_revoked' })
    .where('device', '=', device)
    .where('revoked_at', 'is', null)
    .returning('account')
    .execute();
  return [...new Set(ended.map((s) => s.account))];
}

/** Most devices one account is taken to have used (3 new a day at most: years of them). */
const MAX_DEVICES_OF_ACCOUNT = 5000;

/** Every device the account has used (enrolled by it or presented by it), revoked ones included. */
export async function deviceIdsOf(db: Kysely<Database>, account: string): Promise<string[]> {
  const rows = await db.selectFrom('account_devices').select('device').where('account', '=', account).orderBy('last_seen', 'desc').limit(MAX_DEVICES_OF_ACCOUNT).execute();
  return rows.map((r) => r.device);
}

/** The client's label for each enrolled device id given (ids Warden never enrolled are left out). */
export async function deviceLabels(db: Kysely<Database>, ids: string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = await db.selectFrom('devices').select(['id', 'label']).where('id', 'in', ids).execute();
  return new Map(rows.map((r) => [r.id, r.label]));
}

export interface DeviceView {
  id: string;
  label: string;
  enrolled_by: string;
  enrolled_at: string;
  first_seen: string;
  last_seen: string;
  revoked_at: string | null;
}

/** The devices an account has used, most recent first (at most 100). */
export async function devicesOf(db: Kysely<Database>, account: string): Promise<DeviceView[]> {
  const rows = await db
    .selectFrom('account_devices as ad')
    .innerJoin('devices as d', 'd.id', 'ad.device')
    .select(['d.id', 'd.label', 'd.enrolled_by', 'd.enrolled_at', 'd.revoked_at', 'ad.first_seen', 'ad.last_seen'])
    .where('ad.account', '=', account)
    .orderBy('ad.last_seen', 'desc')
    .orderBy('d.id')
    .limit(100)
    .execute();
  const iso = (t: Date | string) => new Date(t).toISOString();
  return rows.map((r) => ({
    id: r.id,
    label: r.label,
    enrolled_by: r.enrolled_by,
    enrolled_at: iso(r.enrolled_at),
    first_seen: iso(r.first_seen),
    last_seen: iso(r.last_seen),
    revoked_at: r.revoked_at ? iso(r.revoked_at) : null,
  }));
}
