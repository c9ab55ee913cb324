/**
 * The read side of accounts: what an account looks like to the API. Accounts hold no PII: id,
 * role, site, status, the pending approval, who created and approved it, the devices it used.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { Role } from '../contracts/events.js';
import { AppError } from '../errors.js';
import { devicesOf } from './devices.js';

export interface AccountQuery {
  role?: Role | undefined;
  site?: string | undefined;
  status?: 'active' | 'suspended' | 'pending' | undefined;
  /** Account id prefix. */
  q?: string | undefined;
  limit: number;
  /** The last id of the previous page. */
  cursor?: string | undefined;
}

interface ViewRow {
  id: string;
  role: string;
  site: string | null;
  status: 'active' | 'suspended';
  status_reason: string | null;
  approval: 'approved' | 'pending';
  pending_role: string | null;
  pending_site: string | null;
  requested_by: string | null;
  requested_at: Date | string | null;
  created_by: string | null;
  approved_by: string | null;
  created_at: Date | string;
  mfa_enrolled: boolean;
}

const iso = (t: Date | string | null) => (t === null ? null : new Date(t).toISOString());

/** `status` is 'pending' for an account never approved; a pending promotion shows in `pending_approval`. */
export function accountView(r: ViewRow) {
  const pending = r.approval === 'pending' || r.pending_role !== null;
  return {
    id: r.id,
    role: r.role,
    site: r.site,
    status: r.approval === 'pending' ? ('pending' as const) : r.status,
    status_reason: r.status_reason,
    mfa_enrolled: r.mfa_enrolled,
    pending_approval: pending
      ? { role: r.pending_role ?? r.role, site: r.pending_role !== null ? r.pending_site : r.site, requested_by: r.requested_by, requested_at: iso(r.requested_at) }
      : null,
    created_by: r.created_by,
    approved_by: r.approved_by,
    created_at: iso(r.created_at),
  };
}

const VIEW_COLUMNS = ['id', 'role', 'site', 'status', 'status_reason', 'approval', 'pending_role', 'pending_site', 'requested_by', 'requested_at', 'created_by', 'approved_by', 'created_at', 'mfa_secret'] as const;

/** The account's row as the views need it; 404 when it does not exist. */
export async function accountRow(db: Kysely<Database>, id: string) {
  const r = await db.selectFrom('accounts').select(VIEW_COLUMNS).where('id', '=', id).executeTakeFirst();
  if (!r) throw new AppError('not_found', `account ${id} does not exist`);
  return r;
}

export const toView = ({ mfa_secret, ...r }: Awaited<ReturnType<typeof accountRow>>) => accountView({ ...r, mfa_enrolled: mfa_secret !== null });

/** Accounts in id order, filtered, one page at a time (keyset on id). */
export async function listAccounts(db: Kysely<Database>, q: AccountQuery) {
  let query = db.selectFrom('accounts').select(VIEW_COLUMNS);
  if (q.role) query = query.where('role', '=', q.role);
  if (q.site) query = query.where('site', '=', q.site);
  if (q.status === 'pending') query = query.where((eb) => eb.or([eb('approval', '=', 'pending'), eb('pending_role', 'is not', null)]));
  else if (q.status) query = query.where('status', '=', q.status).where('approval', '=', 'approved');
  if (q.q) query = query.where('id', 'like', `${q.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  if (q.cursor) query = query.where('id', '>', q.cursor);
  const rows = await query.orderBy('id').limit(q.limit + 1).execute();
  const page = rows.slice(0, q.limit).map(toView);
  return { accounts: page, next_cursor: rows.length > q.limit ? page[page.length - 1]!.id : null };
}

/** One account with the devices it used. */
export async function getAccount(db: Kysely<Database>, id: string) {
  return { ...toView(await accountRow(db, id)), devices: await devicesOf(db, id) };
}
