/**
 * Leak attribution for the API (POST /api/v1/attributions) and the console's upload page: a leaked
 * file as found in the wild, matched and ranked against the stored trail by the attribution
 * library (./attribution/, called only through its exported functions).
 *
 * Invariants: the run is audited (`trace.attribution_run`: who, row counts, how many sources —
 * never a value from the file) before any result leaves, because matching opens names and
 * addresses to compare them; the file is read from memory only, never stored or logged; a file
 * that is not a readable dump is the clear 4xx `attributeLeak` gives it (the same path as the CLI).
 */
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { AuditWriter } from '../audit/writer.js';
import type { Clock } from '../ops/clock.js';
import type { Keyring } from '../vault/keyring.js';
import type { PiiDecryptor } from '../vault/vault.js';
import { actorAccount, actorName, type Actor, type RequestContext } from '../identity/identity.js';
import { AppError } from '../errors.js';
import { attributeLeak, type Attribution } from './attribution/attribute.js';
import { historyFromStore, storeResolver } from './attribution/store.js';

/** Largest leaked file taken over HTTP (a 100,000-row CSV is about 10 MiB). */
export const MAX_DUMP_BYTES = 32 * 1024 * 1024;
export const MAX_SUSPECTS = 200;

export interface AttributionsDeps {
  db: Kysely<Database>;
  keyring: Keyring;
  pii: PiiDecryptor;
  audit: AuditWriter;
  clock: Clock;
}

export function createAttributions(deps: AttributionsDeps) {
  const { db, audit, clock } = deps;

  async function run(file: Buffer, opts: { foundAt?: number | undefined; limit?: number | undefined }, actor: Actor, ctx: RequestContext): Promise<Attribution> {
    if (file.length === 0) throw new AppError('validation_failed', 'send the leaked file (CSV or XLSX) as the request body');
    const resolver = storeResolver({ db, keyring: deps.keyring, pii: deps.pii });
    const { rows, ...out } = await attributeLeak(file, { resolver, loadHistory: (leaked) => historyFromStore(db, leaked) }, { foundAt: opts.foundAt ?? clock.now(), limit: opts.limit ?? 50 });
    await audit.append([{
      kind: 'trace.attribution_run',
      ts: new Date(clock.now()),
      decision: 'ok',
      account: actorAccount(actor),
      ip: ctx.ip,
      requestId: ctx.requestId,
      detail: { actor: actorName(actor), rows, matched: out.matched, unmatched: out.unmatched, sources: out.sources.length, history: 'store', via: 'api' },
    }]);
    return out;
  }

  return { run };
}
export type Attributions = ReturnType<typeof createAttributions>;
