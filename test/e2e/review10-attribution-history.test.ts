/**
 * Attack review 10 (feeding service, F3): leak attribution was moved onto an accomplice. A courier
 * revealed and leaked parcels; after the leak, a backfill-capable producer posted "history" of an
 * upstream account revealing exactly those records days earlier, and attribution named that account
 * and cleared the courier. An upstream reveal received after the audit trail showed another account
 * the same record is now left out of the ranking and counted (`late_history`); history that reached
 * Warden before the gateway's reveals still counts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';
import { loginAs, staff } from './trace-setup.js';

const DAY = 86_400_000;
const party = (i: number) => ({ name: `赵${'一二三四五六七八九十'[i % 10]}${'甲乙丙丁戊己庚辛壬癸'[Math.floor(i / 10) % 10]}`, phone: `13600${String(i).padStart(6, '0')}`, address: `北京市海淀区学院路${100 + i}号${(i % 9) + 1}栋${(i % 7) + 1}单元${300 + i}室` });
const waybill = (i: number) => `SF30000002${String(1000 + i * 7)}`;

type Answer = { sources: string[]; suspects: Array<{ account: string; matched: number }>; late_history: number };

describe.each(testBackends())('attack review 10: history received after the leak blames nobody, on %s', (backend) => {
  let w: TestWarden;
  let service = '';
  const tokens: Record<string, string> = {};
  let csv = '';
  const upstream = (account: string, ids: number[], tag: string) =>
    ids.map((i, n) => JSON.stringify({ id: `lq-${tag}-${n}`, ts: new Date(Date.now() - 3 * DAY + n * 1000).toISOString(), type: 'access', account, action: 'reveal', waybill: waybill(i), fields: ['name', 'address'], purpose: 'delivery', result: 'allowed' })).join('\n');
  const backfill = async (body: string) => {
    const r = await w.api('POST', '/api/v1/events?mode=backfill', { token: w.adminToken, raw: body, contentType: 'application/x-ndjson' });
    expect(r.status, r.text).toBeLessThan(300);
    expect(r.body.rejected_count ?? 0, r.text).toBe(0);
  };
  const attribute = async (): Promise<Answer> => {
    const r = await fetch(`${w.url}/api/v1/attributions`, { method: 'POST', headers: { authorization: `Bearer ${tokens.sa1}`, 'content-type': 'text/csv' }, body: csv });
    const body = await r.json();
    expect(r.status, JSON.stringify(body)).toBe(200);
    return body as Answer;
  };

  beforeAll(async () => {
    w = await startTestWarden(backend);
    service = (await staff(w, [{ code: 'OUT-1', city: '北京' }], [['sa1', 'security_analyst', null], ['c1', 'courier', 'OUT-1'], ['svc', 'service', null]])).svc!;
    tokens.sa1 = await loginAs(w, 'sa1');
    tokens.c1 = await loginAs(w, 'c1');
    // A vault of 300 parcels, 22 of which leak (the score weighs a match against chance).
    for (let i = 0; i < 300; i++) {
      const r = await w.api('POST', '/api/v1/waybills', { token: service, body: { waybill: waybill(i), origin_site: 'OUT-1', dest_site: 'OUT-1', sender: party(0), recipient: party(i + 20) } });
      expect(r.status, r.text).toBe(201);
    }
    // History that reached Warden before any gateway reveal: an upstream account saw parcels 0-2.
    await backfill(upstream('LQ-early', [0, 1, 2], 'early'));
    // The courier reveals twelve (under his per-minute quota); the dump has all twenty-two parcels.
    for (let i = 0; i < 12; i++) {
      expect((await w.api('POST', '/api/v1/assignments', { token: service, body: { waybill: waybill(i), account: 'c1', task: 'delivery' } })).status).toBeLessThan(300);
      const r = await w.api('POST', `/api/v1/waybills/${waybill(i)}/reveal`, { token: tokens.c1, body: { fields: ['recipient.name', 'recipient.address'], purpose: 'delivery' } });
      expect(r.status, r.text).toBe(200);
      expect(r.body.values['recipient.name']).toBe(party(i + 20).name);
    }
    csv = ['运单号,姓名,地址', ...Array.from({ length: 22 }, (_, i) => [waybill(i), party(i + 20).name, party(i + 20).address].join(','))].join('\n');
  });
  afterAll(async () => {
    await w?.dispose();
  });

  it('allowed: the courier who revealed them is the source; history received before counts', async () => {
    const out = await attribute();
    expect(out.sources[0]).toBe('c1');
    expect(out.suspects.find((s) => s.account === 'LQ-early')?.matched).toBe(3);
    expect(out.late_history).toBe(0);
  });

  it('the attack again: history of the same records backfilled after the leak names nobody and is counted', async () => {
    await backfill(upstream('LQ-bob', Array.from({ length: 12 }, (_, i) => i), 'bob'));
    const out = await attribute();
    expect(out.sources[0]).toBe('c1');
    expect(out.sources).not.toContain('LQ-bob');
    expect(out.suspects.map((s) => s.account)).not.toContain('LQ-bob');
    expect(out.late_history).toBe(12);
  });
});
