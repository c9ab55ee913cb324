import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { sql } from 'kysely';
import { createTestStore, testBackends, type TestStore } from '../../test/support/stores.js';
import { createLogger } from '../ops/logger.js';
import { createMetrics } from '../ops/metrics.js';
import { createAuditWriter } from './writer.js';
import { verifyAuditTrail } from './verify.js';
import { signerFromPrivateKey } from './signing-key.js';
import { inclusionProof, consistencyProof, latestHead, rootAt } from './tree-store.js';
import { leafHash, verifyConsistency, verifyInclusion } from './merkle.js';
import { canonicalEntry } from './chain.js';
import type { AuditEntryInput } from './kinds.js';

const signer = signerFromPrivateKey(generateKeyPairSync('ed25519').privateKey, 'env');
const keys = { publicKeys: new Map([[signer.keyId, signer.publicKey]]), headEverySeconds: 5 };
const entry = (i: number): AuditEntryInput => ({ kind: 'access.reveal', ts: new Date(1_700_000_000_000 + i), decision: i % 3 ? 'allowed' : 'denied', account: `c${i % 7}`, waybill: `SF${100000000000 + i}`, fields: ['recipient.phone'], purpose: 'delivery', detail: { n: i, z: 'x', a: ['b'] } });
const make = (t: TestStore, headEveryEntries: number) => createAuditWriter({ db: t.store.db, signer, metrics: createMetrics(), logger: createLogger({ level: 'silent' }), headEveryEntries });

describe.each(testBackends())('audit writer on %s', (backend) => {
  let t: TestStore;
  beforeAll(async () => {
    t = await createTestStore(backend);
  });
  afterAll(() => t.dispose());

  it('chains concurrent appends from two writers (two processes) into one gap-free tree with a signed head at every 10th entry', async () => {
    const a = make(t, 10);
    const b = make(t, 10);
    await a.init();
    await b.init();
    const results = await Promise.all(Array.from({ length: 120 }, (_, i) => (i % 2 ? a : b).append([entry(i)])));
    const seqs = results.flat().map((r) => r.seq).sort((x, y) => x - y);
    expect(seqs).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
    const verdict = await verifyAuditTrail(t.store.db, { ...keys, headEveryEntries: 10 });
    expect(verdict).toMatchObject({ ok: true, entries: 120, lastSeq: 120, headsVerified: 12 });
  });

  it('stores subtrees of 256 entries and up, so proofs and roots need no full scan; they check against the signed heads', async () => {
    const w = make(t, 10);
    await w.init();
    // 600 entries in batches of varying size, through the fast path and the locked path.
    for (let i = 120; i < 600; i += 37) await Promise.all(Array.from({ length: Math.min(37, 600 - i) }, (_, k) => w.append([entry(i + k)])));
    const nodes = await t.store.db.selectFrom('audit_tree_nodes').select(['level', 'idx']).orderBy('level').orderBy('idx').execute();
    expect(nodes.map((n) => [Number(n.level), Number(n.idx)])).toEqual([[8, 0], [8, 1], [9, 0]]);
    const head = (await latestHead(t.store.db))!;
    expect(head.treeSize).toBe(600);
    expect((await rootAt(t.store.db, 600)).equals(head.root)).toBe(true);
    for (const seq of [1, 256, 257, 513, 600]) {
      const row = await t.store.db.selectFrom('audit_log').selectAll().where('seq', '=', seq).executeTakeFirstOrThrow();
      const { entryFromRow } = await import('./rows.js');
      const leaf = leafHash(canonicalEntry(seq, entryFromRow(row)));
      expect(verifyInclusion(seq - 1, 600, leaf, await inclusionProof(t.store.db, seq - 1, 600), head.root)).toBe(true);
    }
    for (const from of [10, 256, 300, 512]) {
      const old = await rootAt(t.store.db, from);
      expect(verifyConsistency(from, 600, old, head.root, await consistencyProof(t.store.db, from, 600))).toBe(true);
    }
    expect((await verifyAuditTrail(t.store.db, { ...keys, headEveryEntries: 10 })).ok).toBe(true);
  });

  it('builds the tree once over a trail written before it existed (upgrade), and the result verifies', async () => {
    await sql`update audit_head set frontier = null`.execute(t.store.db);
    await sql`delete from audit_tree_nodes`.execute(t.store.db);
    await sql`delete from audit_tree_heads`.execute(t.store.db);
    const w = make(t, 100);
    await w.init();
    await w.append([entry(600)]);
    const heads = await t.store.db.selectFrom('audit_tree_heads').select('tree_size').orderBy('tree_size').execute();
    expect(heads.map((h) => Number(h.tree_size))).toEqual([100, 200, 300, 400, 500, 600]);
    expect((await verifyAuditTrail(t.store.db, { ...keys, headEveryEntries: 100, now: Date.now() })).ok).toBe(true);
  });

  it('an unsigned tail is fine while young, and a finding once older than the head interval and grace (heads deleted, or no writer since)', async () => {
    const own = await createTestStore(backend);
    try {
      const w = createAuditWriter({ db: own.store.db, signer, metrics: createMetrics(), logger: createLogger({ level: 'silent' }), headEveryEntries: 2 });
      await w.init();
      const now = Date.now();
      for (let i = 0; i < 3; i++) await w.append([{ ...entry(i), ts: new Date(now) }]);
      expect((await verifyAuditTrail(own.store.db, { ...keys, headEveryEntries: 2, now })).ok).toBe(true);
      const later = await verifyAuditTrail(own.store.db, { ...keys, headEveryEntries: 2, now: now + 10 * 60_000 });
      expect(later.ok).toBe(false);
      expect(later.findings[0]).toMatchObject({ code: 'unsigned_tail', seq: 3 });
      expect(later.reason).toMatch(/entries 3\.\.3 have no signed head, and the newest head is from/);
      // No head at all: the age of the oldest unsigned entry decides.
      await sql`delete from audit_tree_heads`.execute(own.store.db);
      const none = await verifyAuditTrail(own.store.db, { ...keys, headEveryEntries: 5, now: now + 10 * 60_000 });
      expect(none.reason).toMatch(/entries 1\.\.3 have no signed head, and the oldest of them is from/);
    } finally {
      await own.dispose();
    }
  });

  it('refuses (audit_unavailable) when an effect-free batch cannot be written, and resumes after', async () => {
    const w = make(t, 1000);
    await w.init();
    await expect(w.append([{ ...entry(1), kind: 'access.view', detail: { bad: '\u0000' } }])).rejects.toMatchObject({ code: 'audit_unavailable' });
    expect(w.health().ok).toBe(false);
    await w.append([entry(2)]);
    expect(w.health().ok).toBe(true);
    const verdict = await verifyAuditTrail(t.store.db, { ...keys, headEveryEntries: 100 });
    expect(verdict.ok, verdict.reason).toBe(true);
  });
});
