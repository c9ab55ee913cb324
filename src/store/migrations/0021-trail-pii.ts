import { sql, type Kysely } from 'kysely';

/**
 * Attack review 10:
 * - Leak attribution and `warden audit reconcile` read marked exports from their `access.export`
 *   entries (src/trace/export-trail.ts), not from `trace_exports` alone: a partial index finds them.
 * - A detector change's reason (free text) no longer goes into the trail, only its fingerprint:
 *   the approved change keeps it on its row, `detector_settings.reason` (null for rows before).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of [
    `create index audit_log_exports on audit_log (seq) where kind = 'access.export'`,
    `alter table detector_settings add column reason text`,
  ]) {
    await sql.raw(statement).execute(db);
  }
}

export async function down(): Promise<void> {
  throw new Error('not reversible');
}
