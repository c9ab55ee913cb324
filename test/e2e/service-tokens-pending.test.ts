/**
 * GET /api/v1/service-tokens/pending: the tokens that wait for a second person, across every
 * service account, for the console's approvals inbox. Security analysts only (not the it_admin who
 * asks, nor the admin token, nor staff); never a secret; gone once approved or revoked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';
import { people } from './puppet-setup.js';

describe.each(testBackends())('pending service tokens on %s', (backend) => {
  let w: TestWarden;
  const { tokens, login, create, analystsAndItAdmin } = people(() => w);
  const pending = (token: string | undefined) => w.api('GET', '/api/v1/service-tokens/pending', { token });
  const request = async (svc: string) => {
    const r = await w.api('POST', `/api/v1/accounts/${svc}/tokens`, { token: tokens.it1, body: { events: ['assign'], sites: ['OUT-1'] } });
    expect(r.status, r.text).toBe(201);
    expect(r.body.approval).toBe('pending');
    return r.body as { id: string; token: string };
  };

  beforeAll(async () => {
    w = await startTestWarden(backend, { approvals: 'manual' });
    expect((await w.api('POST', '/api/v1/sites', { token: w.adminToken, body: { code: 'OUT-1', kind: 'outlet', city: '杭州' } })).status).toBe(201);
    await analystsAndItAdmin();
    await create(w.adminToken, 'c1', 'courier', 'OUT-1');
    await login('c1');
    for (const svc of ['svc1', 'svc2']) await create('it1', svc, 'service');
  });
  afterAll(() => w?.dispose());

  it('an analyst reads every waiting token across service accounts, with who asked and what it grants, never the secret', async () => {
    const a = await request('svc1');
    const b = await request('svc2');
    // The admin token's own token needs no approval: not listed.
    expect((await w.api('POST', '/api/v1/accounts/svc1/tokens', { token: w.adminToken, body: { events: ['assign'] } })).body.approval).toBe('approved');
    const r = await pending(tokens.sa1);
    expect(r.status, r.text).toBe(200);
    expect(r.body.truncated).toBe(false);
    expect(r.body.tokens.map((t: { id: string }) => t.id).sort()).toEqual([a.id, b.id].sort());
    expect(r.body.tokens.find((t: { id: string }) => t.id === a.id)).toMatchObject({ account: 'svc1', approval: 'pending', requested_by: 'it1', approved_by: null, revoked_at: null, registration: { events: ['assign'], sites: ['OUT-1'] } });
    expect(r.text).not.toContain(a.token);
    expect(r.text).not.toContain(b.token);

    // Approved or revoked: no longer waiting.
    expect((await w.api('POST', `/api/v1/accounts/svc1/tokens/${a.id}/approve`, { token: tokens.sa2 })).status).toBe(200);
    expect((await w.api('DELETE', `/api/v1/accounts/svc2/tokens/${b.id}`, { token: tokens.it1 })).status).toBe(200);
    expect((await pending(tokens.sa2)).body.tokens).toEqual([]);
  });

  it('refused to the it_admin who asks, to staff, to the admin token and without a session', async () => {
    await request('svc1');
    for (const token of [tokens.it1, tokens.c1, w.adminToken]) {
      const r = await pending(token);
      expect(r.status, r.text).toBe(403);
      expect(r.body.error.code).toBe('forbidden');
    }
    expect((await w.api('GET', '/api/v1/service-tokens/pending')).status).toBe(401);
    expect((await pending(tokens.sa1)).body.tokens).toHaveLength(1);
  });
});
