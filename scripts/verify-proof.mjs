#!/usr/bin/env node
// Checks a Warden audit inclusion proof offline, with plain Node (>= 20) and no Warden code:
//   node scripts/verify-proof.mjs proof.json --public-key <base64 raw Ed25519 key or PEM file>
// where proof.json is the body of GET /api/v1/audit/entries/{seq}/proof ("-" reads stdin).
// The public key can also come from WARDEN_AUDIT_PUBLIC_KEYS (comma-separated). Exit 0 when:
//   1. the leaf (the entry's canonical form) says exactly what the displayed entry says,
//   2. SHA-256(0x00 ‖ leaf) is the leaf hash,
//   3. the audit path leads from that leaf hash to the signed head's root (RFC 9162 §2.1.3.2),
//   4. the head's Ed25519 signature verifies under a pinned key.
// Otherwise exit 1 naming what failed. See docs/audit.md.
import { createHash, createPublicKey, verify } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';

function fail(message) {
  console.error(`proof REJECTED: ${message}`);
  process.exit(1);
}

const args = process.argv.slice(2);
const keyArgs = [];
let file;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--public-key') keyArgs.push(args[++i] ?? '');
  else if (args[i] === '--help' || args[i] === '-h') {
    console.log('usage: node scripts/verify-proof.mjs <proof.json|-> --public-key <key>[,<key>…]');
    process.exit(0);
  } else file = args[i];
}
if (!file) fail('no proof file given (usage: node scripts/verify-proof.mjs proof.json --public-key KEY)');

const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');
function publicKey(text) {
  const t = text.trim();
  if (t.startsWith('-----BEGIN')) return createPublicKey(t);
  if (existsSync(t)) return publicKey(readFileSync(t, 'utf8'));
  const raw = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
  if (raw.length !== 32) throw new Error(`"${t.slice(0, 20)}…" is not a 32-byte Ed25519 public key (base64 or hex) or a PEM`);
  return createPublicKey({ key: Buffer.concat([SPKI_ED25519, raw]), format: 'der', type: 'spki' });
}
const keyId = (key) => 'ed25519:' + createHash('sha256').update(key.export({ format: 'der', type: 'spki' }).subarray(12)).digest('hex').slice(0, 16);

const pinned = new Map();
for (const item of [...keyArgs, process.env.WARDEN_AUDIT_PUBLIC_KEYS ?? ''].flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean)) {
  try {
    const key = publicKey(item);
    pinned.set(keyId(key), key);
  } catch (err) {
    fail(`public key: ${err.message}`);
  }
}
if (pinned.size === 0) fail('no public key pinned (--public-key or WARDEN_AUDIT_PUBLIC_KEYS): a proof is only as good as the key that signed its head');

let proof;
try {
  proof = JSON.parse(file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8'));
} catch (err) {
  fail(`cannot read the proof: ${err.message}`);
}
const { entry, leaf, leaf_hash: leafHashB64, leaf_index: index, tree_size: size, audit_path: path, head } = proof ?? {};
if (!entry || typeof leaf !== 'string' || !Array.isArray(path) || !head) fail('the proof lacks entry, leaf, audit_path or head');

// 1. The leaf is the canonical form Warden hashed; it must say what the entry shows.
const sortKeys = (v) => (Array.isArray(v) ? v.map(sortKeys) : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])])) : v);
let canonical;
try {
  canonical = JSON.parse(leaf);
} catch {
  fail('the leaf is not JSON');
}
const fields = Array.isArray(entry.fields) && entry.fields.length ? entry.fields.join(',') : null;
const expected = ['v1', entry.seq, entry.ts, entry.kind, entry.account, entry.role, entry.site, entry.device, entry.ip, entry.session, entry.waybill, fields, entry.purpose, entry.ticket, entry.decision, entry.reason, entry.request_id, entry.detail ? sortKeys(entry.detail) : null];
if (JSON.stringify(canonical) !== JSON.stringify(expected)) fail('the entry shown differs from the leaf that was hashed (an entry field was changed)');
if (index !== entry.seq - 1) fail(`leaf_index ${index} is not entry ${entry.seq}'s position (${entry.seq - 1})`);

// 2. Leaf hash (RFC 6962: SHA-256 over 0x00 and the leaf).
const sha = (...parts) => parts.reduce((h, p) => h.update(p), createHash('sha256')).digest();
const leafHash = sha(Buffer.from([0]), Buffer.from(leaf, 'utf8'));
if (leafHashB64 !== undefined && leafHash.toString('base64') !== leafHashB64) fail('leaf_hash is not SHA-256(0x00 ‖ leaf)');

// 3. Audit path to the root (RFC 9162 §2.1.3.2).
if (!(Number.isSafeInteger(index) && Number.isSafeInteger(size) && index >= 0 && index < size)) fail(`leaf ${index} is not inside a tree of ${size} entries`);
if (head.tree_size !== size) fail(`the head is for tree size ${head.tree_size}, the path for ${size}`);
let fn = index;
let sn = size - 1;
let r = leafHash;
for (const p64 of path) {
  const p = Buffer.from(p64, 'base64');
  if (p.length !== 32) fail('an audit path element is not a 32-byte hash');
  if (sn === 0) fail('the audit path is longer than the tree is deep');
  if (fn % 2 === 1 || fn === sn) {
    r = sha(Buffer.from([1]), p, r);
    if (fn % 2 === 0) while (!(fn % 2 === 1 || fn === 0)) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
  } else {
    r = sha(Buffer.from([1]), r, p);
  }
  fn = Math.floor(fn / 2);
  sn = Math.floor(sn / 2);
}
const root = Buffer.from(String(head.root_hash), 'base64');
if (sn !== 0 || !r.equals(root)) fail(`the audit path does not lead to the signed root of the tree of ${size} entries`);

// 4. The signed tree head, under a pinned key.
const key = pinned.get(head.key_id);
if (!key) fail(`the head is signed by ${head.key_id}, which is not among the pinned keys (${[...pinned.keys()].join(', ')})`);
const message = Buffer.from(`warden-audit-sth-v1|${head.tree_size}|${root.toString('hex')}|${head.timestamp}`);
if (!verify(null, message, key, Buffer.from(String(head.signature), 'base64'))) fail(`the head's signature does not verify under ${head.key_id}`);

console.log(`proof OK: entry ${entry.seq} (${entry.kind}, ${entry.ts}) is leaf ${index} of the tree of ${size} entries signed by ${head.key_id} at ${head.timestamp}`);
