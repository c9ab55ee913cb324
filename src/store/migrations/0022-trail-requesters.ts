import { sql, type Kysely } from 'kysely';

/**
 * Attack review 10 (the database owner rewrote who asked): the second person of every two-person
 * rule is now checked against the requester the trail recorded (src/audit/requested-by.ts), and
 * creation links are read from the `admin.account_created` entries (src/access/self.ts). Those
 * reads are by a detail key of a few kinds, so each gets a partial index (only entries of its kind
 * are indexed: the write path of every other entry is unchanged):
 * - the filing entry of a request by its id (case, exception, service token, PIPL request, PIA);
 * - an account's administration entries by account (its pending request), and its creation by
 *   account and by creator (links followed up and down);
 * - the PIPL entries the reconcile now replays by kind (RECONCILED_KINDS_3).
 */
export const RECONCILED_KINDS_3 = ['pipl.request_filed', 'pipl.request_approved', 'pipl.request_rejected', 'pipl.pia_recorded'] as const;

export async function up(db: Kysely<unknown>): Promise<void> {
  const kinds = RECONCILED_KINDS_3.map((k) => `'${k}'`).join(', ');
  for (const statement of [
    `create index audit_log_case_filed on audit_log ((detail->>'case')) where kind = 'case.opened'`,
    `create index audit_log_exception_filed on audit_log ((detail->>'exception')) where kind = 'watch.exception_added'`,
    `create index audit_log_token_filed on audit_log ((detail->>'token_id')) where kind = 'admin.service_token_created'`,
    `create index audit_log_pipl_request_filed on audit_log ((detail->>'request')) where kind = 'pipl.request_filed'`,
    `create index audit_log_pia_filed on audit_log ((detail->>'pia')) where kind = 'pipl.pia_recorded'`,
    `create index audit_log_account_admin on audit_log (account, seq) where kind in ('admin.account_created', 'admin.account_changed', 'admin.account_approved')`,
    `create index audit_log_account_creator on audit_log ((detail->>'actor')) where kind = 'admin.account_created'`,
    `create index audit_log_reconciled_kinds_3 on audit_log (kind, seq) where kind in (${kinds})`,
  ]) {
    await sql.raw(statement).execute(db);
  }
}

export async function down(): Promise<void> {
  throw new Error('not reversible');
}
