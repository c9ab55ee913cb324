import { sql, type Kysely } from 'kysely';

/**
 * Attack review 11: an erasure undone by restoring rows from a dump. Every process reads the
 * `pipl.subject_erased` entries written since the last it read (src/vault/erased.ts: on a data-key
 * cache miss and at most every second on the reveal path), and the reconcile replays them
 * (src/audit/reconcile/pipl.ts): both by this index (partial: no other entry's write path changes).
 */
export const RECONCILED_KINDS_4 = ['pipl.subject_erased'] as const;

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`create index audit_log_subject_erased on audit_log (seq) where kind = 'pipl.subject_erased'`).execute(db);
}

export async function down(): Promise<void> {
  throw new Error('not reversible');
}
