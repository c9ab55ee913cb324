/**
 * Named prepared statements for the reveal path's hot statements on PostgreSQL
 * (docs/decisions/0016-prepared-reveal-statements.md).
 *
 * `prepared(db, query)` marks the query's SQL text; the PostgreSQL pool (`preparingPool`) sends a
 * marked text as a named statement (`{ name, text, values }`): node-postgres parses it once per
 * connection and from then on sends only bind + execute, and PostgreSQL keeps its plan.
 * On PGlite (`preparingPglite`) a marked text is parsed once under its name too, and each run is
 * one call into the WASM engine (bind, describe, execute, sync) instead of six, without the parse
 * and plan. Both paths go through Kysely's connection handling, so a marked statement never runs
 * inside another caller's transaction.
 *
 * Invariants:
 * - The name is a hash of the SQL text: one text, one name; two texts never share a name.
 * - Only texts that do not vary with their inputs belong here (arrays and `= any($1)`, not IN
 *   lists or VALUES rows of varying length); past MAX_NAMES texts a new one runs unprepared, so
 *   a text that does vary cannot grow every connection's statements without bound.
 * - Outside a transaction, a PostgreSQL store's prepared statements run on their own pool planned
 *   generically (routeGenericPlans); inside one, on the transaction's connection.
 * - A connection whose prepared statement went stale (a schema change altered its result:
 *   SQLSTATE 0A000) is destroyed when released, never reused; the statement's caller sees the error.
 */
import { createHash } from 'node:crypto';
import type { CompiledQuery, Kysely, PostgresPool, PostgresPoolClient, QueryResult } from 'kysely';
import type pg from 'pg';
import { parse, protocol, type PGlite, type Results } from '@electric-sql/pglite';

export const MAX_NAMES = 64;
const names = new Map<string, string>();

/** Where a PostgreSQL store's prepared statements run when not inside a transaction (see genericPlans). */
const genericRoutes = new WeakMap<object, Pick<Kysely<unknown>, 'executeQuery'>>();

/**
 * On PostgreSQL, `prepared` statements issued on `db` itself (not inside one of its transactions)
 * run on `generic`: a pool whose sessions plan prepared statements once (plan_cache_mode =
 * force_generic_plan; decision 0018). Every prepared text takes its inputs as arrays, so one plan
 * fits every batch size, where the default re-planned the fetch for each batch (0.78 ms a bind).
 * Unprepared statements stay on the main pool and keep PostgreSQL's default choice.
 */
export function routeGenericPlans(db: object, generic: Pick<Kysely<unknown>, 'executeQuery'>): void {
  genericRoutes.set(db, generic);
}

/** Runs the query, as a named prepared statement where the store is PostgreSQL. */
export function prepared<R>(db: Pick<Kysely<unknown>, 'executeQuery'>, query: CompiledQuery<R>): Promise<QueryResult<R>> {
  if (!names.has(query.sql) && names.size < MAX_NAMES) {
    names.set(query.sql, `w_${createHash('sha256').update(query.sql).digest('base64url').slice(0, 24)}`);
  }
  // A transaction is another object than its Kysely: its statements stay on its connection.
  return (genericRoutes.get(db) ?? db).executeQuery(query);
}

/** How many distinct texts have been marked (a test's check that shapes do not vary). */
export const preparedTexts = (): number => names.size;

/** The pool Kysely sees on PostgreSQL: a text marked by `prepared` goes out as a named statement. */
export function preparingPool(pool: pg.Pool): PostgresPool {
  const wrapped = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  return {
    async connect() {
      const client = await pool.connect();
      let w = wrapped.get(client);
      if (!w) wrapped.set(client, (w = preparingClient(client)));
      return w;
    },
    end: () => pool.end(),
  };
}

function preparingClient(client: pg.PoolClient): PostgresPoolClient {
  let stale = false;
  const query = (text: unknown, values?: unknown[]): unknown => {
    if (typeof text !== 'string') return client.query(text as pg.Submittable); // a cursor
    const name = names.get(text);
    if (!name) return client.query(text, values);
    return client.query({ name, text, values }).catch((err: unknown) => {
      if ((err as { code?: string }).code === '0A000') stale = true;
      throw err;
    });
  };
  return {
    query: query as PostgresPoolClient['query'],
    release: (destroy?: boolean) => client.release(destroy || stale),
  };
}

const S = protocol.serialize;

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * The client Kysely's PGlite dialect sees (it calls only `query` and `close`): a text marked by
 * `prepared` runs as a named statement; every other text runs as PGlite runs it.
 */
export function preparingPglite(client: PGlite): PGlite {
  /** Parameter types of each statement prepared on this engine. */
  const statements = new Map<string, number[]>();

  const named = (name: string, text: string, params: unknown[]) =>
    client.runExclusive(async () => {
      let types = statements.get(name);
      if (!types) {
        const described = await client.execProtocolStream(concat(S.parse({ name, text }), S.describe({ type: 'S', name }), S.sync()), { syncToFs: false });
        types = parse.parseDescribeStatementResults(described);
        statements.set(name, types);
      }
      const values = params.map((v, k) => (v === null || v === undefined ? null : ((client.serializers[types[k]!] ?? String) as (x: unknown) => string)(v)));
      // One call: an error in any step still reaches the sync, and is thrown after it.
      const messages = await client.execProtocolStream(concat(S.bind({ statement: name, values }), S.describe({ type: 'P' }), S.execute({}), S.sync()), { syncToFs: false });
      await client.syncToFs();
      return parse.parseResults(messages, client.parsers)[0]!;
    });

  const facade = {
    query<T>(text: string, params: unknown[] = []): Promise<Results<T>> {
      const name = names.get(text);
      return (name ? named(name, text, params) : client.query<T>(text, params)) as Promise<Results<T>>;
    },
    close: () => client.close(),
  };
  return facade as unknown as PGlite;
}
