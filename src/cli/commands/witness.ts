/**
 * `warden witness serve`: run a witness for someone else's Warden — it keeps every signed tree
 * head it accepts (DIR/heads.ndjson) and refuses any head inconsistent with them.
 */
import type { Command } from 'commander';

export function registerWitness(program: Command): void {
  const witness = program.command('witness').description('An audit witness outside the store: keeps the signed tree heads it saw, refuses inconsistent ones');
  witness
    .command('serve')
    .description('Serve POST /heads (from Warden), GET /heads and GET /heads/latest (for auditors)')
    .option('--port <port>', 'listen port', (v) => Number(v), 8090)
    .option('--host <host>', 'listen address', '127.0.0.1')
    .option('--data <dir>', 'where accepted heads are kept (heads.ndjson)', './warden-witness')
    .option('--public-key <keys>', 'the audit public key(s) heads must be signed with, comma-separated (default WARDEN_AUDIT_PUBLIC_KEYS)')
    .action(async (opts: { port: number; host: string; data: string; publicKey?: string }) => {
      const { createLogger } = await import('../../ops/logger.js');
      const { parsePinnedKeys } = await import('../../audit/signing-key.js');
      const { createWitnessServer } = await import('../../audit/witness/server.js');
      const logger = createLogger({ level: process.env.WARDEN_LOG_LEVEL ?? 'info' });
      const keys = parsePinnedKeys(opts.publicKey ?? process.env.WARDEN_AUDIT_PUBLIC_KEYS, opts.publicKey ? '--public-key' : 'WARDEN_AUDIT_PUBLIC_KEYS');
      const app = await createWitnessServer({ dataDir: opts.data, publicKeys: keys, logger });
      const url = await app.listen({ host: opts.host, port: opts.port });
      logger.info({ url, data: opts.data, keyIds: [...keys.keys()] }, 'warden witness is serving');
      const stop = async () => {
        await app.close();
        process.exit(0);
      };
      process.once('SIGINT', () => void stop());
      process.once('SIGTERM', () => void stop());
    });
}
