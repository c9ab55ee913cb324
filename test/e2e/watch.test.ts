/**
 * Live detection through the real gateway: events on the bus raise an alert, the response
 * policy acts, the account's next request is refused with a generic reason (the detail is the
 * analysts'), an analyst undoes it; alerts are listed, reviewed and sent to a signed webhook.
 * Nobody acts on a response or exception about themselves (hole 3); a throttle counts records,
 * batch included (hole 5); a bad `since` is a 400 (hole 13).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import { testBackends } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';
import { signWebhook } from '../../src/watch/webhook.js';
import type { AuditEntryInput } from '../../src/audit/kinds.js';

const PARTY = { name: '王小明', phone: '13900001111', address: '北京市朝阳区建国路88号3号楼2单元501室' };

/**
 * An account revealing 80 parcels it was never given, in waybill-number order, from a new device,
 * as the gateway's own trail records it: a gateway account's activity reaches detection only that
 * way (POST /api/v1/events refuses it, test/e2e/ingest.test.ts).
 */
function harvestBurst(account: string, start: Date, from = 200000000000, device = 'stranger-pc'): AuditEntryInput[] {
  let t = start.getTime();
  const ts = () => new Date((t += 4000));
  const base = { account, role: 'courier', site: 'OUT-1', device, ip: '203.0.113.9' };
  return [
    { ...base, kind: 'auth.login', ts: ts(), decision: 'allowed', detail: { mfa: false } },
    ...Array.from({ length: 80 }, (_, i): AuditEntryInput => ({
      ...base,
      kind: 'access.reveal',
      ts: ts(),
      decision: 'allowed',
      waybill: `SF${from + i}`,
      fields: ['recipient.name', 'recipient.phone', 'recipient.address'],
      purpose: 'delivery',
    })),
  ];
}

