import type { Command } from 'commander';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';

/** A first start without WARDEN_ADMIN_TOKEN gets a generated one in a 0600 file beside the data (never in logs). */
function devAdminToken(dataDir: string): { token: string; file: string } {
  const dir = resolve(dataDir);
  const file = join(dir, 'admin.token');
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(file, randomBytes(24).toString('base64url') + '\n', { mode: 0o600, flag: 'wx' });
  }
  return { token: readFileSync(file, 'utf8').trim(), file };
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('Start the Warden API on the embedded store (./warden-data) or on PostgreSQL when WARDEN_DATABASE_URL is set')
    .option('--data <dir>', 'embedded store data directory (WARDEN_DATA_DIR)')
    .option('--host <host>', 'listen address (WARDEN_HOST)')
    .option('--port <port>', 'listen port (WARDEN_PORT)', (v) => Number(v))
    .option('--policy <file>', 'access-policy YAML/JSON overriding the defaults (WARDEN_POLICY_FILE)')
    .action(async (opts: { data?: string; host?: string; port?: number; policy?: string }) => {
      const { loadConfig } = await import('../../config/config.js');
      const { createWarden } = await import('../../warden.js');
      let config = loadConfig({ dataDir: opts.data, host: opts.host, port: opts.port, policyFile: opts.policy });
      let adminTokenFile: string | undefined;
      if (!config.adminToken) {
        const dev = devAdminToken(config.dataDir);
        config = { ...config, adminToken: dev.token };
        adminTokenFile = dev.file;
      }
      const warden = await createWarden(config);
      if (adminTokenFile) warden.logger.warn({ file: adminTokenFile }, 'WARDEN_ADMIN_TOKEN is not set: using the generated admin token in this file (set WARDEN_ADMIN_TOKEN in production)');
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
