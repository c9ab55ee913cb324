/**
 * Attack review 11, responses and API answer headers, over real HTTP on both stores:
 * - web11 F1: a step-up or throttle PUT over a suspension replaced it and reactivated the account
 *   (a lift dressed as tightening, skipping the lift's confirmation). A PUT now never lowers the
 *   response in force (step_up < throttle < suspend): 409 `lift_first`, audited as denied.
 * - web11 F1b: a step-up over detection's throttle dropped its alert, and after one fresh login
 *   the account revealed at full rate. Refused the same way; raising keeps the alert.
 * - priv11 F4: the admin token lifted a detection suspension with no analyst at all. A lift is a
 *   security analyst's own account (403, audited), with a reason (the trail keeps its SHA-256 and
 *   length, never the text); not on oneself, as before.
 * - web11 F2: API answers carrying personal data had no cache-control / nosniff; now every
 *   /api/* answer says `no-store`, `nosniff`, `no-referrer` (the overview stream keeps its own).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { testBackends } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';
import { harvestBurst } from '../support/bursts.js';

const PARTY = { name: '王小明', phone: '13900001111', address: '北京市朝阳区建国路88号3号楼2单元501室' };
const pw = (id: string) => `pw-${id}-secret`;
const THROTTLE = 2;


describe.each(testBackends())('attack review 11: responses only rise by PUT, an analyst lifts with a reason, API answers are not cached on %s', (backend) => {
  let w: TestWarden;
  const tokens: Record<string, string> = {};
  const login = async (id: string, device = `${id}-pda`) => w.api('POST', '/api/v1/sessions', { body: { account: id, password: pw(id), device } });
  const put = (account: string, action: string, token = tokens.sa1) => w.api('PUT', `/api/v1/accounts/${account}/response`, { token, body: { action, reason: 'password seen on a paste site' } });
  const lift = (account: string, token: string | undefined, body?: unknown) => w.api('DELETE', `/api/v1/accounts/${account}/response`, { token, ...(body === undefined ? {} : { body }) });
  const response = async (account: string) => (await w.api('GET', `/api/v1/accounts/${account}/response`, { token: tokens.sa2 })).body.response;
  const status = async (account: string) => (await w.warden.db.selectFrom('accounts').select('status').where('id', '=', account).executeTakeFirstOrThrow()).status;
  const entries = (kind: string, account: string) =>
    w.warden.db.selectFrom('audit_log').select(['decision', 'reason', 'detail']).where('kind', '=', kind).where('account', '=', account).orderBy('seq').execute();

  beforeAll(async () => {
    w = await startTestWarden(backend, {
      detectConfig: { time: { reorder_window_seconds: 0 }, response: { step_up: 40, throttle: 40, suspend: 101 } },
      config: { throttlePerHour: THROTTLE },
    });
    const admin = w.adminToken;
    expect((await w.api('POST', '/api/v1/sites', { token: admin, body: { code: 'OUT-1', kind: 'outlet', city: '北京' } })).status).toBe(201);
    for (const [id, role, site] of [['c1', 'courier', 'OUT-1'], ['c2', 'courier', 'OUT-1'], ['c3', 'courier', 'OUT-1'], ['c4', 'courier', 'OUT-1'], ['sa1', 'security_analyst', null], ['sa2', 'security_analyst', null], ['svc', 'service', null]] as const) {
      const r = await w.api('POST', '/api/v1/accounts', { token: admin, body: { id, role, site, password: pw(id) } });
      expect(r.status, r.text).toBe(201);
    }
    for (const id of ['sa1', 'sa2']) tokens[id] = (await login(id, `${id}-laptop`)).body.token;
    const service = (await w.api('POST', '/api/v1/accounts/svc/tokens', { token: admin })).body.token;
    for (const [waybill, account] of [['SF100000000001', 'c1'], ['SF100000000002', 'c2']]) {
      expect((await w.api('POST', '/api/v1/waybills', { token: service, body: { waybill, origin_site: 'OUT-1', dest_site: 'OUT-1', sender: PARTY, recipient: PARTY } })).status).toBe(201);
      expect((await w.api('POST', '/api/v1/assignments', { token: service, body: { waybill, account, task: 'delivery' } })).status).toBeLessThan(300);
    }
  });
  afterAll(async () => {
    await w?.dispose();
  });

  describe('web11 F1: a lower response is no lift', () => {
    it('denied: step-up or throttle over a suspension (an analyst or the admin token): 409 lift_first naming it, audited; still suspended', async () => {
      expect((await put('c1', 'suspend')).status).toBe(200);
      for (const [action, token] of [['step_up', tokens.sa2], ['throttle', tokens.sa2], ['step_up', w.adminToken]] as const) {
        const r = await put('c1', action, token);
        expect(r.status, r.text).toBe(409);
        expect(r.body.error.code).toBe('lift_first');
        expect(r.body.error.message).toMatch(/^a suspend response is in force on account c1: .* lift it first/);
        expect(r.text).not.toContain('paste site');
      }
      expect(await response('c1')).toMatchObject({ action: 'suspend' });
      expect(await status('c1')).toBe('suspended');
      expect((await login('c1')).body.error.code).toBe('account_suspended');
      const denied = (await entries('watch.response_applied', 'c1')).filter((e) => e.decision === 'denied');
      expect(denied).toEqual([
        { decision: 'denied', reason: 'lift_first', detail: { action: 'step_up', in_force: 'suspend', actor: 'sa2' } },
        { decision: 'denied', reason: 'lift_first', detail: { action: 'throttle', in_force: 'suspend', actor: 'sa2' } },
        { decision: 'denied', reason: 'lift_first', detail: { action: 'step_up', in_force: 'suspend', actor: 'admin' } },
      ]);
      // No unsuspension was written.
      expect((await entries('admin.account_unsuspended', 'c1')).filter((e) => e.decision === 'ok')).toEqual([]);
    });

    it('allowed: the lift (another analyst, with a reason) ends the suspension; then a lower response may be put', async () => {
      const r = await lift('c1', tokens.sa2, { reason: 'confirmed with the outlet manager' });
      expect(r.status, r.text).toBe(200);
      expect(r.body.cleared).toBe('suspend');
      expect(await status('c1')).toBe('active');
      expect((await put('c1', 'step_up', tokens.sa2)).status).toBe(200);
      expect((await login('c1')).status).toBe(201);
      expect((await lift('c1', tokens.sa1, { reason: 'new login done' })).status).toBe(200);
    });

    it('allowed: a response rises step_up → throttle → suspend; a step-up under a throttle is refused; a throttle put again keeps its hour', async () => {
      expect((await put('c3', 'step_up')).status).toBe(200);
      expect((await put('c3', 'throttle')).status).toBe(200);
      const since = (await response('c3')).since;
      const down = await put('c3', 'step_up', tokens.sa2);
      expect(down.status).toBe(409);
      expect(down.body.error.message).toMatch(/^a throttle response is in force/);
      const again = await put('c3', 'throttle', tokens.sa2);
      expect(again.status, again.text).toBe(200);
      expect((await response('c3')).since).toBe(since);
      expect((await put('c3', 'suspend', tokens.sa2)).status).toBe(200);
      expect(await status('c3')).toBe('suspended');
      expect((await lift('c3', tokens.sa1, { reason: 'drill over' })).status).toBe(200);
      expect(await status('c3')).toBe('active');
    });
  });

  describe('web11 F1b: detection\'s throttle keeps its alert and its rate', () => {
    it('denied: a step-up over it (409); after a fresh login the throttle still counts; raising keeps the alert', async () => {
      const published = w.warden.bus.stats().published;
      expect(await w.warden.audit.append(harvestBurst('c2', new Date(Date.now() - 10 * 60_000)))).toHaveLength(81);
      while (w.warden.bus.stats().published < published + 81) await new Promise((r) => setImmediate(r));
      await w.warden.watch!.idle();
      const raised = await response('c2');
      expect(raised).toMatchObject({ action: 'throttle', alert: expect.any(String) });
      const alert = raised.alert as string;

      const r = await put('c2', 'step_up');
      expect(r.status, r.text).toBe(409);
      expect(r.body.error.code).toBe('lift_first');
      expect(await response('c2')).toMatchObject({ action: 'throttle', alert, since: raised.since });
      const token = (await login('c2')).body.token;
      const reveals = [];
      for (let i = 0; i <= THROTTLE; i++) reveals.push(await w.api('POST', '/api/v1/waybills/SF100000000002/reveal', { token, body: { fields: ['recipient.phone'], purpose: 'delivery' } }));
      expect(reveals.map((x) => x.status)).toEqual([...Array(THROTTLE).fill(200), 403]);
      expect(reveals.at(-1)!.body.error.code).toBe('throttled');

      expect((await put('c2', 'suspend')).status).toBe(200);
      expect(await response('c2')).toMatchObject({ action: 'suspend', alert });
      expect((await entries('watch.response_applied', 'c2')).at(-1)).toMatchObject({ decision: 'ok', reason: 'suspend', detail: { alert, actor: 'sa1' } });
    });
  });

  describe('priv11 F4: a lift is a named analyst\'s, with a reason', () => {
    it('denied: the admin token (403, audited), no reason or a bad one (400), one\'s own (403 self_action); the response stands', async () => {
      const byAdmin = await lift('c2', w.adminToken, { reason: 'bootstrap clean-up' });
      expect(byAdmin.status, byAdmin.text).toBe(403);
      expect(byAdmin.body.error.code).toBe('forbidden');
      expect((await entries('watch.response_cleared', 'c2')).at(-1)).toEqual({ decision: 'denied', reason: 'forbidden', detail: { actor: 'admin' } });
      for (const body of [undefined, {}, { reason: '' }, { reason: 'ok' }, { reason: 'x'.repeat(301) }, { reason: 'fine reason', extra: 1 }]) {
        const r = await lift('c2', tokens.sa2, body);
        expect(r.status, `${JSON.stringify(body)} ${r.text}`).toBe(400);
      }
      expect(await response('c2')).toMatchObject({ action: 'suspend' });
      expect(await status('c2')).toBe('suspended');
      // One's own: sa1 under a response may not lift it.
      expect((await put('sa1', 'step_up', tokens.sa2)).status).toBe(200);
      tokens.sa1 = (await login('sa1', 'sa1-laptop')).body.token;
      const own = await lift('sa1', tokens.sa1, { reason: 'lifting my own' });
      expect(own.status).toBe(403);
      expect(own.body.error.code).toBe('self_action');
      expect((await lift('sa1', tokens.sa2, { reason: 'explained' })).status).toBe(200);
    });

    it('allowed: an analyst lifts a detection suspension with a reason; the trail keeps its fingerprint, not the text', async () => {
      const reason = '王小三 13900000003 explained it: outlet manager';
      const r = await lift('c2', tokens.sa2, { reason });
      expect(r.status, r.text).toBe(200);
      expect(r.body).toEqual({ account: 'c2', cleared: 'suspend' });
      expect(await status('c2')).toBe('active');
      expect(await response('c2')).toBeNull();
      const cleared = (await entries('watch.response_cleared', 'c2')).at(-1)!;
      expect(cleared).toMatchObject({ decision: 'ok', reason: 'suspend', detail: { actor: 'sa2', alert: expect.any(String), reason_sha256: createHash('sha256').update(reason).digest('hex'), reason_length: [...reason].length } });
      const trail = await w.warden.db.selectFrom('audit_log').select(['reason', 'detail']).where('account', '=', 'c2').execute();
      expect(JSON.stringify(trail)).not.toContain('13900000003');
      expect(JSON.stringify(trail)).not.toContain('王小三');
      expect((await login('c2')).status).toBe(201);
    });
  });

  describe('web11 F2: API answers are not kept, sniffed or referred', () => {
    const headersOf = (h: Headers) => ({ cache: h.get('cache-control'), nosniff: h.get('x-content-type-options'), referrer: h.get('referrer-policy') });
    const expected = { cache: 'no-store', nosniff: 'nosniff', referrer: 'no-referrer' };

    it('answers, refusals and unknown routes under /api carry no-store, nosniff, no-referrer', async () => {
      for (const [path, token, code] of [
        ['/api/v1/accounts/c1', tokens.sa2, 200],
        ['/api/v1/accounts/c1/response', tokens.sa2, 200],
        ['/api/v1/alerts', undefined, 401],
        ['/api/v1/no-such-route', tokens.sa2, 404],
      ] as const) {
        const r = await w.api('GET', path, { token });
        expect(r.status, `${path} ${r.text}`).toBe(code);
        expect(headersOf(r.headers), path).toEqual(expected);
      }
    });

    it('the overview stream keeps its own head (event stream, no-cache)', async () => {
      const ctl = new AbortController();
      const res = await fetch(`${w.url}/api/v1/overview/stream`, { headers: { authorization: `Bearer ${tokens.sa2}` }, signal: ctl.signal });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(res.headers.get('cache-control')).toBe('no-cache, no-transform');
      ctl.abort();
    });
  });
});
