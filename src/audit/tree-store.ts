/**
 * The Merkle tree as the store keeps it: complete subtrees of 2^8 leaves and up in
 * audit_tree_nodes, the frontier beside the head, signed heads in audit_tree_heads. Anything
 * below level 8 is recomputed from at most 256 entries.
 *
 * Invariants:
 * - A proof costs O(log n) stored nodes plus at most a few 256-entry blocks, whatever the size.
 * - Nothing here is trusted: a proof or root built from tampered rows fails against a signed
 *   head, and callers check it before answering.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../store/schema.js';
import { toBuffer } from '../store/db.js';
import { consistencyRanges, inclusionRanges, nodeHash, rangeHash, subtreesOf, type Range, type Subtree } from './merkle.js';
import { leafOfRow } from './rows.js';
import type { SignedTreeHead } from './sth.js';

type Db = Kysely<Database> | Transaction<Database>;

/** Subtrees at this level and above are stored when finished; below it they are recomputed. */
export const STORED_LEVEL = 8;
const BLOCK = 2 ** STORED_LEVEL;

export class TreeDataMissing extends Error {}

/** Leaf hashes of entries with seq in [from, to] (1-based, inclusive), in order; every seq must exist. */
export async function leafHashes(db: Db, from: number, to: number): Promise<Buffer[]> {
  if (to < from) return [];
  const rows = await db.selectFrom('audit_log').selectAll().where('seq', '>=', from).where('seq', '<=', to).orderBy('seq').execute();
  if (rows.length !== to - from + 1) throw new TreeDataMissing(`audit entries ${from}..${to} are not all present (${rows.length} of ${to - from + 1})`);
  return rows.map((r, i) => {
    if (Number(r.seq) !== from + i) throw new TreeDataMissing(`audit entry ${from + i} is missing`);
    return leafOfRow(r);
  });
}

/** Hash of a complete, aligned run of leaves (length a power of two). */
function perfectHash(leaves: Buffer[]): Buffer {
  let level = leaves;
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(nodeHash(level[i]!, level[i + 1]!));
    level = next;
  }
  return level[0]!;
}

const keyOf = (s: Subtree) => `${s.level}/${s.index}`;

/** Looks up every subtree in `needed`: stored nodes in one query, low subtrees from their 256-entry blocks. */
export async function loadSubtrees(db: Db, needed: readonly Subtree[]): Promise<(s: Subtree) => Buffer> {
  const found = new Map<string, Buffer>();
  const high = needed.filter((s) => s.level >= STORED_LEVEL);
  if (high.length) {
    const pairs = sql.join(high.map((s) => sql`(${s.level}::smallint, ${s.index}::bigint)`));
    const rows = await sql<{ level: number; idx: number; hash: Uint8Array }>`
      select level, idx, hash from audit_tree_nodes where (level, idx) in (${pairs})`.execute(db);
    for (const r of rows.rows) found.set(`${Number(r.level)}/${Number(r.idx)}`, toBuffer(r.hash));
    for (const s of high) {
      if (!found.has(keyOf(s))) throw new TreeDataMissing(`tree node at level ${s.level}, index ${s.index} is missing from audit_tree_nodes`);
    }
  }
  // Low subtrees: fetch each 256-entry block once, as far as the furthest leaf needed in it.
  const blocks = new Map<number, number>();
  for (const s of needed) {
    if (s.level >= STORED_LEVEL) continue;
    const end = (s.index + 1) * 2 ** s.level;
    const block = Math.floor((end - 1) / BLOCK);
    blocks.set(block, Math.max(blocks.get(block) ?? 0, end));
  }
  for (const [block, end] of blocks) {
    const start = block * BLOCK;
    const leaves = await leafHashes(db, start + 1, end);
    for (const s of needed) {
      if (s.level >= STORED_LEVEL) continue;
      const a = s.index * 2 ** s.level;
      if (a < start || a >= start + BLOCK) continue;
      found.set(keyOf(s), perfectHash(leaves.slice(a - start, a - start + 2 ** s.level)));
    }
  }
  return (s) => {
    const h = found.get(keyOf(s));
    if (!h) throw new TreeDataMissing(`subtree ${keyOf(s)} was not loaded`);
    return h;
  };
}

async function hashesOf(db: Db, ranges: Range[]): Promise<Buffer[]> {
  const lookup = await loadSubtrees(db, subtreesOf(ranges));
  return ranges.map((r) => rangeHash(r, lookup));
}

/** Root of the first `size` entries, from stored nodes. */
export async function rootAt(db: Db, size: number): Promise<Buffer> {
  const [root] = await hashesOf(db, [[0, size]]);
  return root!;
}

/** RFC 6962 audit path of leaf `index` (entry seq index + 1) in the tree of `size` entries. */
export async function inclusionProof(db: Db, index: number, size: number): Promise<Buffer[]> {
  return hashesOf(db, inclusionRanges(index, size));
}

/** RFC 6962 consistency proof from the tree of `from` entries to the tree of `to` entries. */
export async function consistencyProof(db: Db, from: number, to: number): Promise<Buffer[]> {
  if (from === 0 || from === to) return [];
  return hashesOf(db, consistencyRanges(from, to));
}

export function headFromRow(r: { tree_size: number; root: Uint8Array; ts: Date | string; key_id: string; signature: Uint8Array }): SignedTreeHead {
  return { treeSize: Number(r.tree_size), root: toBuffer(r.root), timestamp: new Date(r.ts), keyId: r.key_id, signature: toBuffer(r.signature) };
}

export function headToRow(h: SignedTreeHead) {
  return { tree_size: h.treeSize, root: h.root, ts: h.timestamp, key_id: h.keyId, signature: h.signature };
}

export async function latestHead(db: Db): Promise<SignedTreeHead | null> {
  const row = await db.selectFrom('audit_tree_heads').selectAll().orderBy('tree_size', 'desc').limit(1).executeTakeFirst();
  return row ? headFromRow(row) : null;
}
