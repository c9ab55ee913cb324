/**
 * Builds migrated database templates once per run; each test then copies one (~0.25 s for
 * PGlite, CREATE DATABASE … TEMPLATE on PostgreSQL) instead of migrating from scratch.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openStore } from '../src/store/db.js';
import { ensureBuilt } from './support/build.js';

const PG_ADMIN_URL = process.env.WARDEN_TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const PG_TEMPLATE_DB = `warden_template_${process.pid}`;

export default async function setup(): Promise<() => Promise<void>> {
  ensureBuilt(new URL('..', import.meta.url).pathname);
  const root = mkdtempSync(join(tmpdir(), 'warden-test-'));
  const templateDir = join(root, 'template');
  const store = await openStore({ dataDir: templateDir });
  await store.close();
  process.env.WARDEN_TEST_PGLITE_TEMPLATE = templateDir;
  process.env.WARDEN_TEST_TMP = root;

  const wantPostgres = (process.env.WARDEN_TEST_BACKENDS ?? 'pglite,postgres').includes('postgres');
  let pgTemplate: string | undefined;
  if (wantPostgres) {
    const admin = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
    let connected = false;
    try {
      await admin.connect();
      connected = true;
    } catch (err) {
      if (process.env.CI === 'true') {
        throw new Error(`CI=true but PostgreSQL at ${PG_ADMIN_URL} is unreachable: ${(err as Error).message}`);
      }
      console.warn(`\n[warden tests] PostgreSQL at ${PG_ADMIN_URL} is unreachable (${(err as Error).message}); PostgreSQL-backed tests are SKIPPED.\n`);
    }
    if (connected) {
      try {
        await admin.query(`drop database if exists ${PG_TEMPLATE_DB}`);
        await admin.query(`create database ${PG_TEMPLATE_DB}`);
        const url = withDatabase(PG_ADMIN_URL, PG_TEMPLATE_DB);
        const templateStore = await openStore({ databaseUrl: url, poolSize: 1 });
        await templateStore.close();
        pgTemplate = PG_TEMPLATE_DB;
        process.env.WARDEN_TEST_PG_TEMPLATE = pgTemplate;
        process.env.WARDEN_TEST_PG_ADMIN_URL = PG_ADMIN_URL;
      } catch (err) {
        if (process.env.CI === 'true') throw err;
        console.warn(`[warden tests] PostgreSQL template could not be built (${(err as Error).message}); PostgreSQL-backed tests are SKIPPED.`);
      } finally {
        await admin.end().catch(() => undefined);
      }
    }
  }

  return async () => {
    rmSync(root, { recursive: true, force: true });
    if (pgTemplate) {
      const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
      await admin.connect();
      const { rows } = await admin.query<{ datname: string }>(
        `select datname from pg_database where datname = $1 or datname like $2`,
        [pgTemplate, `warden_t_${process.pid}_%`],
      );
      for (const row of rows) await admin.query(`drop database if exists ${row.datname} with (force)`);
      await admin.end();
    }
  };
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

