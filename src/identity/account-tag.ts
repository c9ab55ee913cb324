/**
 * What a failed login records instead of the text typed as the account: a keyed tag.
 *
 * Invariant: the typed value (which may be a password typed into the wrong field) is never
 * stored, logged or used as a map key; repeated attempts on the same name still correlate
 * because the tag is deterministic under the install's key (derived from the keyring), and it
 * cannot be reversed by a dictionary without that key.
 */
import { createHmac } from 'node:crypto';

/** `unknown:` + the first 16 hex digits of HMAC-SHA256(key, typed). */
export function accountTag(key: Buffer, typed: string): string {
  return `unknown:${createHmac('sha256', key).update(typed, 'utf8').digest('hex').slice(0, 16)}`;
}
