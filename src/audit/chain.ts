/**
 * The canonical form of an entry, and the hash chain over it:
 * hash(n) = SHA-256(hash(n-1) || canonical(entry n)), with seq inside the canonical form so that
 * moving a row changes its hash. The same canonical form is the Merkle leaf (merkle.ts), so the
 * chain and the tree always agree on what an entry is. Pure functions shared by the writer and
 * the verifier.
 */
import { createHash } from 'node:crypto';
import type { AuditEntryInput } from './kinds.js';

export const GENESIS_HASH = Buffer.alloc(32);

export function canonicalEntry(seq: number, e: AuditEntryInput): string {
  return JSON.stringify([
    'v1',
    seq,
    e.ts.toISOString(),
    e.kind,
    e.account ?? null,
    e.role ?? null,
    e.site ?? null,
    e.device ?? null,
    e.ip ?? null,
    e.session ?? null,
    e.waybill ?? null,
    e.fields && e.fields.length ? e.fields.join(',') : null,
    e.purpose ?? null,
    e.ticket ?? null,
    e.decision,
    e.reason ?? null,
    e.requestId ?? null,
    e.detail ? sortKeys(e.detail) : null,
  ]);
}

export function chainHash(prev: Buffer, seq: number, entry: AuditEntryInput): Buffer {
  return chainHashOf(prev, canonicalEntry(seq, entry));
}

/** The chain hash over an already computed canonical form (the writer also hashes it as a leaf). */
export function chainHashOf(prev: Buffer, canonical: string): Buffer {
  return createHash('sha256').update(prev).update(canonical).digest();
}

/** jsonb does not keep key order, so the hashed form sorts keys at every depth. */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) out[k] = sortKeys((value as Record<string, unknown>)[k]);
    return out;
  }
  return value;
}

/**
 * SHA-256 (hex) of a value's canonical JSON: what an entry records of a value it must not carry
 * (a detector's settings, an exception's device or network), so `audit reconcile` can tell the row
 * that holds it is the one the entry wrote.
 */
export function canonicalDigest(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(sortKeys(value))).digest('hex');
}
