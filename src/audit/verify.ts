/**
 * Verifies the audit trail end to end: every row's hash, the links between rows, the gap-free
 * sequence, the signed checkpoints, and the head. Reports the first bad seq.
 */
import { verify as verifySignature, type KeyObject } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import { toBuffer } from '../store/db.js';
import { chainHash, checkpointMessage, GENESIS_HASH } from './chain.js';
import { isAuditKind, type AuditEntryInput } from './kinds.js';

export interface VerifyResult {
  ok: boolean;
  /** Rows checked. */
  entries: number;
  lastSeq: number;
  checkpointsVerified: number;
  firstBadSeq?: number;
  reason?: string;
}

export interface VerifyOptions {
  /** Public keys by key id. */
  publicKeys: Map<string, KeyObject>;
  pageSize?: number;
}

export async function verifyAuditTrail(db: Kysely<Database>, options: VerifyOptions): Promise<VerifyResult> {
  const pageSize = options.pageSize ?? 5000;
  const checkpoints = await db.selectFrom('audit_checkpoints').selectAll().orderBy('seq').execute();
  const checkpointBySeq = new Map(checkpoints.map((c) => [Number(c.seq), c]));
  let expectedSeq = 1;
  let prev: Buffer = GENESIS_HASH;
  let entries = 0;
  let checkpointsVerified = 0;
  const bad = (seq: number, reason: string): VerifyResult => ({
    ok: false,
    entries,
    lastSeq: expectedSeq - 1,
    checkpointsVerified,
    firstBadSeq: seq,
    reason,
  });

  for (;;) {
    const rows = await db
      .selectFrom('audit_log')
      .selectAll()
      .where('seq', '>=', expectedSeq)
      .orderBy('seq')
      .limit(pageSize)
      .execute();
    if (rows.length === 0) break;
    for (const row of rows) {
      const seq = Number(row.seq);
      if (seq !== expectedSeq) return bad(expectedSeq, `entry ${expectedSeq} is missing (next entry found is ${seq})`);
      if (!toBuffer(row.prev_hash).equals(prev)) return bad(seq, `entry ${seq} does not link to entry ${seq - 1} (prev_hash differs)`);
      if (!isAuditKind(row.kind)) return bad(seq, `entry ${seq} has an unknown kind`);
      const entry: AuditEntryInput = {
        kind: row.kind,
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
      const hash = chainHash(prev, seq, entry);
      if (!hash.equals(toBuffer(row.hash))) return bad(seq, `entry ${seq} was altered (its content does not match its hash)`);
      const cp = checkpointBySeq.get(seq);
      if (cp) {
        if (!toBuffer(cp.hash).equals(hash)) return bad(seq, `checkpoint at ${seq} does not match the entry`);
        const key = options.publicKeys.get(cp.key_id);
        if (!key) return bad(seq, `checkpoint at ${seq} is signed by unknown key ${cp.key_id}`);
        if (!verifySignature(null, checkpointMessage(seq, hash), key, toBuffer(cp.signature))) {
          return bad(seq, `checkpoint signature at ${seq} is invalid`);
        }
        checkpointsVerified++;
      }
      prev = hash;
      expectedSeq = seq + 1;
      entries++;
    }
  }

  const lastSeq = expectedSeq - 1;
  const lastCheckpoint = checkpoints.at(-1);
  if (lastCheckpoint && Number(lastCheckpoint.seq) > lastSeq) {
    return bad(lastSeq + 1, `entries after ${lastSeq} were removed (a signed checkpoint exists at ${Number(lastCheckpoint.seq)})`);
  }
  const head = await db.selectFrom('audit_head').selectAll().where('id', '=', 1).executeTakeFirst();
  if (!head) return bad(lastSeq + 1, 'the audit head row is missing');
  if (Number(head.seq) !== lastSeq) {
    return Number(head.seq) > lastSeq
      ? bad(lastSeq + 1, `entries ${lastSeq + 1}..${Number(head.seq)} were removed (the head says ${Number(head.seq)})`)
      : bad(Number(head.seq) + 1, `entries after ${Number(head.seq)} were not written by the audit writer`);
  }
  if (!toBuffer(head.hash).equals(prev)) return bad(lastSeq, `the last entry ${lastSeq} does not match the head hash`);
  return { ok: true, entries, lastSeq, checkpointsVerified };
}

/** The wire form (HTTP and `warden audit verify --json`), snake_case like the rest of the API. */
export function verifyResultJson(r: VerifyResult) {
  return {
    ok: r.ok,
    entries: r.entries,
    last_seq: r.lastSeq,
    checkpoints_verified: r.checkpointsVerified,
    ...(r.firstBadSeq !== undefined ? { first_bad_seq: r.firstBadSeq } : {}),
    ...(r.reason ? { reason: r.reason } : {}),
  };
}
