/**
 * `sameHand` on every backend, straight on the accounts table (what the database owner or a long
 * history could leave there): the creation link either way round, transitively; a third account's
 * two creations are not linked; a chain longer than the bound, or a loop, is not shown unlinked
 * (fail closed) while one just within the bound is followed to its end.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestStore, testBackends, type TestStore } from '../../test/support/stores.js';
import { CREATION_HOPS, sameHand } from './self.js';
import type { Actor } from '../identity/types.js';

const as = (id: string): Actor => ({ kind: 'account', id, role: 'security_analyst' });

describe.each(testBackends())('sameHand on %s', (backend) => {
  let t: TestStore;
  const add = async (id: string, createdBy: string | null) => {
    await t.store.db.insertInto('accounts').values({ id, role: 'security_analyst', site: null, password_hash: null, status: 'active', status_reason: null, status_changed_at: null, mfa_secret: null, pending_role: null, pending_site: null, requested_by: null, requested_at: null, created_by: createdBy, approved_by: null, mfa_last_step: null }).execute();
  };
  /** prefix-0 (created by nobody) … prefix-n, each created by the one before. */
  const chain = async (prefix: string, n: number) => {
    for (let i = 0; i <= n; i++) await add(`${prefix}-${i}`, i ? `${prefix}-${i - 1}` : null);
  };

  beforeAll(async () => {
    t = await createTestStore(backend);
    await add('boss', null);
    await add('kid-a', 'boss');
    await add('kid-b', 'boss');
    await add('grandkid', 'kid-a');
    await add('stranger', null);
    await chain('within', CREATION_HOPS);
    await chain('beyond', CREATION_HOPS + 1);
    await add('loop-a', null);
    await add('loop-b', 'loop-a');
    await t.store.db.updateTable('accounts').set({ created_by: 'loop-b' }).where('id', '=', 'loop-a').execute();
  });
  afterAll(() => t?.dispose());

  it('names the actor itself, and the creation link either way round and across generations', async () => {
    expect(await sameHand(t.store.db, as('boss'), ['boss'])).toBe('self');
    expect(await sameHand(t.store.db, as('boss'), ['grandkid'])).toBe('creation');
    expect(await sameHand(t.store.db, as('grandkid'), ['boss'])).toBe('creation');
    expect(await sameHand(t.store.db, as('kid-a'), [null, 'stranger', 'grandkid'])).toBe('creation');
  });

  it('finds no link between strangers, nor between two accounts one third account created', async () => {
    expect(await sameHand(t.store.db, as('stranger'), ['boss', 'kid-a'])).toBeNull();
    expect(await sameHand(t.store.db, as('kid-a'), ['kid-b'])).toBeNull();
    expect(await sameHand(t.store.db, as('grandkid'), ['kid-b'])).toBeNull();
    expect(await sameHand(t.store.db, { kind: 'admin' }, ['boss'])).toBeNull();
  });

  it(`follows a chain of ${CREATION_HOPS} links to its end, both ways round`, async () => {
    expect(await sameHand(t.store.db, as(`within-${CREATION_HOPS}`), ['within-0'])).toBe('creation');
    expect(await sameHand(t.store.db, as('within-0'), [`within-${CREATION_HOPS}`])).toBe('creation');
    expect(await sameHand(t.store.db, as(`within-${CREATION_HOPS}`), ['stranger'])).toBeNull();
  });

  it('fails closed on a chain longer than the bound and on a loop: linked, whoever asks', async () => {
    const tail = `beyond-${CREATION_HOPS + 1}`;
    expect(await sameHand(t.store.db, as(tail), ['beyond-0'])).toBe('creation');
    expect(await sameHand(t.store.db, as('stranger'), [tail])).toBe('creation');
    expect(await sameHand(t.store.db, as(tail), ['stranger'])).toBe('creation');
    expect(await sameHand(t.store.db, as('stranger'), ['loop-a'])).toBe('creation');
  });
});
