import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  BLIND_INDEX_BYTES,
  DEFAULT_SCRYPT_PARAMS,
  VaultCryptoError,
  blindIndex,
  constantTimeEqual,
  decryptField,
  encryptField,
  generateKey,
  generateSigningKeyPair,
  hashPassword,
  needsRehash,
  parseMasterKey,
  publicKeyFingerprint,
  sign,
  unwrapKey,
  verify,
  verifyPassword,
  wrapKey,
  type BlindIndexDomain,
} from './crypto.js';

const PHONE = '13812345678';
const AAD = 'SF1234567890123|recipient|phone|subj-1';
/** Fast parameters for tests that are about the format, not the cost. */
const FAST = { N: 2 ** 10, r: 8, p: 1 };

function expectCode(fn: () => unknown, code: string): VaultCryptoError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(VaultCryptoError);
    expect((e as VaultCryptoError).code).toBe(code);
    return e as VaultCryptoError;
  }
  throw new Error(`expected a VaultCryptoError ${code}`);
}

describe('encryptField / decryptField', () => {
  const dek = generateKey();

  it('round-trips unicode text and the empty string', () => {
    for (const text of [PHONE, '北京市朝阳区建国路88号3号楼2单元501室', '', '🙂 O\'Brien']) {
      expect(decryptField(dek, encryptField(dek, text, AAD), AAD)).toBe(text);
    }
  });

  it('writes [version 0x01][iv 12][tag 16][ciphertext] with a fresh IV each time', () => {
    const a = encryptField(dek, PHONE, AAD);
    const b = encryptField(dek, PHONE, AAD);
    expect(a[0]).toBe(0x01);
    expect(a.length).toBe(1 + 12 + 16 + Buffer.byteLength(PHONE));
    expect(a.subarray(1, 13).equals(b.subarray(1, 13))).toBe(false);
    expect(a.equals(b)).toBe(false);
    expect(a.includes(Buffer.from(PHONE))).toBe(false);
  });

  it('refuses a blob moved to another row, field or subject (AAD mismatch)', () => {
    const blob = encryptField(dek, PHONE, AAD);
    for (const other of ['SF1234567890124|recipient|phone|subj-1', 'SF1234567890123|sender|phone|subj-1', 'SF1234567890123|recipient|name|subj-1', '']) {
      expectCode(() => decryptField(dek, blob, other), 'decrypt_failed');
    }
  });

  it('refuses a wrong key', () => {
    expectCode(() => decryptField(generateKey(), encryptField(dek, PHONE, AAD), AAD), 'decrypt_failed');
  });

  it('refuses any flipped bit in IV, tag or ciphertext', () => {
    const blob = encryptField(dek, PHONE, AAD);
    for (const i of [1, 12, 13, 28, 29, blob.length - 1]) {
      const t = Buffer.from(blob);
      t[i] = t[i]! ^ 0x01;
      expectCode(() => decryptField(dek, t, AAD), 'decrypt_failed');
    }
  });

  it('refuses truncated blobs, unknown versions and appended bytes', () => {
    const blob = encryptField(dek, PHONE, AAD);
    expectCode(() => decryptField(dek, blob.subarray(0, 28), AAD), 'malformed_blob');
    expectCode(() => decryptField(dek, Buffer.alloc(0), AAD), 'malformed_blob');
    const v2 = Buffer.from(blob);
    v2[0] = 0x02;
    expectCode(() => decryptField(dek, v2, AAD), 'unsupported_version');
    expectCode(() => decryptField(dek, Buffer.concat([blob, Buffer.of(0)]), AAD), 'decrypt_failed');
    expectCode(() => decryptField(dek, blob.subarray(0, blob.length - 1), AAD), 'decrypt_failed');
  });

  it('refuses keys that are not 32 bytes', () => {
    expectCode(() => encryptField(randomBytes(16), PHONE, AAD), 'invalid_key');
    expectCode(() => decryptField(randomBytes(31), encryptField(dek, PHONE, AAD), AAD), 'invalid_key');
  });

  it('puts no plaintext, AAD or key in its errors', () => {
    const blob = encryptField(dek, PHONE, AAD);
    const e = expectCode(() => decryptField(generateKey(), blob, AAD), 'decrypt_failed');
    const text = `${e.message} ${e.stack ?? ''} ${JSON.stringify(e)}`;
    expect(text).not.toContain(PHONE);
    expect(text).not.toContain('SF1234567890123');
    expect(text).not.toContain(dek.toString('hex'));
    expect(text).not.toContain(dek.toString('base64'));
  });
});

