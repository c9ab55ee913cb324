/**
 * The store adapter: one Kysely schema over PGlite (embedded, default) or PostgreSQL.
 *
 * Invariants:
 * - Both backends run the same migrations (./migrations) and the same SQL.
 * - A PGlite data directory is opened by one process at a time (a lock file says which);
 *   PGlite never fsyncs, so it survives a process crash but not a power loss.
 */
import { mkdirSync, openSync, closeSync, writeSync, readFileSync, unlinkSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Kysely, Migrator, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';
import { PGliteDialect } from 'kysely-pglite-dialect';
import type { Database } from './schema.js';
import { migrationProvider } from './migrations/index.js';
import { preparingPglite, preparingPool, routeGenericPlans } from './prepared.js';

export type StoreKind = 'pglite' | 'postgres';

export interface Store {
  readonly db: Kysely<Database>;
  readonly kind: StoreKind;
  /** Where the data lives, without credentials. */
  readonly location: string;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface StoreOptions {
  /** PostgreSQL connection string; when absent the embedded store is used. */
  databaseUrl?: string | undefined;
  /** PGlite data directory (default ./warden-data). */
  dataDir?: string | undefined;
  /** Connections in the PostgreSQL pool. */
  poolSize?: number | undefined;
  migrate?: boolean | undefined;
}

export class StoreLockedError extends Error {
  constructor(dir: string, pid: string) {
    super(
      `data directory ${dir} is in use by process ${pid}; stop that process first, or use its HTTP API (for example GET /api/v1/audit/verify)`,
    );
  }
}

// int8 as a JS number: audit sequence numbers stay far below 2^53.
const pgTypes = {
  getTypeParser: (oid: number, format?: 'text' | 'binary') =>
    oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text'),
};

export async function openStore(options: StoreOptions = {}): Promise<Store> {
  const store = options.databaseUrl ? openPostgres(options.databaseUrl, options.poolSize ?? 10) : await openPglite(options.dataDir ?? './warden-data');
  if (options.migrate !== false) {
    try {
      await migrate(store.db);
    } catch (err) {
      await store.close();
      throw err;
    }
  }
  return store;
}

export async function migrate(db: Kysely<Database>): Promise<void> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`migration ${failed?.migrationName ?? '?'} failed: ${(error as Error).message}`);
  }
}

/** A PostgreSQL pool; `options` are session settings sent at connect (libpq's `options`). */
function newPool(url: string, max: number, options?: string): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max, types: pgTypes, connectionTimeoutMillis: 5000, ...(options ? { options } : {}) });
  // A client losing its server must not crash the process — idle in the pool, or checked out
  // between two statements of a transaction (pg emits 'error' on the client then): the query or
  // the transaction reports it instead, and the pool replaces the client.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

function openPostgres(url: string, poolSize: number): Store {
  // A connection is never waited for forever: with the server gone, callers fail (503) in seconds.
  const pool = newPool(url, poolSize);
  // Statements run through prepared() go out named, each connection preparing them once (prepared.ts),
  // on a pool of their own whose sessions keep one (generic) plan per statement (decision 0018).
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: preparingPool(pool) }) });
  const genericPool = newPool(url, Math.max(2, Math.ceil(poolSize / 2)), '-c plan_cache_mode=force_generic_plan');
  const generic = new Kysely<Database>({ dialect: new PostgresDialect({ pool: preparingPool(genericPool) }) });
  routeGenericPlans(db, generic);
  return {
    db,
    kind: 'postgres',
    location: redactUrl(url),
    ping: async () => {
      await sql`select 1`.execute(db);
    },
    close: async () => {
      try {
        await db.destroy();
      } finally {
        await generic.destroy();
      }
    },
  };
}

async function openPglite(dir: string): Promise<Store> {
  const dataDir = resolve(dir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const release = lockDataDir(dataDir);
  let client: PGlite;
  try {
    client = await PGlite.create(join(dataDir, 'pg'));
  } catch (err) {
    release();
    throw err;
  }
  const db = new Kysely<Database>({ dialect: new PGliteDialect(preparingPglite(client)) });
  return {
    db,
    kind: 'pglite',
    location: dataDir,
    ping: async () => {
      await sql`select 1`.execute(db);
    },
    close: async () => {
      try {
        await db.destroy();
      } finally {
        release();
      }
    },
  };
}

function lockDataDir(dataDir: string): () => void {
  const lockPath = join(dataDir, 'warden.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => {
        try {
          unlinkSync(lockPath);
        } catch {
          // Already gone: nothing to release.
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = existsSync(lockPath) ? readFileSync(lockPath, 'utf8').trim() : '';
      if (holder && isAlive(Number(holder))) {
        throw new StoreLockedError(dataDir, holder);
      }
      // A stale lock left by a crashed process: take it over.
      try {
        unlinkSync(lockPath);
      } catch {
        // Raced with another opener; the next attempt decides.
      }
    }
  }
  throw new StoreLockedError(dataDir, 'unknown');
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres';
  }
}

/** bytea comes back as Buffer from pg and as Uint8Array from PGlite. */
export const toBuffer = (bytes: Uint8Array): Buffer =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
