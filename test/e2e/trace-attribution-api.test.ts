/**
 * Leak attribution over HTTP (POST /api/v1/attributions), the console's upload: the leaked file
 * itself as the body (CSV or XLSX), ranked against the stored trail. Security analysts only (not
 * the admin token, not managers or couriers); every run audited without a value from the file;
 * bad input a clear 4xx (empty, unreadable workbook, wrong media type, too large).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import ExcelJS from 'exceljs';
import { testBackends } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';
import { loginAs, staff } from './trace-setup.js';
import { MAX_DUMP_BYTES } from '../../src/trace/attributions.js';
import { zipBomb } from '../support/zip-bomb.js';

const W = (i: number) => `SF2000000000${String(i).padStart(2, '0')}`;
const phone = (i: number) => `1391000${String(i).padStart(4, '0')}`;
const party = (i: number) => ({ name: `李${'一二三四五六七八九十'[i % 10]}${i}`, phone: phone(i), address: `上海市浦东新区世纪大道${100 + i}号${i}室` });
const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
/** Phones of nobody: a dump has at least 20 distinct rows (WARDEN_ATTRIBUTION_MIN_ROWS). */
const unknown = (n: number) => Array.from({ length: n }, (_, i) => `1399999${String(i).padStart(4, '0')}`);

