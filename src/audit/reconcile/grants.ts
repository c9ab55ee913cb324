/**
 * Grants of scope: cases (an open case backs an analyst's reveals of the parcels and accounts it
 * names) and service tokens (a token decides which events, sites and accounts a system may speak
 * for). Each is replayed from its entries: a case from `case.opened` / `_approved` / `_closed`
 * (its scope is what `case.opened` named), a token from `admin.service_token_created` /
 * `_approved` / `_revoked` (its registration is what `_created` recorded).
 */
import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema.js';
import { sortKeys } from '../chain.js';
import { differences, entriesOf, ms, replayAll, str, type Add, type TrailEntry } from './trail.js';

interface CaseState {
  status: string;
  /** The actor of `case.opened` (attack review 10: rewritten so the opener could approve). */
  opened_by: string | null;
  approved_by: string | null;
  accounts: string;
  waybills: string;
  /**
   * When it was opened, approved and closed: the ts of `case.opened` / `_approved` / `_closed`
   * (attack review 11: `approved_at` moved to 2099 widened an open case's scope, which covers what
   * its accounts touched before approval). Milliseconds, or null.
   */
  created_at: number | null;
  approved_at: number | null;
  closed_at: number | null;
}

const list = (v: unknown): string => (Array.isArray(v) ? v.map(String).sort().join(',') : '');

function caseStep(state: CaseState | undefined, e: TrailEntry): CaseState | undefined {
  const at = e.ts.getTime();
  if (e.kind === 'case.opened') return { status: 'pending', opened_by: str(e.detail.actor), approved_by: null, accounts: list(e.detail.accounts), waybills: list(e.detail.waybills), created_at: at, approved_at: null, closed_at: null };
  if (!state) return state;
  if (e.kind === 'case.approved') return { ...state, status: 'open', approved_by: str(e.detail.actor), approved_at: at };
  if (e.kind === 'case.closed') return { ...state, status: 'closed', closed_at: at };
  return state;
}

/** case id → its scope values, sorted and joined (the form caseStep records). */
function grouped(rows: ReadonlyArray<{ case_id: string; v: string }>): Map<string, string> {
  const by = new Map<string, string[]>();
  for (const r of rows) by.set(r.case_id, [...(by.get(r.case_id) ?? []), r.v]);
  return new Map([...by].map(([id, vs]) => [id, vs.sort().join(',')]));
}

export async function reconcileCases(db: Kysely<Database>, add: Add): Promise<number> {
  const expected = replayAll(await entriesOf(db, ['case.opened', 'case.approved', 'case.closed']), (e) => str(e.detail.case), caseStep);
  const accounts = grouped(await db.selectFrom('case_accounts').select(['case_id', 'account as v']).execute());
  const waybills = grouped(await db.selectFrom('case_waybills').select(['case_id', 'waybill as v']).execute());
  const rows = await db.selectFrom('cases').select(['id', 'status', 'opened_by', 'approved_by', 'created_at', 'approved_at', 'closed_at']).orderBy('id').execute();
  for (const r of rows) {
    const want = expected.get(r.id);
    if (!want) {
      add({ table: 'cases', key: r.id, problem: 'no case.opened entry opened this case' });
      continue;
    }
    const times = { created_at: ms(r.created_at), approved_at: ms(r.approved_at), closed_at: ms(r.closed_at) };
    const problem = differences<CaseState>(want, { ...r, ...times, accounts: accounts.get(r.id) ?? '', waybills: waybills.get(r.id) ?? '' }, ['status', 'opened_by', 'approved_by', 'accounts', 'waybills', 'created_at', 'approved_at', 'closed_at']);
    if (problem) add({ table: 'cases', key: r.id, problem });
  }
  // Scope rows of a case that does not exist at all (the case row deleted, its scope left to back reveals).
  const known = new Set(rows.map((r) => r.id));
  for (const id of new Set([...accounts.keys(), ...waybills.keys()])) if (!known.has(id)) add({ table: 'cases', key: id, problem: 'scope rows name a case that has no row' });
  return rows.length;
}

interface TokenState {
  account: string | null;
  approval: string;
  /** Who asked for a token that waited for a second person (the actor of `_created`), else null. */
  requested_by: string | null;
  revoked: string;
  registration: string;
}

/** The registration's meaning, whatever order jsonb keeps its keys in. */
function registrationOf(v: Record<string, unknown>): string {
  const pick = (k: string) => (v[k] === undefined ? null : v[k]);
  return JSON.stringify(sortKeys({ events: pick('events'), sites: pick('sites'), accounts_prefix: pick('accounts_prefix'), accounts: pick('accounts'), backfill: pick('backfill') }));
}

function tokenStep(state: TokenState | undefined, e: TrailEntry): TokenState | undefined {
  if (e.kind === 'admin.service_token_created') return { account: e.account, approval: String(e.detail.approval ?? 'approved'), requested_by: e.detail.approval === 'pending' ? str(e.detail.actor) : null, revoked: 'no', registration: registrationOf(e.detail) };
  if (!state) return state;
  if (e.kind === 'admin.service_token_approved') return { ...state, approval: 'approved' };
  if (e.kind === 'admin.service_token_revoked') return { ...state, revoked: 'yes' };
  return state;
}

export async function reconcileServiceTokens(db: Kysely<Database>, add: Add): Promise<number> {
  const expected = replayAll(await entriesOf(db, ['admin.service_token_created', 'admin.service_token_approved', 'admin.service_token_revoked']), (e) => str(e.detail.token_id), tokenStep);
  const rows = await db.selectFrom('service_tokens').select(['id', 'account', 'approval', 'requested_by', 'revoked_at', 'registration']).orderBy('id').execute();
  for (const r of rows) {
    const want = expected.get(r.id);
    if (!want) {
      add({ table: 'service_tokens', key: r.id, problem: 'no admin.service_token_created entry issued this token' });
      continue;
    }
    const registration = registrationOf((typeof r.registration === 'string' ? JSON.parse(r.registration) : r.registration ?? {}) as Record<string, unknown>);
    const problem = differences<TokenState>(want, { account: r.account, approval: r.approval, requested_by: r.requested_by, revoked: r.revoked_at ? 'yes' : 'no', registration }, ['account', 'approval', 'requested_by', 'revoked', 'registration']);
    if (problem) add({ table: 'service_tokens', key: r.id, problem });
  }
  return rows.length;
}
