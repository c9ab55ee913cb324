/**
 * Reconciles the state that decides who may see what with the trail (review 3: the database owner
 * promoted an it_admin to manager and inserted an assignment straight into the store; the trail
 * was untouched, so `audit verify` said OK). The trail records every legitimate change of these
 * rows in the same transaction, so a row the trail cannot explain was written around Warden.
 *
 * Checks: every account's status, role, site, approval and pending role/site equal the replay of
 * its `admin.account_created` / `_changed` / `_approved` / `_suspended` / `_unsuspended` entries
 * (in seq order); every assignment has a
 * `work.assigned` entry for its waybill, account and task. Read-only; at most MAX_FINDINGS named.
 * Run it after `audit verify` (which proves the trail itself): together they say whether the state
 * rows are the trail's. Not covered yet: sessions, cases, responses, exceptions, alerts.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../store/schema.js';

export const MAX_FINDINGS = 100;

export interface Finding {
  table: 'accounts' | 'assignments';
  key: string;
  problem: string;
}

export interface ReconcileResult {
  ok: boolean;
  checked: { accounts: number; assignments: number };
  findings: Finding[];
  /** More findings than MAX_FINDINGS were found; only the first are listed. */
  truncated: boolean;
}

interface AccountState {
  status: string;
  role: string | null;
  site: string | null;
  approval: string;
  pending_role: string | null;
  pending_site: string | null;
}

const parse = (v: unknown): Record<string, unknown> => (typeof v === 'string' ? JSON.parse(v) : (v ?? {})) as Record<string, unknown>;

/** Replays one account's administration entries into the row they must have left. */
function replay(state: AccountState | undefined, e: { kind: string; role: string | null; site: string | null; detail: Record<string, unknown> }): AccountState | undefined {
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

async function reconcileAccounts(db: Kysely<Database>, add: (f: Finding) => void): Promise<number> {
  const entries = await db
    .selectFrom('audit_log')
    .select(['kind', 'account', 'role', 'site', 'detail'])
    .where('kind', 'in', ['admin.account_created', 'admin.account_changed', 'admin.account_approved', 'admin.account_suspended', 'admin.account_unsuspended'])
    .where('decision', '=', 'ok')
    .where('account', 'is not', null)
    .orderBy('seq')
    .execute();
  const expected = new Map<string, AccountState | undefined>();
  for (const e of entries) expected.set(e.account!, replay(expected.get(e.account!), { kind: e.kind, role: e.role, site: e.site, detail: parse(e.detail) }));
  const rows = await db.selectFrom('accounts').select(['id', 'status', 'role', 'site', 'approval', 'pending_role', 'pending_site']).orderBy('id').execute();
  for (const r of rows) {
    const want = expected.get(r.id);
    if (!want) {
      add({ table: 'accounts', key: r.id, problem: 'no trail entry created this account' });
      continue;
    }
    const differs = (['status', 'role', 'site', 'approval', 'pending_role', 'pending_site'] as const).filter((k) => (r[k] ?? null) !== (want[k] ?? null));
    if (differs.length) add({ table: 'accounts', key: r.id, problem: `${differs.join(', ')} differ from what the trail recorded (${differs.map((k) => `${k}: trail ${String(want[k])}, row ${String(r[k])}`).join('; ')})` });
  }
  return rows.length;
}

async function reconcileAssignments(db: Kysely<Database>, add: (f: Finding) => void): Promise<number> {
  const unexplained = await sql<{ waybill: string; account: string; task: string }>`
    select a.waybill, a.account, a.task from assignments a
    where not exists (
      select 1 from audit_log l
      where l.kind = 'work.assigned' and l.decision = 'ok' and l.waybill = a.waybill and l.account = a.account
        and (l.detail->>'task') = a.task)
    order by a.waybill, a.account, a.task
    limit ${MAX_FINDINGS + 1}`.execute(db);
  for (const r of unexplained.rows) add({ table: 'assignments', key: `${r.waybill}/${r.account}/${r.task}`, problem: 'no work.assigned entry gave this task to this account' });
  const count = await db.selectFrom('assignments').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(count.n);
}

export async function reconcileState(db: Kysely<Database>): Promise<ReconcileResult> {
  const findings: Finding[] = [];
  let truncated = false;
  const add = (f: Finding) => {
    if (findings.length < MAX_FINDINGS) findings.push(f);
    else truncated = true;
  };
  const accounts = await reconcileAccounts(db, add);
  const assignments = await reconcileAssignments(db, add);
  return { ok: findings.length === 0 && !truncated, checked: { accounts, assignments }, findings, truncated };
}
