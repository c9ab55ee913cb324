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

  async function commit(batch: Pending[]): Promise<AuditRecord[][]> {
    return deps.db.transaction().execute(async (tx) => {
      const head = await sql<{ seq: number; hash: Uint8Array }>`select seq, hash from audit_head where id = 1 for update`.execute(tx);
      const row = head.rows[0];
      if (!row) throw new Error('audit_head row is missing');
      const startSeq = Number(row.seq);
      let seq = startSeq;
      let prev = toBuffer(row.hash);
      const out: AuditRecord[][] = [];
      for (const p of batch) {
        if (p.effect) {
          try {
            await p.effect(tx);
          } catch (err) {
            throw new EffectFailed(err);
          }
        }
        const recs: AuditRecord[] = [];
        for (const e of p.entries) {
          seq++;
          const hash = chainHash(prev, seq, e);
          recs.push({ ...e, seq, hash, prevHash: prev });
          prev = hash;
        }
        out.push(recs);
      }
      const rows = out.flat();
      for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
        await tx.insertInto('audit_log').values(rows.slice(i, i + INSERT_CHUNK).map(toRow)).execute();
      }
      await tx.updateTable('audit_head').set({ seq, hash: prev }).where('id', '=', 1).execute();
      const checkpoints = [];
      for (let s = (Math.floor(startSeq / checkpointEvery) + 1) * checkpointEvery; s <= seq; s += checkpointEvery) {
        const rec = rows[s - startSeq - 1]!;
        checkpoints.push({
          seq: s,
          hash: rec.hash,
          signature: deps.signer.sign(checkpointMessage(s, rec.hash)),
          key_id: deps.signer.keyId,
          signed_at: new Date(),
        });
      }
      if (checkpoints.length) await tx.insertInto('audit_checkpoints').values(checkpoints).execute();
      return out;
    });
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
