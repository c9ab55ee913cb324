/** Shared plumbing for verbs that open the store directly (audit verify, keys rotate). */
import type { Command } from 'commander';
import { loadConfig, type Config } from '../../config/config.js';
import { openStore, type Store } from '../../store/db.js';
import { loadKeyring, type Keyring } from '../../vault/keyring.js';
import { resolveMasterKeys } from '../../vault/master-key.js';
import { createLogger } from '../../ops/logger.js';
import { createMetrics } from '../../ops/metrics.js';
import { systemClock } from '../../ops/clock.js';
import { createAuditTrail, type AuditTrail } from '../../audit/service.js';

export function withStoreOptions(cmd: Command): Command {
  return cmd.option('--data <dir>', 'embedded store data directory (WARDEN_DATA_DIR); ignored when WARDEN_DATABASE_URL is set');
}

export async function openConfiguredStore(opts: { data?: string }): Promise<{ config: Config; store: Store }> {
  const config = loadConfig({ dataDir: opts.data });
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 });
  return { config, store };
}

/** What a verb that reads or writes the vault gets: the store, its keyring and its audit trail. */
export interface OpenedVault {
  config: Config;
  store: Store;
  trail: AuditTrail;
  keyring: Keyring;
}

/** Opens the store, keyring and audit trail for one verb, and closes them after (trail first). */
export async function withOpenedVault<T>(opts: { data?: string }, work: (o: OpenedVault) => Promise<T>): Promise<T> {
  const { config, store } = await openConfiguredStore(opts);
  const logger = createLogger({ level: 'error' });
  try {
    const keyring = await loadKeyring(store.db, resolveMasterKeys(config, logger));
    const trail = await createAuditTrail({ db: store.db, config, metrics: createMetrics(), logger, clock: systemClock, timer: false });
    try {
      return await work({ config, store, trail, keyring });
    } finally {
      await trail.close();
    }
  } finally {
    await store.close();
  }
}
