import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { createTestStore, testBackends, type TestStore } from '../../test/support/stores.js';
import { openStore } from './db.js';
import { prepared } from './prepared.js';

describe.each(testBackends())('prepared statements on %s', (backend) => {
  let t: TestStore;
  beforeAll(async () => {
    t = await createTestStore(backend);
    await sql`create table prep_probe (id int primary key, b bytea, at timestamptz, note text)`.execute(t.store.db);
  });
  afterAll(() => t.dispose());

  const insert = (ids: number[], notes: Array<string | null>) =>
    sql`insert into prep_probe (id, b, at, note) select * from unnest(${ids}::int[], ${ids.map((i) => Buffer.from([i, 0, 255]))}::bytea[], ${ids.map((i) => new Date(Date.UTC(2026, 0, 1, 0, 0, i)))}::timestamptz[], ${notes}::text[])`;
  const select = (ids: number[]) => sql<{ id: number; b: Uint8Array; at: Date; note: string | null }>`select id, b, at, note from prep_probe where id = any(${ids}::int[]) order by id`;

  it('answers as the ordinary path does: rows, types, nulls, affected rows, any number of array elements', async () => {
    const ins = await prepared(t.store.db, insert([1, 2, 3], ['a"b,{c}', null, '王']).compile(t.store.db));
    expect(Number(ins.numAffectedRows)).toBe(3);
    expect(Number((await prepared(t.store.db, insert([4], [null]).compile(t.store.db))).numAffectedRows)).toBe(1);
    for (const ids of [[1], [1, 2, 3, 4], [9]]) {
      const plain = await select(ids).execute(t.store.db);
      const named = await prepared(t.store.db, select(ids).compile(t.store.db));
      expect(named.rows).toEqual(plain.rows);
    }
    const [r] = (await prepared(t.store.db, select([1]).compile(t.store.db))).rows;
    expect(Buffer.from(r!.b)).toEqual(Buffer.from([1, 0, 255]));
    expect(r!.at.toISOString()).toBe('2026-01-01T00:00:01.000Z');
    expect(r!.note).toBe('a"b,{c}');
  });

  it('an error reaches the caller and leaves the connection usable', async () => {
    await expect(prepared(t.store.db, insert([1], ['dup']).compile(t.store.db))).rejects.toThrow(/duplicate key/);
    expect((await prepared(t.store.db, select([2]).compile(t.store.db))).rows.map((r) => r.id)).toEqual([2]);
  });

  it('runs inside the caller\'s transaction, and nowhere else', async () => {
    await expect(
      t.store.db.transaction().execute(async (tx) => {
        await prepared(tx, insert([50], ['in tx']).compile(tx));
        expect((await prepared(tx, select([50]).compile(tx))).rows).toHaveLength(1);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect((await prepared(t.store.db, select([50]).compile(t.store.db))).rows).toHaveLength(0);
  });

  it.runIf(backend === 'postgres')('each connection prepares a statement once, under a name derived from its text', async () => {
    const one = await openStore({ databaseUrl: t.options.databaseUrl!, poolSize: 1, migrate: false });
    try {
      for (const ids of [[1], [2, 3], [4]]) await prepared(one.db, select(ids).compile(one.db));
      // Read on the prepared statements' own pool (the connection the three just used).
      const { rows } = await prepared(one.db, sql<{ name: string; statement: string }>`select name, statement from pg_prepared_statements where statement like ${'%prep_probe%'}`.compile(one.db));
      expect(rows).toHaveLength(1);
      expect(rows[0]!.name).toMatch(/^w_[A-Za-z0-9_-]{24}$/);
      expect(rows[0]!.statement).toContain('from prep_probe where id = any');
    } finally {
      await one.close();
    }
  });

  it.runIf(backend === 'postgres')('plans prepared statements once (generic) on their own pool; everything else, and a transaction, as PostgreSQL chooses', async () => {
    const mode = sql<{ m: string }>`select current_setting('plan_cache_mode') as m`;
    expect((await prepared(t.store.db, mode.compile(t.store.db))).rows[0]!.m).toBe('force_generic_plan');
    expect((await mode.execute(t.store.db)).rows[0]!.m).toBe('auto');
    await t.store.db.transaction().execute(async (tx) => {
      expect((await prepared(tx, mode.compile(tx))).rows[0]!.m).toBe('auto');
    });
  });

  it.runIf(backend === 'postgres')('a statement gone stale after a schema change fails once; its connection is replaced, not reused', async () => {
    const one = await openStore({ databaseUrl: t.options.databaseUrl!, poolSize: 1, migrate: false });
    try {
      await sql`create table prep_stale (id int)`.execute(one.db);
      const star = () => prepared(one.db, sql`select * from prep_stale`.compile(one.db));
      await star();
      await sql`alter table prep_stale add column extra text`.execute(one.db);
      await expect(star()).rejects.toThrow(/cached plan must not change result type/);
      expect((await star()).rows).toEqual([]);
    } finally {
      await one.close();
    }
  });
});