describe.each(testBackends())('live detection on %s', (backend) => {
  let w: TestWarden;
  let service = '';
  let analyst = '';
  const hooks: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
  let hookServer: http.Server;

  beforeAll(async () => {
    hookServer = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        hooks.push({ headers: req.headers, body });
        res.end('ok');
      });
    });
    await new Promise<void>((r) => hookServer.listen(0, '127.0.0.1', r));
    const port = (hookServer.address() as { port: number }).port;
    w = await startTestWarden(backend, {
      detectConfig: { time: { reorder_window_seconds: 0 }, response: { step_up: 40, throttle: 40, suspend: 40 } },
      config: { alertWebhookUrl: `http://127.0.0.1:${port}/hook`, alertWebhookSecret: 'webhook-secret-0123456789' },
    });
    const admin = w.adminToken;
    await w.api('POST', '/api/v1/sites', { token: admin, body: { code: 'OUT-1', kind: 'outlet', city: '北京' } });
    for (const [id, role, site] of [['c1', 'courier', 'OUT-1'], ['c2', 'courier', 'OUT-1'], ['sa1', 'security_analyst', null], ['svc', 'service', null]] as const) {
      expect((await w.api('POST', '/api/v1/accounts', { token: admin, body: { id, role, site, password: `pw-${id}-secret` } })).status).toBe(201);
    }
    service = (await w.api('POST', '/api/v1/accounts/svc/tokens', { token: admin })).body.token;
    analyst = (await w.api('POST', '/api/v1/sessions', { body: { account: 'sa1', password: 'pw-sa1-secret', device: 'sa-desk' } })).body.token;
    for (const [waybill, account] of [['SF100000000001', 'c1'], ['SF100000000002', 'c2']]) {
      await w.api('POST', '/api/v1/waybills', { token: service, body: { waybill, origin_site: 'OUT-1', dest_site: 'OUT-1', sender: PARTY, recipient: PARTY } });
      await w.api('POST', '/api/v1/assignments', { token: service, body: { waybill, account, task: 'delivery' } });
    }
  });
  afterAll(async () => {
    await w?.dispose();
    hookServer?.close();
  });

  it('an ordinary reveal raises nothing and is answered', async () => {
    const tok = (await w.api('POST', '/api/v1/sessions', { body: { account: 'c2', password: 'pw-c2-secret', device: 'c2-pda' } })).body.token;
    const r = await w.api('POST', '/api/v1/waybills/SF100000000002/reveal', { token: tok, body: { fields: ['recipient.phone'], purpose: 'delivery' } });
    expect(r.status).toBe(200);
    await w.warden.watch!.idle();
    const alerts = await w.api('GET', '/api/v1/alerts?account=c2&min_severity=medium', { token: analyst });
    expect(alerts.body.alerts).toEqual([]);
  });

  it('a harvesting burst raises an explained alert and the next reveal is refused with the reason', async () => {
    const token = (await w.api('POST', '/api/v1/sessions', { body: { account: 'c1', password: 'pw-c1-secret', device: 'c1-pda' } })).body.token;
    expect((await w.api('POST', '/api/v1/waybills/SF100000000001/reveal', { token, body: { fields: ['recipient.phone'], purpose: 'delivery' } })).status).toBe(200);

    const published = w.warden.bus.stats().published;
    expect(await w.warden.audit.append(harvestBurst('c1', new Date(Date.now() - 10 * 60_000)))).toHaveLength(81);
    // The trail publishes after the commit without waiting; once delivery began, wait for detection.
    while (w.warden.bus.stats().published < published + 81) await new Promise((r) => setImmediate(r));
    await w.warden.watch!.idle();

    const list = await w.api('GET', '/api/v1/alerts?account=c1&min_severity=medium', { token: analyst });
    expect(list.status).toBe(200);
    expect(list.body.alerts.length).toBeGreaterThan(0);
    const alert = list.body.alerts[0];
    expect(alert.summary).toMatch(/\d/);
    expect(Object.keys(alert.evidence).length).toBeGreaterThan(0);
    // Stored with the subject's site and city, for triage filters.
    expect(alert).toMatchObject({ site: 'OUT-1', city: '北京', assignee: null });
    expect((await w.api('GET', `/api/v1/alerts?site=OUT-1&city=${encodeURIComponent('北京')}&account=c1`, { token: analyst })).body.alerts.map((a: { id: string }) => a.id)).toContain(alert.id);

    const refused = await w.api('POST', '/api/v1/waybills/SF100000000001/reveal', { token, body: { fields: ['recipient.phone'], purpose: 'delivery' } });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('account_suspended');
    expect(refused.body.error.message).toMatch(/review/);
    // The subject is told a generic reason: no detector, no figures, no alert id.
    expect(refused.text).not.toContain(alert.detector);
    expect(refused.text).not.toContain(alert.id);
    expect(refused.body.error.message).not.toMatch(/\d/);
    const relogin = await w.api('POST', '/api/v1/sessions', { body: { account: 'c1', password: 'pw-c1-secret', device: 'c1-pda' } });
    expect(relogin.status).toBe(403);
    expect(relogin.text).not.toContain(alert.detector);
    expect(relogin.body.error.message).not.toMatch(/\d/);
    // Analysts see the detail.
    const detail = await w.api('GET', '/api/v1/accounts/c1/response', { token: analyst });
    expect(detail.body.response).toMatchObject({ action: 'suspend', alert: expect.any(String) });
    expect(detail.body.response.reason).toMatch(/\w+: /);
    const applied = await w.warden.db.selectFrom('audit_log').select('reason').where('kind', '=', 'watch.response_applied').where('account', '=', 'c1').execute();
    expect(applied.length).toBeGreaterThan(0);

    // The analyst reviews: a courier may not, an analyst may.
    expect((await w.api('DELETE', '/api/v1/accounts/c1/response', { token })).status).toBe(403);
    const cleared = await w.api('DELETE', '/api/v1/accounts/c1/response', { token: analyst });
    expect(cleared.status, cleared.text).toBe(200);
    const again = (await w.api('POST', '/api/v1/sessions', { body: { account: 'c1', password: 'pw-c1-secret', device: 'c1-pda' } })).body.token;
    expect((await w.api('POST', '/api/v1/waybills/SF100000000001/reveal', { token: again, body: { fields: ['recipient.phone'], purpose: 'delivery' } })).status).toBe(200);

    const patched = await w.api('PATCH', `/api/v1/alerts/${encodeURIComponent(alert.id)}`, { token: analyst, body: { verdict: 'true_positive', note: 'confirmed with the outlet manager' } });
    expect(patched.status, patched.text).toBe(200);
    const resolved = await w.api('GET', '/api/v1/alerts?account=c1&status=resolved', { token: analyst });
    expect(resolved.body.alerts.map((a: { id: string }) => a.id)).toContain(alert.id);
  });

  it('sends medium+ alerts to the webhook with a verifiable signature', async () => {
    for (let i = 0; i < 50 && hooks.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(hooks.length).toBeGreaterThan(0);
    const h = hooks[0]!;
    expect(h.headers['x-warden-signature']).toBe(signWebhook('webhook-secret-0123456789', String(h.headers['x-warden-timestamp']), h.body));
    expect(JSON.parse(h.body).detector).toBeTruthy();
  });

  it('exceptions are analysts\' to add and remove, and expire', async () => {
    const body = { kind: 'device', account: 'c2', value: 'c2-home-pc', until: new Date(Date.now() + 86_400_000).toISOString(), reason: 'approved home office' };
    expect((await w.api('POST', '/api/v1/exceptions', { token: w.adminToken, body: { ...body, until: 'tomorrow' } })).status).toBe(400);
    const c2 = (await w.api('POST', '/api/v1/sessions', { body: { account: 'c2', password: 'pw-c2-secret', device: 'c2-pda' } })).body.token;
    expect((await w.api('POST', '/api/v1/exceptions', { token: c2, body })).status).toBe(403);
    const created = await w.api('POST', '/api/v1/exceptions', { token: analyst, body });
    expect(created.status, created.text).toBe(201);
    expect((await w.api('GET', '/api/v1/exceptions', { token: analyst })).body.exceptions.map((x: { id: string }) => x.id)).toContain(created.body.id);
    expect((await w.api('DELETE', `/api/v1/exceptions/${created.body.id}`, { token: analyst })).status).toBe(200);
    expect((await w.api('GET', '/api/v1/exceptions', { token: analyst })).body.exceptions).toEqual([]);
  });
});

