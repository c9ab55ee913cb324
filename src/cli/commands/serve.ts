import type { Command } from 'commander';
import { loadConfig } from '../../config/config.js';
import { createWarden } from '../../warden.js';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('Start the Warden API on the embedded store (./warden-data) or on PostgreSQL when WARDEN_DATABASE_URL is set')
    .option('--data <dir>', 'embedded store data directory (WARDEN_DATA_DIR)')
    .option('--host <host>', 'listen address (WARDEN_HOST)')
    .option('--port <port>', 'listen port (WARDEN_PORT)', (v) => Number(v))
    .option('--policy <file>', 'access-policy YAML/JSON overriding the defaults (WARDEN_POLICY_FILE)')
    .action(async (opts: { data?: string; host?: string; port?: number; policy?: string }) => {
      const config = loadConfig({ dataDir: opts.data, host: opts.host, port: opts.port, policyFile: opts.policy });
      const warden = await createWarden(config);
      const url = await warden.listen();
      warden.logger.info({ url, store: warden.store.kind, location: warden.store.location, docs: `${url}/docs` }, 'warden is serving');
      const stop = async (signal: string) => {
        warden.logger.info({ signal }, 'shutting down: finishing in-flight requests and flushing the audit queue');
        const timer = setTimeout(() => {
          warden.logger.error('shutdown took over 30 s; exiting');
          process.exit(1);
        }, 30_000);
        timer.unref();
        await warden.close();
        process.exit(0);
      };
      process.once('SIGINT', () => void stop('SIGINT'));
      process.once('SIGTERM', () => void stop('SIGTERM'));
    });
}
