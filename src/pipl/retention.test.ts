/**
 * Retention purges exactly what the policy says: a property test over random policies, parcels
 * (delivered or not, at random times) and run dates, against an independent oracle, on the
 * embedded store. Plus the policy's own checks (ID numbers shortest, audit ≥ 184 days).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createTestStore, type TestStore } from '../../test/support/stores.js';
import type { Database } from '../store/schema.js';
import type { Kysely } from 'kysely';
import { DEFAULT_RETENTION, PURGED_MARK, createRetention, parseRetentionPolicy, RetentionPolicyError, type RetentionPolicy } from './retention.js';
import type { AuditEntryInput } from '../audit/kinds.js';

const DAY = 86_400_000;
const FIELDS = ['name', 'phone', 'address', 'id_number'] as const;
const T0 = Date.UTC(2026, 0, 1);

/** An audit writer that runs the effect in a transaction and keeps the entries. */
function recordingAudit(db: Kysely<Database>) {
  const entries: AuditEntryInput[] = [];
  return {
    entries,
    append: async (e: AuditEntryInput[], effect?: (tx: never, more: (m: readonly AuditEntryInput[]) => void) => Promise<void>) => {
      const more: AuditEntryInput[] = [];
      await db.transaction().execute(async (tx) => effect?.(tx as never, (m) => more.push(...m)));
      entries.push(...e, ...more);
      return [];
    },
  };
}

interface Parcel {
  createdDay: number;
  deliveredDay: number | null;
  withId: boolean;
}

const policyArb = fc
  .record({
    sender: fc.tuple(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 60 })),
    recipient: fc.tuple(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 60 })),
    undelivered: fc.integer({ min: 0, max: 60 }),
  })
  .map(({ sender: [id, a, b, c], recipient: [rid, ra, rb], undelivered }) =>
    parseRetentionPolicy({
      days: { sender: { id_number: id, name: id + a, phone: id + b, address: id + c }, recipient: { id_number: rid, name: rid + ra, phone: rid + rb, address: rid } },
      undelivered_days: undelivered,
    }),
  );

/** The oracle: a field is gone iff reference + days ≤ now. */
function expectedGone(policy: RetentionPolicy, p: Parcel, party: 'sender' | 'recipient', field: (typeof FIELDS)[number], now: number): boolean {
  const reference = p.deliveredDay !== null ? T0 + p.deliveredDay * DAY : T0 + (p.createdDay + policy.undelivered_days) * DAY;
  return reference + policy.days[party][field] * DAY <= now;
}

describe('retention policy', () => {
  it('fills defaults, and refuses ID numbers kept longer than other fields, short audit periods and unknown keys', () => {
    expect(parseRetentionPolicy({})).toEqual(DEFAULT_RETENTION);
    expect(() => parseRetentionPolicy({ days: { sender: { id_number: 400 } } })).toThrow(/id_number must be the shortest/);
    expect(() => parseRetentionPolicy({ audit_days: 100 })).toThrow(/audit_days/);
    expect(() => parseRetentionPolicy({ days: { courier: {} } })).toThrow(/unknown category/);
    expect(() => parseRetentionPolicy({ keep: 1 })).toThrow(RetentionPolicyError);
    expect(() => parseRetentionPolicy({ days: { recipient: { phone: 1.5 } } })).toThrow(/whole number/);
  });
});

