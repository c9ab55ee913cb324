/**
 * Attack review, tried again through the HTTP API on every backend: an it_admin created a second
 * account (a puppet, whose password he set) and approved his own pending request through it. The
 * second person of every two-person rule must now be a different person: not the requester, nor
 * an account linked to the requester by creation (`created_by`, either way round, transitively;
 * src/access/self.ts). Each rule: refused through a puppet (403 `self_action`, audited with the
 * actor and the link) and allowed for an independent second person.
 *
 * The people: the admin token creates sa1, sa2 (analysts) and it1, it2 (it_admins), independent of
 * each other. it1 creates puppets: it1p (it_admin), it1pp (by it1p), and sap (an analyst that the
 * independent sa1 approves, not knowing it is it1's). it1 is later promoted to analyst (as an IT
 * admin who moved to the security team would be), so the puppets meet him in cases and PIPL too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';
import { people } from './puppet-setup.js';
import { approveAccount } from '../support/approve.js';


describe.each(testBackends())('puppet approvals on %s', (backend) => {
  let w: TestWarden;
  const { tokens, login, create, refusedThroughPuppet } = people(() => w);
  const as = (who: string) => tokens[who] ?? who;

  beforeAll(async () => {
    w = await startTestWarden(backend, { approvals: 'manual', config: { detect: false } });
    expect((await w.api('POST', '/api/v1/sites', { token: w.adminToken, body: { code: 'OUT-1', kind: 'outlet', city: '北京' } })).status).toBe(201);
    await create(w.adminToken, 'sa1', 'security_analyst');
    await create(w.adminToken, 'sa2', 'security_analyst');
    for (const id of ['it1', 'it2']) await create(w.adminToken, id, 'it_admin');
    for (const id of ['sa1', 'it1', 'it2']) await login(id);
    expect((await approveAccount(w, 'sa2', tokens.sa1)).status).toBe(200);
    await login('sa2');
    // it1's puppets: an it_admin, the puppet's own puppet, and an analyst an independent analyst approves.
    await create('it1', 'it1p', 'it_admin');
    await login('it1p');
    await create('it1p', 'it1pp', 'it_admin');
    await login('it1pp');
    await create('it1', 'sap', 'security_analyst');
    expect((await approveAccount(w, 'sap', tokens.sa1)).status).toBe(200);
    await login('sap');
  });
  afterAll(() => w?.dispose());

  it('service tokens: neither the requester\'s puppet, nor its puppet, nor the creator of a requesting puppet; an independent it_admin or analyst approves', async () => {
    await create('it1', 'svc1', 'service');
    const request = async (who: string) => {
      const r = await w.api('POST', '/api/v1/accounts/svc1/tokens', { token: as(who), body: { events: ['assign'], sites: ['OUT-1'] } });
      expect(r.body.approval).toBe('pending');
      return r.body.id as string;
    };
    const approve = (who: string, token: string) => w.api('POST', `/api/v1/accounts/svc1/tokens/${token}/approve`, { token: as(who) });
    const byIt1 = await request('it1');
    await refusedThroughPuppet(await approve('it1p', byIt1), 'admin.service_token_approved', 'it1p');
    await refusedThroughPuppet(await approve('it1pp', byIt1), 'admin.service_token_approved', 'it1pp');
    // The other way round: the puppet asks, its creator approves.
    const byPuppet = await request('it1pp');
    await refusedThroughPuppet(await approve('it1', byPuppet), 'admin.service_token_approved', 'it1');
    const ok = await approve('it2', byIt1);
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body).toMatchObject({ approval: 'approved', requested_by: 'it1', approved_by: 'it2' });
    expect((await approve('sa1', byPuppet)).status).toBe(200);
  });

  it('privileged accounts: an analyst the requester created may not approve what he asked for; an independent analyst may', async () => {
    const m1 = await create('it1', 'm1', 'manager', 'OUT-1');
    expect(m1.pending_approval).toMatchObject({ role: 'manager', requested_by: 'it1' });
    await refusedThroughPuppet(await approveAccount(w, 'm1', tokens.sap), 'admin.account_approved', 'sap');
    const ok = await approveAccount(w, 'm1', tokens.sa2);
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body).toMatchObject({ status: 'active', approved_by: 'sa2' });
    // it1 moves to the security team: requested by it2, approved by sa1 (neither is linked to it1).
    const promoted = await w.api('PATCH', '/api/v1/accounts/it1', { token: tokens.it2, body: { role: 'security_analyst' } });
    expect(promoted.status, promoted.text).toBe(200);
    await refusedThroughPuppet(await approveAccount(w, 'it1', tokens.sap), 'admin.account_approved', 'sap');
    expect((await approveAccount(w, 'it1', tokens.sa1)).status).toBe(200);
    await login('it1');
  });

  it('cases: the opener\'s puppet (and the puppet\'s creator) may not approve; an independent analyst may', async () => {
    const open = async (who: string) => {
      const r = await w.api('POST', '/api/v1/cases', { token: tokens[who], body: { title: 'complaint', reason: 'number leaked', accounts: ['it2'] } });
      expect(r.status, r.text).toBe(201);
      return r.body.id as string;
    };
    const approve = (who: string, id: string) => w.api('POST', `/api/v1/cases/${id}/approve`, { token: tokens[who] });
    const byIt1 = await open('it1');
    await refusedThroughPuppet(await approve('sap', byIt1), 'case.approved', 'sap');
    const byPuppet = await open('sap');
    await refusedThroughPuppet(await approve('it1', byPuppet), 'case.approved', 'it1');
    const ok = await approve('sa2', byIt1);
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body).toMatchObject({ status: 'open', opened_by: 'it1', approved_by: 'sa2' });
  });

  it('PIPL: a deletion or access request filed by one hand is neither approved nor rejected by the other, nor reviewed by it; an independent analyst approves', async () => {
    const file = async (who: string, phone: string, kind = 'deletion') => {
      const r = await w.api('POST', '/api/v1/subjects/requests', { token: tokens[who], body: { kind, phone, identity_verified: true } });
      expect(r.status, r.text).toBe(201);
      return r.body.id as string;
    };
    /** Reads the request (an eligible approver gets its review and version) and decides it. */
    const decide = async (who: string, id: string, verb: 'approve' | 'reject') => {
      const seen = await w.api('GET', `/api/v1/subjects/requests/${id}`, { token: tokens[who] });
      const body = verb === 'reject' ? { reason: 'duplicate' } : { reviewed: seen.body.review?.version ?? 'not-reviewed' };
      return w.api('POST', `/api/v1/subjects/requests/${id}/${verb}`, { token: tokens[who], body });
    };
    // An access request (its report is a lookup of the person): the filer's puppet may not release it, nor gets the review.
    const access = await file('it1', '13800009993', 'access');
    expect((await w.api('GET', `/api/v1/subjects/requests/${access}`, { token: tokens.sap })).body.review).toBeUndefined();
    await refusedThroughPuppet(await decide('sap', access, 'approve'), 'pipl.request_approved', 'sap');
    expect((await w.api('GET', `/api/v1/subjects/requests/${access}/report`, { token: tokens.sap })).status).toBe(403);
    expect((await decide('sa2', access, 'approve')).status).toBe(200);
    expect((await w.api('GET', `/api/v1/subjects/requests/${access}/report`, { token: tokens.sap })).status).toBe(200);
    const byIt1 = await file('it1', '13800009991');
    await refusedThroughPuppet(await decide('sap', byIt1, 'approve'), 'pipl.request_approved', 'sap');
    await refusedThroughPuppet(await decide('sap', byIt1, 'reject'), 'pipl.request_rejected', 'sap');
    const byPuppet = await file('sap', '13800009992');
    await refusedThroughPuppet(await decide('it1', byPuppet, 'approve'), 'pipl.request_approved', 'it1');
    const ok = await decide('sa2', byIt1, 'approve');
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body).toMatchObject({ state: 'completed', requested_by: 'it1', approved_by: 'sa2' });
    expect((await decide('sa1', byPuppet, 'reject')).status).toBe(200);
  });

  it('impact assessments: reviewed by someone not linked to the author', async () => {
    const pia = await w.api('POST', '/api/v1/pia', { token: tokens.it1, body: { title: 't', scope: 's', risk: 'low', measures: 'm' } });
    expect(pia.status, pia.text).toBe(201);
    await refusedThroughPuppet(await w.api('POST', `/api/v1/pia/${pia.body.id}/review`, { token: tokens.sap }), 'pipl.pia_recorded', 'sap');
    const ok = await w.api('POST', `/api/v1/pia/${pia.body.id}/review`, { token: tokens.sa2 });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body.reviewed_by).toBe('sa2');
  });
});
