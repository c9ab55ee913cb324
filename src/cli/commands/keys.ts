import type { Command } from 'commander';
import { rotateKeys } from '../../vault/keyring.js';
import { loadKeyring } from '../../vault/keyring.js';
import { resolveMasterKeys } from '../../vault/master-key.js';
import { createLogger } from '../../ops/logger.js';
import { createMetrics } from '../../ops/metrics.js';
import { systemClock } from '../../ops/clock.js';
import { createAuditTrail, operator } from '../../audit/service.js';
import { openConfiguredStore, withStoreOptions } from './store-command.js';

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('The key hierarchy (master key → KEKs → per-subject data keys)');
  withStoreOptions(keys.command('rotate'))
    .description('New key-encryption key; rewrap every data key under it (and anything under WARDEN_MASTER_KEY_PREVIOUS under the current master key), online; audited (keys.rotated) with its actor')
    .option('--actor <name>', 'who is rotating, recorded in the audit trail (default: os:<the operating-system account>)')
    .action(async (opts: { data?: string; actor?: string }) => {
      const { config, store } = await openConfiguredStore(opts);
      const logger = createLogger({ level: 'error' });
      try {
        const masters = resolveMasterKeys(config, logger);
        await loadKeyring(store.db, masters);
        const trail = await createAuditTrail({ db: store.db, config, metrics: createMetrics(), logger, clock: systemClock, timer: false });
        try {
          const report = await rotateKeys(store.db, masters, { audit: trail.writer, actor: opts.actor ?? operator(), onProgress: (n) => process.stderr.write(`\rrewrapped ${n} data keys`) });
          process.stderr.write('\n');
          console.log(`rotated: new KEK ${report.newKekId}, ${report.dataKeysRewrapped} data keys rewrapped, ${report.mastersRewrapped} entries moved to the current master key`);
        } finally {
          await trail.close();
        }
      } finally {
        await store.close();
      }
    });
}
