/**
 * Review 3, hole 1: one it_admin got reveal rights alone — he created an outlet clerk (site-scope
 * reveals, a customer at the counter) or a customer-service agent (search-backed reveals), set its
 * password and revealed through it; and one analyst moved a Beijing clerk to Shanghai, whose
 * session revealed Shanghai parcels at once. Staff who reveal on their own standing are granted
 * by two people when an account grants them: creating one, changing its role into one, or moving
 * one to another site waits for a second person (an analyst who is neither the requester nor
 * linked to it by creation). Allowed at once: the admin token's provisioning, and an account's
 * creation of staff whose reveals need upstream work (a courier).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';
import { password, people } from './puppet-setup.js';
import { approveAccount } from '../support/approve.js';

const PARTY = { name: '王小明', phone: '13900001111', address: '上海市浦东新区世纪大道100号5楼' };

describe.each(testBackends())('granting standing reveal rights takes two people on %s', (backend) => {
  let w: TestWarden;
  const { tokens, login, create, analystsAndItAdmin } = people(() => w);
  const loginStatus = async (id: string) => (await w.api('POST', '/api/v1/sessions', { body: { account: id, password: password(id), device: `${id}-pda` } })).status;
  const siteOf = async (id: string) => (await w.warden.db.selectFrom('accounts').select(['site', 'role', 'approval', 'pending_site', 'pending_role']).where('id', '=', id).executeTakeFirstOrThrow());

  beforeAll(async () => {
    w = await startTestWarden(backend, { approvals: 'manual' });
    for (const [code, city] of [['OUT-BJ', '北京'], ['OUT-SH', '上海']] as const) {
      expect((await w.api('POST', '/api/v1/sites', { token: w.adminToken, body: { code, kind: 'outlet', city } })).status).toBe(201);
    }
    await analystsAndItAdmin();
    const service = (await create(w.adminToken, 'svc', 'service'), (await w.api('POST', '/api/v1/accounts/svc/tokens', { token: w.adminToken })).body.token);
    expect((await w.api('POST', '/api/v1/waybills', { token: service, body: { waybill: 'SF300000000001', origin_site: 'OUT-SH', dest_site: 'OUT-SH', sender: PARTY, recipient: PARTY } })).status).toBe(201);
  });
  afterAll(() => w?.dispose());

  it('an it_admin\'s outlet clerk or service agent waits for an analyst; his courier does not', async () => {
    for (const [id, role] of [['sh.clerk', 'outlet_staff'], ['sh.agent', 'customer_service']] as const) {
      const made = await create('it1', id, role, 'OUT-SH');
      expect(made.status).toBe('pending');
      expect(await loginStatus(id)).toBe(403);
    }
    expect((await create('it1', 'sh.courier', 'courier', 'OUT-SH')).status).toBe('active');
    expect(await loginStatus('sh.courier')).toBe(201);
    // The creator may not approve (not an analyst), an analyst may.
    expect((await approveAccount(w, 'sh.clerk', tokens.it1)).status).toBe(403);
    expect((await approveAccount(w, 'sh.clerk', tokens.sa1)).status).toBe(200);
    expect(await loginStatus('sh.clerk')).toBe(201);
  });

  it('the admin token provisions a clerk directly', async () => {
    expect((await create(w.adminToken, 'bj.clerk', 'outlet_staff', 'OUT-BJ')).status).toBe('active');
    expect(await loginStatus('bj.clerk')).toBe(201);
  });

  it('moving a clerk to another site, or making a courier an agent, waits for a second analyst; the mover may not approve it', async () => {
    await login('bj.clerk');
    const move = await w.api('PATCH', '/api/v1/accounts/bj.clerk', { token: tokens.sa1, body: { site: 'OUT-SH' } });
    expect(move.status, move.text).toBe(200);
    expect(await siteOf('bj.clerk')).toMatchObject({ site: 'OUT-BJ', pending_site: 'OUT-SH' });
    // Still a Beijing clerk: the Shanghai parcel is not his.
    const reveal = await w.api('POST', '/api/v1/waybills/SF300000000001/reveal', { token: tokens['bj.clerk'], body: { fields: ['recipient.phone'], purpose: 'other' } });
    expect(reveal.status, reveal.text).toBe(403);
    const own = await approveAccount(w, 'bj.clerk', tokens.sa1);
    expect(own.status).toBe(403);
    expect(own.body.error.code).toBe('self_action');
    expect((await approveAccount(w, 'bj.clerk', tokens.sa2)).status).toBe(200);
    expect(await siteOf('bj.clerk')).toMatchObject({ site: 'OUT-SH', pending_site: null });

    const promote = await w.api('PATCH', '/api/v1/accounts/sh.courier', { token: tokens.it1, body: { role: 'customer_service' } });
    expect(promote.status, promote.text).toBe(200);
    expect(await siteOf('sh.courier')).toMatchObject({ role: 'courier', pending_role: 'customer_service' });
    expect((await approveAccount(w, 'sh.courier', tokens.sa2)).status).toBe(200);
    expect(await siteOf('sh.courier')).toMatchObject({ role: 'customer_service', pending_role: null });
  });

  it('review 4, hole 1: an approval names what the approver read; a request swapped meanwhile is refused and audited, nothing approved', async () => {
    expect((await create('it1', 'swap.clerk', 'outlet_staff', 'OUT-BJ')).status).toBe('pending');
    const shown = (await w.api('GET', '/api/v1/accounts/swap.clerk', { token: tokens.sa2 })).body.pending_approval;
    expect(shown).toMatchObject({ role: 'outlet_staff', site: 'OUT-BJ' });
    // While the approver reads, the requester turns the clerk into an analyst.
    expect((await w.api('PATCH', '/api/v1/accounts/swap.clerk', { token: tokens.it1, body: { role: 'security_analyst', site: null } })).status).toBe(200);
    const blind = await w.api('POST', '/api/v1/accounts/swap.clerk/approve', { token: tokens.sa2, body: { role: shown.role, site: shown.site } });
    expect(blind.status, blind.text).toBe(409);
    expect(blind.body.error.message).toContain('security_analyst');
    expect(await siteOf('swap.clerk')).toMatchObject({ approval: 'pending', role: 'security_analyst' });
    const denied = await w.warden.db.selectFrom('audit_log').select(['decision', 'reason', 'detail']).where('kind', '=', 'admin.account_approved').where('account', '=', 'swap.clerk').executeTakeFirstOrThrow();
    expect(denied).toMatchObject({ decision: 'denied', reason: 'request_changed', detail: { approved_role: 'outlet_staff', approved_site: 'OUT-BJ' } });
    // A move swapped after reading is refused the same way (the site is part of what is approved).
    expect((await w.api('PATCH', '/api/v1/accounts/sh.clerk', { token: tokens.it1, body: { site: 'OUT-BJ' } })).status).toBe(200);
    expect((await w.api('POST', '/api/v1/accounts/sh.clerk/approve', { token: tokens.sa2, body: { role: 'outlet_staff', site: 'OUT-SH' } })).status).toBe(409);
    // No body: a 400 naming it; what is really asked, read again, is approved.
    expect((await w.api('POST', '/api/v1/accounts/sh.clerk/approve', { token: tokens.sa2 })).status).toBe(400);
    const now = await w.api('POST', '/api/v1/accounts/swap.clerk/approve', { token: tokens.sa2, body: { role: 'security_analyst', site: null } });
    expect(now.status, now.text).toBe(200);
    expect(await siteOf('swap.clerk')).toMatchObject({ approval: 'approved', role: 'security_analyst' });
  });
});