describe.each(testBackends())('leak attribution over HTTP on %s', (backend) => {
  let w: TestWarden;
  const tokens: Record<string, string> = {};
  const upload = (body: Buffer | string, token: string | undefined, contentType = 'text/csv', query = '') =>
    fetch(`${w.url}/api/v1/attributions${query}`, { method: 'POST', headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': contentType }, body: typeof body === 'string' ? body : new Uint8Array(body) }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));

  beforeAll(async () => {
    w = await startTestWarden(backend);
    const service = (await staff(w, [{ code: 'OUT-1', city: '上海' }], [['sa1', 'security_analyst', null], ['c1', 'courier', 'OUT-1'], ['c2', 'courier', 'OUT-1'], ['c3', 'courier', 'OUT-1'], ['m1', 'manager', 'OUT-1'], ['svc', 'service', null]])).svc!;
    for (const a of ['sa1', 'c1', 'c2', 'c3', 'm1']) tokens[a] = await loginAs(w, a);
    // 40 waybills: c1 is shown 10 in full, c2 and c3 15 each (within the per-minute reveal quota).
    for (let i = 1; i <= 40; i++) {
      expect((await w.api('POST', '/api/v1/waybills', { token: service, body: { waybill: W(i), origin_site: 'OUT-1', dest_site: 'OUT-1', sender: party(0), recipient: party(i) } })).status).toBe(201);
      const courier = i <= 10 ? 'c1' : i <= 25 ? 'c2' : 'c3';
      await w.api('POST', '/api/v1/assignments', { token: service, body: { waybill: W(i), account: courier, task: 'delivery' } });
      const reveal = await w.api('POST', `/api/v1/waybills/${W(i)}/reveal`, { token: tokens[courier], body: { fields: ['recipient.phone'], purpose: 'delivery' } });
      expect(reveal.status, reveal.text).toBe(200);
    }
  });
  afterAll(async () => {
    await w?.dispose();
  });

  it('a security analyst uploads a CSV dump: matched and unmatched rows, the source first with its window and device; audited without the file\'s values', async () => {
    const csv = ['手机号,姓名,备注', ...[1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((i) => `${phone(i)},${party(i).name},`), ...unknown(10).map((p) => `${p},无名氏,`), '合计,,共20条'].join('\n');
    const r = await upload(csv, tokens.sa1);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ matched: 10, records: 10, by: { phone: 10 } });
    expect(r.body.unmatched).toBeGreaterThanOrEqual(1);
    expect(r.body.suspects[0]).toMatchObject({ account: 'c1', matched: 10, source: true, devices: [expect.any(String)] });
    expect(r.body.suspects[0].score).toBeGreaterThan(r.body.suspects[1]?.score ?? 0);
    expect(r.body.sources).toEqual(['c1']);
    expect(Date.parse(r.body.window.to)).toBeGreaterThanOrEqual(Date.parse(r.body.window.from));
    const entry = await w.warden.db.selectFrom('audit_log').selectAll().where('kind', '=', 'trace.attribution_run').orderBy('seq', 'desc').executeTakeFirstOrThrow();
    expect(entry.account).toBe('sa1');
    const detail = JSON.stringify(entry.detail);
    expect(detail).toContain('"matched":10');
    expect(detail).not.toContain(phone(1));
    expect(detail).not.toContain('李');
  });

  it('reads an XLSX workbook with English headers, and found_at closes the window', async () => {
    const book = new ExcelJS.Workbook();
    const sheet = book.addWorksheet('leak');
    sheet.addRow(['Tracking No', 'Mobile']);
    for (let i = 1; i <= 8; i++) sheet.addRow([W(i), phone(i)]);
    for (const p of unknown(12)) sheet.addRow(['', p]);
    const foundAt = new Date(Date.now() + 3_600_000).toISOString();
    const r = await upload(Buffer.from(await book.xlsx.writeBuffer()), tokens.sa1, XLSX, `?found_at=${encodeURIComponent(foundAt)}&limit=5`);
    expect(r.status).toBe(200);
    expect(r.body.matched).toBe(8);
    expect(r.body.suspects[0].account).toBe('c1');
    expect(r.body.suspects.length).toBeLessThanOrEqual(5);
    expect(r.body.window.to).toBe(foundAt);
  });

  it('only security analysts: a manager, a courier, the admin token and no token are refused', async () => {
    const csv = `${phone(1)}\n`;
    for (const token of [tokens.m1, tokens.c1, w.adminToken]) {
      const r = await upload(csv, token);
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe('forbidden');
    }
    expect((await upload(csv, undefined)).status).toBe(401);
    const runs = await w.warden.db.selectFrom('audit_log').select('account').where('kind', '=', 'trace.attribution_run').execute();
    expect(runs.every((e) => e.account === 'sa1')).toBe(true);
  });

  it('bad input is a clear 4xx: an empty body, an unreadable workbook, JSON, a file over the limit, a limit out of range', async () => {
    const empty = await upload('', tokens.sa1);
    expect(empty.status).toBe(400);
    expect(empty.body.error.message).toMatch(/send the leaked file/);
    // A zip signature with nothing behind it: not a workbook.
    const broken = await upload(Buffer.from([0x50, 0x4b, 0x03, 0x04, 1, 2, 3, 4, 5, 6]), tokens.sa1, XLSX);
    expect(broken.status).toBe(400);
    expect(broken.body.error).toMatchObject({ code: 'validation_failed', message: expect.stringMatching(/could not be read/) });
    // A zip bomb (300 KiB that unpacks to 300 MiB) is refused before the workbook reader inflates it.
    const bomb = await upload(zipBomb(300), tokens.sa1, XLSX);
    expect(bomb.status).toBe(413);
    expect(bomb.body.error).toMatchObject({ code: 'payload_too_large', message: expect.stringMatching(/unpacks to more than 256 MiB/) });
    expect((await upload('{"rows":[]}', tokens.sa1, 'application/json')).status).toBe(415);
    // A binary file sent as CSV: the library's own 415 (the same answer the CLI gives), not a generic 400.
    const photo = await upload(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]), tokens.sa1);
    expect(photo.status).toBe(415);
    expect(photo.body.error).toMatchObject({ code: 'unsupported_media_type', message: expect.stringMatching(/neither CSV text nor an XLSX workbook/) });
    // Text with no column that reads as any of the five: a 400 that says so.
    const prose = await upload('{"a": 1}\n{"b": [2, 3]}\n', tokens.sa1);
    expect(prose.status).toBe(400);
    expect(prose.body.error.message).toMatch(/no column of the leaked file/);
    const huge = await upload(Buffer.alloc(MAX_DUMP_BYTES + 1, 0x31), tokens.sa1);
    expect(huge.status).toBe(413);
    expect(huge.body.error.code).toBe('payload_too_large');
    expect((await upload(`${phone(1)}\n`, tokens.sa1, 'text/csv', '?limit=999')).status).toBe(400);
  });

  it('is described in the OpenAPI document with the media types it takes', async () => {
    const doc = (await w.api('GET', '/docs/json')).body;
    const op = doc.paths['/api/v1/attributions'].post;
    expect(Object.keys(op.requestBody?.content ?? {})).toEqual(expect.arrayContaining(['text/csv', XLSX]));
    expect(op.responses['200']).toBeTruthy();
  });
});
