/** Small read-only questions about accounts that several identity modules ask. */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../store/schema.js';
import { ANALYST_ROLES } from '../access/roles.js';

/**
 * Does an approved analyst exist? Suspended ones count unless `activeOnly`: suspending every
 * analyst must not reopen the bootstrap path for the admin token.
 */
export async function approvedAnalystExists(db: Kysely<Database> | Transaction<Database>, opts: { activeOnly?: boolean } = {}): Promise<boolean> {
  let q = db.selectFrom('accounts').select('id').where('role', 'in', [...ANALYST_ROLES]).where('approval', '=', 'approved');
  if (opts.activeOnly) q = q.where('status', '=', 'active');
  return (await q.limit(1).executeTakeFirst()) !== undefined;
}

/**
 * The account's second factor as the trail tells it (attack review 11): its last enrolment
 * (`admin.mfa_enrolled`, with who enrolled it) unless an approval dropped it since
 * (`admin.account_approved` with `mfa_cleared`). A row without a factor while the trail says it
 * has one is a factor removed outside Warden — even with a seal replayed from before enrolment.
 */
export async function factorPerTrail(db: Kysely<Database> | Transaction<Database>, account: string): Promise<{ enrolled: boolean; by: string | null }> {
  const e = await db
    .selectFrom('audit_log')
    .select(['kind', 'detail'])
    .where('account', '=', account)
    .where('decision', '=', 'ok')
    .where((eb) => eb.or([eb('kind', '=', 'admin.mfa_enrolled'), eb.and([eb('kind', '=', 'admin.account_approved'), eb(sql<string>`detail->>'mfa_cleared'`, '=', 'true')])]))
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!e || e.kind !== 'admin.mfa_enrolled') return { enrolled: false, by: null };
  const d = (typeof e.detail === 'string' ? JSON.parse(e.detail) : e.detail) as { actor?: unknown } | null;
  return { enrolled: true, by: typeof d?.actor === 'string' ? d.actor : null };
}
