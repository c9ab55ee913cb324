import type { Command } from 'commander';
import { rotateKeys } from '../../vault/keyring.js';
import { loadKeyring } from '../../vault/keyring.js';
import { resolveMasterKeys } from '../../vault/master-key.js';
import { createLogger } from '../../ops/logger.js';
import { openConfiguredStore, withStoreOptions } from './store-command.js';

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('The key hierarchy (master key → KEKs → per-subject data keys)');
  withStoreOptions(keys.command('rotate'))
    .description('New key-encryption key; rewrap every data key under it (and anything under WARDEN_MASTER_KEY_PREVIOUS under the current master key), online')
    .action(async (opts: { data?: string }) => {
      const { config, store } = await openConfiguredStore(opts);
      try {
        const masters = resolveMasterKeys(config, createLogger({ level: 'error' }));
        await loadKeyring(store.db, masters);
        const report = await rotateKeys(store.db, masters, (n) => process.stderr.write(`\rrewrapped ${n} data keys`));
        process.stderr.write('\n');
        console.log(`rotated: new KEK ${report.newKekId}, ${report.dataKeysRewrapped} data keys rewrapped, ${report.mastersRewrapped} entries moved to the current master key`);
      } finally {
        await store.close();
      }
    });
}
