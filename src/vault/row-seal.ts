/**
 * A keyed MAC over some columns of a row, stored with the row: the one primitive behind the routing
 * seal (src/vault/routing-seal.ts, attack review 9) and the credential seal
 * (src/identity/credential-seal.ts, review 11). The MAC key is HKDF-SHA256 of each loaded master
 * key under the seal's own info string, never stored; a seal is
 * `0x01 ‖ master key id (8 bytes) ‖ HMAC-SHA256(key, info ‖ NUL ‖ JSON of the values)`, so seals
 * made under a previous master key verify while it is loaded, and `null` never equals `"null"`.
 */
import { createHmac, createSecretKey, hkdfSync, timingSafeEqual, type KeyObject } from 'node:crypto';

type Bytes = Uint8Array | Buffer;

const SEAL_VERSION = 0x01;
export const KEY_ID_BYTES = 8;
const MAC_BYTES = 32;
export const ROW_SEAL_BYTES = 1 + KEY_ID_BYTES + MAC_BYTES;

export interface RowSealer {
  /** The seal of these values under the primary master key. */
  seal(values: readonly unknown[]): Buffer;
  /** True only when `seal` seals exactly these values under a loaded master key. */
  check(values: readonly unknown[], seal: Bytes | null | undefined): boolean;
  /** The master key id a seal was made under (hex), or null for no seal / not one of ours. */
  keyIdOf(seal: Bytes | null | undefined): string | null;
  readonly primaryKeyId: string;
}

export function createRowSealer(masterKeys: readonly { id: string; key: Buffer }[], info: string): RowSealer {
  const primary = masterKeys[0];
  if (!primary) throw new Error('no master key given');
  const domain = `${info}\0`;
  // KeyObjects: an HMAC with one is about a third cheaper than with a Buffer key (no import per call).
  const keys = new Map(masterKeys.map((m) => [m.id, createSecretKey(Buffer.from(hkdfSync('sha256', m.key, Buffer.alloc(0), info, 32)))]));
  const mac = (key: KeyObject, values: readonly unknown[]) => createHmac('sha256', key).update(domain + JSON.stringify(values), 'utf8').digest();
  const keyIdOf = (seal: Bytes | null | undefined): string | null => {
    if (!seal || seal.length !== ROW_SEAL_BYTES || seal[0] !== SEAL_VERSION) return null;
    return Buffer.from(seal.subarray(1, 1 + KEY_ID_BYTES)).toString('hex');
  };
  return {
    primaryKeyId: primary.id,
    keyIdOf,
    seal: (values) => Buffer.concat([Buffer.of(SEAL_VERSION), Buffer.from(primary.id, 'hex'), mac(keys.get(primary.id)!, values)]),
    check(values, seal) {
      const id = keyIdOf(seal);
      const key = id === null ? undefined : keys.get(id);
      if (!key) return false;
      return timingSafeEqual(mac(key, values), Buffer.from(seal!.subarray(1 + KEY_ID_BYTES)));
    },
  };
}
