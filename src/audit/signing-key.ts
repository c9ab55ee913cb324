/**
 * The audit signing key lives outside the store: WARDEN_AUDIT_SIGNING_KEY, a key file
 * (WARDEN_AUDIT_SIGNING_KEY_FILE), or — on a developer's first start only — a generated key file
 * beside the data, announced loudly with its public key. Verifiers trust only PINNED public keys
 * (WARDEN_AUDIT_PUBLIC_KEYS, --public-key); nothing here reads the database.
 *
 * Formats: a private key is the 32-byte Ed25519 seed as base64 or hex, or a PKCS#8 PEM; a public
 * key is the raw 32 bytes as base64 or hex, or an SPKI PEM. A key id is
 * "ed25519:" + the first 16 hex digits of SHA-256(raw public key).
 */
import { createHash, createPrivateKey, createPublicKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Logger } from '../ops/logger.js';
import type { HeadSigner, PinnedKeys } from './sth.js';

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export interface AuditSigner extends HeadSigner {
  readonly publicKey: KeyObject;
  /** The raw public key, base64: what an operator pins. */
  readonly publicKeyText: string;
  /** Where the key came from (no secret): env, file or dev-file. */
  readonly source: 'env' | 'file' | 'dev-file';
  readonly file?: string;
}

export interface SigningKeyConfig {
  auditSigningKey?: string | undefined;
  auditSigningKeyFile?: string | undefined;
  dataDir: string;
}

export const DEV_SIGNING_KEY_FILE = 'dev-audit-signing.key';

/** A new private key in the text form WARDEN_AUDIT_SIGNING_KEY takes. */
export function generateSigningKeyText(): string {
  return randomBytes(32).toString('base64');
}

function decodeBytes(text: string, length: number): Buffer | null {
  const t = text.trim();
  if (new RegExp(`^[0-9a-fA-F]{${length * 2}}$`).test(t)) return Buffer.from(t, 'hex');
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(t)) {
    const b = Buffer.from(t, 'base64');
    if (b.length === length) return b;
  }
  return null;
}

export function parsePrivateKey(text: string, source: string): KeyObject {
  const t = text.trim();
  let key: KeyObject;
  try {
    if (t.startsWith('-----BEGIN')) key = createPrivateKey(t);
    else {
      const seed = decodeBytes(t, 32);
      if (!seed) throw new Error('expected a 32-byte Ed25519 seed as base64 or hex, or a PKCS#8 PEM');
      key = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
    }
  } catch (err) {
    throw new Error(`${source}: not an Ed25519 private key (${(err as Error).message})`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`${source}: the key is ${key.asymmetricKeyType}, not Ed25519`);
  return key;
}

export function parsePublicKey(text: string, source: string): KeyObject {
  const t = text.trim();
  let key: KeyObject;
  try {
    if (t.startsWith('-----BEGIN')) key = createPublicKey(t);
    else {
      const raw = decodeBytes(t, 32);
      if (!raw) throw new Error('expected 32 bytes as base64 or hex, or an SPKI PEM');
      key = createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: 'der', type: 'spki' });
    }
  } catch (err) {
    throw new Error(`${source}: not an Ed25519 public key (${(err as Error).message})`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`${source}: the key is ${key.asymmetricKeyType}, not Ed25519`);
  return key;
}

export function rawPublicKey(key: KeyObject): Buffer {
  return (key.export({ format: 'der', type: 'spki' }) as Buffer).subarray(SPKI_ED25519_PREFIX.length);
}

export function keyIdOf(publicKey: KeyObject): string {
  return 'ed25519:' + createHash('sha256').update(rawPublicKey(publicKey)).digest('hex').slice(0, 16);
}

/** Pinned keys from a comma-separated list (WARDEN_AUDIT_PUBLIC_KEYS or --public-key). */
export function parsePinnedKeys(list: string | readonly string[] | undefined, source: string): Map<string, KeyObject> {
  const items = (typeof list === 'string' ? [list] : (list ?? [])).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
  const keys = new Map<string, KeyObject>();
  items.forEach((item, i) => {
    const key = parsePublicKey(item, `${source} item ${i + 1}`);
    keys.set(keyIdOf(key), key);
  });
  return keys;
}