describe('wrapKey / unwrapKey', () => {
  const kek = generateKey();

  it('round-trips a data key and a longer secret (PKCS#8 signing key)', () => {
    const dek = generateKey();
    expect(unwrapKey(kek, wrapKey(kek, dek, 'dek|subj-1'), 'dek|subj-1').equals(dek)).toBe(true);
    const der = generateSigningKeyPair().privateKeyDer;
    expect(unwrapKey(kek, wrapKey(kek, der, 'keyring|audit'), 'keyring|audit').equals(der)).toBe(true);
  });

  it('refuses the wrong wrapping key, the wrong AAD and tampering', () => {
    const wrapped = wrapKey(kek, generateKey(), 'dek|subj-1');
    expectCode(() => unwrapKey(generateKey(), wrapped, 'dek|subj-1'), 'decrypt_failed');
    expectCode(() => unwrapKey(kek, wrapped, 'dek|subj-2'), 'decrypt_failed');
    const t = Buffer.from(wrapped);
    t[t.length - 1] = t[t.length - 1]! ^ 0x80;
    expectCode(() => unwrapKey(kek, t, 'dek|subj-1'), 'decrypt_failed');
  });

  it('keeps wrapped keys and field blobs apart even under the same key and AAD', () => {
    const key = generateKey();
    const wrapped = wrapKey(key, Buffer.from(PHONE), AAD);
    expectCode(() => decryptField(key, wrapped, AAD), 'decrypt_failed');
    const field = encryptField(key, PHONE, AAD);
    expectCode(() => unwrapKey(key, field, AAD), 'decrypt_failed');
  });

  it('refuses empty or oversized key material and short wrapping keys', () => {
    expectCode(() => wrapKey(kek, Buffer.alloc(0), 'x'), 'invalid_key');
    expectCode(() => wrapKey(kek, Buffer.alloc(4097), 'x'), 'invalid_key');
    expectCode(() => wrapKey(Buffer.alloc(16), generateKey(), 'x'), 'invalid_key');
  });
});

describe('blindIndex', () => {
  const key = generateKey();

  it('is deterministic and 16 bytes long', () => {
    const a = blindIndex(key, 'phone', PHONE);
    expect(a.length).toBe(BLIND_INDEX_BYTES);
    expect(blindIndex(key, 'phone', PHONE).equals(a)).toBe(true);
  });

  it('depends on the key, the domain and the value', () => {
    const a = blindIndex(key, 'phone', PHONE);
    expect(blindIndex(generateKey(), 'phone', PHONE).equals(a)).toBe(false);
    expect(blindIndex(key, 'waybill', PHONE).equals(a)).toBe(false);
    expect(blindIndex(key, 'phone', '13812345679').equals(a)).toBe(false);
  });

  it('matches an HMAC-SHA256 vector computed independently (Python hmac), so the format stays stable', () => {
    const fixed = Buffer.alloc(32, 7);
    expect(blindIndex(fixed, 'id_number', '11010519491231002X').toString('hex')).toMatchInlineSnapshot(`"b3dcfadca8cc990f1a1eb982d05beed6"`);
  });

  it('refuses unknown domains and short keys', () => {
    expectCode(() => blindIndex(key, 'email' as BlindIndexDomain, 'a@b'), 'invalid_blind_index_domain');
    expectCode(() => blindIndex(Buffer.alloc(8), 'phone', PHONE), 'invalid_key');
  });
});

describe('generateKey / parseMasterKey', () => {
  it('generates distinct 32-byte keys', () => {
    const a = generateKey();
    expect(a.length).toBe(32);
    expect(a.equals(generateKey())).toBe(false);
  });

  it('accepts hex, base64, URL-safe base64, with prefixes and whitespace', () => {
    const k = generateKey();
    for (const s of [
      k.toString('hex'),
      k.toString('hex').toUpperCase(),
      k.toString('base64'),
      k.toString('base64').replace(/=+$/, ''),
      k.toString('base64url'),
      `  ${k.toString('base64')}\n`,
      `hex:${k.toString('hex')}`,
      `base64:${k.toString('base64')}`,
    ]) {
      expect(parseMasterKey(s).equals(k)).toBe(true);
    }
  });

  it('refuses wrong lengths and junk, without echoing the input', () => {
    const k = generateKey();
    for (const s of [
      '',
      'secret',
      k.subarray(0, 16).toString('hex'),
      Buffer.concat([k, Buffer.of(1)]).toString('base64'),
      k.toString('hex').slice(0, 63) + 'g',
      `${k.toString('base64')}!!`,
      `hex:${k.toString('base64')}`,
      `${k.toString('base64').slice(0, 20)} ${k.toString('base64').slice(20)}`,
    ]) {
      const e = expectCode(() => parseMasterKey(s), 'invalid_master_key');
      if (s.length > 4) expect(e.message).not.toContain(s.trim().slice(0, 8));
    }
  });
});

