/** Small read-only questions about accounts that several identity modules ask. */
import type { Kysely, Transaction } from 'kysely';
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
