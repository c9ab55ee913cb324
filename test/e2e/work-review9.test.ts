/**
 * Attack review 9, the work context fed by site-limited service tokens, on a real server:
 * - a ticket id is global: a BJ ticket token's line naming an SH ticket (another waybill, or a
 *   close naming its own agent) changed nothing; the ticket's own producer still closes it, and an
 *   `open` on the ticket's own parcel (in the token's scope) still reassigns it;
 * - ended work stays ended: a late `open` does not revive a closed ticket, a re-sent assignment
 *   dated at or before its delivered scan does not clear the completion (newer ones still do);
 * - a pickup task (assignment, `pickup` scan) is the origin site's, a delivery the destination's.
 * Detection is off (the engine's mirror is src/detect/work-links.test.ts); the clock is manual.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';
import { manualClock } from '../../src/ops/clock.js';
import { reconcileState } from '../../src/audit/reconcile/index.js';

const NOW = '2026-11-11T02:00:00.000Z';
const T = Date.parse(NOW);
const MIN = 60_000;
const HOUR = 60 * MIN;
const PARTY = { name: '李上海', phone: '13900000009', address: '上海市徐汇区漕溪北路1号2单元301室' };
const SH = 'SF200000000001'; // SH-1 → SH-1
const BJ = 'SF100000000001'; // BJ-1 → BJ-1
const SH_TO_BJ = 'SF300000000001';
const BJ_TO_SH = 'SF300000000002';
const BJ2 = 'SF500000000001'; // BJ-1 → BJ-1, for the assignment
const ndjson = (events: object[]) => events.map((e) => JSON.stringify(e)).join('\n') + '\n';
// Grace after a delivered scan: 36 s (the review's reproduction).
const POLICY = { rules: { courier: [{ basis: 'assignment', fields: ['name', 'phone', 'address'], parties: 'task', purposes: ['delivery', 'pickup', 'returns'], grace_hours: 0.01, expires_hours: 72 }] } };

describe.each(testBackends())('attack review 9: work events from site-limited tokens on %s', (backend) => {
  let w: TestWarden;
  const clock = manualClock(NOW);
  const tok: Record<string, string> = {};
  const sessions: Record<string, string> = {};
  let seq = 0;
  const id = (p: string) => `r9-${p}-${++seq}`;
  const post = (token: string, events: object[]) => w.api('POST', '/api/v1/events', { token, raw: ndjson(events), contentType: 'application/x-ndjson' });
  const ticket = (ticketId: string, waybill: string | undefined, account: string, status: 'open' | 'closed', at = T) =>
    ({ id: id('t'), ts: new Date(at).toISOString(), type: 'ticket', account, role: 'customer_service', ticket: ticketId, ...(waybill ? { waybill } : {}), status });
  const assign = (waybill: string, account: string, task: 'pickup' | 'delivery', at = T) =>
    ({ id: id('a'), ts: new Date(at).toISOString(), type: 'assign', account, role: 'courier', waybill, task });
  const scan = (waybill: string, op: 'pickup' | 'delivered', site: string, at = T) => ({ id: id('s'), ts: new Date(at).toISOString(), type: 'scan', waybill, op, site });
  const agentReveal = (who: string, waybill: string, ticketId: string) =>
    w.api('POST', `/api/v1/waybills/${waybill}/reveal`, { token: sessions[who]!, body: { fields: ['recipient.phone'], purpose: 'customer_service', ticket: ticketId } });
  const courierReveal = (who: string, waybill: string, task: 'pickup' | 'delivery') =>
    w.api('POST', `/api/v1/waybills/${waybill}/reveal`, { token: sessions[who]!, body: task === 'pickup' ? { fields: ['sender.phone'], purpose: 'pickup' } : { fields: ['recipient.phone'], purpose: 'delivery' } });
  const code = (r: { status: number; body: any }) => (r.status === 200 ? 'ok' : r.body.error.code);
  const lines = (r: { body: any }) => r.body.rejected.map((x: { line: number; code: string }) => [x.line, x.code]);
  const ticketRow = (t: string) => w.warden.db.selectFrom('tickets').select(['waybill', 'account', 'status']).where('ticket', '=', t).executeTakeFirst();
  const completedAt = async (waybill: string, account: string, task: 'pickup' | 'delivery') =>
    (await w.warden.db.selectFrom('assignments').select('completed_at').where('waybill', '=', waybill).where('account', '=', account).where('task', '=', task).executeTakeFirst())?.completed_at ?? null;

  beforeAll(async () => {
    w = await startTestWarden(backend, { warden: { clock }, policy: POLICY, config: { detect: false } });
    const admin = w.adminToken;
    for (const s of [{ code: 'SH-1', kind: 'outlet', city: '上海' }, { code: 'BJ-1', kind: 'outlet', city: '北京' }, { code: 'CS-SH', kind: 'cs', city: '上海' }, { code: 'CS-BJ', kind: 'cs', city: '北京' }]) {
      expect((await w.api('POST', '/api/v1/sites', { token: admin, body: s })).status).toBe(201);
    }
    const accounts = [['cs-sh', 'customer_service', 'CS-SH'], ['cs-bj', 'customer_service', 'CS-BJ'], ['c1', 'courier', 'BJ-1'], ['c-sh', 'courier', 'SH-1'],
      ['tickets-sh', 'service', null], ['tickets-bj', 'service', null], ['dispatch-bj', 'service', null]] as const;
    for (const [account, role, site] of accounts) {
      const r = await w.api('POST', '/api/v1/accounts', { token: admin, body: { id: account, role, site, password: `pw-${account}-secret` } });
      expect(r.status, r.text).toBe(201);
      if (role !== 'service') sessions[account] = (await w.api('POST', '/api/v1/sessions', { body: { account, password: `pw-${account}-secret`, device: `${account}-dev` } })).body.token;
    }
    const registrations: Record<string, object> = {
      'tickets-sh': { events: ['ticket'], sites: ['SH-1', 'CS-SH'] },
      'tickets-bj': { events: ['ticket'], sites: ['BJ-1', 'CS-BJ'] },
      'dispatch-bj': { events: ['assign', 'scan'], sites: ['BJ-1'] },
    };
    for (const [account, body] of Object.entries(registrations)) {
      const r = await w.api('POST', `/api/v1/accounts/${account}/tokens`, { token: admin, body });
      expect(r.status, r.text).toBe(201);
      tok[account] = r.body.token;
    }
    for (const [waybill, origin, dest] of [[SH, 'SH-1', 'SH-1'], [BJ, 'BJ-1', 'BJ-1'], [SH_TO_BJ, 'SH-1', 'BJ-1'], [BJ_TO_SH, 'BJ-1', 'SH-1'], [BJ2, 'BJ-1', 'BJ-1']] as const) {
      const r = await w.api('POST', '/api/v1/waybills', { token: admin, body: { waybill, origin_site: origin, dest_site: dest, sender: PARTY, recipient: PARTY } });
      expect(r.status, r.text).toBe(201);
    }
  });
  afterAll(async () => {
    await w?.dispose();
  });

  it('hole 2: a BJ token cannot close or take over an SH ticket by naming a BJ parcel; the SH producer still closes it', async () => {
    expect((await post(tok['tickets-sh']!, [ticket('TK-SH-9', SH, 'cs-sh', 'open')])).body).toMatchObject({ accepted: 1 });
    expect(code(await agentReveal('cs-sh', SH, 'TK-SH-9'))).toBe('ok');
    const attack = await post(tok['tickets-bj']!, [ticket('TK-SH-9', BJ, 'cs-bj', 'closed'), ticket('TK-SH-9', BJ, 'cs-bj', 'open')]);
    expect(attack.status, attack.text).toBe(200);
    expect(await ticketRow('TK-SH-9')).toEqual({ waybill: SH, account: 'cs-sh', status: 'open' });
    expect(code(await agentReveal('cs-sh', SH, 'TK-SH-9'))).toBe('ok');
    expect(code(await agentReveal('cs-bj', BJ, 'TK-SH-9'))).toBe('no_work_context');
    // Allowed: its own producer, its own agent and waybill.
    expect((await post(tok['tickets-sh']!, [ticket('TK-SH-9', SH, 'cs-sh', 'closed')])).body).toMatchObject({ accepted: 1 });
    expect(code(await agentReveal('cs-sh', SH, 'TK-SH-9'))).toBe('no_work_context');
  });

  it('hole 1: another agent\'s close (with or without a waybill) does not touch a ticket; an open on its own parcel reassigns it', async () => {
    expect((await post(tok['tickets-sh']!, [ticket('TK-CS-61', SH_TO_BJ, 'cs-sh', 'open')])).body).toMatchObject({ accepted: 1 });
    const r = await post(tok['tickets-bj']!, [ticket('TK-CS-61', undefined, 'cs-bj', 'closed'), ticket('TK-CS-61', SH_TO_BJ, 'cs-bj', 'closed')]);
    expect(r.body).toMatchObject({ accepted: 2, rejected_count: 0 });
    expect(await ticketRow('TK-CS-61')).toEqual({ waybill: SH_TO_BJ, account: 'cs-sh', status: 'open' });
    expect(code(await agentReveal('cs-sh', SH_TO_BJ, 'TK-CS-61'))).toBe('ok');
    // Allowed: the parcel goes to BJ, so the BJ producer may hand its ticket to a BJ agent.
    expect((await post(tok['tickets-bj']!, [ticket('TK-CS-61', SH_TO_BJ, 'cs-bj', 'open')])).body).toMatchObject({ accepted: 1 });
    expect(code(await agentReveal('cs-bj', SH_TO_BJ, 'TK-CS-61'))).toBe('ok');
    expect(code(await agentReveal('cs-sh', SH_TO_BJ, 'TK-CS-61'))).toBe('no_work_context');
  });

  it('hole 3b: a late open does not revive a closed ticket; a newer open does', async () => {
    const t = tok['tickets-sh']!;
    expect((await post(t, [ticket('TK-L', SH, 'cs-sh', 'open', T - 2 * HOUR), ticket('TK-L', SH, 'cs-sh', 'closed', T - HOUR)])).body).toMatchObject({ accepted: 2 });
    expect((await post(t, [ticket('TK-L', SH, 'cs-sh', 'open', T - 1.5 * HOUR)])).body).toMatchObject({ accepted: 1 });
    expect(await ticketRow('TK-L')).toMatchObject({ status: 'closed' });
    expect(code(await agentReveal('cs-sh', SH, 'TK-L'))).toBe('no_work_context');
    expect((await post(t, [ticket('TK-L', SH, 'cs-sh', 'open', T - 30 * MIN)])).body).toMatchObject({ accepted: 1 });
    expect(code(await agentReveal('cs-sh', SH, 'TK-L'))).toBe('ok');
  });

  it('hole 3a: a re-sent assignment dated before its delivered scan does not clear it; a newer assignment does', async () => {
    const d = tok['dispatch-bj']!;
    const first = assign(BJ2, 'c1', 'delivery', T - 10 * MIN);
    expect((await post(d, [first, scan(BJ2, 'delivered', 'BJ-1', T - 5 * MIN)])).body).toMatchObject({ accepted: 2 });
    const done = await completedAt(BJ2, 'c1', 'delivery');
    expect(done).not.toBeNull();
    expect(code(await courierReveal('c1', BJ2, 'delivery'))).toBe('no_work_context'); // past the 36 s grace
    expect((await post(d, [{ ...first, id: id('again') }])).body).toMatchObject({ accepted: 1, duplicates: 0 });
    expect(await completedAt(BJ2, 'c1', 'delivery')).toEqual(done);
    expect(code(await courierReveal('c1', BJ2, 'delivery'))).toBe('no_work_context');
    // Allowed: work given after the scan (the parcel went out again).
    expect((await post(d, [assign(BJ2, 'c1', 'delivery', T - MIN)])).body).toMatchObject({ accepted: 1 });
    expect(await completedAt(BJ2, 'c1', 'delivery')).toBeNull();
    expect(code(await courierReveal('c1', BJ2, 'delivery'))).toBe('ok');
  });

  it('hole 4: a BJ token assigns and scans the pickup of a parcel leaving BJ only, the delivery of one coming to BJ only', async () => {
    const d = tok['dispatch-bj']!;
    const r = await post(d, [assign(SH_TO_BJ, 'c1', 'pickup'), assign(BJ_TO_SH, 'c1', 'delivery'), assign(SH_TO_BJ, 'c1', 'delivery'), assign(BJ_TO_SH, 'c1', 'pickup')]);
    expect(r.body).toMatchObject({ accepted: 2, rejected_count: 2 });
    expect(lines(r)).toEqual([[1, 'site_not_registered'], [2, 'site_not_registered']]);
    expect(r.body.rejected[0].reason).toMatch(/origin/);
    expect(r.body.rejected[1].reason).toMatch(/destination/);
    expect(r.text).not.toContain('SH-1');
    // The Shanghai sender stays hidden: c1 holds only the delivery (the recipient's side).
    expect(code(await courierReveal('c1', SH_TO_BJ, 'pickup'))).toBe('field_not_allowed');
    expect(code(await courierReveal('c1', SH_TO_BJ, 'delivery'))).toBe('ok');
    expect(code(await courierReveal('c1', BJ_TO_SH, 'pickup'))).toBe('ok');
    // The route refuses the same way.
    const route = await w.api('POST', '/api/v1/assignments', { token: d, body: { waybill: SH_TO_BJ, account: 'c1', task: 'pickup' } });
    expect(route.status).toBe(403);
    expect(route.body.error.code).toBe('producer_not_registered');

    // The SH courier's pickup of SH_TO_BJ is SH's to complete.
    expect((await w.api('POST', '/api/v1/assignments', { token: w.adminToken, body: { waybill: SH_TO_BJ, account: 'c-sh', task: 'pickup' } })).status).toBe(201);
    const scans = await post(d, [scan(SH_TO_BJ, 'pickup', 'BJ-1'), scan(BJ_TO_SH, 'pickup', 'BJ-1')]);
    expect(scans.body).toMatchObject({ accepted: 1, rejected_count: 1 });
    expect(lines(scans)).toEqual([[1, 'site_not_registered']]);
    expect(await completedAt(SH_TO_BJ, 'c-sh', 'pickup')).toBeNull();
    expect(await completedAt(BJ_TO_SH, 'c1', 'pickup')).not.toBeNull();
  });
  it('the ignored ticket lines are on record as not applied, and reconcile finds the ticket rows as Warden wrote them', async () => {
    const entries = await w.warden.db.selectFrom('audit_log').select(['ticket', 'decision', 'detail']).where('kind', '=', 'work.ticket').orderBy('seq').execute();
    const ignored = entries.filter((e) => e.decision === 'denied');
    // TK-SH-9 by BJ (2), TK-CS-61's other-agent close on its waybill (1), TK-L's late open (1); the waybill-less close is never applied nor audited.
    expect(ignored.map((e) => e.ticket)).toEqual(['TK-SH-9', 'TK-SH-9', 'TK-CS-61', 'TK-L']);
    expect(ignored.every((e) => (typeof e.detail === 'string' ? JSON.parse(e.detail) : e.detail).reason === 'not_applied')).toBe(true);
    const r = await reconcileState(w.warden.db);
    expect(r.findings.filter((f) => f.table === 'tickets' || f.table === 'assignments')).toEqual([]);
  });
});
