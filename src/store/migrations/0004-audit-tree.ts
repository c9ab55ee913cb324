import { sql, type Kysely } from 'kysely';

/**
 * The audit trail becomes a Merkle tree with signed tree heads (docs/audit.md):
 * - audit_head.frontier: the compact range of the tree at audit_head.seq (one hash per set bit),
 *   written with every batch so any process continues the tree in O(log n). Null on a store
 *   written before this migration: the next writer to start backfills it (and the heads).
 * - audit_tree_nodes: complete subtrees of 256 leaves and up (level ≥ 8), for inclusion and
 *   consistency proofs in O(log n) reads.
 * - audit_tree_heads: signed tree heads; the key that signs them is outside the store.
 * - The old checkpoints and the wrapped signing key they used are dropped: a key the database
 *   holds proves nothing against whoever can write the database.
 * - Indexes for the auditors' search (newest first by account or waybill).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const statements = [
    `alter table audit_head add column frontier bytea`,
    `update audit_head set frontier = ''::bytea where seq = 0`,
    `create table audit_tree_nodes (
       level smallint not null,
       idx bigint not null,
       hash bytea not null,
       primary key (level, idx))`,
    `create table audit_tree_heads (
       tree_size bigint primary key,
       root bytea not null,
       ts timestamptz not null,
       key_id text not null,
       signature bytea not null)`,
    `drop table audit_checkpoints`,
    `delete from keyring where name like 'audit_signing%'`,
    `create index audit_log_by_account_seq on audit_log (account, seq)`,
    `create index audit_log_by_waybill_seq on audit_log (waybill, seq) where waybill is not null`,
  ];
  for (const statement of statements) await sql.raw(statement).execute(db);
}

export async function down(): Promise<void> {
  throw new Error('not reversible');
}