describe('constantTimeEqual', () => {
  it('compares strings and buffers of any length', () => {
    expect(constantTimeEqual('token-abc', 'token-abc')).toBe(true);
    expect(constantTimeEqual('token-abc', 'token-abd')).toBe(false);
    expect(constantTimeEqual('short', 'a much longer string')).toBe(false);
    expect(constantTimeEqual('', '')).toBe(true);
    expect(constantTimeEqual(Buffer.from('x'), 'x')).toBe(true);
    expect(constantTimeEqual(Buffer.from([1, 2]), Buffer.from([1, 2, 0]))).toBe(false);
  });
});

describe('passwords', () => {
  it('hashes with the default parameters into scrypt$N$r$p$salt$hash', async () => {
    const h = await hashPassword('correct horse battery staple');
    expect(h).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(await verifyPassword('correct horse battery staple', h)).toBe(true);
    expect(await verifyPassword('correct horse battery stapler', h)).toBe(false);
    expect(needsRehash(h)).toBe(false);
  });

  it('salts every hash', async () => {
    const [a, b] = await Promise.all([hashPassword('pw', FAST), hashPassword('pw', FAST)]);
    expect(a).not.toBe(b);
  });

  it('treats the same password in composed or full-width form as equal (NFKC)', async () => {
    const h = await hashPassword('Ｐａｓｓ１２３', FAST);
    expect(await verifyPassword('Pass123', h)).toBe(true);
  });

  it('handles empty and very long passwords', async () => {
    const h = await hashPassword('', FAST);
    expect(await verifyPassword('', h)).toBe(true);
    expect(await verifyPassword(' ', h)).toBe(false);
    const long = 'x'.repeat(100_000);
    const hl = await hashPassword(long, FAST);
    expect(await verifyPassword(long, hl)).toBe(true);
    expect(await verifyPassword(long + 'y', hl)).toBe(false);
  });

  it('returns false for an unknown account (null) after doing the same work', async () => {
    expect(await verifyPassword('anything', null)).toBe(false);
  });

  it('throws on a stored value that is not one of ours, including parameter bombs', async () => {
    const good = await hashPassword('pw', FAST);
    const [, , , , salt, hash] = good.split('$');
    for (const bad of ['', 'plaintext', 'bcrypt$2b$10$abc', `scrypt$1073741824$8$1$${salt}$${hash}`, `scrypt$1000$8$1$${salt}$${hash}`, `scrypt$1024$8$1$${salt}`, `scrypt$1024$64$1$${salt}$${hash}`]) {
      await expect(verifyPassword('pw', bad)).rejects.toMatchObject({ code: 'malformed_password_hash' });
    }
  });

  it('asks for a rehash when parameters change', async () => {
    const h = await hashPassword('pw', FAST);
    expect(needsRehash(h)).toBe(true);
    expect(needsRehash(h, FAST)).toBe(false);
    expect(needsRehash('garbage')).toBe(true);
    expect(DEFAULT_SCRYPT_PARAMS).toEqual({ N: 32768, r: 8, p: 1 });
  });
});

describe('Ed25519 signing', () => {
  it('signs and verifies with KeyObjects, DER and PEM', () => {
    const kp = generateSigningKeyPair();
    const data = 'checkpoint|seq=1000|hash=abc';
    const sig = sign(kp.privateKey, data);
    expect(sig.length).toBe(64);
    expect(verify(kp.publicKey, data, sig)).toBe(true);
    expect(verify(kp.publicKeyDer, Buffer.from(data), sign(kp.privateKeyDer, data))).toBe(true);
    const pem = kp.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(verify(pem, data, sig)).toBe(true);
  });

  it('rejects other data, another key, a flipped bit and a malformed signature', () => {
    const kp = generateSigningKeyPair();
    const sig = sign(kp.privateKey, 'a');
    expect(verify(kp.publicKey, 'b', sig)).toBe(false);
    expect(verify(generateSigningKeyPair().publicKey, 'a', sig)).toBe(false);
    const t = Buffer.from(sig);
    t[10] = t[10]! ^ 1;
    expect(verify(kp.publicKey, 'a', t)).toBe(false);
    expect(verify(kp.publicKey, 'a', sig.subarray(0, 63))).toBe(false);
  });

  it('refuses keys that are not Ed25519 or not keys', () => {
    const rsa = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expectCode(() => sign(rsa.privateKey, 'a'), 'invalid_signing_key');
    expectCode(() => verify(rsa.publicKey, 'a', Buffer.alloc(64)), 'invalid_signing_key');
    expectCode(() => sign(Buffer.from('not a key'), 'a'), 'invalid_signing_key');
  });

  it('gives a stable fingerprint from either half', () => {
    const kp = generateSigningKeyPair();
    expect(publicKeyFingerprint(kp.publicKey)).toMatch(/^[0-9a-f]{16}$/);
    expect(publicKeyFingerprint(kp.privateKey)).toBe(publicKeyFingerprint(kp.publicKeyDer));
  });
});
