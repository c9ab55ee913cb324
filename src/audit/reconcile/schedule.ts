/**
 * `warden serve` runs the state reconcile on a schedule, so drift written around Warden is seen
 * within a period rather than when someone remembers the CLI: each run sets
 * `warden_state_reconcile_findings{table}` (the shipped rule WardenStateDrift fires on any) and logs
 * each finding at error level — table, key (account, ticket, case, token and exception ids; a
 * waybill number, which the brief counts as user information, left out) and what differs; the CLI
 * (an operator's terminal) names the waybills.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema.js';
import type { Logger } from '../../ops/logger.js';
import type { Metrics } from '../../ops/metrics.js';
import { reconcileState, type Finding, type ReconcileOptions, type ReconcileResult } from './index.js';

export interface ReconcileSchedule {
  /** Runs now (also what the timer calls); one run at a time. */
  runOnce(): Promise<ReconcileResult | null>;
  stop(): Promise<void>;
}

export function scheduleReconcile(db: Kysely<Database>, minutes: number, deps: { logger: Logger; metrics: Pick<Metrics, 'stateReconcileFindings' | 'stateReconcileLastRun'>; options?: ReconcileOptions }): ReconcileSchedule {
  let running: Promise<ReconcileResult | null> | null = null;
  const runOnce = (): Promise<ReconcileResult | null> => {
    running ??= reconcileState(db, deps.options)
      .then((result) => {
        report(result, deps);
        return result;
      }, (err: unknown) => {
        deps.logger.error({ err: err instanceof Error ? err.message : String(err) }, 'scheduled state reconcile failed; it runs again next period');
        return null;
      })
      .finally(() => (running = null));
    return running;
  };
  const timer = minutes > 0 ? setInterval(() => void runOnce(), minutes * 60_000) : null;
  timer?.unref();
  return {
    runOnce,
    async stop() {
      if (timer) clearInterval(timer);
      await running;
    },
  };
}

function report(result: ReconcileResult, deps: { logger: Logger; metrics: Pick<Metrics, 'stateReconcileFindings' | 'stateReconcileLastRun'> }): void {
  const perTable = new Map<string, number>(Object.keys(result.checked).map((t) => [t, 0]));
  for (const f of result.findings) perTable.set(f.table, (perTable.get(f.table) ?? 0) + 1);
  for (const [table, n] of perTable) deps.metrics.stateReconcileFindings.set({ table }, n);
  deps.metrics.stateReconcileLastRun.set(Date.now() / 1000);
  if (result.ok) return;
  for (const f of result.findings) deps.logger.error({ table: f.table, key: loggable(f), problem: f.problem }, 'state row the audit trail cannot explain (written around Warden?)');
  if (result.truncated) deps.logger.error({ listed: result.findings.length }, 'more state rows differ from the trail than listed');
}

/** The finding's key without a waybill number (assignments: waybill/account/task; search grants: account/waybill/party). */
function loggable(f: Finding): string {
  const parts = f.key.split('/');
  if (f.table === 'assignments') return `…/${parts.slice(1).join('/')}`;
  if (f.table === 'search_grants') return `${parts[0]}/…/${parts.slice(2).join('/')}`;
  return f.key;
}
