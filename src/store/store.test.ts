import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { createTestStore, testBackends, type TestStore } from '../../test/support/stores.js';
import { openStore, StoreLockedError } from './db.js';

describe.each(testBackends())('store on %s', (backend) => {
  let t: TestStore;
  beforeAll(async () => {
    t = await createTestStore(backend);
  });
  afterAll(() => t.dispose());

  it('is migrated: the audit chain starts at seq 0 with a zero hash', async () => {
    const head = await t.store.db.selectFrom('audit_head').selectAll().executeTakeFirstOrThrow();
    expect(head.seq).toBe(0);
    expect(Buffer.from(head.hash).equals(Buffer.alloc(32))).toBe(true);
  });

  it('round-trips bytea, bigint and timestamptz the same way on both backends', async () => {
    const row = await sql<{ b: Uint8Array; n: number; t: Date }>`select ${Buffer.from('abc')}::bytea as b, 9007199254740991::bigint as n, now() as t`.execute(t.store.db);
    const r = row.rows[0]!;
    expect(Buffer.from(r.b).toString()).toBe('abc');
    expect(r.n).toBe(9007199254740991);
    expect(r.t).toBeInstanceOf(Date);
  });

  it.runIf(backend === 'pglite')('refuses a second opener of the same data directory', async () => {
    await expect(openStore({ dataDir: t.options.dataDir! })).rejects.toBeInstanceOf(StoreLockedError);
  });
});
