import { sql, type Kysely } from 'kysely';

/**
 * Attack review 11: closing a case reads its two parties from the trail — the opener from
 * `case.opened` (index of migration 0022) and the approver from `case.approved` — so a rewritten
 * `cases.approved_by` no longer lets a third analyst end an investigation. This indexes the
 * approval by case id (partial: no other entry's write path changes).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`create index audit_log_case_approved on audit_log ((detail->>'case')) where kind = 'case.approved'`).execute(db);
}

export async function down(): Promise<void> {
  throw new Error('not reversible');
}
