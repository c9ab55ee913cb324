/**
 * Attack review 8: the alert webhook carried the canary numbers a courier touched, while
 * GET /alerts shows them to analysts only and every read of the canary list is audited. The
 * webhook's receivers get the alert with a count instead.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';

describe.each(testBackends())('the alert webhook and canaries on %s', (backend) => {
  let w: TestWarden;
  const hooks: string[] = [];
  let hookServer: http.Server;
  const login = async (id: string) => (await w.api('POST', '/api/v1/sessions', { body: { account: id, password: `pw-${id}-secret`, device: `${id}-dev` } })).body.token as string;

  beforeAll(async () => {
    hookServer = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => (hooks.push(body), res.end('ok')));
    });
    await new Promise<void>((r) => hookServer.listen(0, '127.0.0.1', r));
    const port = (hookServer.address() as { port: number }).port;
    w = await startTestWarden(backend, { config: { alertWebhookUrl: `http://127.0.0.1:${port}/hook`, alertWebhookSecret: 'webhook-secret-0123456789' } });
    await w.api('POST', '/api/v1/sites', { token: w.adminToken, body: { code: 'OUT-1', kind: 'outlet', city: '北京' } });
    for (const [id, role, site] of [['sa1', 'security_analyst', null], ['c1', 'courier', 'OUT-1']] as const) {
      expect((await w.api('POST', '/api/v1/accounts', { token: w.adminToken, body: { id, role, site, password: `pw-${id}-secret` } })).status).toBe(201);
    }
  });
  afterAll(async () => {
    await w?.dispose();
    hookServer?.close();
  });

  it('a canary_touched alert reaches the webhook without the canary numbers; an analyst still reads them', async () => {
    const analyst = await login('sa1');
    const planted = await w.api('POST', '/api/v1/canaries', { token: analyst, body: { count: 2, phone_range: '1700000' } });
    expect(planted.status, planted.text).toBe(201);
    const canary: string = planted.body.waybills[0];
    expect((await w.api('GET', `/api/v1/waybills/${canary}`, { token: await login('c1') })).status).toBe(200);
    let sent: { detector: string; evidence: Record<string, unknown> } | undefined;
    for (let i = 0; i < 100 && !sent; i++) {
      await new Promise((r) => setTimeout(r, 100));
      sent = hooks.map((h) => JSON.parse(h)).find((a) => a.detector === 'canary_touched');
    }
    expect(sent).toBeDefined();
    expect(JSON.stringify(sent)).not.toContain(canary);
    expect(sent!.evidence).toMatchObject({ waybills: null, canaries: 1 });
    const listed = await w.api('GET', '/api/v1/alerts?account=c1', { token: analyst });
    expect(JSON.stringify(listed.body.alerts.find((a: { detector: string }) => a.detector === 'canary_touched'))).toContain(canary);
  });
});
