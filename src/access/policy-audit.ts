/**
 * Policy changes are audited (issue 7, hole 10): at every start the policy in force — its hash
 * and where it came from — is recorded as `policy.loaded`, and a hash different from the one
 * recorded last is called out (`previous_hash`, `changed`), so a policy edited between two
 * starts shows in the trail with who started the process.
 */
import { userInfo, hostname } from 'node:os';
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { AuditWriter } from '../audit/writer.js';
import type { Clock } from '../ops/clock.js';
import { policyHash, type Policy } from './policy.js';

/** The operating-system user and host that started this process (the actor of a start). */
function startedBy(): string {
  try {
    return `${userInfo().username}@${hostname()}`.slice(0, 200);
  } catch {
    return `uid:${process.getuid?.() ?? 'unknown'}`;
  }
}

export async function recordPolicyLoaded(deps: { db: Kysely<Database>; audit: AuditWriter; clock: Clock }, policy: Policy, source: string) {
  const hash = policyHash(policy);
  const last = await deps.db.selectFrom('audit_log').select('detail').where('kind', '=', 'policy.loaded').orderBy('seq', 'desc').limit(1).executeTakeFirst();
  const lastDetail = (typeof last?.detail === 'string' ? JSON.parse(last.detail) : last?.detail) as { hash?: unknown } | null | undefined;
  const previous = typeof lastDetail?.hash === 'string' ? lastDetail.hash : null;
  const changed = previous !== null && previous !== hash;
  const detail = { hash, source, actor: startedBy(), pid: process.pid, changed, ...(changed ? { previous_hash: previous } : {}) };
  await deps.audit.append([{ kind: 'policy.loaded', ts: new Date(deps.clock.now()), decision: 'ok', reason: changed ? 'changed' : previous ? 'unchanged' : 'first', requestId: 'warden-start', detail }]);
  return detail;
}
