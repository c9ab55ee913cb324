/**
 * Accounts: every account's status, role, site, approval and pending role/site equal the replay of
 * its `admin.account_created` / `_changed` / `_approved` / `_suspended` / `_unsuspended` entries.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema.js';
import { differences, entriesOf, replayAll, type Add, type TrailEntry } from './trail.js';

interface AccountState {
  status: string;
  role: string | null;
  site: string | null;
  approval: string;
  pending_role: string | null;
  pending_site: string | null;
}

const KINDS = ['admin.account_created', 'admin.account_changed', 'admin.account_approved', 'admin.account_suspended', 'admin.account_unsuspended'] as const;

/** Replays one account's administration entries into the row they must have left. */
function step(state: AccountState | undefined, e: TrailEntry): AccountState | undefined {
  switch (e.kind) {
    case 'admin.account_created':
      return { status: 'active', role: e.role, site: e.site, approval: String(e.detail.approval ?? 'approved'), pending_role: null, pending_site: null };
    case 'admin.account_suspended':
    case 'admin.account_unsuspended':
      return state && { ...state, status: e.kind === 'admin.account_suspended' ? 'suspended' : 'active' };
    case 'admin.account_approved':
      return state && { ...state, role: e.role, site: e.site, approval: 'approved', pending_role: null, pending_site: null };
    case 'admin.account_changed':
      if (!state) return state;
      if (e.detail.outcome === 'applied') return { ...state, role: e.role, site: e.site, approval: 'approved', pending_role: null, pending_site: null };
      // A change waiting for approval: a never-approved account's request itself changes; an active one keeps its role meanwhile.
      return state.approval === 'pending' ? { ...state, role: e.role, site: e.site } : { ...state, pending_role: e.role, pending_site: e.site };
    default:
      return state;
  }
}

export async function reconcileAccounts(db: Kysely<Database>, add: Add): Promise<number> {
  const expected = replayAll(await entriesOf(db, KINDS), (e) => e.account, step);
  const rows = await db.selectFrom('accounts').select(['id', 'status', 'role', 'site', 'approval', 'pending_role', 'pending_site']).orderBy('id').execute();
  for (const r of rows) {
    const want = expected.get(r.id);
    if (!want) {
      add({ table: 'accounts', key: r.id, problem: 'no trail entry created this account' });
      continue;
    }
    const problem = differences<AccountState>(want, r, ['status', 'role', 'site', 'approval', 'pending_role', 'pending_site']);
    if (problem) add({ table: 'accounts', key: r.id, problem });
  }
  return rows.length;
}
