/**
 * Test stores: every test gets its own database copied from the run's migrated template, so
 * test files run in parallel without sharing rows.
 */
import { cpSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { createHash, createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import pg from 'pg';
import { openStore, type Store, type StoreKind } from '../../src/store/db.js';

export interface TestStore {
  store: Store;
  /** How to open the same database again (for CLI tests), and how to drop it. */
  options: { databaseUrl?: string; dataDir?: string };
  dispose(): Promise<void>;
}

/** The backends this run covers: PGlite always; PostgreSQL when the global setup could reach it. */
export function testBackends(): StoreKind[] {
  const kinds: StoreKind[] = ['pglite'];
  if (process.env.WARDEN_TEST_PG_TEMPLATE) kinds.push('postgres');
  return kinds;
}

export async function createTestStore(kind: StoreKind): Promise<TestStore> {
  if (kind === 'pglite') {
    const template = process.env.WARDEN_TEST_PGLITE_TEMPLATE;
    const tmp = process.env.WARDEN_TEST_TMP;
    if (!template || !tmp) throw new Error('test/global-setup.ts did not run');
    const dataDir = mkdtempSync(join(tmp, 'db-'));
    cpSync(template, dataDir, { recursive: true });
    const store = await openStore({ dataDir, migrate: false });
    return { store, options: { dataDir }, dispose: () => store.close() };
  }
  const template = process.env.WARDEN_TEST_PG_TEMPLATE;
  const adminUrl = process.env.WARDEN_TEST_PG_ADMIN_URL;
  if (!template || !adminUrl) throw new Error('PostgreSQL template is not available');
  const name = `warden_t_${process.ppid}_${randomBytes(6).toString('hex')}`;
  await adminQuery(adminUrl, `create database ${name} template ${template}`);
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  const databaseUrl = u.toString();
  const store = await openStore({ databaseUrl, migrate: false, poolSize: 8 });
  return {
    store,
    options: { databaseUrl },
    dispose: async () => {
      await store.close();
      await adminQuery(adminUrl, `drop database if exists ${name} with (force)`);
    },
  };
}

async function adminQuery(url: string, text: string): Promise<void> {
  // CREATE DATABASE … TEMPLATE fails while another session is copying the same template; retry briefly.
  for (let attempt = 0; ; attempt++) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(text);
      return;
    } catch (err) {
      if (attempt < 20 && /being accessed by other users/.test((err as Error).message)) {
        await new Promise((r) => setTimeout(r, 100 + attempt * 50));
        continue;
      }
      throw err;
    } finally {
      await client.end();
    }
  }
}

/**
 * The audit signing key a test server and the CLI use on one test store: derived from the
 * store's location, so restarts and CLI runs on the same store sign with the same key (outside
 * the store, as in production), and different stores never share one.
 */
export function testAuditKey(options: TestStore['options']): { signingKey: string; publicKey: string } {
  const seed = createHash('sha256').update('warden-test-audit-key|').update(options.dataDir ?? options.databaseUrl ?? '').digest();
  const key = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' });
  const raw = (createPublicKey(key).export({ format: 'der', type: 'spki' }) as Buffer).subarray(12);
  return { signingKey: seed.toString('base64'), publicKey: raw.toString('base64') };
}
