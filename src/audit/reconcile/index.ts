/**
 * Reconciles the state that decides who may see what, and what detection answers, with the trail
 * (review 3: the database owner promoted an it_admin to manager and inserted an assignment straight
 * into the store; the trail was untouched, so `audit verify` said OK). Every legitimate change of
 * these rows is recorded by the trail in the same transaction, so a row the trail cannot explain
 * was written around Warden.
 *
 * One check per concern, each replaying the entries that write its table (in seq order) and naming
 * every row that differs: accounts (accounts.ts); assignments, tickets and search grants — the work
 * that backs a reveal (work.ts); cases and service tokens — grants of scope (grants.ts); exceptions,
 * responses and detector settings — what detection does (detection.ts). A row the trail says must
 * exist and that is gone shows too where its absence widens access (a response lifted by deleting it,
 * an approved setting reverted to its default). Review 9 added an approval that approved other
 * settings than were requested, the admin token's revocation (admin-token.ts) and the planted
 * canaries, per batch (canaries.ts). Review 10 added the marked exports attribution reads
 * (exports.ts), who asked — each requester, opener and creator column against the actor of the
 * entry that filed it — and the PIPL requests and impact assessments (pipl.ts). Read-only; at most MAX_FINDINGS named; values are ids,
 * roles, sites and states, never a customer's data. Run it after `audit verify` (which proves the
 * trail itself); `warden serve` also runs it on a schedule (schedule.ts: a metric, an alert rule, the log).
 */
import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema.js';
import { reconcileAccounts } from './accounts.js';
import { reconcileAssignments, reconcileSearchGrants, reconcileTickets } from './work.js';
import { reconcileCases, reconcileServiceTokens } from './grants.js';
import { reconcileDetectorSettings, reconcileExceptions, reconcileResponses } from './detection.js';
import { reconcileAdminToken } from './admin-token.js';
import { reconcileCanaries } from './canaries.js';
import { reconcileExports } from './exports.js';
import { reconcilePia, reconcilePiplRequests } from './pipl.js';
import { MAX_FINDINGS, type Check, type Finding, type ReconciledTable } from './trail.js';

export { MAX_FINDINGS, type Finding, type ReconciledTable } from './trail.js';

export interface ReconcileResult {
  ok: boolean;
  /** Rows checked per table. */
  checked: Record<ReconciledTable, number>;
  findings: Finding[];
  /** More findings than MAX_FINDINGS were found; only the first are listed. */
  truncated: boolean;
}

const CHECKS: ReadonlyArray<readonly [ReconciledTable, Check]> = [
  ['accounts', reconcileAccounts],
  ['assignments', reconcileAssignments],
  ['tickets', reconcileTickets],
  ['search_grants', reconcileSearchGrants],
  ['cases', reconcileCases],
  ['service_tokens', reconcileServiceTokens],
  ['detect_exceptions', reconcileExceptions],
  ['account_responses', reconcileResponses],
  ['detector_settings', reconcileDetectorSettings],
  ['admin_token_revocations', reconcileAdminToken],
  ['trace_canaries', reconcileCanaries],
  ['trace_exports', reconcileExports],
  ['pipl_requests', reconcilePiplRequests],
  ['pipl_pia', reconcilePia],
];

export async function reconcileState(db: Kysely<Database>): Promise<ReconcileResult> {
  const findings: Finding[] = [];
  let truncated = false;
  const add = (f: Finding) => {
    if (findings.length < MAX_FINDINGS) findings.push(f);
    else truncated = true;
  };
  const checked = {} as Record<ReconciledTable, number>;
  for (const [table, check] of CHECKS) checked[table] = await check(db, add);
  return { ok: findings.length === 0 && !truncated, checked, findings, truncated };
}

/** One line per table for people: "12 accounts, 3 cases, …". */
export function checkedSummary(checked: Record<ReconciledTable, number>): string {
  return Object.entries(checked).map(([table, n]) => `${n} ${table.replace(/_/g, ' ')}`).join(', ');
}
