/** Shared plumbing for verbs that open the store directly (audit verify, keys rotate). */
import { Option, type Command } from 'commander';
import { systemClock } from '../../ops/clock.js';
import type { Config } from '../../config/config.js';
import type { Store } from '../../store/db.js';
import type { Keyring } from '../../vault/keyring.js';
import type { AuditTrail } from '../../audit/service.js';

/**
 * Why `--actor` is refused. A verb that opens the store acts as `os:<the operating-system account>`
 * (audit/service.ts `operator`), a name no Warden account may take; a name given on the command
 * line could be anyone's (attack review 9: `warden canary list --actor ana2` read the live canaries
 * and the trail blamed ana2; `warden keys rotate --actor ana2` recorded ana2 as the rotator).
 */
export const ACTOR_REFUSED =
  '--actor is not accepted: the CLI records who acts as os:<the operating-system account you run it as>, never a name given on the command line (any name could be claimed); run it as your own OS account, or act through the API as your Warden account';

export function withStoreOptions(cmd: Command): Command {
  return cmd
    .option('--data <dir>', 'embedded store data directory (WARDEN_DATA_DIR); ignored when WARDEN_DATABASE_URL is set')
    // Kept (hidden) only to refuse it with the reason, before the store is opened.
    .addOption(new Option('--actor [name]').hideHelp())
    .hook('preAction', (c) => {
      if (c.opts().actor !== undefined) throw Object.assign(new Error(ACTOR_REFUSED), { exitCode: 2 });
    });
}

export async function openConfiguredStore(opts: { data?: string }): Promise<{ config: Config; store: Store }> {
  const { loadConfig } = await import('../../config/config.js');
  const { openStore } = await import('../../store/db.js');
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
  const { createLogger } = await import('../../ops/logger.js');
  const { createMetrics } = await import('../../ops/metrics.js');
  const { loadKeyring } = await import('../../vault/keyring.js');
  const { resolveMasterKeys } = await import('../../vault/master-key.js');
  const { createAuditTrail } = await import('../../audit/service.js');
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