describe.each(testBackends())('a suspension is identity\'s to enforce on %s', (backend) => {
  let w: TestWarden;
  let analyst = '';
  beforeAll(async () => {
    // Re-alerts after 10 minutes (not 6 h), so a second burst raises a second alert.
    w = await startTestWarden(backend, { detectConfig: { time: { reorder_window_seconds: 0 }, response: { step_up: 40, throttle: 40, suspend: 40 }, risk: { cooldown_hours: 1 / 6 } } });
    const admin = w.adminToken;
    await w.api('POST', '/api/v1/sites', { token: admin, body: { code: 'OUT-1', kind: 'outlet', city: '北京' } });
    for (const [id, role, site] of [['c1', 'courier', 'OUT-1'], ['sa1', 'security_analyst', null], ['svc', 'service', null]] as const) {
      expect((await w.api('POST', '/api/v1/accounts', { token: admin, body: { id, role, site, password: `pw-${id}-secret` } })).status).toBe(201);
    }
    const service = (await w.api('POST', '/api/v1/accounts/svc/tokens', { token: admin })).body.token;
    analyst = (await w.api('POST', '/api/v1/sessions', { body: { account: 'sa1', password: 'pw-sa1-secret', device: 'sa-desk' } })).body.token;
    await w.api('POST', '/api/v1/waybills', { token: service, body: { waybill: 'SF100000000001', origin_site: 'OUT-1', dest_site: 'OUT-1', sender: PARTY, recipient: PARTY } });
    await w.api('POST', '/api/v1/assignments', { token: service, body: { waybill: 'SF100000000001', account: 'c1', task: 'delivery' } });
  });
  afterAll(() => w?.dispose());

  const burst = async (entries: AuditEntryInput[]) => {
    const published = w.warden.bus.stats().published;
    await w.warden.audit.append(entries);
    while (w.warden.bus.stats().published < published + entries.length) await new Promise((r) => setImmediate(r));
    await w.warden.watch!.idle();
  };
  const login = () => w.api('POST', '/api/v1/sessions', { body: { account: 'c1', password: 'pw-c1-secret', device: 'c1-pda' } });
  const reveal = (token: string) => w.api('POST', '/api/v1/waybills/SF100000000001/reveal', { token, body: { fields: ['recipient.phone'], purpose: 'delivery' } });
  const status = async () => (await w.warden.identity.loadAccount('c1'))!.status;

  it('a suspend response suspends the account; lifted in identity it holds no longer; the next alert suspends again', async () => {
    await burst(harvestBurst('c1', new Date(Date.now() - 40 * 60_000)));
    expect((await w.api('GET', '/api/v1/accounts/c1/response', { token: analyst })).body.response.action).toBe('suspend');
    expect(await status()).toBe('suspended');
    expect((await login()).body.error.code).toBe('account_suspended');

    // An analyst lifts the suspension (audited): the response stays on record for review, and
    // refuses nothing by itself.
    expect((await w.api('POST', '/api/v1/accounts/c1/unsuspend', { token: analyst, body: { reason: 'explained by the outlet' } })).status).toBe(200);
    const token = (await login()).body.token;
    expect((await reveal(token)).status).toBe(200);

    // A second burst raises a new alert: the account is suspended again (not skipped as "already suspended").
    await burst(harvestBurst('c1', new Date(Date.now() - 20 * 60_000), 210000000000, 'stranger-pc-2'));
    expect(await status()).toBe('suspended');
    expect((await reveal(token)).status).not.toBe(200);
    expect((await login()).body.error.code).toBe('account_suspended');
    const suspensions = await w.warden.db.selectFrom('audit_log').select('detail').where('kind', '=', 'admin.account_suspended').where('account', '=', 'c1').execute();
    expect(suspensions.map((e) => (typeof e.detail === 'string' ? JSON.parse(e.detail) : e.detail).actor)).toEqual(['warden-detect', 'warden-detect']);

    // Clearing the response lifts the suspension it made.
    expect((await w.api('DELETE', '/api/v1/accounts/c1/response', { token: analyst })).status).toBe(200);
    expect(await status()).toBe('active');
  });
});

