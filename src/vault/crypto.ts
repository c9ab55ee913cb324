/**
 * Cryptographic primitives of the vault, on node:crypto only.
 *
 * Invariants:
 * - Every ciphertext is bound by AAD to where it lives (field blobs to `waybill|party|field|subject`,
 *   wrapped keys to their key id): a blob copied to another row does not decrypt.
 * - Field blobs and wrapped keys are domain-separated: one can never be accepted as the other.
 * - Errors are `VaultCryptoError` with a stable code and a fixed message: no plaintext, key or AAD
 *   text ever appears in one.
 *
 * Blob format (fields and wrapped keys alike):
 *   [version 1 byte = 0x01][iv 12 bytes][tag 16 bytes][ciphertext]
 * AES-256-GCM; the version byte is authenticated too (it is part of the GCM AAD).
 */
import {
  KeyObject,
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  scrypt as scryptCb,
  sign as nodeSign,
  timingSafeEqual,
  verify as nodeVerify,
  type ScryptOptions,
} from 'node:crypto';

export type VaultCryptoErrorCode =
  | 'invalid_key'
  | 'malformed_blob'
  | 'unsupported_version'
  | 'decrypt_failed'
  | 'invalid_master_key'
  | 'invalid_blind_index_domain'
  | 'malformed_password_hash'
  | 'invalid_signing_key';

export class VaultCryptoError extends Error {
  override readonly name = 'VaultCryptoError';
  constructor(
    readonly code: VaultCryptoErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export const KEY_BYTES = 32;
export const BLOB_VERSION = 0x01;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + IV_BYTES + TAG_BYTES;
const FIELD_DOMAIN = 'warden/field/v1\0';
const WRAP_DOMAIN = 'warden/wrap/v1\0';

function assertKey(key: Buffer, what: string): void {
  if (!Buffer.isBuffer(key) || key.length !== KEY_BYTES) {
    throw new VaultCryptoError('invalid_key', `${what} must be ${KEY_BYTES} bytes`);
  }
}

function seal(key: Buffer, plaintext: Buffer, domain: string, aad: string): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.concat([Buffer.of(BLOB_VERSION), Buffer.from(domain + aad, 'utf8')]));
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.of(BLOB_VERSION), iv, cipher.getAuthTag(), ct]);
}

function open(key: Buffer, blob: Buffer, domain: string, aad: string): Buffer {
  if (!Buffer.isBuffer(blob) || blob.length < HEADER_BYTES) {
    throw new VaultCryptoError('malformed_blob', 'ciphertext is too short to be a vault blob');
  }
  if (blob[0] !== BLOB_VERSION) {
    throw new VaultCryptoError('unsupported_version', 'ciphertext has an unsupported format version');
  }
  const iv = blob.subarray(1, 1 + IV_BYTES);
  const tag = blob.subarray(1 + IV_BYTES, HEADER_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.concat([Buffer.of(BLOB_VERSION), Buffer.from(domain + aad, 'utf8')]));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(blob.subarray(HEADER_BYTES)), decipher.final()]);
  } catch {
    // One code for wrong key, wrong AAD and tampering: telling them apart would help an attacker.
    throw new VaultCryptoError('decrypt_failed', 'ciphertext does not authenticate under this key and context');
  }
}

/**
 * Encrypts one field value with a data key. `aad` names the value's place, e.g.
 * `SF1234567890123|recipient|phone|<subject id>`; the same string is needed to decrypt.
 */
export function encryptField(dek: Buffer, plaintext: string, aad: string): Buffer {
  assertKey(dek, 'data key');
  return seal(dek, Buffer.from(plaintext, 'utf8'), FIELD_DOMAIN, aad);
}

/** Decrypts a blob from {@link encryptField}; throws `decrypt_failed` for wrong key, AAD or tampering. */
export function decryptField(dek: Buffer, blob: Buffer, aad: string): string {
  assertKey(dek, 'data key');
  const pt = open(dek, blob, FIELD_DOMAIN, aad);
  const text = pt.toString('utf8');
  pt.fill(0);
  return text;
}

