/**
 * Leak tracing, wired: canaries and their tripwire (more slices join here: privacy numbers,
 * marked exports, attribution). Built once by src/warden.ts, handed only what it uses.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { AuditWriter } from '../audit/writer.js';
import type { Clock } from '../ops/clock.js';
import type { Logger } from '../ops/logger.js';
import type { VaultWriter } from '../vault/vault.js';
import type { IdentityService } from '../identity/identity.js';
import type { AlertOut } from '../detect/engine.js';
import type { ResponseGate } from '../access/access.js';
import { errorSummary } from '../audit/writer.js';
import { createCanaries } from './canaries.js';
import { composeGates, createTripwire, raiseWithoutWatch } from './tripwire.js';

export interface TraceDeps {
  db: Kysely<Database>;
  audit: AuditWriter;
  clock: Clock;
  logger: Logger;
  vault: Pick<VaultWriter, 'ingest'>;
  identity: IdentityService;
  /** The watch's alert path (store + response policy); null when live detection is off. */
  raise: ((alerts: AlertOut[]) => Promise<void>) | null;
  /** How often canaries planted elsewhere (the CLI) are picked up. */
  refreshMs?: number;
}

export async function createTrace(deps: TraceDeps) {
  const { db, audit, clock, logger } = deps;
  const canaries = createCanaries({ db, vault: deps.vault, audit, clock });
  await canaries.refresh();
  const raise = deps.raise;
  const tripwire = createTripwire({ canaries, raise: raise ? (a) => raise([a]) : raiseWithoutWatch({ db, identity: deps.identity }), logger });
  audit.onCommitted(tripwire.onCommitted);
  const timer = setInterval(() => {
    canaries.refresh().catch((err) => logger.error({ err: errorSummary(err) }, 'canary list refresh failed; the last list stays in force'));
  }, deps.refreshMs ?? 15_000);
  timer.unref();

  return {
    canaries,
    tripwire,
    /** The gate the access service asks: the tripwire's refusal, then the watch's. */
    gate: (watchGate: ResponseGate | undefined): ResponseGate => composeGates(tripwire.gate, watchGate),
    async close() {
      clearInterval(timer);
      await tripwire.idle();
    },
  };
}
export type Trace = Awaited<ReturnType<typeof createTrace>>;