describe.each(testBackends())('step-up and throttle on %s', (backend) => {
  let w: TestWarden;
  let analyst = '';
  let service = '';
  const WB = { c1: 'SF100000000001', c3: 'SF100000000003' } as const;
  const BATCH = Array.from({ length: 15 }, (_, i) => `SF30000000${String(i).padStart(4, '0')}`);
  beforeAll(async () => {
    w = await startTestWarden(backend);
    const admin = w.adminToken;
    await w.api('POST', '/api/v1/sites', { token: admin, body: { code: 'OUT-1', kind: 'outlet', city: '北京' } });
    for (const [id, role, site] of [['c1', 'courier', 'OUT-1'], ['c3', 'courier', 'OUT-1'], ['c4', 'courier', 'OUT-1'], ['sa1', 'security_analyst', null], ['svc', 'service', null]] as const) {
      await w.api('POST', '/api/v1/accounts', { token: admin, body: { id, role, site, password: `pw-${id}-secret` } });
    }
    service = (await w.api('POST', '/api/v1/accounts/svc/tokens', { token: admin })).body.token;
    analyst = (await w.api('POST', '/api/v1/sessions', { body: { account: 'sa1', password: 'pw-sa1-secret', device: 'sa-desk' } })).body.token;
    for (const [account, waybill] of [['c1', WB.c1], ['c3', WB.c3], ...BATCH.map((b) => ['c4', b])] as const) {
      await w.api('POST', '/api/v1/waybills', { token: service, body: { waybill, origin_site: 'OUT-1', dest_site: 'OUT-1', sender: PARTY, recipient: PARTY } });
      await w.api('POST', '/api/v1/assignments', { token: service, body: { waybill, account, task: 'delivery' } });
    }
  });
  afterAll(() => w?.dispose());

  const reveal = (token: string, waybill: string) => w.api('POST', `/api/v1/waybills/${waybill}/reveal`, { token, body: { fields: ['recipient.phone'], purpose: 'delivery' } });

  it('step-up: the old session is refused until a new login with the one-time code', async () => {
    const { TOTP, Secret } = await import('otpauth');
    const old = (await w.api('POST', '/api/v1/sessions', { body: { account: 'c1', password: 'pw-c1-secret', device: 'c1-pda' } })).body.token;
    const enrol = await w.api('POST', '/api/v1/accounts/c1/mfa', { token: w.adminToken });
    expect(enrol.status, enrol.text).toBe(201);
    expect((await w.api('POST', '/api/v1/accounts/c1/mfa', { token: analyst })).status).toBe(403);
    const totp = new TOTP({ secret: Secret.fromBase32(enrol.body.secret), digits: 6, period: 30 });
    expect((await reveal(old, WB.c1)).status).toBe(200);
    const set = await w.api('PUT', '/api/v1/accounts/c1/response', { token: analyst, body: { action: 'step_up', reason: 'login from a new city' } });
    expect(set.status, set.text).toBe(200);
    const refused = await reveal(old, WB.c1);
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('step_up_required');
    expect(refused.text).not.toContain('new city');
    await new Promise((r) => setTimeout(r, 5));
    // Enrolled means required (issue 7, hole 2): no session at all without the code.
    const noCode = await w.api('POST', '/api/v1/sessions', { body: { account: 'c1', password: 'pw-c1-secret', device: 'c1-pda' } });
    expect(noCode.status).toBe(401);
    expect(noCode.body.error.code).toBe('otp_required');
    const badCode = await w.api('POST', '/api/v1/sessions', { body: { account: 'c1', password: 'pw-c1-secret', device: 'c1-pda', otp: totp.generate() === '000000' ? '111111' : '000000' } });
    expect(badCode.status).toBe(401);
    const stepped = await w.api('POST', '/api/v1/sessions', { body: { account: 'c1', password: 'pw-c1-secret', device: 'c1-pda', otp: totp.generate() } });
    expect(stepped.status, stepped.text).toBe(201);
    expect(stepped.body.mfa).toBe(true);
    expect((await reveal(stepped.body.token, WB.c1)).status).toBe(200);
  });

  it('throttle: a few records an hour, then refused with a generic reason; analysts see the detail', async () => {
    const tok = (await w.api('POST', '/api/v1/sessions', { body: { account: 'c3', password: 'pw-c3-secret', device: 'c3-pda' } })).body.token;
    expect((await w.api('PUT', '/api/v1/accounts/c3/response', { token: tok, body: { action: 'throttle', reason: 'self-service' } })).status).toBe(403);
    await w.api('PUT', '/api/v1/accounts/c3/response', { token: analyst, body: { action: 'throttle', reason: 'volume above peers' } });
    const codes: number[] = [];
    for (let i = 0; i < 10; i++) codes.push((await reveal(tok, WB.c3)).status);
    expect(codes.every((c) => c === 200)).toBe(true);
    const last = await reveal(tok, WB.c3);
    expect(last.status).toBe(403);
    expect(last.body.error.code).toBe('throttled');
    expect(last.text).not.toContain('volume above peers');
    expect(Number(last.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await w.api('GET', '/api/v1/accounts/c3/response', { token: analyst })).body.response).toMatchObject({ action: 'throttle', reason: 'volume above peers' });
    expect((await w.api('GET', `/api/v1/waybills/${WB.c3}`, { token: tok })).status).toBe(200);
    await w.api('DELETE', '/api/v1/accounts/c3/response', { token: analyst });
    expect((await reveal(tok, WB.c3)).status).toBe(200);
  });

  // Hole 5: one batch reveal under "10 per hour" revealed 15.
  it('throttle counts records: a batch of 15 under "10 an hour" reveals 10, the rest are refused item by item', async () => {
    const tok = (await w.api('POST', '/api/v1/sessions', { body: { account: 'c4', password: 'pw-c4-secret', device: 'c4-pda' } })).body.token;
    const unthrottled = await w.api('POST', '/api/v1/reveals', { token: tok, body: { items: BATCH.slice(0, 2).map((waybill) => ({ waybill })), fields: ['recipient.phone'], purpose: 'delivery' } });
    expect(unthrottled.body.results.every((r: { values?: unknown }) => r.values)).toBe(true);
    expect((await w.api('PUT', '/api/v1/accounts/c4/response', { token: analyst, body: { action: 'throttle', reason: 'volume above peers' } })).status).toBe(200);
    const batch = await w.api('POST', '/api/v1/reveals', { token: tok, body: { items: BATCH.map((waybill) => ({ waybill })), fields: ['recipient.phone'], purpose: 'delivery' } });
    expect(batch.status, batch.text).toBe(200);
    const outcome = batch.body.results.map((r: { values?: unknown; error?: { code: string } }) => (r.values ? 'ok' : r.error!.code));
    expect(outcome).toEqual([...Array(10).fill('ok'), ...Array(5).fill('throttled')]);
    expect((await reveal(tok, BATCH[0]!)).body.error.code).toBe('throttled');
    const batchAgain = await w.api('POST', '/api/v1/reveals', { token: tok, body: { items: [{ waybill: BATCH[1]! }], fields: ['recipient.phone'], purpose: 'delivery' } });
    expect(batchAgain.body.results[0].error.code).toBe('throttled');
    const denied = await w.warden.db.selectFrom('audit_log').select('reason').where('account', '=', 'c4').where('kind', '=', 'access.reveal').where('reason', '=', 'throttled').execute();
    expect(denied.length).toBe(7);
  });
});