/**
 * Wraps key material (a 32-byte key, or any secret up to 4 KiB such as a PKCS#8 signing key)
 * under a 32-byte wrapping key. AES-256-GCM rather than AES-KW (RFC 3394/5649): the same audited
 * primitive as field encryption, and it takes AAD, which binds a wrapped key to its id and
 * purpose; AES-KW has no AAD. Random 96-bit IVs are safe far beyond the number of keys one
 * wrapping key will ever wrap (NIST's 2^32 limit).
 */
export function wrapKey(wrappingKey: Buffer, key: Buffer, aad: string): Buffer {
  assertKey(wrappingKey, 'wrapping key');
  if (!Buffer.isBuffer(key) || key.length === 0 || key.length > 4096) {
    throw new VaultCryptoError('invalid_key', 'key to wrap must be 1 to 4096 bytes');
  }
  return seal(wrappingKey, key, WRAP_DOMAIN, aad);
}

/** Unwraps a key from {@link wrapKey}; throws `decrypt_failed` for wrong key, AAD or tampering. */
export function unwrapKey(wrappingKey: Buffer, wrapped: Buffer, aad: string): Buffer {
  assertKey(wrappingKey, 'wrapping key');
  return open(wrappingKey, wrapped, WRAP_DOMAIN, aad);
}

/** 32 random bytes: a master key, key-encryption key, data key or blind-index key. */
export function generateKey(): Buffer {
  return randomBytes(KEY_BYTES);
}

/**
 * Parses a 32-byte master key given as 64 hex digits or base64 (standard or URL-safe, padding
 * optional); surrounding whitespace and an optional `hex:` / `base64:` prefix are allowed.
 * The error never includes the input.
 */
export function parseMasterKey(input: string): Buffer {
  const fail = (): never => {
    throw new VaultCryptoError('invalid_master_key', `master key must be ${KEY_BYTES} bytes given as 64 hex digits or base64 (e.g. \`openssl rand -base64 32\`)`);
  };
  if (typeof input !== 'string') return fail();
  let s = input.trim();
  let form: 'hex' | 'base64' | 'any' = 'any';
  const prefix = /^(hex|base64):/i.exec(s);
  if (prefix) {
    form = prefix[1]!.toLowerCase() as 'hex' | 'base64';
    s = s.slice(prefix[0].length).trim();
  }
  if (form !== 'base64' && /^[0-9a-fA-F]{64}$/.test(s)) return Buffer.from(s, 'hex');
  if (form === 'hex') return fail();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(s)) return fail();
  const buf = Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  // Node's base64 decoder ignores junk; re-encoding proves the text was exactly this key.
  if (buf.length !== KEY_BYTES || buf.toString('base64').replace(/=+$/, '') !== s.replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '')) {
    return fail();
  }
  return buf;
}

/** Domains in use; a domain separates indexes so equal values in different fields do not match. */
export const BLIND_INDEX_DOMAINS = ['phone', 'id_number', 'waybill'] as const;
export type BlindIndexDomain = (typeof BLIND_INDEX_DOMAINS)[number];
export const BLIND_INDEX_BYTES = 16;

/**
 * Deterministic keyed index for exact lookup: HMAC-SHA256(key, "warden/bidx/v1\0" domain "\0"
 * value), truncated to 16 bytes. 128 bits keep accidental collisions negligible (birthday bound
 * 2^64 values) at half the storage; a lookup must still compare the decrypted value, so a
 * collision costs a decrypt, never a wrong answer. The value must already be normalised
 * (validate.ts). Phones and ID numbers have small value spaces: whoever holds the key can
 * enumerate them, so the key is protected like a key-encryption key.
 */
export function blindIndex(key: Buffer, domain: BlindIndexDomain, normalisedValue: string): Buffer {
  assertKey(key, 'blind-index key');
  if (!(BLIND_INDEX_DOMAINS as readonly string[]).includes(domain)) {
    throw new VaultCryptoError('invalid_blind_index_domain', 'unknown blind-index domain');
  }
  return createHmac('sha256', key)
    .update(`warden/bidx/v1\0${domain}\0`, 'utf8')
    .update(normalisedValue, 'utf8')
    .digest()
    .subarray(0, BLIND_INDEX_BYTES);
}

