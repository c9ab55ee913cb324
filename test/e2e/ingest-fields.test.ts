/**
 * Fields outside the contract are not stored or published (attack review, MEDIUM): an assign
 * event carrying a recipient's phone, name and address in extra fields was accepted and kept in
 * plaintext in `activity_events.body` (the database owner and backups must only ever see
 * ciphertext), and a 200 KB junk field was stored too. Tried again: such lines are still accepted
 * (the contract allows additional properties), only the contract's fields (and Warden's documented
 * extensions) are stored and published, the answer counts what was dropped per line, and a known
 * field over its bound refuses the line.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { testBackends } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';
import { manualClock } from '../../src/ops/clock.js';
import type { ActivityEvent } from '../../src/contracts/events.js';

const NOW = '2026-11-11T02:00:00.000Z';
const PARTY = { name: '赵小红', phone: '13900000004', address: '上海市静安区南京西路1266号8号楼1101室' };
const WAYBILL = 'SF3000000000001';
const JUNK = 'j'.repeat(200 * 1024);
const ndjson = (events: object[]) => events.map((e) => JSON.stringify(e)).join('\n') + '\n';

describe.each(testBackends())('fields outside the contract on %s', (backend) => {
  let w: TestWarden;
  const clock = manualClock(NOW);
  let service = '';
  let courier = '';
  const published: ActivityEvent[] = [];
  let seq = 0;
  const id = (p: string) => `${p}-${++seq}`;
  const post = (token: string, events: object[] | string, mode?: 'backfill') =>
    w.api('POST', `/api/v1/events${mode ? `?mode=${mode}` : ''}`, { token, raw: typeof events === 'string' ? events : ndjson(events), contentType: 'application/x-ndjson' });
  const storedBodies = async (ids: string[]) =>
    new Map((await w.warden.db.selectFrom('activity_events').select(['id', 'body']).where('id', 'in', ids).execute()).map((r) => [r.id, r.body as Record<string, unknown>]));

  beforeAll(async () => {
    w = await startTestWarden(backend, { warden: { clock }, config: { detect: false } });
    w.warden.bus.subscribe('fields-test', (events) => {
      published.push(...events);
    });
    const admin = w.adminToken;
    expect((await w.api('POST', '/api/v1/sites', { token: admin, body: { code: 'OUT-1', kind: 'outlet', city: '上海' } })).status).toBe(201);
    for (const [account, role, site] of [['c1', 'courier', 'OUT-1'], ['svc', 'service', null]] as const) {
      expect((await w.api('POST', '/api/v1/accounts', { token: admin, body: { id: account, role, site, password: `pw-${account}-secret` } })).status).toBe(201);
    }
    courier = (await w.api('POST', '/api/v1/sessions', { body: { account: 'c1', password: 'pw-c1-secret', device: 'c1-dev' } })).body.token;
    service = (await w.api('POST', '/api/v1/accounts/svc/tokens', { token: admin })).body.token;
    const r = await w.api('POST', '/api/v1/waybills', { token: admin, body: { waybill: WAYBILL, origin_site: 'OUT-1', dest_site: 'OUT-1', sender: PARTY, recipient: PARTY } });
    expect(r.status, r.text).toBe(201);
  });
  afterAll(async () => {
    await w?.dispose();
  });

  it('the attack again: PII and junk in extra fields are accepted but never stored or published; the answer counts them per line', async () => {
    const lines = [
      { id: id('a'), ts: NOW, type: 'assign', account: 'c1', role: 'courier', waybill: WAYBILL, task: 'delivery', recipient_phone: PARTY.phone, recipient_name: PARTY.name, addr: PARTY.address },
      { id: id('s'), ts: NOW, type: 'scan', waybill: WAYBILL, op: 'arrive', site: 'OUT-1', junk: JUNK },
      { id: id('s'), ts: NOW, type: 'scan', waybill: WAYBILL, op: 'depart', site: 'OUT-1' },
      { id: id('s'), ts: NOW, type: 'scan', waybill: WAYBILL, op: 'depart', site: 'OUT-1', city: JUNK }, // a known field over its bound
      { id: id('w'), ts: NOW, type: 'waybill', waybill: 'SF3000000000002', origin_site: 'OUT-1', recipient: PARTY },
    ];
    const seen = published.length;
    const r = await post(service, lines);
    expect(r.status, r.text.slice(0, 500)).toBe(200);
    expect(r.body).toMatchObject({ accepted: 4, rejected_count: 1, dropped_fields_lines: 3 });
    expect(r.body.rejected.map((x: { line: number; code: string }) => [x.line, x.code])).toEqual([[4, 'invalid_event']]);
    expect(r.body.dropped_fields).toEqual([{ line: 1, count: 3 }, { line: 2, count: 1 }, { line: 5, count: 1 }]);
    expect(r.text).not.toContain(PARTY.phone);

    const kept = [lines[0]!, lines[1]!, lines[2]!, lines[4]!];
    const bodies = await storedBodies(kept.map((l) => l.id));
    expect(bodies.get(lines[0]!.id)).toEqual({ id: lines[0]!.id, ts: NOW, type: 'assign', account: 'c1', role: 'courier', waybill: WAYBILL, task: 'delivery', producer: expect.stringMatching(/^token:/) });
    expect(Object.keys(bodies.get(lines[1]!.id)!).sort()).toEqual(['id', 'op', 'producer', 'site', 'ts', 'type', 'waybill']);
    expect(Object.keys(bodies.get(lines[4]!.id)!)).not.toContain('recipient');
    // Nowhere in the table, nor in the trail, in plaintext.
    const table = (await sql<{ t: string }>`select body::text as t from activity_events`.execute(w.warden.db)).rows.map((x) => x.t).join('\n');
    const trail = (await sql<{ t: string }>`select row_to_json(a)::text as t from audit_log a`.execute(w.warden.db)).rows.map((x) => x.t).join('\n');
    for (const secret of [PARTY.phone, PARTY.name, PARTY.address, JUNK.slice(0, 1000)]) {
      expect(table).not.toContain(secret);
      expect(trail).not.toContain(secret);
    }

    // The bus carries the same stripped events (and the audit outbox adds none of these fields).
    await new Promise((resolve) => setTimeout(resolve, 50));
    const out = published.slice(seen);
    expect(out.map((e) => e.id).sort()).toEqual(kept.map((l) => l.id).sort());
    const wire = JSON.stringify(out);
    for (const secret of [PARTY.phone, PARTY.name, PARTY.address, 'recipient_phone', 'addr', JUNK.slice(0, 1000)]) expect(wire).not.toContain(secret);

    // The line was not refused: the assignment it carries is applied.
    const reveal = await w.api('POST', `/api/v1/waybills/${WAYBILL}/reveal`, { token: courier, body: { fields: ['recipient.phone'], purpose: 'delivery' } });
    expect(reveal.status, reveal.text).toBe(200);
  });

  it('a line carrying only contract and provenance fields reports nothing dropped; backfill strips too', async () => {
    const clean = await post(service, [{ id: id('s'), ts: NOW, type: 'scan', waybill: WAYBILL, op: 'arrive', site: 'OUT-1', producer: 'warden' }]);
    expect(clean.body).toMatchObject({ accepted: 1, dropped_fields: [], dropped_fields_lines: 0 });

    const line = { id: id('h'), ts: '2025-01-01T00:00:00.000Z', type: 'scan', waybill: WAYBILL, op: 'arrive', site: 'OUT-1', note: PARTY.phone };
    const r = await post(w.adminToken, [line], 'backfill');
    expect(r.body).toMatchObject({ accepted: 1, mode: 'backfill', dropped_fields: [{ line: 1, count: 1 }] });
    expect((await storedBodies([line.id])).get(line.id)).toEqual({ id: line.id, ts: line.ts, type: 'scan', waybill: WAYBILL, op: 'arrive', site: 'OUT-1', producer: 'admin', backfill: true });
  });

  it('prototype keys are dropped like any other; the list is capped at 100 lines with a count of all', async () => {
    const proto = await post(service, `{"id":"${id('p')}","ts":"${NOW}","type":"scan","waybill":"${WAYBILL}","op":"arrive","site":"OUT-1","__proto__":{"polluted":1},"constructor":{"x":1}}\n`);
    expect(proto.body).toMatchObject({ accepted: 1, dropped_fields: [{ line: 1, count: 2 }] });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();

    const many = Array.from({ length: 150 }, () => ({ id: id('m'), ts: NOW, type: 'scan', waybill: WAYBILL, op: 'arrive', site: 'OUT-1', extra: 1 }));
    const r = await post(service, many);
    expect(r.body).toMatchObject({ accepted: 150, dropped_fields_lines: 150 });
    expect(r.body.dropped_fields).toHaveLength(100);
    expect(r.body.dropped_fields.at(-1)).toEqual({ line: 100, count: 1 });
  });
});
