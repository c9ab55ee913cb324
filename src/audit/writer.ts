/**
 * The audit writer: appends hash-chained entries with group commit.
 *
 * Invariants:
 * - append() resolves only after the entries' transaction committed; callers release data
 *   only after that (fail closed). If the commit fails, append() rejects with audit_unavailable.
 * - One chain: the head row is locked FOR UPDATE inside each batch, so several processes on one
 *   PostgreSQL database still produce a single gap-free sequence.
 * - Effects passed with an entry run in the same transaction, so the act and its record commit
 *   together or not at all.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../store/schema.js';
import { toBuffer } from '../store/db.js';
import { AppError } from '../errors.js';
import type { Logger } from '../ops/logger.js';
import type { Metrics } from '../ops/metrics.js';
import { chainHash, checkpointMessage } from './chain.js';
import type { AuditEntryInput, AuditRecord } from './kinds.js';

export interface CheckpointSigner {
  readonly keyId: string;
  sign(message: Buffer): Buffer;
}

export type AuditEffect = (tx: Transaction<Database>) => Promise<void>;

export interface AuditWriter {
  append(entries: AuditEntryInput[], effect?: AuditEffect): Promise<AuditRecord[]>;
  health(): { ok: boolean; lastFailureAt: string | null; consecutiveFailures: number };
  /** Waits for everything queued to commit (graceful shutdown). */
  drain(): Promise<void>;
  onCommitted(listener: (records: AuditRecord[]) => void): void;
}

interface Pending {
  entries: AuditEntryInput[];
  effect: AuditEffect | undefined;
  resolve(records: AuditRecord[]): void;
  reject(err: unknown): void;
}

export interface AuditWriterDeps {
  db: Kysely<Database>;
  signer: CheckpointSigner;
  metrics: Pick<Metrics, 'auditEntries' | 'auditWriteFailures' | 'auditBatchSize' | 'auditHealthy'>;
  logger: Logger;
  checkpointEvery?: number;
  maxBatchEntries?: number;
}

const INSERT_CHUNK = 400;

/** An entry's own effect failed; the audit trail itself is fine. */
class EffectFailed extends Error {
  constructor(override readonly cause: unknown) {
    super('audit effect failed');
  }
}

