import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPairSync, sign } from 'node:crypto';
import { createTestStore, testBackends, type TestStore } from '../../test/support/stores.js';
import { createLogger } from '../ops/logger.js';
import { createMetrics } from '../ops/metrics.js';
import { createAuditWriter } from './writer.js';
import { verifyAuditTrail } from './verify.js';
import type { AuditEntryInput } from './kinds.js';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const signer = { keyId: 'test-key', sign: (m: Buffer) => sign(null, m, privateKey) };
const entry = (i: number): AuditEntryInput => ({ kind: 'access.reveal', ts: new Date(1_700_000_000_000 + i), decision: i % 3 ? 'allowed' : 'denied', account: `c${i % 7}`, waybill: `SF${100000000000 + i}`, fields: ['recipient.phone'], purpose: 'delivery', detail: { n: i, z: 'x', a: ['b'] } });

describe.each(testBackends())('audit writer on %s', (backend) => {
  let t: TestStore;
  beforeAll(async () => {
    t = await createTestStore(backend);
  });
  afterAll(() => t.dispose());

  it('chains concurrent appends from two writers (two processes) into one gap-free, verifiable trail with signed checkpoints', async () => {
    const make = () => createAuditWriter({ db: t.store.db, signer, metrics: createMetrics(), logger: createLogger({ level: 'silent' }), checkpointEvery: 10 });
    const a = make();
    const b = make();
    const results = await Promise.all(Array.from({ length: 120 }, (_, i) => (i % 2 ? a : b).append([entry(i)])));
    const seqs = results.flat().map((r) => r.seq).sort((x, y) => x - y);
    expect(seqs).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
    const verdict = await verifyAuditTrail(t.store.db, { publicKeys: new Map([['test-key', publicKey]]) });
    expect(verdict).toMatchObject({ ok: true, entries: 120, lastSeq: 120, checkpointsVerified: 12 });
  });

  it('refuses (audit_unavailable) when an effect-free batch cannot be written, and resumes after', async () => {
    const w = createAuditWriter({ db: t.store.db, signer, metrics: createMetrics(), logger: createLogger({ level: 'silent' }), checkpointEvery: 1000 });
    await expect(w.append([{ ...entry(1), kind: 'access.view', detail: { bad: '\u0000' } }])).rejects.toMatchObject({ code: 'audit_unavailable' });
    expect(w.health().ok).toBe(false);
    await w.append([entry(2)]);
    expect(w.health().ok).toBe(true);
    const verdict = await verifyAuditTrail(t.store.db, { publicKeys: new Map([['test-key', publicKey]]) });
    expect(verdict.ok).toBe(true);
  });
});
