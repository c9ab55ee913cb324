/** Shared plumbing for verbs that open the store directly (audit verify, keys rotate). */
import type { Command } from 'commander';
import { loadConfig, type Config } from '../../config/config.js';
import { openStore, type Store } from '../../store/db.js';

export function withStoreOptions(cmd: Command): Command {
  return cmd.option('--data <dir>', 'embedded store data directory (WARDEN_DATA_DIR); ignored when WARDEN_DATABASE_URL is set');
}

export async function openConfiguredStore(opts: { data?: string }): Promise<{ config: Config; store: Store }> {
  const config = loadConfig({ dataDir: opts.data });
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 });
  return { config, store };
}
