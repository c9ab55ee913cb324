/**
 * The TOTP second factor: secrets sealed at rest, and each code accepted once.
 *
 * Invariants:
 * - A secret is stored only AES-GCM-sealed under the keyring's MFA key, bound to its account.
 * - A code is accepted only if its time step is newer than the last accepted step of the
 *   account, moved by one conditional UPDATE in the login's transaction: of two logins (in one
 *   process or several) presenting the same code, exactly one moves the step; the other is a
 *   replay and is refused.
 */
import { Secret, TOTP } from 'otpauth';
import { sql, type Transaction } from 'kysely';
import type { Database } from '../store/schema.js';
import { decryptField, encryptField } from '../vault/crypto.js';

const PERIOD_SECONDS = 30;
/** Codes one step either side of now are accepted (clock drift), never one already used. */
const WINDOW = 1;

export interface TotpFactor {
  /** A fresh secret, sealed for storage, with its base32 form and otpauth:// URL (shown once). */
  create(account: string): { sealed: Buffer; base32: string; url: string };
  /** The time step the code belongs to, or null when it matches none in the window. */
  stepOf(account: string, sealed: Uint8Array, code: string, now: number): number | null;
}

export function createTotpFactor(mfaKey: Buffer): TotpFactor {
  const aad = (account: string) => `warden/mfa/v1|${account}`;
  const totp = (account: string, secret: Secret) => new TOTP({ issuer: 'Warden', label: account, secret, digits: 6, period: PERIOD_SECONDS });
  return {
    create(account) {
      const secret = new Secret({ size: 20 });
      return { sealed: encryptField(mfaKey, secret.base32, aad(account)), base32: secret.base32, url: totp(account, secret).toString() };
    },
    stepOf(account, sealed, code, now) {
      const base32 = decryptField(mfaKey, Buffer.from(sealed), aad(account));
      const delta = totp(account, Secret.fromBase32(base32)).validate({ token: code, timestamp: now, window: WINDOW });
      return delta === null ? null : Math.floor(now / 1000 / PERIOD_SECONDS) + delta;
    },
  };
}

/** Moves the account's last accepted step to `step` if it is newer; false means a replay. */
export async function consumeStep(tx: Transaction<Database>, account: string, step: number): Promise<boolean> {
  const moved = await tx
    .updateTable('accounts')
    .set({ mfa_last_step: step })
    .where('id', '=', account)
    .where((eb) => eb.or([eb('mfa_last_step', 'is', null), eb('mfa_last_step', '<', sql<number>`${step}`)]))
    .executeTakeFirst();
  return Number(moved.numUpdatedRows) === 1;
}
