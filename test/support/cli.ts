/**
 * Runs the real `warden` bin against a test store, and reopens a store after the CLI used it
 * (an embedded store is opened by one process at a time).
 */
import { spawnSync } from 'node:child_process';
import { openStore } from '../../src/store/db.js';
import { testAuditKey, type TestStore } from './stores.js';

const BIN = new URL('../../bin/warden.js', import.meta.url).pathname;

export interface CliResult {
  code: number | null;
  out: string;
  err: string;
}

/**
 * Runs `warden <args>` with only PATH, the store's location and audit signing key, and `env`
 * set; `--data DIR` is added for an embedded store. A run still going after `timeoutMs` is killed (code null): a hang fails, not stalls.
 */
export function runWarden(store: TestStore, args: string[], env: Record<string, string>, timeoutMs = 60_000): CliResult {
  const storeArgs = store.options.dataDir && !store.options.databaseUrl ? ['--data', store.options.dataDir] : [];
  const storeEnv: Record<string, string> = store.options.databaseUrl ? { WARDEN_DATABASE_URL: store.options.databaseUrl } : {};
  // The store's audit signing key (test/support/stores.ts), as a deployment would configure it.
  storeEnv.WARDEN_AUDIT_SIGNING_KEY = testAuditKey(store.options).signingKey;
  const r = spawnSync(process.execPath, [BIN, ...args, ...storeArgs], { env: { PATH: process.env.PATH ?? '', ...storeEnv, ...env }, encoding: 'utf8', timeout: timeoutMs });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Lets the CLI open the store: an embedded store must be closed by this process first. */
export async function releaseForCli(store: TestStore): Promise<void> {
  if (store.store.kind === 'pglite') await store.store.close();
}

/**
 * A store to hand to the next startTestWarden after the CLI ran: the same database, reopened
 * for an embedded store. Disposing it closes only what it opened; the original still drops
 * the database.
 */
export async function reopen(store: TestStore): Promise<TestStore> {
  if (store.store.kind !== 'pglite') return { ...store, dispose: async () => undefined };
  const reopened = await openStore({ dataDir: store.options.dataDir!, migrate: false });
  return { store: reopened, options: store.options, dispose: () => reopened.close() };
}
