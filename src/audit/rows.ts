/**
 * audit_log rows ↔ entries: one mapping shared by the writer, the verifier, the tree store and
 * the search API, so what is hashed, stored and shown never drift apart.
 */
import type { Selectable } from 'kysely';
import type { AuditLogTable } from '../store/schema.js';
import { canonicalEntry } from './chain.js';
import { leafHash } from './merkle.js';
import type { AuditEntryInput, AuditKind, AuditRecord } from './kinds.js';

export type AuditRow = Selectable<AuditLogTable>;

/** The entry a row records (kind unchecked: the verifier checks it with isAuditKind). */
export function entryFromRow(row: AuditRow): AuditEntryInput {
  return {
    kind: row.kind as AuditKind,
    ts: row.ts instanceof Date ? row.ts : new Date(row.ts),
    decision: row.decision as AuditEntryInput['decision'],
    account: row.account,
    role: row.role,
    site: row.site,
    device: row.device,
    ip: row.ip,
    session: row.session,
    waybill: row.waybill,
    fields: row.fields ? row.fields.split(',') : null,
    purpose: row.purpose,
    ticket: row.ticket,
    reason: row.reason,
    requestId: row.request_id,
    detail: (typeof row.detail === 'string' ? JSON.parse(row.detail) : row.detail) as AuditEntryInput['detail'],
  };
}

/** The Merkle leaf of entry `seq`: its canonical form, hashed with the leaf prefix. */
export function leafOfRow(row: AuditRow): Buffer {
  return leafHash(canonicalEntry(Number(row.seq), entryFromRow(row)));
}

export function toRow(r: AuditRecord) {
  return {
    seq: r.seq,
    ts: r.ts,
    kind: r.kind,
    account: r.account ?? null,
    role: r.role ?? null,
    site: r.site ?? null,
    device: r.device ?? null,
    ip: r.ip ?? null,
    session: r.session ?? null,
    waybill: r.waybill ?? null,
    fields: r.fields && r.fields.length ? r.fields.join(',') : null,
    purpose: r.purpose ?? null,
    ticket: r.ticket ?? null,
    decision: r.decision,
    reason: r.reason ?? null,
    request_id: r.requestId ?? null,
    detail: r.detail ? JSON.stringify(r.detail) : null,
    prev_hash: r.prevHash,
    hash: r.hash,
  };
}
