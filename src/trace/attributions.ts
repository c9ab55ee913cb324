/**
 * Leak attribution for the API (POST /api/v1/attributions) and the console's upload page: a leaked
 * file as found in the wild, matched and ranked against the stored trail by the attribution
 * library (./attribution/, called only through its exported functions).
 *
 * The answer says, per run, how many rows match a customer and which accounts saw them: with small
 * uploads it would be a lookup ("is this phone a customer?", "王小明 or 王小强 at this address?"),
 * attack review 3, S4. So a run over HTTP is a bounded, recorded investigation, not a query:
 * - every run and every refusal is audited (`trace.attribution_run`): the actor, the SHA-256 of
 *   the uploaded bytes (the file itself is never stored; an investigator holding a file can prove
 *   which run read it), the rows read, distinct rows, matched and unmatched counts — never a value
 *   from the file. An allowed run is `ok` and recorded before any result leaves (matching opens
 *   names and addresses); a refusal is `denied` with reason `too_few_rows` or `rate_limited`;
 * - a dump has at least `minRows` distinct usable rows (WARDEN_ATTRIBUTION_MIN_ROWS, default 20):
 *   fewer is 400 `validation_failed` naming the minimum, before anything is looked up;
 * - each analyst starts at most `runsPerHour` / `runsPerDay` runs (WARDEN_ATTRIBUTION_RUNS_PER_*,
 *   default 10 / 30), counted per account on the quota ledgers (in memory and rebuilt from this
 *   trail at start on the embedded store; shared in quota_buckets, namespace 'x', on PostgreSQL);
 *   beyond it 429 `rate_limited` with retry-after. Only runs that pass the size check count; a
 *   file that is not a readable dump is the clear 4xx `attributeLeak` gives it, not counted.
 * What stays open: a dump padded with guesses to the minimum still answers its counts; the quota
 * bounds how often, and the trail (hash, rows, matched) shows who asked what and how it went.
 * `warden attribute` (the CLI) is the host operator, who holds the store and the master key: it
 * is audited the same way (with the hash) but not bound by the minimum or the quota.
 */
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { AuditWriter } from '../audit/writer.js';
import type { Clock } from '../ops/clock.js';
import type { Keyring } from '../vault/keyring.js';
import type { PiiDecryptor } from '../vault/vault.js';
import { ROLES } from '../contracts/events.js';
import type { QuotaCounter, QuotaLimits } from '../access/quota.js';
import { actorAccount, actorName, type Actor, type RequestContext } from '../identity/identity.js';
import { AppError } from '../errors.js';
import { attributeLeak, distinctRows, type Attribution, type Dump } from './attribution/attribute.js';
import { historyFromStore, storeResolver } from './attribution/store.js';

/** Largest leaked file taken over HTTP (a 100,000-row CSV is about 10 MiB). */
export const MAX_DUMP_BYTES = 32 * 1024 * 1024;
export const MAX_SUSPECTS = 200;

export interface AttributionLimits {
  minRows: number;
  runsPerHour: number;
  runsPerDay: number;
}

export interface AttributionsDeps {
  db: Kysely<Database>;
  keyring: Keyring;
  pii: PiiDecryptor;
  audit: AuditWriter;
  clock: Clock;
  limits: AttributionLimits;
  /** Runs per analyst account (attributionQuotaLimits): one record per run. */
  quota: QuotaCounter;
}

/** The run quota as ledger limits: every role counted per account (only analysts reach the route). */
export function attributionQuotaLimits(l: Pick<AttributionLimits, 'runsPerHour' | 'runsPerDay'>): QuotaLimits {
  return { quotas: Object.fromEntries(ROLES.map((r) => [r, { account: { per_hour: l.runsPerHour, per_day: l.runsPerDay } }])) as QuotaLimits['quotas'] };
}

/** The hex SHA-256 of the uploaded bytes: what the trail records of the file. */
export const fileHash = (file: Buffer): string => createHash('sha256').update(file).digest('hex');


export function createAttributions(deps: AttributionsDeps) {
  const { db, audit, clock, limits } = deps;

  const record = (actor: Actor, ctx: RequestContext, decision: 'ok' | 'denied', reason: string | null, detail: Record<string, unknown>) =>
    audit.append([{
      kind: 'trace.attribution_run',
      ts: new Date(clock.now()),
      decision,
      reason,
      account: actorAccount(actor),
      role: actor.kind === 'account' ? actor.role : null,
      ip: ctx.ip,
      requestId: ctx.requestId,
      detail: { actor: actorName(actor), ...detail, history: 'store', via: 'api' },
    }]);

  /** The size check, then the run quota: each refusal audited before it is thrown. */
  const admit = async (actor: Actor, ctx: RequestContext, seen: { sha256: string; rows: number; distinct: number; junk: number }): Promise<void> => {
    if (seen.distinct < limits.minRows) {
      await record(actor, ctx, 'denied', 'too_few_rows', { ...seen, min_rows: limits.minRows });
      throw new AppError('validation_failed', `a leaked dump has at least ${limits.minRows} distinct usable rows; this file has ${seen.distinct} (attribution is not a lookup)`, {
        fields: [{ field: 'body', code: 'too_few_rows', message: `at least ${limits.minRows} distinct rows` }],
      });
    }
    const account = actorAccount(actor);
    if (!account || actor.kind !== 'account') throw new AppError('forbidden', 'attribution runs are started by an analyst account');
    const q = await deps.quota.tryConsume({ role: actor.role, account, device: null, site: null }, 1, clock.now());
    if (q.ok) return;
    await record(actor, ctx, 'denied', 'rate_limited', { ...seen, window: q.window, limit: q.limit });
    throw new AppError('rate_limited', `attribution runs are limited to ${q.limit} ${q.window.replace('_', ' ')} for each analyst; try again later`, { retryAfterSeconds: q.retryAfterSeconds });
  };

  async function run(file: Buffer, opts: { foundAt?: number | undefined; limit?: number | undefined }, actor: Actor, ctx: RequestContext): Promise<Attribution> {
    if (file.length === 0) throw new AppError('validation_failed', 'send the leaked file (CSV or XLSX) as the request body');
    const sha256 = fileHash(file);
    const resolver = storeResolver({ db, keyring: deps.keyring, pii: deps.pii });
    let distinct = 0;
    const gate = async (dump: Dump) => {
      distinct = distinctRows(dump);
      await admit(actor, ctx, { sha256, rows: dump.rows.length, distinct, junk: dump.junk });
    };
    const { rows, ...out } = await attributeLeak(file, { resolver, loadHistory: (leaked) => historyFromStore(db, leaked), admit: gate }, { foundAt: opts.foundAt ?? clock.now(), limit: opts.limit ?? 50 });
    await record(actor, ctx, 'ok', null, { sha256, rows, distinct, matched: out.matched, unmatched: out.unmatched, records: out.records, sources: out.sources.length });
    return out;
  }

  return { run };
}
export type Attributions = ReturnType<typeof createAttributions>;
