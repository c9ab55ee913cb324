/**
 * Signed tree heads: (tree size, root, timestamp) signed with Ed25519 by a key kept outside the
 * store. The signed message is a short text line an auditor can rebuild with any tool:
 *
 *   warden-audit-sth-v1|<tree_size>|<root hex>|<timestamp ISO-8601 UTC, milliseconds>
 *
 * Invariants:
 * - A head is trusted only when its signature verifies under a PINNED public key (configuration
 *   or a flag), never a key read from the database.
 * - The wire form is snake_case with base64 hashes and signatures, like the rest of the API.
 */
import { verify as verifySignature, type KeyObject } from 'node:crypto';
import { HASH_BYTES } from './merkle.js';

export interface SignedTreeHead {
  treeSize: number;
  root: Buffer;
  timestamp: Date;
  keyId: string;
  signature: Buffer;
}

export interface HeadSigner {
  readonly keyId: string;
  sign(message: Buffer): Buffer;
}

/** Public keys an auditor trusts, by key id. */
export type PinnedKeys = ReadonlyMap<string, KeyObject>;

export function sthMessage(treeSize: number, root: Buffer, timestamp: Date): Buffer {
  return Buffer.from(`warden-audit-sth-v1|${treeSize}|${root.toString('hex')}|${timestamp.toISOString()}`);
}

export function signHead(signer: HeadSigner, treeSize: number, root: Buffer, timestamp: Date): SignedTreeHead {
  // Millisecond precision is what the message carries and what the store keeps.
  const ts = new Date(Math.floor(timestamp.getTime()));
  return { treeSize, root, timestamp: ts, keyId: signer.keyId, signature: signer.sign(sthMessage(treeSize, root, ts)) };
}

export type HeadCheck = 'ok' | 'unknown_key' | 'bad_signature';

export function checkHead(head: SignedTreeHead, keys: PinnedKeys): HeadCheck {
  const key = keys.get(head.keyId);
  if (!key) return 'unknown_key';
  try {
    return verifySignature(null, sthMessage(head.treeSize, head.root, head.timestamp), key, head.signature) ? 'ok' : 'bad_signature';
  } catch {
    return 'bad_signature';
  }
}

export function describeHeadCheck(head: SignedTreeHead, check: HeadCheck): string {
  return check === 'unknown_key'
    ? `the signed head at tree size ${head.treeSize} names key ${head.keyId}, which is not pinned`
    : `the signature of the head at tree size ${head.treeSize} does not verify under pinned key ${head.keyId}`;
}

export interface HeadJson {
  tree_size: number;
  root_hash: string;
  timestamp: string;
  key_id: string;
  signature: string;
}

export function headJson(h: SignedTreeHead): HeadJson {
  return { tree_size: h.treeSize, root_hash: h.root.toString('base64'), timestamp: h.timestamp.toISOString(), key_id: h.keyId, signature: h.signature.toString('base64') };
}

/** Parses the wire form; returns a reason instead of throwing, for witnesses and sinks. */
export function parseHeadJson(value: unknown): SignedTreeHead | { error: string } {
  if (!value || typeof value !== 'object') return { error: 'a head must be an object' };
  const v = value as Record<string, unknown>;
  if (!Number.isSafeInteger(v.tree_size) || (v.tree_size as number) < 1) return { error: 'tree_size must be a positive integer' };
  const root = typeof v.root_hash === 'string' ? Buffer.from(v.root_hash, 'base64') : null;
  if (!root || root.length !== HASH_BYTES) return { error: 'root_hash must be 32 bytes, base64' };
  const ts = typeof v.timestamp === 'string' ? new Date(v.timestamp) : null;
  if (!ts || Number.isNaN(ts.getTime()) || ts.toISOString() !== v.timestamp) return { error: 'timestamp must be ISO-8601 UTC with milliseconds' };
  if (typeof v.key_id !== 'string' || !/^ed25519:[0-9a-f]{16}$/.test(v.key_id)) return { error: 'key_id must look like ed25519:<16 hex>' };
  const signature = typeof v.signature === 'string' ? Buffer.from(v.signature, 'base64') : null;
  if (!signature || signature.length !== 64) return { error: 'signature must be 64 bytes, base64' };
  return { treeSize: v.tree_size as number, root, timestamp: ts, keyId: v.key_id, signature };
}

export const isParseError = (x: SignedTreeHead | { error: string }): x is { error: string } => 'error' in x;

export function sameHead(a: SignedTreeHead, b: SignedTreeHead): boolean {
  return a.treeSize === b.treeSize && a.root.equals(b.root);
}
