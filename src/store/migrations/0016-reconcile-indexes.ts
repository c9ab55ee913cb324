import { sql, type Kysely } from 'kysely';

/**
 * `audit reconcile` (and `warden serve`'s hourly run of it) reads the entries that write the state
 * tables by kind; with no index on kind each check read the whole trail (review 5). Two partial
 * indexes: the administrative kinds (few entries, so cheap to keep on the write path), and the
 * tickets' entries by ticket for "the last `work.ticket` of each ticket". The kinds here must
 * include every kind `src/audit/reconcile/` replays with `entriesOf`.
 */
export const RECONCILED_KINDS = [
  'admin.account_created', 'admin.account_changed', 'admin.account_approved', 'admin.account_suspended', 'admin.account_unsuspended',
  'case.opened', 'case.approved', 'case.closed',
  'admin.service_token_created', 'admin.service_token_approved', 'admin.service_token_revoked',
  'watch.exception_added', 'watch.exception_approved', 'watch.exception_removed',
  'watch.response_applied', 'watch.response_cleared',
  'detect.settings_changed',
] as const;

export async function up(db: Kysely<unknown>): Promise<void> {
  const kinds = RECONCILED_KINDS.map((k) => `'${k}'`).join(', ');
  await sql.raw(`create index audit_log_reconciled_kinds on audit_log (kind, seq) where kind in (${kinds})`).execute(db);
  await sql.raw(`create index audit_log_ticket_entries on audit_log (ticket, seq) where kind = 'work.ticket'`).execute(db);
}

export async function down(): Promise<void> {
  throw new Error('not reversible');
}
