/**
 * Attack review 2 of the puppet rule (src/access/self.ts `sameHand`), through the HTTP API: an
 * account may not undo what another analyst did to it through an account linked to it by creation
 * (its puppet, or its creator). "Nobody acts on their own account" compared account names only, so
 * a suspended it_admin had his puppet analyst lift the suspension, clear the response an
 * independent analyst set on him, except his account from detection or close an alert about him. Each: refused through the puppet (403 `self_action`, audited with
 * the actor and the link), allowed for an independent analyst.
 *
 * The people: the admin token creates sa1, sa2 (analysts, sa2 approved by sa1) and it1 (it_admin);
 * it1 creates sap, an analyst the independent sa1 approves, not knowing it is it1's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';
import { password, people } from './puppet-setup.js';
import { approveAccount } from '../support/approve.js';


describe.each(testBackends())('puppet bypasses on %s', (backend) => {
  let w: TestWarden;
  const { tokens, login, create, refusedThroughPuppet, analystsAndItAdmin } = people(() => w);

  beforeAll(async () => {
    w = await startTestWarden(backend, { approvals: 'manual' });
    await analystsAndItAdmin();
    await create('it1', 'sap', 'security_analyst');
    expect((await approveAccount(w, 'sap', tokens.sa1)).status).toBe(200);
    await login('sap');
  });
  afterAll(() => w?.dispose());

  it('a suspension is not lifted by the suspended account\'s puppet; an independent analyst lifts it', async () => {
    expect((await w.api('POST', '/api/v1/accounts/it1/suspend', { token: tokens.sa2, body: { reason: 'misuse' } })).status).toBe(200);
    await refusedThroughPuppet(await w.api('POST', '/api/v1/accounts/it1/unsuspend', { token: tokens.sap }), 'admin.account_unsuspended', 'sap');
    expect((await w.warden.db.selectFrom('accounts').select('status').where('id', '=', 'it1').executeTakeFirstOrThrow()).status).toBe('suspended');
    const ok = await w.api('POST', '/api/v1/accounts/it1/unsuspend', { token: tokens.sa1 });
    expect(ok.status, ok.text).toBe(200);
    await login('it1');
  });

  it('a response set on an account is not cleared by its puppet; an independent analyst clears it', async () => {
    const set = await w.api('PUT', '/api/v1/accounts/it1/response', { token: tokens.sa2, body: { action: 'throttle', reason: 'bulk reveals' } });
    expect(set.status, set.text).toBe(200);
    await refusedThroughPuppet(await w.api('DELETE', '/api/v1/accounts/it1/response', { token: tokens.sap, body: { reason: 'lifting through a puppet' } }), 'watch.response_cleared', 'sap');
    expect((await w.api('GET', '/api/v1/accounts/it1/response', { token: tokens.sa2 })).body.response).not.toBeNull();
    const ok = await w.api('DELETE', '/api/v1/accounts/it1/response', { token: tokens.sa1, body: { reason: 'bulk reveals explained' } });
    expect(ok.status, ok.text).toBe(200);
  });

  it('a puppet may not except its creator from detection, nor remove an exception about him; an independent analyst may', async () => {
    const body = { kind: 'account', value: 'it1', until: new Date(Date.now() + 86_400_000).toISOString(), reason: 'maintenance window' };
    await refusedThroughPuppet(await w.api('POST', '/api/v1/exceptions', { token: tokens.sap, body }), 'watch.exception_added', 'sap');
    const ok = await w.api('POST', '/api/v1/exceptions', { token: tokens.sa1, body });
    expect(ok.status, ok.text).toBe(201);
    await refusedThroughPuppet(await w.api('DELETE', `/api/v1/exceptions/${ok.body.id}`, { token: tokens.sap }), 'watch.exception_removed', 'sap');
    expect((await w.api('DELETE', `/api/v1/exceptions/${ok.body.id}`, { token: tokens.sa2 })).status).toBe(200);
  });

  it('a puppet may not resolve an alert about its creator; an independent analyst may', async () => {
    const ts = new Date();
    await w.warden.db.insertInto('alerts').values({
      id: 'alert-it1', ts, account: 'it1', device: null, detector: 'bulk', severity: 'high', score: 80, summary: 'many reveals', incident: null, response: null,
      body: JSON.stringify({}) as never, status: 'open', verdict: null, note: null, updated_by: null, created_at: ts, updated_at: ts, assignee: null, site: null, city: null,
    }).execute();
    const resolve = (who: string) => w.api('PATCH', '/api/v1/alerts/alert-it1', { token: tokens[who], body: { verdict: 'false_positive' } });
    await refusedThroughPuppet(await resolve('sap'), 'watch.alert_updated', 'sap');
    const ok = await resolve('sa1');
    expect(ok.status, ok.text).toBe(200);
  });

  it('no account takes a name the trail gives the admin token, Warden or a CLI operator', async () => {
    for (const id of ['admin', 'Admin', 'warden-detect', 'os:root']) {
      const r = await w.api('POST', '/api/v1/accounts', { token: tokens.it1, body: { id, role: 'it_admin', site: null, password: password(id) } });
      expect(r.status, r.text).toBe(400);
      expect(r.body.error.code).toBe('validation_failed');
    }
    await create('it1', 'administrator', 'it_admin');
  });
});
