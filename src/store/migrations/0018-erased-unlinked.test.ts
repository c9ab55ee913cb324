/**
 * Migration 0018 on a store that already holds erased parties (attack review 7): rows erased
 * before it kept their phone blind index and a subject id equal to it, so a phone search or a
 * leak attribution still found the person. The migration nulls the indexes of erased rows and
 * gives each erased person a random subject id; live rows, a later parcel of the same number
 * included, are untouched. Runs on every backend.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kysely } from 'kysely';
import { createTestStore, testBackends, type TestStore } from '../../../test/support/stores.js';
import type { Database } from '../schema.js';
import { toBuffer } from '../db.js';
import { up } from './0018-erased-unlinked.js';

const bytes = (tag: string) => Buffer.alloc(32, tag);
const PERSON = bytes('p');
const PERSON_ID = bytes('i');
const OTHER = bytes('o');
const ct = Buffer.from('ciphertext');
const view = JSON.stringify({ sender: { name: 'x', phone: 'x', address: 'x' }, recipient: { name: 'x', phone: 'x', address: 'x' } });
const ERASED_AT = new Date('2026-11-01T00:00:00Z');

async function seed(db: Kysely<Database>) {
  for (const waybill of ['SF1', 'SF2', 'SF3']) {
    await db.insertInto('waybills').values({ waybill, origin_site: 'A', dest_site: 'A', origin_city: null, dest_city: null, masked: view, label: view, created_at: new Date() }).execute();
  }
  const live = { name_ct: ct, phone_ct: ct, address_ct: ct, id_number_ct: null, erased_at: null };
  // As erasure left them before this fix: ciphertext gone, the phone index and subject id kept.
  const erased = { name_ct: null, phone_ct: null, address_ct: null, id_number_ct: null, id_bidx: null, erased_at: ERASED_AT };
  await db.insertInto('waybill_parties').values([
    { waybill: 'SF1', party: 'recipient', subject_id: PERSON, phone_bidx: PERSON, ...erased },
    { waybill: 'SF2', party: 'sender', subject_id: PERSON, phone_bidx: PERSON, ...erased, id_bidx: PERSON_ID },
    { waybill: 'SF1', party: 'sender', subject_id: OTHER, phone_bidx: OTHER, id_bidx: null, ...live },
    { waybill: 'SF2', party: 'recipient', subject_id: OTHER, phone_bidx: OTHER, id_bidx: null, ...live },
    // The same number's parcel after the erasure: a live row of the person, kept as it is.
    { waybill: 'SF3', party: 'recipient', subject_id: PERSON, phone_bidx: PERSON, id_bidx: PERSON_ID, ...live },
    { waybill: 'SF3', party: 'sender', subject_id: OTHER, phone_bidx: OTHER, id_bidx: null, ...live },
  ]).execute();
}

describe.each(testBackends())('migration 0018: erased parties lose their lookups, on %s', (backend) => {
  let t: TestStore;
  beforeAll(async () => {
    t = await createTestStore(backend);
    await seed(t.store.db);
  });
  afterAll(() => t?.dispose());

  const rows = async () => {
    const all = await t.store.db.selectFrom('waybill_parties').selectAll().orderBy('waybill').orderBy('party').execute();
    return new Map(all.map((r) => [`${r.waybill}/${r.party}`, r]));
  };

  it('nulls the indexes of already-erased rows and unlinks their subject, one random id per person', async () => {
    const before = await rows();
    await up(t.store.db as unknown as Kysely<unknown>);
    const after = await rows();
    const erased = [after.get('SF1/recipient')!, after.get('SF2/sender')!];
    for (const r of erased) {
      expect(r.phone_bidx).toBeNull();
      expect(r.id_bidx).toBeNull();
      expect(toBuffer(r.subject_id).equals(PERSON)).toBe(false);
      expect(toBuffer(r.subject_id)).toHaveLength(32);
      expect(new Date(r.erased_at!).getTime()).toBe(ERASED_AT.getTime());
    }
    expect(toBuffer(erased[0]!.subject_id).equals(toBuffer(erased[1]!.subject_id))).toBe(true);
    // A phone lookup of the person finds the later parcel only.
    const found = await t.store.db.selectFrom('waybill_parties').select('waybill').where('phone_bidx', '=', PERSON).execute();
    expect(found.map((r) => r.waybill)).toEqual(['SF3']);
    const bySubject = await t.store.db.selectFrom('waybill_parties').select('waybill').where('subject_id', '=', PERSON).execute();
    expect(bySubject.map((r) => r.waybill)).toEqual(['SF3']);
    for (const key of ['SF1/sender', 'SF2/recipient', 'SF3/recipient', 'SF3/sender']) expect(after.get(key), key).toEqual(before.get(key));
  });

  it('runs again without changing anything', async () => {
    const before = await rows();
    await up(t.store.db as unknown as Kysely<unknown>);
    expect(await rows()).toEqual(before);
  });
});
