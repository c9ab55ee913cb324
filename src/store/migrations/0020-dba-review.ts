import { sql, type Kysely } from 'kysely';

/**
 * Attack review 9 (the database owner with psql):
 * - `trace_canaries.waybill` becomes `mac`: the canary's number as a keyed blind index (hex), the
 *   number itself sealed in `sealed` with a key the store holds only wrapped by the master key
 *   (src/trace/canaries.ts). `select waybill from trace_canaries` no longer lists the tripwires.
 *   Rows of an older store keep their plaintext number in `mac` with `sealed` null until the next
 *   start seals them (audited as `trace.canaries_sealed`).
 * - The entries the reconcile now also replays by kind (a detector request, the admin token's
 *   configuration and disabling, canary plantings) get their own partial index, like 0016's.
 */
export const RECONCILED_KINDS_2 = [
  'detect.settings_requested',
  'admin.admin_token_disabled', 'admin.admin_token_configured',
  'trace.canaries_planted', 'trace.canaries_rotated', 'trace.canary_superseded', 'trace.canaries_sealed',
] as const;

export async function up(db: Kysely<unknown>): Promise<void> {
  const kinds = RECONCILED_KINDS_2.map((k) => `'${k}'`).join(', ');
  for (const statement of [
    `create index audit_log_reconciled_kinds_2 on audit_log (kind, seq) where kind in (${kinds})`,
    `alter table trace_canaries rename column waybill to mac`,
    `alter table trace_canaries add column sealed bytea`,
  ]) {
    await sql.raw(statement).execute(db);
  }
}

export async function down(): Promise<void> {
  throw new Error('not reversible');
}
