/**
 * The audit writer: appends hash-chained entries, leaves of one Merkle tree, with group commit.
 *
 * Invariants:
 * - append() resolves only after the entries' transaction committed; callers release data
 *   only after that (fail closed). If the commit fails, append() rejects with audit_unavailable.
 * - One chain, one tree: a batch moves audit_head (seq, chain hash, tree frontier) by
 *   compare-and-set or under FOR UPDATE, so several processes on one PostgreSQL database still
 *   produce a single gap-free sequence and a single tree, each continuing from the stored frontier.
 * - Every multiple of `headEveryEntries` gets its signed tree head in the statement that writes
 *   the entry reaching it: a crash cannot leave such a size unsigned. Finished subtrees of 256
 *   leaves and up are stored in the same statement (tree-store.ts).
 * - Effects passed with an entry run in the same transaction, so the act and its record commit
 *   together or not at all. An effect may add entries about what it found (`more`): they are
 *   chained after the append's own, in the same transaction; an append of no entries but an
 *   effect commits too (its result may be nothing to record).
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../store/schema.js';
import { toBuffer } from '../store/db.js';
import { AppError } from '../errors.js';
import type { Logger } from '../ops/logger.js';
import type { Metrics } from '../ops/metrics.js';
import { canonicalEntry, chainHashOf } from './chain.js';
import type { AuditEntryInput, AuditRecord } from './kinds.js';
import { Frontier, leafHash, type Subtree } from './merkle.js';
import { signHead, type HeadSigner, type SignedTreeHead } from './sth.js';
import { headToRow, leafHashes, STORED_LEVEL } from './tree-store.js';
import { toRow } from './rows.js';
import { prepared } from '../store/prepared.js';

/** `more` adds entries recording what the effect did (known only inside its transaction). */
export type AuditEffect = (tx: Transaction<Database>, more: (entries: readonly AuditEntryInput[]) => void) => Promise<void>;

export interface AuditWriter {
  append(entries: AuditEntryInput[], effect?: AuditEffect): Promise<AuditRecord[]>;
  health(): { ok: boolean; lastFailureAt: string | null; consecutiveFailures: number };
  /** Waits for everything queued to commit (graceful shutdown). */
  drain(): Promise<void>;
  onCommitted(listener: (records: AuditRecord[]) => void): void;
  /** Heads signed inside committed batches (every `headEveryEntries` entries). */
  onHeads(listener: (heads: SignedTreeHead[]) => void): void;
  /** Before the first append: builds the tree of a store written before it had one (once). */
  init(): Promise<void>;
}

interface Pending {
  entries: AuditEntryInput[];
  effect: AuditEffect | undefined;
  resolve(records: AuditRecord[]): void;
  reject(err: unknown): void;
}

export interface AuditWriterDeps {
  db: Kysely<Database>;
  signer: HeadSigner;
  metrics: Pick<Metrics, 'auditEntries' | 'auditWriteFailures' | 'auditBatchSize' | 'auditHealthy' | 'auditCommitSeconds'>;
  logger: Logger;
  /** A signed tree head at every multiple of this tree size (default 1000). */
  headEveryEntries?: number;
  maxBatchEntries?: number;
}

/** Where the trail ends: last seq, its chain hash, and the tree's frontier at that size. */
interface Tip {
  seq: number;
  hash: Buffer;
  frontier: Frontier;
}

interface Extension {
  records: AuditRecord[][];
  nodes: Array<Subtree & { hash: Buffer }>;
  heads: SignedTreeHead[];
  tip: Tip;
}

const INSERT_CHUNK = 400;

/** An entry's own effect failed; the audit trail itself is fine. */
class EffectFailed extends Error {
  constructor(override readonly cause: unknown) {
    super('audit effect failed');
  }
}

