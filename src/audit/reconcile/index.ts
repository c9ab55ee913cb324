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
 * entry that filed it — and the PIPL requests and impact assessments (pipl.ts). Review 11 added
 * case times (grants.ts), erasures undone by restored rows (pipl.ts) and the quota ledger recounted
 * from the trail (quotas.ts). Read-only; at most MAX_FINDINGS named; values are ids,
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
import { reconcileErasures, reconcilePia, reconcilePiplRequests } from './pipl.js';
import { reconcileQuotas } from './quotas.js';
import { loadPolicy, policyHash, type Policy } from '../../access/policy.js';
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
  ['pipl_erasures', reconcileErasures],
];

export interface ReconcileOptions {
  /**
   * The policy in force, for the quota recount (quotas.ts). Not given: the file of
   * WARDEN_POLICY_FILE (or the defaults) when it is the policy the trail's last `policy.loaded`
   * recorded; otherwise the quotas are not recounted (0 checked).
   */
  policy?: Pick<Policy, 'quotas' | 'search_quotas'>;
  /**
   * A policy file to recount against (the CLI's `--policy`): held to the same rule as
   * WARDEN_POLICY_FILE — used only when it is the policy the trail last recorded loading, so a
   * looser file cannot hide an overrun (review 11).
   */
  policyFile?: string;
  /** Records a throttled account may reveal per hour (config `throttlePerHour`); default WARDEN_THROTTLE_PER_HOUR, else 10. */
  throttlePerHour?: number;
}

export async function reconcileState(db: Kysely<Database>, options: ReconcileOptions = {}): Promise<ReconcileResult> {
  const findings: Finding[] = [];
  let truncated = false;
  const add = (f: Finding) => {
    if (findings.length < MAX_FINDINGS) findings.push(f);
    else truncated = true;
  };
  const checked = {} as Record<ReconciledTable, number>;
  for (const [table, check] of CHECKS) checked[table] = await check(db, add);
  const policy = options.policy ?? (await policyInForce(db, options.policyFile));
  const fromEnv = Number.parseInt(process.env.WARDEN_THROTTLE_PER_HOUR ?? '', 10);
  const throttlePerHour = options.throttlePerHour ?? (Number.isInteger(fromEnv) && fromEnv >= 0 ? fromEnv : 10);
  checked.quota_buckets = policy ? await reconcileQuotas(policy, throttlePerHour)(db, add) : 0;
  return { ok: findings.length === 0 && !truncated, checked, findings, truncated };
}

/** One line per table for people: "12 accounts, 3 cases, …". */
export function checkedSummary(checked: Record<ReconciledTable, number>): string {
  return Object.entries(checked).map(([table, n]) => `${n} ${table.replace(/_/g, ' ')}`).join(', ');
}

/** The policy of `file` (else WARDEN_POLICY_FILE, else the defaults), if it is the one the trail says was loaded last. */
export async function policyInForce(db: Kysely<Database>, file?: string): Promise<Policy | null> {
  let policy: Policy;
  try {
    policy = loadPolicy(file ?? (process.env.WARDEN_POLICY_FILE || undefined));
  } catch {
    return null;
  }
  const last = await db.selectFrom('audit_log').select('detail').where('kind', '=', 'policy.loaded').orderBy('seq', 'desc').limit(1).executeTakeFirst();
  const detail = (typeof last?.detail === 'string' ? JSON.parse(last.detail) : last?.detail) as { hash?: unknown } | null | undefined;
  return detail?.hash === policyHash(policy) ? policy : null;
}