describe.each(testBackends())('nobody acts on a response or exception about themselves on %s', (backend) => {
  let w: TestWarden;
  const tokens: Record<string, string> = {};
  /** sa1's laptop as the server enrolled it: events and alerts name this id, not the client's label. */
  let sa1Device = '';
  beforeAll(async () => {
    w = await startTestWarden(backend);
    const admin = w.adminToken;
    await w.api('POST', '/api/v1/sites', { token: admin, body: { code: 'OUT-1', kind: 'outlet', city: '北京' } });
    for (const [id, role, site] of [['c1', 'courier', 'OUT-1'], ['sa1', 'security_analyst', null], ['sa2', 'security_analyst', null]] as const) {
      expect((await w.api('POST', '/api/v1/accounts', { token: admin, body: { id, role, site, password: `pw-${id}-secret` } })).status).toBe(201);
      const session = (await w.api('POST', '/api/v1/sessions', { body: { account: id, password: `pw-${id}-secret`, device: id === 'sa1' ? 'sa1-laptop' : `${id}-dev` } })).body;
      tokens[id] = session.token;
      if (id === 'sa1') sa1Device = session.device_id;
    }
    expect(sa1Device).toMatch(/^dev_/);
  });
  afterAll(() => w?.dispose());

  const selfRefusals = () => w.warden.db.selectFrom('audit_log').select(['kind', 'account', 'detail']).where('reason', '=', 'self_action').execute();

  // Hole 3: a security analyst under step-up cleared its own response.
  it('an analyst under a response may not clear, lower or set it; another analyst may', async () => {
    expect((await w.api('PUT', '/api/v1/accounts/sa1/response', { token: tokens.sa2, body: { action: 'throttle', reason: 'reveals above peers' } })).status).toBe(200);
    for (const [method, body] of [['DELETE', undefined], ['PUT', { action: 'step_up', reason: 'lowering my own' }], ['PUT', { action: 'suspend', reason: 'raising my own' }]] as const) {
      const r = await w.api(method, '/api/v1/accounts/sa1/response', { token: tokens.sa1, ...(body ? { body } : {}) });
      expect(r.status, r.text).toBe(403);
      expect(r.body.error.code).toBe('self_action');
    }
    expect((await w.api('GET', '/api/v1/accounts/sa1/response', { token: tokens.sa2 })).body.response.action).toBe('throttle');
    const refusals = await selfRefusals();
    expect(refusals.filter((r) => r.account === 'sa1').length).toBe(3);
    expect(JSON.stringify(refusals)).toContain('"actor":"sa1"');
    const cleared = await w.api('DELETE', '/api/v1/accounts/sa1/response', { token: tokens.sa2 });
    expect(cleared.status, cleared.text).toBe(200);
    expect(cleared.body.cleared).toBe('throttle');
  });

  it('may set, lower and clear a response on someone else (lowering a suspension lifts it)', async () => {
    const login = () => w.api('POST', '/api/v1/sessions', { body: { account: 'c1', password: 'pw-c1-secret', device: 'c1-dev' } });
    expect((await w.api('PUT', '/api/v1/accounts/c1/response', { token: tokens.sa1, body: { action: 'suspend', reason: 'shared credentials, 3 cities' } })).status).toBe(200);
    const refused = await login();
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('account_suspended');
    expect(refused.text).not.toContain('shared credentials');
    expect((await w.api('PUT', '/api/v1/accounts/c1/response', { token: tokens.sa2, body: { action: 'step_up', reason: 'explained by the outlet' } })).status).toBe(200);
    expect((await login()).status).toBe(201);
    expect((await w.api('DELETE', '/api/v1/accounts/c1/response', { token: tokens.sa1 })).status).toBe(200);
  });

  it('may not add an exception naming themselves, their device or their network; another analyst\'s is fine', async () => {
    const until = new Date(Date.now() + 86_400_000).toISOString();
    const own = [
      { kind: 'account', value: 'sa1', until, reason: 'working late' },
      { kind: 'device', account: 'sa1', value: 'any-device', until, reason: 'my other laptop' },
      { kind: 'device', value: sa1Device, until, reason: 'my laptop' },
      { kind: 'network', value: '127.0.0.0/24', until, reason: 'my office' },
      { kind: 'network', value: '127.0.0.1', until, reason: 'my address' },
    ];
    for (const body of own) {
      const r = await w.api('POST', '/api/v1/exceptions', { token: tokens.sa1, body });
      expect(r.status, JSON.stringify(body)).toBe(403);
      expect(r.body.error.code).toBe('self_action');
    }
    expect((await w.api('GET', '/api/v1/exceptions', { token: tokens.sa2 })).body.exceptions).toEqual([]);
    const forC1 = await w.api('POST', '/api/v1/exceptions', { token: tokens.sa1, body: { kind: 'device', account: 'c1', value: 'c1-home-pc', until, reason: 'approved home office' } });
    expect(forC1.status, forC1.text).toBe(201);
    const bySa2 = await w.api('POST', '/api/v1/exceptions', { token: tokens.sa2, body: { kind: 'device', account: 'sa1', value: 'sa1-spare', until, reason: 'spare laptop, ticket 42' } });
    expect(bySa2.status, bySa2.text).toBe(201);
    const removeOwn = await w.api('DELETE', `/api/v1/exceptions/${bySa2.body.id}`, { token: tokens.sa1 });
    expect(removeOwn.body.error.code).toBe('self_action');
    expect((await w.api('DELETE', `/api/v1/exceptions/${bySa2.body.id}`, { token: tokens.sa2 })).status).toBe(200);
    // sa1's enrolled device is not sa2's own: sa2 may name it.
    const deviceBySa2 = await w.api('POST', '/api/v1/exceptions', { token: tokens.sa2, body: { kind: 'device', value: sa1Device, until, reason: 'laptop re-imaged, ticket 43' } });
    expect(deviceBySa2.status, deviceBySa2.text).toBe(201);
    expect((await w.api('DELETE', `/api/v1/exceptions/${deviceBySa2.body.id}`, { token: tokens.sa1 })).body.error.code).toBe('self_action');
    expect((await w.api('DELETE', `/api/v1/exceptions/${deviceBySa2.body.id}`, { token: tokens.sa2 })).status).toBe(200);
  });

  it('the admin token has no account of its own: it may act on anyone', async () => {
    expect((await w.api('PUT', '/api/v1/accounts/sa1/response', { token: w.adminToken, body: { action: 'step_up', reason: 'audit of analysts' } })).status).toBe(200);
    expect((await w.api('DELETE', '/api/v1/accounts/sa1/response', { token: w.adminToken })).status).toBe(200);
  });

  // Hole 13: `since` that passes the pattern but is no date was a 500.
  it('a since/until or until of an exception that is no real time is a 400 naming the parameter', async () => {
    for (const [param, value] of [['since', '2026-13-45T99:99:99Z'], ['until', '2026-02-30T10:00:00Z'], ['since', '2026-04-31T00:00Z']]) {
      const r = await w.api('GET', `/api/v1/alerts?${param}=${encodeURIComponent(value!)}`, { token: tokens.sa2 });
      expect(r.status, r.text).toBe(400);
      expect(r.body.error.code).toBe('validation_failed');
      expect(r.body.error.message).toContain(param);
    }
    expect((await w.api('GET', '/api/v1/alerts?since=2026-02-28T23:59:59Z', { token: tokens.sa2 })).status).toBe(200);
    const x = await w.api('POST', '/api/v1/exceptions', { token: tokens.sa2, body: { kind: 'device', account: 'c1', value: 'd', until: '2026-13-45T99:99:99Z', reason: 'bad date' } });
    expect(x.status).toBe(400);
    expect(x.body.error.message).toContain('until');
  });
});
