import type { Command } from 'commander';
import { systemClock } from '../../ops/clock.js';
import { openConfiguredStore, withStoreOptions } from './store-command.js';

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('The key hierarchy (master key → KEKs → per-subject data keys)');
  withStoreOptions(keys.command('rotate'))
    .description('New key-encryption key; rewrap every data key under it (and anything under WARDEN_MASTER_KEY_PREVIOUS under the current master key), online; audited (keys.rotated) as os:<the operating-system account> (no --actor)')
    .action(async (opts: { data?: string }) => {
      const { loadKeyring, rotateKeys } = await import('../../vault/keyring.js');
      const { resolveMasterKeys } = await import('../../vault/master-key.js');
      const { createLogger } = await import('../../ops/logger.js');
      const { createMetrics } = await import('../../ops/metrics.js');
      const { createAuditTrail, operator } = await import('../../audit/service.js');
      const { config, store } = await openConfiguredStore(opts);
      const logger = createLogger({ level: 'error' });
      try {
        const masters = resolveMasterKeys(config, logger);
        await loadKeyring(store.db, masters);
        const trail = await createAuditTrail({ db: store.db, config, metrics: createMetrics(), logger, clock: systemClock, timer: false });
        try {
          const report = await rotateKeys(store.db, masters, { audit: trail.writer, actor: operator(), onProgress: (n) => process.stderr.write(`\rrewrapped ${n} data keys`) });
          process.stderr.write('\n');
          console.log(`rotated: new KEK ${report.newKekId}, ${report.dataKeysRewrapped} data keys rewrapped, ${report.mastersRewrapped} entries moved to the current master key`);
          console.log(`seals: ${report.routingSealsResealed} routing and ${report.credentialSealsResealed} credential seals made again under the current master key`);
          if (report.routingSealsBroken + report.credentialSealsBroken > 0) console.log(`seals that verify under no loaded master key (rows changed outside Warden, left refused): ${report.routingSealsBroken} routing, ${report.credentialSealsBroken} credential`);
        } finally {
          await trail.close();
        }
      } finally {
        await store.close();
      }
    });
}
