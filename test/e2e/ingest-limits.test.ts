/**
 * Issue 7, hole 12, tried again through the HTTP API: junk cannot exhaust memory. Rejections are
 * capped (the first 100 with line numbers, and a count), the body is bounded, lines are read as
 * they arrive, and only POST /api/v1/events takes text at all.
 *
 * The server runs in this process, so its RSS is measured and printed; it is not asserted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';

const LIMIT = 4 * 1024 * 1024;
const mb = (n: number) => `${(n / 1048576).toFixed(1)} MB`;

/** About `bytes` of lines that are not JSON, each different. */
function junk(bytes: number, from = 0): { text: string; lines: number } {
  const lines: string[] = [];
  let size = 0;
  for (let i = from; size < bytes; i++) {
    const line = `{"junk":${i},"pad":"${'x'.repeat(20)}"`;
    lines.push(line);
    size += line.length + 1;
  }
  return { text: lines.join('\n') + '\n', lines: lines.length };
}

describe.each(testBackends())('ingest limits on %s', (backend) => {
  let w: TestWarden;
  let service = '';
  const scan = (n: number) => JSON.stringify({ id: `lim-${backend}-${n}`, ts: new Date().toISOString(), type: 'scan', waybill: 'SF100000000001', op: 'arrive', site: 'OUT-1' });
  const events = (token: string, body: string | ReadableStream, contentType = 'application/x-ndjson') =>
    fetch(`${w.url}/api/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': contentType }, body, ...(typeof body === 'string' ? {} : { duplex: 'half' }) } as RequestInit);

  beforeAll(async () => {
    w = await startTestWarden(backend, { config: { ingestLimitBytes: LIMIT } });
    await w.api('POST', '/api/v1/sites', { token: w.adminToken, body: { code: 'OUT-1', kind: 'outlet', city: '北京' } });
    await w.api('POST', '/api/v1/accounts', { token: w.adminToken, body: { id: 'svc', role: 'service' } });
    service = (await w.api('POST', '/api/v1/accounts/svc/tokens', { token: w.adminToken })).body.token;
  });
  afterAll(async () => {
    await w?.dispose();
  });

  it('2 MB of junk lines gives a small answer: the first 100 with line numbers and the total', async () => {
    const { text, lines } = junk(2 * 1024 * 1024);
    const rssBefore = process.memoryUsage().rss;
    const res = await events(service, text);
    const answer = await res.text();
    const rssAfter = process.memoryUsage().rss;
    console.log(`[hole 12, ${backend}] ${lines} junk lines, ${mb(text.length)} in → ${answer.length} bytes out; test-process RSS ${mb(rssBefore)} → ${mb(rssAfter)}`);
    expect(res.status).toBe(200);
    expect(answer.length).toBeLessThan(16 * 1024);
    const body = JSON.parse(answer);
    expect(body).toMatchObject({ accepted: 0, rejected_count: lines, duplicates: 0 });
    expect(body.rejected).toHaveLength(100);
    expect(body.rejected.map((r: { line: number }) => r.line)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(body.rejected[0]).toMatchObject({ code: 'invalid_json' });
    expect(body.rejected[0].reason).not.toContain('junk'); // reasons name where, not what
  });

  it('keeps the good lines among the junk, and lists refusals of both kinds in line order', async () => {
    const gateway = JSON.stringify({ id: `gw-${backend}`, ts: new Date().toISOString(), type: 'access', account: 'svc', action: 'view', waybill: 'SF1' });
    const body = [gateway, junk(3000).text.trimEnd(), scan(1), scan(2), ...Array.from({ length: 150 }, () => 'not json')].join('\n');
    const res = await events(w.adminToken, body);
    const out = (await res.json()) as { accepted: number; rejected: Array<{ line: number; code: string }>; rejected_count: number };
    expect(out.accepted).toBe(2);
    expect(out.rejected[0]).toMatchObject({ line: 1, code: 'gateway_account' }); // found after the stream, still first
    expect(out.rejected.map((r) => r.line)).toEqual([...out.rejected.map((r) => r.line)].sort((a, b) => a - b));
    expect(out.rejected).toHaveLength(100);
    expect(out.rejected_count).toBe(body.split('\n').length - 2);
  });

  it('a line too long is refused without holding it; the lines around it are kept', async () => {
    const long = '{"pad":"' + 'y'.repeat(3 * 1024 * 1024) + '"}';
    const res = await events(service, [scan(3), long, scan(4)].join('\n'));
    const out = (await res.json()) as { accepted: number; rejected: Array<{ line: number; code: string }> };
    expect(out.accepted).toBe(2);
    expect(out.rejected).toEqual([expect.objectContaining({ line: 2, code: 'line_too_long' })]);
  });

  it('a body over the limit is refused whole with 413, declared or streamed, and nothing of it is stored', async () => {
    const big = [scan(10), junk(LIMIT + 1024).text].join('\n');
    const declared = await events(service, big);
    expect(declared.status).toBe(413);
    expect(((await declared.json()) as { error: { code: string } }).error.code).toBe('payload_too_large');
    const bytes = new TextEncoder().encode(big);
    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 64 * 1024) controller.enqueue(bytes.subarray(i, i + 64 * 1024));
        controller.close();
      },
    });
    const streamed = await events(service, stream);
    expect(streamed.status).toBe(413);
    expect(await w.warden.db.selectFrom('activity_events').select('id').where('id', '=', `lim-${backend}-10`).execute()).toEqual([]);
  });

  it('takes text only on POST /api/v1/events: text/plain anywhere else is a 415', async () => {
    const wb = JSON.stringify({ waybill: 'SF100000000001', origin_site: 'OUT-1', dest_site: 'OUT-1', sender: { name: '王小明', phone: '13900001111', address: '北京市朝阳区建国路88号' }, recipient: { name: '王小明', phone: '13900001111', address: '北京市朝阳区建国路88号' } });
    for (const [path, body] of [['/api/v1/waybills', wb], ['/api/v1/sessions', '{"account":"a","password":"b","device":"c"}'], ['/api/v1/sites', 'x']] as const) {
      const r = await w.api('POST', path, { token: w.adminToken, raw: body, contentType: 'text/plain' });
      expect(r.status, path).toBe(415);
      expect(r.body.error.code).toBe('unsupported_media_type');
    }
    expect((await w.api('POST', '/api/v1/waybills', { token: w.adminToken, raw: wb, contentType: 'application/json' })).status).toBe(201);
    const text = await events(service, scan(20) + '\n', 'text/plain');
    expect(((await text.json()) as { accepted: number }).accepted).toBe(1);
    const json = await events(service, scan(21), 'application/json');
    expect(((await json.json()) as { accepted: number }).accepted).toBe(1);
    const csv = await events(service, scan(22), 'text/csv');
    expect(csv.status).toBe(415);
    const none = await w.api('POST', '/api/v1/events', { token: service });
    expect(none.body).toMatchObject({ accepted: 0, rejected_count: 0 });
    const docs = await w.api('GET', '/docs/json');
    expect(Object.keys(docs.body.paths)).toEqual(expect.arrayContaining(['/api/v1/events', '/api/v1/accounts/{id}/tokens', '/api/v1/accounts/{id}/tokens/{token}']));
  });
});
