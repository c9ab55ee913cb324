/**
 * `sameHand` on every backend, straight on the accounts table and the creation entries of the trail
 * (what the database owner or a long history could leave there): the creation link either way round, transitively; a third account's
 * two creations are not linked; a chain longer than the bound, or a loop, is not shown unlinked
 * (fail closed) while one just within the bound is followed to its end.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestStore, testBackends, type TestStore } from '../../test/support/stores.js';
import { CREATION_HOPS, linkedAccounts, sameHand } from './self.js';
import type { Actor } from '../identity/types.js';

const as = (id: string): Actor => ({ kind: 'account', id, role: 'security_analyst' });

describe.each(testBackends())('sameHand on %s', (backend) => {
  let t: TestStore;
  let seq = 0;
  /** The account's creation entry as the trail holds it (links are read from there); `by` null: the admin token. */
  const created = async (id: string, by: string | null) => {
    seq += 1;
    await t.store.db.insertInto('audit_log').values({ seq, ts: new Date(), kind: 'admin.account_created', account: id, role: 'security_analyst', site: null, device: null, ip: null, session: null, waybill: null, fields: null, purpose: null, ticket: null, decision: 'ok', reason: null, request_id: null, detail: JSON.stringify({ actor: by ?? 'admin', approval: 'approved' }) as never, prev_hash: Buffer.alloc(32), hash: Buffer.alloc(32) }).execute();
  };
  const add = async (id: string, createdBy: string | null) => {
    await t.store.db.insertInto('accounts').values({ id, role: 'security_analyst', site: null, password_hash: null, status: 'active', status_reason: null, status_changed_at: null, mfa_secret: null, pending_role: null, pending_site: null, requested_by: null, requested_at: null, created_by: createdBy, approved_by: null, mfa_last_step: null }).execute();
    await created(id, createdBy);
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
    // A loop cannot be made through Warden; the trail is what links are read from, so it is written there.
    await add('loop-a', 'loop-b');
    await add('loop-b', 'loop-a');
    // Attack review 10: one puppet, its link erased from the row only; one account no entry created.
    await add('maker', null);
    await add('puppet', 'maker');
    await add('bystander', null);
    await t.store.db.insertInto('accounts').values({ id: 'ghost', role: 'security_analyst', site: null, password_hash: null, status: 'active', status_reason: null, status_changed_at: null, mfa_secret: null, pending_role: null, pending_site: null, requested_by: null, requested_at: null, created_by: 'admin', approved_by: null, mfa_last_step: null }).execute();
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

  it('reads links from the trail: a rewritten created_by is refused as inconsistent, and the link still stands', async () => {
    expect(await sameHand(t.store.db, as('puppet'), ['maker'])).toBe('creation');
    expect(await sameHand(t.store.db, as('bystander'), ['maker'])).toBeNull();
    await t.store.db.updateTable('accounts').set({ created_by: 'admin' }).where('id', '=', 'puppet').execute();
    expect(await sameHand(t.store.db, as('puppet'), ['maker'])).toBe('inconsistent');
    expect(await sameHand(t.store.db, as('maker'), ['puppet'])).toBe('inconsistent');
    expect(await linkedAccounts(t.store.db, 'maker')).toContain('puppet');
    expect(await linkedAccounts(t.store.db, 'puppet')).toContain('maker');
    await t.store.db.updateTable('accounts').set({ created_by: null }).where('id', '=', 'puppet').execute();
    expect(await sameHand(t.store.db, as('puppet'), ['maker'])).toBe('creation');
    // An account no creation entry made is not vouched for by the trail: inconsistent.
    expect(await sameHand(t.store.db, as('ghost'), ['bystander'])).toBe('inconsistent');
    expect(await sameHand(t.store.db, as('bystander'), ['ghost'])).toBe('inconsistent');
  });
});