/**
 * Constant-time equality for secrets of any length: both sides are hashed first, so
 * timingSafeEqual always sees equal lengths and the time does not reveal the length either.
 */
export function constantTimeEqual(a: string | Buffer, b: string | Buffer): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db);
}

// ---------------------------------------------------------------------------------------------
// Passwords: scrypt, PHC-like `scrypt$N$r$p$salt$hash` (salt and hash base64 without padding).

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/**
 * N=2^15, r=8, p=1: 32 MiB and ~125 ms per hash on this 2-core machine (2^16: ~245 ms, 2^17:
 * ~490 ms). A login costs one hash; raise N when hardware allows, and `needsRehash` upgrades
 * stored hashes at the next successful login.
 */
export const DEFAULT_SCRYPT_PARAMS: Readonly<ScryptParams> = Object.freeze({ N: 2 ** 15, r: 8, p: 1 });
const SALT_BYTES = 16;
const HASH_BYTES = 32;
const MAX_PASSWORD_BYTES = 1024;

function scryptAsync(password: Buffer, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCb(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

function scryptOptions(params: ScryptParams): ScryptOptions {
  return { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r * params.p + 16 * 1024 * 1024 };
}

function passwordBytes(password: string): Buffer {
  // NFKC so the same password typed on different keyboards (full-width, composed) matches.
  const buf = Buffer.from(password.normalize('NFKC'), 'utf8');
  // Longer inputs are pre-hashed so a megabyte "password" costs no more than a short one.
  return buf.length > MAX_PASSWORD_BYTES ? createHash('sha512').update(buf).digest() : buf;
}

function b64(buf: Buffer): string {
  return buf.toString('base64').replace(/=+$/, '');
}

function validParams(p: ScryptParams): boolean {
  // Bounds stop a tampered stored hash from turning a login into a memory/CPU bomb.
  return (
    Number.isInteger(p.N) && p.N >= 2 ** 10 && p.N <= 2 ** 20 && (p.N & (p.N - 1)) === 0 &&
    Number.isInteger(p.r) && p.r >= 1 && p.r <= 32 &&
    Number.isInteger(p.p) && p.p >= 1 && p.p <= 16
  );
}

interface ParsedHash {
  params: ScryptParams;
  salt: Buffer;
  hash: Buffer;
}

function parsePasswordHash(stored: string): ParsedHash | null {
  const parts = typeof stored === 'string' ? stored.split('$') : [];
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null;
  const [, n, r, p, salt, hash] = parts as [string, string, string, string, string, string];
  if (![n, r, p].every((x) => /^[1-9]\d{0,7}$/.test(x))) return null;
  if (![salt, hash].every((x) => /^[A-Za-z0-9+/]+$/.test(x))) return null;
  const params = { N: Number(n), r: Number(r), p: Number(p) };
  if (!validParams(params)) return null;
  const saltBuf = Buffer.from(salt, 'base64');
  const hashBuf = Buffer.from(hash, 'base64');
  if (saltBuf.length < 16 || hashBuf.length < 16 || hashBuf.length > 64) return null;
  return { params, salt: saltBuf, hash: hashBuf };
}

/** Hashes a password with scrypt; returns `scrypt$N$r$p$salt$hash`. */
export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT_PARAMS): Promise<string> {
  if (!validParams(params)) throw new VaultCryptoError('malformed_password_hash', 'scrypt parameters out of range');
  const salt = randomBytes(SALT_BYTES);
  const hash = await scryptAsync(passwordBytes(password), salt, HASH_BYTES, scryptOptions(params));
  return `scrypt$${params.N}$${params.r}$${params.p}$${b64(salt)}$${b64(hash)}`;
}

let dummyHash: Promise<string> | undefined;

/**
 * Checks a password against a stored hash, comparing in constant time. Pass `null` for an
 * unknown account: the same work is done against a dummy hash and the answer is false, so the
 * response time does not tell whether the account exists. Throws `malformed_password_hash`
 * when the stored string is not one of ours (a data problem, not a wrong password).
 */
export async function verifyPassword(password: string, stored: string | null): Promise<boolean> {
  if (stored === null) {
    dummyHash ??= hashPassword('warden-dummy-password');
    await verifyPassword(password, await dummyHash);
    return false;
  }
  const parsed = parsePasswordHash(stored);
  if (!parsed) throw new VaultCryptoError('malformed_password_hash', 'stored password hash is not in scrypt$N$r$p$salt$hash form');
  const candidate = await scryptAsync(passwordBytes(password), parsed.salt, parsed.hash.length, scryptOptions(parsed.params));
  return timingSafeEqual(candidate, parsed.hash);
}

/** True when a stored hash uses other parameters than `params` (or is not ours): rehash at next login. */
export function needsRehash(stored: string, params: ScryptParams = DEFAULT_SCRYPT_PARAMS): boolean {
  const parsed = parsePasswordHash(stored);
  if (!parsed) return true;
  return (
    parsed.params.N !== params.N || parsed.params.r !== params.r || parsed.params.p !== params.p ||
    parsed.salt.length !== SALT_BYTES || parsed.hash.length !== HASH_BYTES
  );
}

// ---------------------------------------------------------------------------------------------
// Ed25519 for signed audit checkpoints.

export interface SigningKeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** PKCS#8 DER: what to wrap with {@link wrapKey} and store. */
  privateKeyDer: Buffer;
  /** SPKI DER: safe to publish. */
  publicKeyDer: Buffer;
}

