/**
 * Test stores: every test gets its own database copied from the run's migrated template, so
 * test files run in parallel without sharing rows.
 */
import { cpSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
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
