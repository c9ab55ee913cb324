/**
 * The routing seal (attack review 9): a seal covers exactly the routing the access decision
 * reads, names its waybill, is made only with a master key, and follows a master-key change
 * (seals under the previous key verify while it is loaded; the rotation re-seals them under the
 * primary, and leaves a broken one broken). The re-seal runs on every backend.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { createTestStore, testBackends, type TestStore } from '../../test/support/stores.js';
import { masterKeyFrom } from './keyring.js';
import { createRoutingSeal, resealUnderPrimary, SEAL_BYTES, type SealedRouting } from './routing-seal.js';

const R: SealedRouting = { waybill: 'SF100000000001', origin_site: 'OUT-SH-1', dest_site: 'OUT-SH-1', origin_city: '上海', dest_city: '上海' };
const OLD = masterKeyFrom(randomBytes(32));
const NEW = masterKeyFrom(randomBytes(32));

describe('routing seal', () => {
  const seal = createRoutingSeal([OLD]);

  it('allowed: the routing Warden sealed checks', () => {
    const s = seal.seal(R);
    expect(s.length).toBe(SEAL_BYTES);
    expect(seal.check(R, s)).toBe(true);
    expect(seal.keyIdOf(s)).toBe(OLD.id);
  });

  it('denied: any routing column changed, another waybill, no seal, a mangled seal, another master key', () => {
    const s = seal.seal(R);
    for (const changed of [
      { dest_site: 'OUT-BJ-1' },
      { origin_site: 'OUT-BJ-1' },
      { dest_city: '北京' },
      { origin_city: null },
      { waybill: 'SF100000000002' },
    ]) {
      expect(seal.check({ ...R, ...changed }, s)).toBe(false);
    }
    // Values shifted between columns do not collide.
    expect(seal.check({ ...R, origin_city: '上海', dest_city: null }, seal.seal({ ...R, origin_city: null, dest_city: '上海' }))).toBe(false);
    expect(seal.check(R, null)).toBe(false);
    expect(seal.check(R, Buffer.alloc(0))).toBe(false);
    const flipped = Buffer.from(s);
    flipped[SEAL_BYTES - 1]! ^= 1;
    expect(seal.check(R, flipped)).toBe(false);
    expect(createRoutingSeal([NEW]).check(R, s)).toBe(false);
  });

  it('a master-key change: seals under the previous key verify while it is loaded; new seals are under the primary', () => {
    const s = seal.seal(R);
    const both = createRoutingSeal([NEW, OLD]);
    expect(both.check(R, s)).toBe(true);
    expect(both.keyIdOf(both.seal(R))).toBe(NEW.id);
  });
});

describe.each(testBackends())('routing seal re-sealed under the primary master key on %s', (backend) => {
  let t: TestStore;
  beforeAll(async () => {
    t = await createTestStore(backend);
  });
  afterAll(() => t.dispose());

  it('re-seals the good seals of the previous key and leaves a broken one broken', async () => {
    const view = JSON.stringify({ sender: { name: 'x', phone: 'x', address: 'x' }, recipient: { name: 'x', phone: 'x', address: 'x' } });
    const old = createRoutingSeal([OLD]);
    const rows = ['SF100000000001', 'SF100000000002', 'SF100000000003'].map((waybill) => ({ ...R, waybill }));
    for (const r of rows) await t.store.db.insertInto('waybills').values({ ...r, masked: view, label: view, created_at: new Date(), routing_seal: old.seal(r) }).execute();
    // One changed outside Warden.
    await t.store.db.updateTable('waybills').set({ dest_site: 'OUT-BJ-1' }).where('waybill', '=', 'SF100000000003').execute();
    expect(await resealUnderPrimary(t.store.db, createRoutingSeal([NEW, OLD]))).toEqual({ resealed: 2, broken: 1 });
    const only = createRoutingSeal([NEW]);
    const after = await t.store.db.selectFrom('waybills').select(['waybill', 'origin_site', 'dest_site', 'origin_city', 'dest_city', 'routing_seal']).orderBy('waybill').execute();
    expect(after.map((r) => only.check(r, r.routing_seal))).toEqual([true, true, false]);
    // Nothing left under the old key but the broken one: a second run changes nothing.
    expect(await resealUnderPrimary(t.store.db, createRoutingSeal([NEW, OLD]))).toEqual({ resealed: 0, broken: 1 });
  });
});
