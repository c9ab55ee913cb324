/**
 * Attack review 3, S4: leak attribution as a guess oracle for one analyst, tried again over HTTP
 * on every backend. A run is a bounded, recorded investigation (src/trace/attributions.ts):
 * - an allowed run is audited with the actor, the file's SHA-256, rows and matched counts, no PII;
 * - an upload of fewer distinct usable rows than the minimum (default 20) is a 400 naming it,
 *   audited as a refusal, and not counted against the quota (padding by repeating a row fails too);
 * - each analyst has N runs per hour: the next is 429 rate_limited with retry-after, audited;
 *   another analyst is not affected;
 * - name + address matches only the same household: 502室 is not 501室, while a formatting variant
 *   of the real address still matches.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestStore, testBackends, type TestStore } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';
import { loginAs, staff } from './trace-setup.js';

const W = (i: number) => `SF2100000000${String(i).padStart(2, '0')}`;
const phone = (i: number) => `1392000${String(i).padStart(4, '0')}`;
const HOME = '上海市黄浦区南京东路88号3号楼2单元501室';
const party = (i: number) => (i === 1 ? { name: '王小明', phone: phone(1), address: HOME } : { name: `李${'一二三四五六七八九十'[i % 10]}${i}`, phone: phone(i), address: `上海市浦东新区世纪大道${100 + i}号${i}室` });
/** Rows that name nobody: unknown phones, or unknown people at unknown addresses. */
const unknownPhones = (n: number) => Array.from({ length: n }, (_, i) => `1399888${String(i).padStart(4, '0')}`);
const unknownPeople = (n: number) => Array.from({ length: n }, (_, i) => `赵无${i},上海市闵行区虹梅路${900 + i}号${i + 1}室`);
const RUNS_PER_HOUR = 3;
const sha256 = (s: string) => createHash('sha256').update(Buffer.from(s)).digest('hex');

