import type { Command } from 'commander';
import { verifyAuditTrail, verifyResultJson } from '../../audit/verify.js';
import { loadKeyring } from '../../vault/keyring.js';
import { resolveMasterKeys } from '../../vault/master-key.js';
import { createLogger } from '../../ops/logger.js';
import { openConfiguredStore, withStoreOptions } from './store-command.js';

export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('The tamper-evident audit trail');
  withStoreOptions(audit.command('verify'))
    .description('Check every entry\'s hash, the chain links, the gap-free sequence and the signed checkpoints; exit 1 naming the first bad seq')
    .option('--json', 'print the result as JSON')
    .action(async (opts: { data?: string; json?: boolean }) => {
      const { config, store } = await openConfiguredStore(opts);
      let exitCode = 1;
      try {
        const keyring = await loadKeyring(store.db, resolveMasterKeys(config, createLogger({ level: 'error' })));
        const result = await verifyAuditTrail(store.db, { publicKeys: await keyring.auditPublicKeys() });
        if (opts.json) console.log(JSON.stringify(verifyResultJson(result)));
        else if (result.ok) console.log(`audit trail OK: ${result.entries} entries, last seq ${result.lastSeq}, ${result.checkpointsVerified} signed checkpoints verified`);
        else console.error(`audit trail BROKEN at seq ${result.firstBadSeq}: ${result.reason} (${result.entries} entries verified before it)`);
        exitCode = result.ok ? 0 : 1;
      } finally {
        await store.close();
      }
      // Set after close: the embedded store's runtime resets process.exitCode when it shuts down.
      process.exitCode = exitCode;
    });
}
