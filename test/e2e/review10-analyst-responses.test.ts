/**
 * Attack review 10 (console), over real HTTP on both stores:
 * - F1: a response on a security analyst held only on the data path; a throttled or stepped-up
 *   analyst still approved a case, read the canaries and the trail, and triaged alerts. Now the
 *   response in force applies at the authorization hook to every route (refusals audited
 *   `watch.request_refused`): step-up refuses all but logout until a fresh session, throttle
 *   refuses every change and the canary list and leaves reads, suspend refuses; the admin token
 *   has no account and is not affected.
 * - F2: one session held every overview stream; now at most STREAMS_PER_PRINCIPAL per account
 *   (all its sessions) and for the admin token.
 * - F7: the login's device label was free text shown to every analyst; now an identifier.
 * - F8: GET /cases stopped at 100 with no cursor; now keyset pages (`cursor` / `next_cursor`).
 * - F10: TOTP codes were checked against the server's clock (the demo's simulated one); now the wall clock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secret, TOTP } from 'otpauth';
import { testBackends } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';
import { manualClock } from '../../src/ops/clock.js';
import { STREAMS_PER_PRINCIPAL } from '../../src/http/routes/insight.js';

const pw = (id: string) => `pw-${id}-secret`;

describe.each(testBackends())('attack review 10: responses on analysts, streams, device labels, case pages on %s', (backend) => {
  let w: TestWarden;
  const tokens: Record<string, string> = {};
  const credentials: Record<string, string> = {};
  const login = async (id: string, device = `${id}-laptop`) => {
    const s = await w.api('POST', '/api/v1/sessions', { body: { account: id, password: pw(id), device } });
    expect(s.status, s.text).toBe(201);
    tokens[id] = s.body.token;
    if (s.body.device_credential) credentials[id] ??= s.body.device_credential;
    return s.body.token as string;
  };
  const refusals = (account: string) =>
    w.warden.db.selectFrom('audit_log').select(['reason', 'detail', 'decision']).where('kind', '=', 'watch.request_refused').where('account', '=', account).orderBy('seq').execute();
  const openCase = async (by: string, title: string) => {
    const c = await w.api('POST', '/api/v1/cases', { token: tokens[by], body: { title, reason: 'dump matched reveals', accounts: ['c1'] } });
    expect(c.status, c.text).toBe(201);
    return c.body.id as string;
  };
  const respond = async (account: string, action: string) => {
    const r = await w.api('PUT', `/api/v1/accounts/${account}/response`, { token: tokens.sa1, body: { action, reason: 'password seen on a paste site' } });
    expect(r.status, r.text).toBe(200);
  };
  const clear = async (account: string) => expect((await w.api('DELETE', `/api/v1/accounts/${account}/response`, { token: tokens.sa1, body: { reason: 'reviewed, explained' } })).status).toBe(200);

  beforeAll(async () => {
    w = await startTestWarden(backend);
    expect((await w.api('POST', '/api/v1/sites', { token: w.adminToken, body: { code: 'OUT-1', kind: 'outlet', city: '北京' } })).status).toBe(201);
    for (const id of ['sa1', 'sa2', 'sa3', 'sa4', 'sa5']) {
      const r = await w.api('POST', '/api/v1/accounts', { token: w.adminToken, body: { id, role: 'security_analyst', password: pw(id) } });
      expect(r.status, r.text).toBe(201);
    }
    for (const id of ['sa1', 'sa2', 'sa3', 'sa4', 'sa5']) await login(id);
    expect((await w.api('POST', '/api/v1/accounts', { token: w.adminToken, body: { id: 'c1', role: 'courier', site: 'OUT-1', password: pw('c1') } })).status).toBe(201);
    const planted = await w.api('POST', '/api/v1/canaries', { token: tokens.sa1, body: { count: 1 } });
    expect(planted.status, planted.text).toBe(201);
  });
  afterAll(async () => {
    await w?.dispose();
  });

  describe('F1: the response in force on an analyst holds on every route', () => {
    it('throttle: reads allowed; approving a case, triage, responses, canary reads and plants refused (403 account_throttled, audited)', async () => {
      const caseId = await openCase('sa1', 'throttle case');
      await respond('sa2', 'throttle');
      // Reads stay.
      for (const path of ['/api/v1/alerts', '/api/v1/cases', `/api/v1/cases/${caseId}`, '/api/v1/overview', '/api/v1/audit/entries?limit=5']) {
        const r = await w.api('GET', path, { token: tokens.sa2 });
        expect(r.status, `${path} ${r.text}`).toBe(200);
      }
      const denied: Array<[string, string, unknown]> = [
        ['POST', `/api/v1/cases/${caseId}/approve`, undefined],
        ['GET', '/api/v1/canaries', undefined],
        ['POST', '/api/v1/canaries', { count: 1 }],
        ['PUT', '/api/v1/accounts/sa5/response', { action: 'step_up', reason: 'covering tracks' }],
        ['POST', '/api/v1/cases', { title: 'x', reason: 'a reason', waybills: ['SF900000000002'] }],
        ['POST', '/api/v1/exceptions', { kind: 'account', value: 'sa2', reason: 'noise', until: new Date(Date.now() + 86_400_000).toISOString() }],
      ];
      for (const [method, path, body] of denied) {
        const r = await w.api(method, path, { token: tokens.sa2, body });
        expect(r.status, `${method} ${path} ${r.text}`).toBe(403);
        expect(r.body.error.code).toBe('account_throttled');
        // The subject hears a generic reason: not the analyst's.
        expect(r.text).not.toContain('paste site');
      }
      const audited = await refusals('sa2');
      expect(audited).toHaveLength(denied.length);
      expect(audited[0]).toMatchObject({ decision: 'denied', reason: 'account_throttled', detail: { method: 'POST', route: '/api/v1/cases/:id/approve' } });
      expect((await w.api('GET', `/api/v1/cases/${caseId}`, { token: tokens.sa1 })).body.status).toBe('pending');
      // Allowed again once cleared (by another analyst).
      await clear('sa2');
      expect((await w.api('POST', `/api/v1/cases/${caseId}/approve`, { token: tokens.sa2 })).status).toBe(200);
      expect((await w.api('GET', '/api/v1/canaries', { token: tokens.sa2 })).status).toBe(200);
    });

    it('step_up: an earlier session is refused on every route (403 step_up_required, audited) but may log out; a new session works', async () => {
      const caseId = await openCase('sa1', 'step-up case');
      const earlier = tokens.sa3!;
      const spare = await login('sa3', 'sa3-spare');
      tokens.sa3 = earlier;
      await respond('sa3', 'step_up');
      for (const [method, path] of [['POST', `/api/v1/cases/${caseId}/approve`], ['GET', '/api/v1/canaries'], ['GET', '/api/v1/audit/entries?limit=5'], ['GET', '/api/v1/alerts'], ['GET', '/api/v1/overview']] as const) {
        const r = await w.api(method, path, { token: earlier });
        expect(r.status, `${method} ${path} ${r.text}`).toBe(403);
        expect(r.body.error.code).toBe('step_up_required');
      }
      expect((await refusals('sa3')).map((e) => e.reason)).toEqual(Array(5).fill('step_up_required'));
      // Logging out stays open to the old session.
      expect((await w.api('DELETE', '/api/v1/sessions/current', { token: spare })).status).toBe(204);
      const fresh = await login('sa3', 'sa3-laptop');
      expect((await w.api('GET', '/api/v1/canaries', { token: fresh })).status).toBe(200);
      expect((await w.api('POST', `/api/v1/cases/${caseId}/approve`, { token: fresh })).status).toBe(200);
      expect((await w.api('GET', '/api/v1/alerts', { token: earlier })).body.error.code).toBe('step_up_required');
      await clear('sa3');
    });

    it('suspend: refused on every route, also when the account was made active behind the response (fail closed)', async () => {
      await respond('sa4', 'suspend');
      expect((await w.api('GET', '/api/v1/alerts', { token: tokens.sa4 })).body.error.code).toBe('account_suspended');
      // The account row set active outside Warden while the suspend response stands.
      await w.warden.db.updateTable('accounts').set({ status: 'active', status_reason: null }).where('id', '=', 'sa4').execute();
      const token = await login('sa4');
      for (const [method, path] of [['GET', '/api/v1/alerts'], ['GET', '/api/v1/canaries']] as const) {
        const r = await w.api(method, path, { token });
        expect(r.status, r.text).toBe(403);
        expect(r.body.error.code).toBe('account_suspended');
      }
      expect((await refusals('sa4')).map((e) => e.reason)).toContain('account_suspended');
      await clear('sa4');
      await login('sa4');
      expect((await w.api('GET', '/api/v1/alerts', { token: tokens.sa4 })).status).toBe(200);
    });

    it('the admin token has no account: unaffected', async () => {
      expect((await w.api('GET', '/api/v1/alerts', { token: w.adminToken })).status).toBe(200);
      expect((await w.api('PUT', '/api/v1/accounts/sa5/response', { token: w.adminToken, body: { action: 'throttle', reason: 'drill' } })).status).toBe(200);
      expect((await w.api('GET', '/api/v1/accounts/sa5/response', { token: w.adminToken })).status).toBe(200);
      // Lifting is an analyst's own (attack review 11: review11-responses.test.ts).
      await clear('sa5');
    });
  });

  describe('F2: overview streams per principal', () => {
    const open = async (token: string) => {
      const ctl = new AbortController();
      const res = await fetch(`${w.url}/api/v1/overview/stream`, { headers: { authorization: `Bearer ${token}` }, signal: ctl.signal });
      return { status: res.status, body: res.status === 200 ? null : await res.json(), close: () => ctl.abort() };
    };

    it(`one account holds at most ${STREAMS_PER_PRINCIPAL} (429 beyond, with a message); others still stream; a closed one frees its place`, async () => {
      const mine = [];
      for (let i = 0; i < STREAMS_PER_PRINCIPAL; i++) mine.push(await open(tokens.sa1!));
      expect(mine.map((s) => s.status)).toEqual(Array(STREAMS_PER_PRINCIPAL).fill(200));
      const over = await open(tokens.sa1!);
      expect(over.status).toBe(429);
      expect(over.body.error.code).toBe('rate_limited');
      expect(over.body.error.message).toMatch(/already has \d overview streams open/);
      // Another session of the same account counts too.
      const other = await w.api('POST', '/api/v1/sessions', { body: { account: 'sa1', password: pw('sa1'), device: 'sa1-tablet' } });
      expect((await open(other.body.token)).status).toBe(429);
      const theirs = await open(tokens.sa2!);
      expect(theirs.status).toBe(200);
      mine.pop()!.close();
      let again = await open(tokens.sa1!);
      for (let i = 0; i < 50 && again.status !== 200; i++) {
        await new Promise((r) => setTimeout(r, 50));
        again = await open(tokens.sa1!);
      }
      expect(again.status).toBe(200);
      for (const s of [...mine, theirs, again]) s.close();
    });

    it(`the admin token holds at most ${STREAMS_PER_PRINCIPAL}`, async () => {
      const held = [];
      for (let i = 0; i < STREAMS_PER_PRINCIPAL; i++) held.push(await open(w.adminToken));
      expect(held.map((s) => s.status)).toEqual(Array(STREAMS_PER_PRINCIPAL).fill(200));
      expect((await open(w.adminToken)).status).toBe(429);
      for (const s of held) s.close();
    });
  });

  describe('F7: the device label is an identifier', () => {
    it('denied: free text, a phone number, markup (400 bad_identifier naming device, value never repeated, nothing stored)', async () => {
      for (const device of ['王小明 13812345678 北京市朝阳区建国路88号', '13812345678', '<img src=x onerror=alert(1)>', 'my laptop']) {
        const r = await w.api('POST', '/api/v1/sessions', { body: { account: 'sa5', password: pw('sa5'), device, device_credential: undefined } });
        expect(r.status, r.text).toBe(400);
        expect(r.body.error.code).toBe('bad_identifier');
        expect(r.body.error.message).toMatch(/^device /);
        expect(r.text).not.toContain(device);
      }
      const labels = await w.warden.db.selectFrom('devices').select('label').where('enrolled_by', '=', 'sa5').execute();
      expect(labels.map((l) => l.label)).toEqual(['sa5-laptop']);
    });

    it('allowed: the labels the console, simulator and demo send', async () => {
      for (const device of ['console-3f2a9c1b-7d4', 'pda-0a1b2c3d4e', 'warden-demo-console', 'dev_AbC-123_xyz']) {
        // On the enrolled device: the label is checked on every login, kept only when a device is enrolled.
        const r = await w.api('POST', '/api/v1/sessions', { body: { account: 'sa5', password: pw('sa5'), device, device_credential: credentials.sa5 } });
        expect(r.status, `${device} ${r.text}`).toBe(201);
      }
    });
  });

  describe('F8: cases in keyset pages', () => {
    it('pages with cursor / next_cursor reach every case once, newest first; a bad cursor is 400', async () => {
      await login('sa5');
      for (let i = 0; i < 5; i++) await openCase('sa5', `paged ${i}`);
      const all = (await w.api('GET', '/api/v1/cases?limit=500', { token: tokens.sa1 })).body;
      expect(all.next_cursor).toBeNull();
      const seen: string[] = [];
      let cursor: string | null = null;
      for (let pages = 0; pages < 50; pages++) {
        const r: { status: number; body: { cases: Array<{ id: string }>; next_cursor: string | null } } = await w.api('GET', `/api/v1/cases?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token: tokens.sa1 });
        expect(r.status).toBe(200);
        expect(r.body.cases.length).toBeLessThanOrEqual(2);
        seen.push(...r.body.cases.map((c) => c.id));
        cursor = r.body.next_cursor;
        if (!cursor) break;
      }
      expect(seen).toEqual(all.cases.map((c: { id: string }) => c.id));
      expect(new Set(seen).size).toBe(seen.length);
      const bad = await w.api('GET', '/api/v1/cases?cursor=not-a-cursor', { token: tokens.sa1 });
      expect(bad.status).toBe(400);
      expect(bad.body.error.message).toMatch(/^cursor/);
    });
  });
});

describe.each(testBackends())('attack review 10, F10: TOTP on the wall clock on %s', (backend) => {
  // The server's clock is a day behind the wall (the demo's simulated clock).
  const clock = manualClock(Date.now() - 86_400_000);
  let w: TestWarden;
  let totp: TOTP;
  beforeAll(async () => {
    w = await startTestWarden(backend, { warden: { clock }, config: { detect: false } });
    expect((await w.api('POST', '/api/v1/sites', { token: w.adminToken, body: { code: 'OUT-1', kind: 'outlet', city: '北京' } })).status).toBe(201);
    expect((await w.api('POST', '/api/v1/accounts', { token: w.adminToken, body: { id: 'm1', role: 'courier', site: 'OUT-1', password: pw('m1') } })).status).toBe(201);
    const r = await w.api('POST', '/api/v1/accounts/m1/mfa', { token: w.adminToken });
    expect(r.status, r.text).toBe(201);
    totp = new TOTP({ secret: Secret.fromBase32(r.body.secret), digits: 6, period: 30 });
  });
  afterAll(async () => {
    await w?.dispose();
  });
  const login = (otp: string) => w.api('POST', '/api/v1/sessions', { body: { account: 'm1', password: pw('m1'), device: 'm1-pda', otp } });

  it("denied: the code of the server's clock", async () => {
    const r = await login(totp.generate({ timestamp: clock.now() }));
    expect(r.status).toBe(401);
  });
  it('allowed: the code of the wall clock (a real authenticator)', async () => {
    const r = await login(totp.generate({ timestamp: Date.now() }));
    expect(r.status, r.text).toBe(201);
    expect(r.body.mfa).toBe(true);
  });
});