describe.each(testBackends())('attribution is not a guess oracle (review 3, S4) on %s', (backend) => {
  let w: TestWarden;
  let store: TestStore;
  const tokens: Record<string, string> = {};
  const upload = (csv: string, token: string | undefined) =>
    fetch(`${w.url}/api/v1/attributions`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv' }, body: csv }).then(async (r) => ({ status: r.status, retryAfter: r.headers.get('retry-after'), body: (await r.json()) as any }));
  const runs = (account: string) => w.warden.db.selectFrom('audit_log').selectAll().where('kind', '=', 'trace.attribution_run').where('account', '=', account).orderBy('seq').execute();

  beforeAll(async () => {
    store = await createTestStore(backend);
    w = await startTestWarden(backend, { store, config: { attributionRunsPerHour: RUNS_PER_HOUR } });
    const service = (await staff(w, [{ code: 'OUT-1', city: '上海' }], [['sa1', 'security_analyst', null], ['sa2', 'security_analyst', null], ['sa3', 'security_analyst', null], ['c1', 'courier', 'OUT-1'], ['svc', 'service', null]])).svc!;
    for (const a of ['sa1', 'sa2', 'sa3', 'c1']) tokens[a] = await loginAs(w, a);
    for (let i = 1; i <= 6; i++) {
      expect((await w.api('POST', '/api/v1/waybills', { token: service, body: { waybill: W(i), origin_site: 'OUT-1', dest_site: 'OUT-1', sender: party(0), recipient: party(i) } })).status).toBe(201);
      await w.api('POST', '/api/v1/assignments', { token: service, body: { waybill: W(i), account: 'c1', task: 'delivery' } });
      expect((await w.api('POST', `/api/v1/waybills/${W(i)}/reveal`, { token: tokens.c1, body: { fields: ['recipient.phone'], purpose: 'delivery' } })).status).toBe(200);
    }
  });
  afterAll(async () => {
    await w?.dispose();
    await store?.dispose();
  });

  it('an allowed run is audited with the actor, the file\'s SHA-256, rows and matched counts, and no value from the file; the answer keeps who saw them', async () => {
    const csv = ['phone', ...[1, 2, 3, 4, 5].map(phone), ...unknownPhones(15)].join('\n') + '\n';
    const r = await upload(csv, tokens.sa1);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ matched: 5, by: { phone: 5 } });
    expect(r.body.suspects[0]).toMatchObject({ account: 'c1', matched: 5 });
    const entry = (await runs('sa1')).at(-1)!;
    expect(entry).toMatchObject({ decision: 'ok', account: 'sa1', role: 'security_analyst' });
    const detail = (typeof entry.detail === 'string' ? JSON.parse(entry.detail) : entry.detail) as Record<string, unknown>;
    expect(detail).toMatchObject({ actor: 'sa1', sha256: sha256(csv), rows: 20, distinct: 20, matched: 5, unmatched: 15, via: 'api' });
    expect(JSON.stringify(detail)).not.toMatch(/139\d{8}/);
  });

  it('a lookup is not a dump: one row, or one row repeated to the minimum, is a 400 naming the minimum, audited, not counted', async () => {
    const one = `phone\n${phone(1)}\n`;
    const small = await upload(one, tokens.sa2);
    expect(small.status).toBe(400);
    expect(small.body.error).toMatchObject({ code: 'validation_failed', message: expect.stringMatching(/at least 20 distinct usable rows; this file has 1/) });
    expect(small.body.matched).toBeUndefined();
    const repeated = await upload(['phone', ...Array.from({ length: 25 }, () => phone(1))].join('\n'), tokens.sa2);
    expect(repeated.status).toBe(400);
    expect(repeated.body.error.message).toMatch(/this file has 1 /);
    const [first] = await runs('sa2');
    expect(first).toMatchObject({ decision: 'denied', reason: 'too_few_rows' });
    expect(JSON.stringify(first!.detail)).toContain(sha256(one));
    expect(JSON.stringify(first!.detail)).not.toContain(phone(1));
  });

  it(`the run quota: ${RUNS_PER_HOUR} runs an hour for each analyst, then 429 rate_limited with retry-after, audited; another analyst still runs`, async () => {
    const dump = (k: number) => ['phone', phone(2), ...unknownPhones(19 + k)].join('\n');
    for (let k = 0; k < RUNS_PER_HOUR; k++) expect((await upload(dump(k), tokens.sa2)).status).toBe(200);
    const refused = await upload(dump(9), tokens.sa2);
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('rate_limited');
    expect(Number(refused.retryAfter)).toBeGreaterThan(0);
    expect(refused.body.matched).toBeUndefined();
    const last = (await runs('sa2')).at(-1)!;
    expect(last).toMatchObject({ decision: 'denied', reason: 'rate_limited' });
    expect(JSON.stringify(last.detail)).toContain(sha256(dump(9)));
    // The two size refusals above did not count: exactly RUNS_PER_HOUR runs went through.
    expect((await runs('sa2')).filter((e) => e.decision === 'ok')).toHaveLength(RUNS_PER_HOUR);
    expect((await upload(dump(0), tokens.sa3)).status).toBe(200);
  });

  it('name + address: the same household only — 502室 for 501室 is unmatched, a formatting variant of 501室 matches', async () => {
    const withRow = (row: string) => ['name,address', row, ...unknownPeople(19)].join('\n');
    const nearMiss = await upload(withRow('王小明,上海市黄浦区南京东路88号3号楼2单元502室'), tokens.sa3);
    expect(nearMiss.status).toBe(200);
    expect(nearMiss.body.matched).toBe(0);
    expect(nearMiss.body.by.name_address).toBeUndefined();
    const variant = await upload(withRow('王小明,上海市黄浦区南京东路88号 3栋 2单元 501'), tokens.sa3);
    expect(variant.status).toBe(200);
    expect(variant.body).toMatchObject({ matched: 1, by: { name_address: 1 } });
    expect(variant.body.suspects[0]).toMatchObject({ account: 'c1', matched: 1 });
  });

  it('the run quota is remembered across a restart (rebuilt from the trail, or shared in the database)', async () => {
    await w.dispose();
    w = await startTestWarden(backend, { store, config: { attributionRunsPerHour: RUNS_PER_HOUR, masterKey: w.masterKey } });
    for (const a of ['sa1', 'sa2']) tokens[a] = await loginAs(w, a);
    const dump = ['phone', ...unknownPhones(20)].join('\n');
    expect((await upload(dump, tokens.sa2)).status).toBe(429);
    expect((await upload(dump, tokens.sa1)).status).toBe(200);
  });
});
