/**
 * Accounts: every account's status, role, site, approval, pending role/site and who asked for what
 * is pending (`requested_by`) equal the replay of its `admin.account_created` / `_changed` /
 * `_approved` / `_suspended` / `_unsuspended` entries, and its `created_by` names the actor of its
 * creation entry (attack review 10: both were rewritten to pass the two-person rule; an account
 * from before migration 0005 has none, and null is left unchecked: links are read from the trail).
 * Its second factor too (attack review 11): a row with a factor the trail never enrolled, or none
 * where the trail's last `admin.mfa_enrolled` stands (not dropped by an approval's `mfa_cleared`).
 */
import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema.js';
import { differences, entriesOf, replayAll, str, type Add, type TrailEntry } from './trail.js';

interface AccountState {
  status: string;
  role: string | null;
  site: string | null;
  approval: string;
  pending_role: string | null;
  pending_site: string | null;
  requested_by: string | null;
  created_by: string | null;
}

const KINDS = ['admin.account_created', 'admin.account_changed', 'admin.account_approved', 'admin.account_suspended', 'admin.account_unsuspended'] as const;

/** Replays one account's administration entries into the row they must have left. */
function step(state: AccountState | undefined, e: TrailEntry): AccountState | undefined {
  switch (e.kind) {
    case 'admin.account_created':
      return { status: 'active', role: e.role, site: e.site, approval: String(e.detail.approval ?? 'approved'), pending_role: null, pending_site: null, requested_by: e.detail.approval === 'pending' ? str(e.detail.actor) : null, created_by: str(e.detail.actor) };
    case 'admin.account_suspended':
    case 'admin.account_unsuspended':
      return state && { ...state, status: e.kind === 'admin.account_suspended' ? 'suspended' : 'active' };
    case 'admin.account_approved':
      return state && { ...state, role: e.role, site: e.site, approval: 'approved', pending_role: null, pending_site: null, requested_by: null };
    case 'admin.account_changed':
      if (!state) return state;
      if (e.detail.outcome === 'applied') return { ...state, role: e.role, site: e.site, approval: 'approved', pending_role: null, pending_site: null, requested_by: null };
      // A change waiting for approval: a never-approved account's request itself changes; an active one keeps its role meanwhile.
      return state.approval === 'pending' ? { ...state, role: e.role, site: e.site, requested_by: str(e.detail.actor) } : { ...state, pending_role: e.role, pending_site: e.site, requested_by: str(e.detail.actor) };
    default:
      return state;
  }
}

export async function reconcileAccounts(db: Kysely<Database>, add: Add): Promise<number> {
  const expected = replayAll(await entriesOf(db, KINDS), (e) => e.account, step);
  const rows = await db.selectFrom('accounts').select(['id', 'status', 'role', 'site', 'approval', 'pending_role', 'pending_site', 'requested_by', 'created_by', 'mfa_secret']).orderBy('id').execute();
  const factors = await factorsPerTrail(db);
  for (const r of rows) {
    const want = expected.get(r.id);
    if (!want) {
      add({ table: 'accounts', key: r.id, problem: 'no trail entry created this account' });
      continue;
    }
    const problem = differences<AccountState>(want, { ...r, created_by: r.created_by ?? want.created_by }, ['status', 'role', 'site', 'approval', 'pending_role', 'pending_site', 'requested_by', 'created_by']);
    if (problem) add({ table: 'accounts', key: r.id, problem });
    const enrolled = factors.get(r.id) ?? false;
    if (enrolled !== (r.mfa_secret !== null)) add({ table: 'accounts', key: r.id, problem: enrolled ? 'second factor: the trail enrolled one, the row has none' : 'second factor: the row has one no trail entry enrolled' });
  }
  return rows.length;
}

/** Whether each account has a second factor per the trail (migration 0024's partial index `audit_log_factor_changes`). */
async function factorsPerTrail(db: Kysely<Database>): Promise<Map<string, boolean>> {
  const rows = await db
    .selectFrom('audit_log')
    .select(['account', 'kind', 'detail'])
    .where('kind', 'in', ['admin.mfa_enrolled', 'admin.account_approved'])
    .where('decision', '=', 'ok')
    .orderBy('seq')
    .execute();
  const out = new Map<string, boolean>();
  for (const e of rows) {
    if (!e.account) continue;
    if (e.kind === 'admin.mfa_enrolled') out.set(e.account, true);
    else if ((typeof e.detail === 'string' ? JSON.parse(e.detail) : e.detail)?.mfa_cleared === true) out.set(e.account, false);
  }
  return out;
}