export function createAuditWriter(deps: AuditWriterDeps): AuditWriter {
  const headEvery = deps.headEveryEntries ?? 1000;
  const maxBatch = deps.maxBatchEntries ?? 512;
  const queue: Pending[] = [];
  const listeners: Array<(records: AuditRecord[]) => void> = [];
  const headListeners: Array<(heads: SignedTreeHead[]) => void> = [];
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
      // Let the rest of this event-loop turn queue its entries first: under load one commit then
      // carries many requests (on PGlite batches went from 1 to ~16), alone it waits one turn.
      await new Promise<void>((r) => setImmediate(r));
      const batch: Pending[] = [];
      let size = 0;
      while (queue.length && (batch.length === 0 || size + queue[0]!.entries.length <= maxBatch)) {
        const next = queue.shift()!;
        batch.push(next);
        size += next.entries.length;
      }
      try {
        const started = performance.now();
        const ext = await commit(batch);
        deps.metrics.auditCommitSeconds.observe((performance.now() - started) / 1000);
        settle(batch, ext);
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

  function settle(batch: Pending[], ext: Extension): void {
    const records = ext.records;
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
    if (ext.heads.length) {
      for (const l of headListeners) {
        try {
          l(ext.heads);
        } catch (err) {
          deps.logger.error({ err: errorSummary(err) }, 'audit head listener failed');
        }
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

  /** Where this process last left the trail; lets a plain batch skip the head read (see commitFast). */
  let known: Tip | null = null;

  async function commit(batch: Pending[]): Promise<Extension> {
    const count = batch.reduce((n, p) => n + p.entries.length, 0);
    if (known && count <= INSERT_CHUNK && !batch.some((p) => p.effect)) {
      const fast = await commitFast(batch, known);
      if (fast) return fast;
    }
    return commitLocked(batch);
  }

  /**
   * One statement, no explicit transaction: the head moves from the seq this process last wrote
   * and the rows (entries, finished subtrees, signed heads) are inserted only if it did
   * (compare-and-set), all atomically. If another process moved the head meanwhile nothing is
   * written and the locked path takes over.
   */
  async function commitFast(batch: Pending[], tip: Tip): Promise<Extension | null> {
    const ext = extend(batch, tip, deps.signer, headEvery);
    const rows = ext.records.flat();
    const result = await prepared(deps.db, fastStatement(rows.map(toRow), ext, tip.seq).compile(deps.db));
    if (Number(result.numAffectedRows ?? 0) !== rows.length) {
      known = null;
      return null;
    }
    known = ext.tip;
    return ext;
  }

  async function commitLocked(batch: Pending[]): Promise<Extension> {
    known = null;
    const ext = await deps.db.transaction().execute(async (tx) => {
      const tip = await lockTip(tx);
      const chained: Pending[] = [];
      for (const p of batch) {
        const extra: AuditEntryInput[] = [];
        try {
          await p.effect?.(tx, (more) => extra.push(...more));
        } catch (err) {
          throw new EffectFailed(err);
        }
        chained.push(extra.length ? { ...p, entries: [...p.entries, ...extra] } : p);
      }
      const ext = extend(chained, tip, deps.signer, headEvery);
      const rows = ext.records.flat();
      for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
        await tx.insertInto('audit_log').values(rows.slice(i, i + INSERT_CHUNK).map(toRow)).execute();
      }
      await writeTree(tx, ext);
      return ext;
    });
    known = ext.tip;
    return ext;
  }

  return {
    append(entries, effect) {
      if (entries.length === 0 && !effect) return Promise.resolve([]);
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
    onHeads(listener) {
      headListeners.push(listener);
    },
    init: () => backfill(deps, headEvery),
  };
}

/** Chains the batch after `tip`: records, finished stored subtrees, heads due, and the new tip. */
function extend(batch: Pending[], tip: Tip, signer: HeadSigner, headEvery: number): Extension {
  let seq = tip.seq;
  let prev = tip.hash;
  const frontier = tip.frontier.clone();
  const nodes: Extension['nodes'] = [];
  const heads: SignedTreeHead[] = [];
  const now = new Date();
  const records = batch.map((p) =>
    p.entries.map((e) => {
      seq++;
      const canonical = canonicalEntry(seq, e);
      const hash = chainHashOf(prev, canonical);
      for (const n of frontier.append(leafHash(canonical), STORED_LEVEL)) nodes.push(n);
      if (seq % headEvery === 0) heads.push(signHead(signer, seq, frontier.root(), now));
      const rec = { ...e, seq, hash, prevHash: prev };
      prev = hash;
      return rec;
    }),
  );
  return { records, nodes, heads, tip: { seq, hash: prev, frontier } };
}

/**
 * commitFast's statement. Arrays, not VALUES rows: its text depends only on whether the batch
 * finishes stored subtrees or reaches a signed head (four texts in all), so on PostgreSQL it is a
 * prepared statement (docs/decisions/0016-prepared-reveal-statements.md).
 */
function fastStatement(v: Array<ReturnType<typeof toRow>>, ext: Extension, fromSeq: number) {
  const col = <K extends keyof ReturnType<typeof toRow>>(k: K) => v.map((r) => r[k]);
  const nodes = ext.nodes.length
    ? sql`, nodes as (
        insert into audit_tree_nodes (level, idx, hash)
        select * from unnest(${ext.nodes.map((n) => n.level)}::smallint[], ${ext.nodes.map((n) => n.index)}::bigint[], ${ext.nodes.map((n) => n.hash)}::bytea[])
        where exists (select 1 from moved))`
    : sql``;
  const heads = ext.heads.length
    ? sql`, heads as (
        insert into audit_tree_heads (tree_size, root, ts, key_id, signature)
        select * from unnest(${ext.heads.map((h) => h.treeSize)}::bigint[], ${ext.heads.map((h) => h.root)}::bytea[], ${ext.heads.map((h) => h.timestamp)}::timestamptz[], ${ext.heads.map((h) => h.keyId)}::text[], ${ext.heads.map((h) => h.signature)}::bytea[])
        where exists (select 1 from moved)
        on conflict (tree_size) do nothing)`
    : sql``;
  return sql`
    with moved as (
      update audit_head set seq = ${ext.tip.seq}, hash = ${ext.tip.hash}, frontier = ${ext.tip.frontier.serialize()}
      where id = 1 and seq = ${fromSeq} returning id
    )${nodes}${heads}
    insert into audit_log (seq, ts, kind, account, role, site, device, ip, session, waybill, fields, purpose, ticket, decision, reason, request_id, detail, prev_hash, hash)
    select * from unnest(${col('seq')}::bigint[], ${col('ts')}::timestamptz[], ${col('kind')}::text[], ${col('account')}::text[], ${col('role')}::text[], ${col('site')}::text[],
      ${col('device')}::text[], ${col('ip')}::text[], ${col('session')}::text[], ${col('waybill')}::text[], ${col('fields')}::text[], ${col('purpose')}::text[],
      ${col('ticket')}::text[], ${col('decision')}::text[], ${col('reason')}::text[], ${col('request_id')}::text[], ${col('detail')}::jsonb[], ${col('prev_hash')}::bytea[], ${col('hash')}::bytea[])
    where exists (select 1 from moved)`;
}

async function lockTip(tx: Transaction<Database>): Promise<Tip> {
  const head = await sql<{ seq: number; hash: Uint8Array; frontier: Uint8Array | null }>`select seq, hash, frontier from audit_head where id = 1 for update`.execute(tx);
  const row = head.rows[0];
  if (!row) throw new Error('audit_head row is missing');
  const seq = Number(row.seq);
  if (!row.frontier) throw new Error('the audit tree frontier is missing: the writer was not initialised');
  return { seq, hash: toBuffer(row.hash), frontier: Frontier.parse(seq, row.frontier) };
}

async function writeTree(tx: Transaction<Database>, ext: Extension): Promise<void> {
  for (let i = 0; i < ext.nodes.length; i += INSERT_CHUNK) {
    await tx.insertInto('audit_tree_nodes').values(ext.nodes.slice(i, i + INSERT_CHUNK).map((n) => ({ level: n.level, idx: n.index, hash: n.hash }))).execute();
  }
  for (let i = 0; i < ext.heads.length; i += INSERT_CHUNK) {
    await tx.insertInto('audit_tree_heads').values(ext.heads.slice(i, i + INSERT_CHUNK).map(headToRow)).onConflict((oc) => oc.column('tree_size').doNothing()).execute();
  }
  await tx.updateTable('audit_head').set({ seq: ext.tip.seq, hash: ext.tip.hash, frontier: ext.tip.frontier.serialize() }).where('id', '=', 1).execute();
}

/**
 * A store written before the tree existed: stream every entry once, under the head lock, to
 * build the frontier, the stored subtrees and the heads every `headEvery` entries. The
 * entries are taken as they are now; the tree protects them from here on.
 */
async function backfill(deps: AuditWriterDeps, headEvery: number): Promise<void> {
  await deps.db.transaction().execute(async (tx) => {
    const head = await sql<{ seq: number; frontier: Uint8Array | null }>`select seq, frontier from audit_head where id = 1 for update`.execute(tx);
    const row = head.rows[0];
    if (!row || row.frontier) return;
    const last = Number(row.seq);
    deps.logger.warn({ entries: last }, 'building the audit Merkle tree over the existing trail (once, after the upgrade)');
    const frontier = Frontier.empty();
    const nodes: Extension['nodes'] = [];
    const heads: SignedTreeHead[] = [];
    const now = new Date();
    for (let from = 1; from <= last; from += 5000) {
      for (const leaf of await leafHashes(tx, from, Math.min(last, from + 4999))) {
        for (const n of frontier.append(leaf, STORED_LEVEL)) nodes.push(n);
        if (frontier.size % headEvery === 0) heads.push(signHead(deps.signer, frontier.size, frontier.root(), now));
      }
    }
    const tip = await sql<{ hash: Uint8Array }>`select hash from audit_head where id = 1`.execute(tx);
    await writeTree(tx, { records: [], nodes, heads, tip: { seq: last, hash: toBuffer(tip.rows[0]!.hash), frontier } });
  });
}

/** Database errors can quote row values; log only the class and SQLSTATE. */
export function errorSummary(err: unknown): { type: string; code?: string } {
  const e = err as { name?: string; code?: string };
  return { type: e?.name ?? typeof err, ...(typeof e?.code === 'string' ? { code: e.code } : {}) };
}
