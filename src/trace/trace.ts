/**
 * Leak tracing, wired: canaries and their tripwire (more slices join here: privacy numbers,
 * marked exports, attribution). Built once by src/warden.ts, handed only what it uses.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { AuditWriter } from '../audit/writer.js';
import type { Clock } from '../ops/clock.js';
import type { Logger } from '../ops/logger.js';
import type { PiiDecryptor, VaultReader, VaultWriter } from '../vault/vault.js';
import type { Policy } from '../access/policy.js';
import type { WorkContext } from '../access/work-context.js';
import type { IdentityService } from '../identity/identity.js';
import type { AlertOut } from '../detect/engine.js';
import type { ResponseGate } from '../access/access.js';
import { errorSummary } from '../audit/writer.js';
import { createCanaries } from './canaries.js';
import { composeGates, createTripwire, raiseWithoutWatch } from './tripwire.js';
import { createPrivacyNumbers } from './privacy.js';
import { createExports } from './exports.js';

export interface TraceDeps {
  db: Kysely<Database>;
  audit: AuditWriter;
  clock: Clock;
  logger: Logger;
  vault: Pick<VaultWriter, 'ingest'>;
  identity: IdentityService;
  /** The watch's alert path (store + response policy); null when live detection is off. */
  raise: ((alerts: AlertOut[]) => Promise<void>) | null;
  reader: Pick<VaultReader, 'masked' | 'routing'>;
  pii: Pick<PiiDecryptor, 'fetch' | 'open'>;
  /** The access policy; its privacy_numbers section absent: phone reveals answer the real number. */
  policy: Policy;
  /** The work context's owner: a privacy number connects only while the caller's work lasts. */
  work: Pick<WorkContext, 'workOn'>;
  /** The watch's gate (step-up, throttle), asked after the tripwire's. */
  watchGate?: ResponseGate | undefined;
  /** The keyring's blind-index key (the canaries' keys derive from it). */
  blindIndexKey: Buffer;
  /** How often canaries planted elsewhere (the CLI) are picked up. */
  refreshMs?: number;
}

export async function createTrace(deps: TraceDeps) {
  const { db, audit, clock, logger } = deps;
  const raise = deps.raise;
  const raiseAll = raise ?? (async (alerts: AlertOut[]) => {
    for (const a of alerts) await raiseWithoutWatch({ db, identity: deps.identity })(a);
  });
  const canaries = createCanaries({ db, vault: deps.vault, audit, clock, raise: raiseAll, blindIndexKey: deps.blindIndexKey });
  const sealed = await canaries.sealPlaintext();
  if (sealed) logger.warn({ sealed }, 'canary numbers kept in plaintext by an older version were sealed (trace.canaries_sealed)');
  await canaries.refresh();
  const tripwire = createTripwire({ canaries, raise: (a) => raiseAll([a]), logger });
  const gate = composeGates(tripwire.gate, deps.watchGate);
  const settings = deps.policy.privacy_numbers;
  const privacy = settings
    ? createPrivacyNumbers({ db, audit, clock, pii: deps.pii, settings, raise: raiseAll, policy: deps.policy, work: deps.work, loadAccount: (id) => deps.identity.loadAccount(id) })
    : null;
  const exports = createExports({ db, audit, clock, vault: deps.reader, canaries, gate: () => gate });
  audit.onCommitted(tripwire.onCommitted);
  const timer = setInterval(() => {
    canaries.refresh().catch((err) => logger.error({ err: errorSummary(err) }, 'canary list refresh failed; the last list stays in force'));
  }, deps.refreshMs ?? 15_000);
  timer.unref();

  return {
    canaries,
    tripwire,
    privacy,
    exports,
    /** The gate the access service asks: the tripwire's refusal, then the watch's. */
    gate,
    async close() {
      clearInterval(timer);
      await tripwire.idle();
    },
  };
}
export type Trace = Awaited<ReturnType<typeof createTrace>>;
