/**
 * Leak attribution for the API (POST /api/v1/attributions) and the console's upload page: a leaked
 * file as found in the wild, matched and ranked against the stored trail by the attribution
 * library (./attribution/, called only through its exported functions).
 *
 * Invariants: the run is audited (`trace.attribution_run`: who, row counts, how many sources —
 * never a value from the file) before any result leaves, because matching opens names and
 * addresses to compare them; the file is read from memory only, never stored or logged; a file
 * that is neither CSV nor a readable XLSX workbook is a clear 400, not a 500.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { AuditWriter } from '../audit/writer.js';
import type { Clock } from '../ops/clock.js';
import type { Keyring } from '../vault/keyring.js';
import type { PiiDecryptor } from '../vault/vault.js';
import { actorAccount, actorName, type Actor, type RequestContext } from '../identity/identity.js';
import { AppError } from '../errors.js';
import { attribute, type Attribution } from './attribution/attribute.js';
import { readDump } from './attribution/dump.js';
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
    let dump: Awaited<ReturnType<typeof readDump>>;
    try {
      dump = await readDump(file);
    } catch {
      throw new AppError('validation_failed', 'the file could not be read as CSV (UTF-8) or as an XLSX workbook');
    }
    const foundAt = opts.foundAt ?? clock.now();
    const resolver = storeResolver({ db, keyring: deps.keyring, pii: deps.pii });
    const out = await attribute(dump, resolver, (leaked) => historyFromStore(db, leaked), { foundAt, limit: opts.limit ?? 50 });
    await audit.append([{
      kind: 'trace.attribution_run',
      ts: new Date(clock.now()),
      decision: 'ok',
      account: actorAccount(actor),
      ip: ctx.ip,
      requestId: ctx.requestId,
      detail: { actor: actorName(actor), rows: dump.rows.length, matched: out.matched, unmatched: out.unmatched, sources: out.sources.length, history: 'store', via: 'api' },
    }]);
    return out;
  }

  return { run };
}
export type Attributions = ReturnType<typeof createAttributions>;