describe('retention run (embedded store)', () => {
  let t: TestStore;
  beforeAll(async () => {
    t = await createTestStore('pglite');
  });
  afterAll(() => t?.dispose());

  it('purges exactly the fields whose period ended, in batches, and a dry run purges nothing', async () => {
    const db = t.store.db;
    let round = 0;
    await fc.assert(
      fc.asyncProperty(
        policyArb,
        fc.array(fc.record({ createdDay: fc.integer({ min: 0, max: 100 }), deliver: fc.option(fc.integer({ min: 0, max: 10 }), { nil: null }), withId: fc.boolean() }), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 0, max: 250 }),
        fc.constantFrom(0, 3_600_000, -1),
        fc.integer({ min: 1, max: 5 }),
        async (policy, raw, nowDay, offset, batchSize) => {
          round++;
          const parcels: Parcel[] = raw.map((r) => ({ createdDay: r.createdDay, deliveredDay: r.deliver === null ? null : r.createdDay + r.deliver, withId: r.withId }));
          // Exactly on a day boundary too: a period that ends now is over.
          const now = T0 + nowDay * DAY + offset;
          await db.deleteFrom('waybill_parties').execute();
          await db.deleteFrom('assignments').execute();
          await db.deleteFrom('waybills').execute();
          const wb = (i: number) => `SF${String(round).padStart(4, '0')}${String(i).padStart(8, '0')}`;
          const view = JSON.stringify({ sender: { name: 'x', phone: 'x', address: 'x', id_number: 'x' }, recipient: { name: 'x', phone: 'x', address: 'x' } });
          for (const [i, p] of parcels.entries()) {
            await db.insertInto('waybills').values({ waybill: wb(i), origin_site: 'S', dest_site: 'S', origin_city: null, dest_city: null, masked: view, label: view, created_at: new Date(T0 + p.createdDay * DAY) }).execute();
            for (const party of ['sender', 'recipient'] as const) {
              const b = Buffer.from([i, party === 'sender' ? 1 : 2]);
              await db.insertInto('waybill_parties').values({ waybill: wb(i), party, subject_id: b, name_ct: b, phone_ct: b, address_ct: b, id_number_ct: party === 'sender' && p.withId ? b : null, phone_bidx: b, id_bidx: null }).execute();
            }
            if (p.deliveredDay !== null) {
              await db.insertInto('assignments').values({ waybill: wb(i), account: 'c1', task: 'delivery', assigned_at: new Date(T0 + p.createdDay * DAY), completed_at: new Date(T0 + p.deliveredDay * DAY) }).execute();
            }
          }
          const audit = recordingAudit(db);
          const retention = createRetention({ db, audit, clock: { now: () => now }, policy });
          const dry = await retention.run({ actor: 'test', dryRun: true, batchSize });
          expect(audit.entries).toHaveLength(0);
          expect((await db.selectFrom('waybill_parties').select('name_ct').where('name_ct', 'is', null).execute()).length).toBe(0);
          const wet = await retention.run({ actor: 'test', batchSize });
          expect(wet.purged).toEqual(dry.purged);
          const rows = await db.selectFrom('waybill_parties').selectAll().execute();
          let expectedCount = 0;
          for (const r of rows) {
            const i = Number(r.waybill.slice(-8));
            const p = parcels[i]!;
            for (const f of FIELDS) {
              const held = r[`${f}_ct`] !== null;
              const had = f !== 'id_number' || (r.party === 'sender' && p.withId);
              if (!had) continue;
              const gone = expectedGone(policy, p, r.party, f, now);
              if (gone) expectedCount++;
              expect(held, `${r.waybill} ${r.party}.${f}`).toBe(!gone);
            }
          }
          expect(Object.values(wet.purged).reduce((a, b) => a + b, 0)).toBe(expectedCount);
          // Every purge was audited, batch by batch, and masked views lost the purged fields.
          expect(audit.entries.reduce((n, e) => n + Number(e.detail?.records ?? 0), 0)).toBe(wet.records);
          if (wet.records) {
            const masked = (await db.selectFrom('waybills').select('masked').execute()).map((m) => JSON.stringify(m.masked));
            expect(masked.some((m) => m.includes(PURGED_MARK))).toBe(true);
          }
          // Running again purges nothing more.
          const again = await retention.run({ actor: 'test', batchSize });
          expect(again.records).toBe(0);
        },
      ),
      { numRuns: 25 },
    );
  }, 120_000);
});