export function signerFromPrivateKey(privateKey: KeyObject, source: AuditSigner['source'], file?: string): AuditSigner {
  const publicKey = createPublicKey(privateKey);
  return {
    keyId: keyIdOf(publicKey),
    publicKey,
    publicKeyText: rawPublicKey(publicKey).toString('base64'),
    source,
    ...(file ? { file } : {}),
    sign: (message) => sign(null, message, privateKey),
  };
}

/** The signing key this process uses; a dev key file is created (loudly) when none is configured. */
export function resolveAuditSigner(config: SigningKeyConfig, logger: Logger): AuditSigner {
  if (config.auditSigningKey) return signerFromPrivateKey(parsePrivateKey(config.auditSigningKey, 'WARDEN_AUDIT_SIGNING_KEY'), 'env');
  if (config.auditSigningKeyFile) {
    const file = resolve(config.auditSigningKeyFile);
    return signerFromPrivateKey(parsePrivateKey(readFileSync(file, 'utf8'), `audit signing key file ${file}`), 'file', file);
  }
  const dir = resolve(config.dataDir);
  const file = join(dir, DEV_SIGNING_KEY_FILE);
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(file, generateSigningKeyText() + '\n', { mode: 0o600, flag: 'wx' });
  }
  const signer = signerFromPrivateKey(parsePrivateKey(readFileSync(file, 'utf8'), `audit signing key file ${file}`), 'dev-file', file);
  logger.warn(
    { keyFile: file, keyId: signer.keyId, publicKey: signer.publicKeyText },
    '!!! USING A GENERATED DEVELOPMENT AUDIT SIGNING KEY stored beside the data: whoever can write the data directory can re-sign the audit trail. Set WARDEN_AUDIT_SIGNING_KEY or WARDEN_AUDIT_SIGNING_KEY_FILE, and pin the public key (WARDEN_AUDIT_PUBLIC_KEYS) wherever the trail is verified. !!!',
  );
  return signer;
}

/** The local signing key's public key, without creating a dev key (for a verifier with nothing pinned). */
export function localPublicKey(config: SigningKeyConfig): { keyId: string; key: KeyObject; source: string } | null {
  if (config.auditSigningKey) {
    const s = signerFromPrivateKey(parsePrivateKey(config.auditSigningKey, 'WARDEN_AUDIT_SIGNING_KEY'), 'env');
    return { keyId: s.keyId, key: s.publicKey, source: 'WARDEN_AUDIT_SIGNING_KEY' };
  }
  const file = config.auditSigningKeyFile ? resolve(config.auditSigningKeyFile) : join(resolve(config.dataDir), DEV_SIGNING_KEY_FILE);
  if (!existsSync(file)) return null;
  const s = signerFromPrivateKey(parsePrivateKey(readFileSync(file, 'utf8'), `audit signing key file ${file}`), 'file', file);
  return { keyId: s.keyId, key: s.publicKey, source: file };
}

export type Trust = { keys: PinnedKeys; pinned: true } | { keys: PinnedKeys; pinned: false; source: string };

/**
 * What a verifier trusts: the pinned keys when there are any; otherwise only the local key
 * file's public key, said out loud by the caller (`trustNote`).
 */
export function resolveTrust(pinned: Map<string, KeyObject>, config: SigningKeyConfig): Trust {
  if (pinned.size) return { keys: pinned, pinned: true };
  const local = localPublicKey(config);
  if (!local) return { keys: new Map(), pinned: false, source: 'none' };
  return { keys: new Map([[local.keyId, local.key]]), pinned: false, source: local.source };
}

export function trustNote(trust: Trust): string | null {
  if (trust.pinned) return null;
  return trust.source === 'none'
    ? 'no public key is pinned (WARDEN_AUDIT_PUBLIC_KEYS or --public-key) and no local signing key was found: no signed head can be trusted'
    : `no public key is pinned (WARDEN_AUDIT_PUBLIC_KEYS or --public-key): trusting only the local signing key (${trust.source}), which whoever controls this machine can replace`;
}