export function createAuditWriter(deps: AuditWriterDeps): AuditWriter {
  const checkpointEvery = deps.checkpointEvery ?? 1000;
  const maxBatch = deps.maxBatchEntries ?? 512;
  const queue: Pending[] = [];
  const listeners: Array<(records: AuditRecord[]) => void> = [];
  let flushing: Promise<void> | null = null;
  let consecutiveFailures = 0;
  let lastFailureAt: string | null = null;
  deps.metrics.auditHealthy.set(1);

  function schedule(): void {
    if (!flushing) {
      flushing = flushLoop().finally(() => {
        flushing = null;
        if (queue.length) schedule();
      });
    }
  }

  async function flushLoop(): Promise<void> {
    while (queue.length) {
      const batch: Pending[] = [];
      let size = 0;
      while (queue.length && (batch.length === 0 || size + queue[0]!.entries.length <= maxBatch)) {
        const next = queue.shift()!;
        batch.push(next);
        size += next.entries.length;
      }
      try {
        const records = await commit(batch);
        settle(batch, records);
      } catch (err) {
        if (batch.length === 1) {
          fail(batch[0]!, err);
          continue;
        }
        // One bad effect must not sink its neighbours: retry each on its own.
        for (const p of batch) {
          try {
            settle([p], await commit([p]));
          } catch (single) {
            fail(p, single);
          }
        }
      }
    }
  }

  function settle(batch: Pending[], records: AuditRecord[][]): void {
    consecutiveFailures = 0;
    deps.metrics.auditHealthy.set(1);
    const all = records.flat();
    deps.metrics.auditEntries.inc(all.length);
    deps.metrics.auditBatchSize.observe(all.length);
    batch.forEach((p, i) => p.resolve(records[i]!));
    for (const l of listeners) {
      try {
        l(all);
      } catch (err) {
        deps.logger.error({ err: errorSummary(err) }, 'audit commit listener failed');
      }
    }
  }

  function fail(p: Pending, err: unknown): void {
    if (err instanceof EffectFailed) {
      // The act itself was refused (a conflict, a bad reference): nothing to audit, no outage.
      p.reject(err.cause);
      return;
    }
    consecutiveFailures++;
    lastFailureAt = new Date().toISOString();
    deps.metrics.auditWriteFailures.inc();
    deps.metrics.auditHealthy.set(0);
    deps.logger.error({ err: errorSummary(err), entries: p.entries.length }, 'AUDIT WRITE FAILED: request refused (fail closed)');
    p.reject(new AppError('audit_unavailable', 'the audit trail could not be written, so the request was refused'));
  }

  /** Last head this process committed; lets a plain batch skip the head read (see commitFast). */
  let knownHead: { seq: number; hash: Buffer } | null = null;

  function chain(batch: Pending[], startSeq: number, startHash: Buffer): AuditRecord[][] {
    let seq = startSeq;
    let prev = startHash;
    return batch.map((p) =>
      p.entries.map((e) => {
        seq++;
        const hash = chainHash(prev, seq, e);
        const rec = { ...e, seq, hash, prevHash: prev };
        prev = hash;
        return rec;
      }),
    );
  }

  const crossesCheckpoint = (startSeq: number, count: number) => Math.floor((startSeq + count) / checkpointEvery) > Math.floor(startSeq / checkpointEvery);

  async function commit(batch: Pending[]): Promise<AuditRecord[][]> {
    const count = batch.reduce((n, p) => n + p.entries.length, 0);
    if (knownHead && count <= INSERT_CHUNK && !batch.some((p) => p.effect) && !crossesCheckpoint(knownHead.seq, count)) {
      const fast = await commitFast(batch, knownHead);
      if (fast) return fast;
    }
    return commitLocked(batch);
  }

  /**
   * One statement, no explicit transaction: the head moves from the seq this process last wrote
   * and the rows are inserted only if it did (compare-and-set), all atomically. If another
   * process moved the head meanwhile nothing is written and the locked path takes over.
   */
  async function commitFast(batch: Pending[], head: { seq: number; hash: Buffer }): Promise<AuditRecord[][] | null> {
    const out = chain(batch, head.seq, head.hash);
    const rows = out.flat();
    const last = rows[rows.length - 1]!;
    const values = sql.join(
      rows.map((r) => {
        const v = toRow(r);
        return sql`(${v.seq}::bigint, ${v.ts}::timestamptz, ${v.kind}::text, ${v.account}::text, ${v.role}::text, ${v.site}::text, ${v.device}::text, ${v.ip}::text, ${v.session}::text, ${v.waybill}::text, ${v.fields}::text, ${v.purpose}::text, ${v.ticket}::text, ${v.decision}::text, ${v.reason}::text, ${v.request_id}::text, ${v.detail}::jsonb, ${v.prev_hash}::bytea, ${v.hash}::bytea)`;
      }),
    );
    const result = await sql`
      with moved as (
        update audit_head set seq = ${last.seq}, hash = ${last.hash} where id = 1 and seq = ${head.seq} returning id
      )
      insert into audit_log (seq, ts, kind, account, role, site, device, ip, session, waybill, fields, purpose, ticket, decision, reason, request_id, detail, prev_hash, hash)
      select v.* from (values ${values}) as v(seq, ts, kind, account, role, site, device, ip, session, waybill, fields, purpose, ticket, decision, reason, request_id, detail, prev_hash, hash)
      where exists (select 1 from moved)`.execute(deps.db);
    if (Number(result.numAffectedRows ?? 0) !== rows.length) {
      knownHead = null;
      return null;
    }
    knownHead = { seq: last.seq, hash: last.hash };
    return out;
  }

  async function commitLocked(batch: Pending[]): Promise<AuditRecord[][]> {
    knownHead = null;
    const out = await deps.db.transaction().execute(async (tx) => {
      const head = await sql<{ seq: number; hash: Uint8Array }>`select seq, hash from audit_head where id = 1 for update`.execute(tx);
      const row = head.rows[0];
      if (!row) throw new Error('audit_head row is missing');
      const startSeq = Number(row.seq);
      for (const p of batch) {
        if (!p.effect) continue;
        try {
          await p.effect(tx);
        } catch (err) {
          throw new EffectFailed(err);
        }
      }
      const chained = chain(batch, startSeq, toBuffer(row.hash));
      const rows = chained.flat();
      for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
        await tx.insertInto('audit_log').values(rows.slice(i, i + INSERT_CHUNK).map(toRow)).execute();
      }
      const last = rows[rows.length - 1]!;
      await tx.updateTable('audit_head').set({ seq: last.seq, hash: last.hash }).where('id', '=', 1).execute();
      const checkpoints = [];
      for (let s = (Math.floor(startSeq / checkpointEvery) + 1) * checkpointEvery; s <= last.seq; s += checkpointEvery) {
        const rec = rows[s - startSeq - 1]!;
        checkpoints.push({ seq: s, hash: rec.hash, signature: deps.signer.sign(checkpointMessage(s, rec.hash)), key_id: deps.signer.keyId, signed_at: new Date() });
      }
      if (checkpoints.length) await tx.insertInto('audit_checkpoints').values(checkpoints).execute();
      return chained;
    });
    const last = out.flat().at(-1)!;
    knownHead = { seq: last.seq, hash: last.hash };
    return out;
  }

  return {
    append(entries, effect) {
      if (entries.length === 0) return Promise.resolve([]);
      return new Promise<AuditRecord[]>((resolve, reject) => {
        queue.push({ entries, effect, resolve, reject });
        schedule();
      });
    },
    health: () => ({ ok: consecutiveFailures === 0, lastFailureAt, consecutiveFailures }),
    async drain() {
      while (flushing) await flushing;
    },
    onCommitted(listener) {
      listeners.push(listener);
    },
  };
}

function toRow(r: AuditRecord) {
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

/** Database errors can quote row values; log only the class and SQLSTATE. */
export function errorSummary(err: unknown): { type: string; code?: string } {
  const e = err as { name?: string; code?: string };
  return { type: e?.name ?? typeof err, ...(typeof e?.code === 'string' ? { code: e.code } : {}) };
}