export function generateSigningKeyPair(): SigningKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKey,
    publicKey,
    privateKeyDer: privateKey.export({ type: 'pkcs8', format: 'der' }),
    publicKeyDer: publicKey.export({ type: 'spki', format: 'der' }),
  };
}

/** A private key from a KeyObject, PKCS#8 DER or PEM; throws `invalid_signing_key` unless Ed25519. */
export function toPrivateKey(key: KeyObject | Buffer | string): KeyObject {
  let k: KeyObject;
  try {
    k = key instanceof KeyObject ? key : Buffer.isBuffer(key) ? createPrivateKey({ key, format: 'der', type: 'pkcs8' }) : createPrivateKey(key);
  } catch {
    throw new VaultCryptoError('invalid_signing_key', 'not a readable private key');
  }
  if (k.type !== 'private' || k.asymmetricKeyType !== 'ed25519') throw new VaultCryptoError('invalid_signing_key', 'signing key must be an Ed25519 private key');
  return k;
}

/** A public key from a KeyObject, SPKI DER or PEM (a private key gives its public half). */
export function toPublicKey(key: KeyObject | Buffer | string): KeyObject {
  let k: KeyObject;
  try {
    k = key instanceof KeyObject ? key : Buffer.isBuffer(key) ? createPublicKey({ key, format: 'der', type: 'spki' }) : createPublicKey(key);
  } catch {
    throw new VaultCryptoError('invalid_signing_key', 'not a readable public key');
  }
  if (k.type === 'private') k = createPublicKey(k);
  if (k.type !== 'public' || k.asymmetricKeyType !== 'ed25519') throw new VaultCryptoError('invalid_signing_key', 'verification key must be an Ed25519 public key');
  return k;
}

/** Ed25519 signature (64 bytes) over `data`. */
export function sign(privateKey: KeyObject | Buffer | string, data: Buffer | string): Buffer {
  return nodeSign(null, typeof data === 'string' ? Buffer.from(data, 'utf8') : data, toPrivateKey(privateKey));
}

/** True only for a valid Ed25519 signature; a malformed signature is simply false. */
export function verify(publicKey: KeyObject | Buffer | string, data: Buffer | string, signature: Buffer): boolean {
  const key = toPublicKey(publicKey);
  if (!Buffer.isBuffer(signature) || signature.length !== 64) return false;
  return nodeVerify(null, typeof data === 'string' ? Buffer.from(data, 'utf8') : data, key, signature);
}

/** Short stable id of a public key (hex SHA-256 of its SPKI DER, first 16 chars), for checkpoints. */
export function publicKeyFingerprint(publicKey: KeyObject | Buffer | string): string {
  const der = toPublicKey(publicKey).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex').slice(0, 16);
}
