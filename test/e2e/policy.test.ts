/**
 * The access policy through the running server, on every backend: the policy in force is
 * audited at every start, and a change since the last start is called out (issue 7, hole 10); a
 * rule that could only fail open stops the start (hole 13); customer-service searches have a
 * quota, counted per search, audited, and remembered across a restart (hole 13).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends, createTestStore, type TestStore } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';

const PARTY = { name: '王小明', phone: '13900001111', address: '北京市朝阳区建国路88号3号楼2单元501室' };

async function policyEntries(w: TestWarden) {
  const rows = await w.warden.db.selectFrom('audit_log').select(['kind', 'reason', 'detail']).where('kind', '=', 'policy.loaded').orderBy('seq').execute();
  return rows.map((r) => ({ reason: r.reason, ...((typeof r.detail === 'string' ? JSON.parse(r.detail) : r.detail) as Record<string, unknown>) }) as Record<string, unknown> & { reason: string | null });
}

describe.each(testBackends())('policy at start on %s', (backend) => {
  let store: TestStore;
  beforeAll(async () => {
    store = await createTestStore(backend);
  });
  afterAll(() => store?.dispose());

  it('records the policy in force at each start, and calls out a changed hash with the previous one', async () => {
    const first = await startTestWarden(backend, { store });
    const [one] = await policyEntries(first);
    await first.dispose();
    expect(one).toMatchObject({ reason: 'first', source: 'defaults', changed: false, hash: expect.stringMatching(/^[0-9a-f]{64}$/), actor: expect.any(String) });
    expect(one).not.toHaveProperty('previous_hash');

    const masterKey = first.masterKey;
    const edited = await startTestWarden(backend, { store, policy: { search_limit: 20 }, config: { masterKey } });
    const two = (await policyEntries(edited))[1]!;
    await edited.dispose();
    expect(two).toMatchObject({ reason: 'changed', changed: true, previous_hash: one!.hash });
    expect(two.hash).not.toBe(one!.hash);
    expect(String(two.source)).toMatch(/policy\.yaml$/);

    const same = await startTestWarden(backend, { store, policy: { search_limit: 20 }, config: { masterKey } });
    const three = (await policyEntries(same))[2]!;
    expect(three).toMatchObject({ reason: 'unchanged', changed: false, hash: two.hash });
    expect((await same.api('GET', '/api/v1/audit/verify', { token: same.adminToken })).body.ok).toBe(true);
    await same.dispose();
  });

  it('refuses to start on a rule naming the task\'s party on a basis that has no task (it could only fail open)', async () => {
    const bad = { rules: { outlet_staff: [{ basis: 'site', fields: ['name', 'phone'], parties: 'task', purposes: ['pickup'] }] } };
    const own = await createTestStore(backend);
    try {
      await expect(startTestWarden(backend, { store: own, policy: bad })).rejects.toThrow(/parties: "task" needs basis assignment/);
      const fine = await startTestWarden(backend, { store: own, policy: { rules: { outlet_staff: [{ basis: 'site', fields: ['name', 'phone'], parties: 'both', purposes: ['pickup'] }] } } });
      await fine.dispose();
    } finally {
      await own.dispose();
    }
  });
});

describe.each(testBackends())('customer-service search quota on %s', (backend) => {
  let store: TestStore;
  let w: TestWarden;
  const policy = { search_quotas: { customer_service: { per_hour: 3, per_day: 5 } } };
  const tokens: Record<string, string> = {};
  const search = (who: string) => w.api('POST', '/api/v1/search', { token: tokens[who], body: { phone: PARTY.phone } });
  const login = async (id: string) => (tokens[id] = (await w.api('POST', '/api/v1/sessions', { body: { account: id, password: `pw-${id}-secret`, device: `${id}-dev` } })).body.token);

  beforeAll(async () => {
    store = await createTestStore(backend);
    w = await startTestWarden(backend, { store, policy, config: { detect: false } });
    const admin = w.adminToken;
    await w.api('POST', '/api/v1/sites', { token: admin, body: { code: 'CS-1', kind: 'cs', city: '上海' } });
    for (const id of ['cs1', 'cs2']) {
      await w.api('POST', '/api/v1/accounts', { token: admin, body: { id, role: 'customer_service', site: 'CS-1', password: `pw-${id}-secret` } });
      await login(id);
    }
    await w.api('POST', '/api/v1/accounts', { token: admin, body: { id: 'svc', role: 'service', site: null, password: 'pw-svc-secret' } });
    const service = (await w.api('POST', '/api/v1/accounts/svc/tokens', { token: admin })).body.token;
    await w.api('POST', '/api/v1/waybills', { token: service, body: { waybill: 'SF800000000001', origin_site: 'CS-1', dest_site: 'CS-1', sender: PARTY, recipient: PARTY } });
  });
  afterAll(async () => {
    await w?.dispose();
    await store?.dispose();
  });

  it('counts every search (a miss too), refuses beyond the quota with quota_exceeded, and audits it', async () => {
    expect((await w.api('POST', '/api/v1/search', { token: tokens.cs1, body: { phone: '13700000000' } })).body.matches).toEqual([]);
    for (let i = 0; i < 2; i++) expect((await search('cs1')).status).toBe(200);
    const over = await search('cs1');
    expect(over.status).toBe(403);
    expect(over.body.error.code).toBe('quota_exceeded');
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(over.text).not.toContain('SF8000');
    // Another agent has their own quota.
    expect((await search('cs2')).status).toBe(200);
    const rows = await w.warden.db.selectFrom('audit_log').select(['decision', 'reason']).where('kind', '=', 'access.search').where('account', '=', 'cs1').orderBy('seq').execute();
    expect(rows.map((r) => r.reason ?? r.decision)).toEqual(['allowed', 'allowed', 'allowed', 'quota_exceeded']);
  });

  it('is remembered across a restart', async () => {
    await w.dispose();
    w = await startTestWarden(backend, { store, policy, config: { detect: false, masterKey: w.masterKey } });
    for (const id of ['cs1', 'cs2']) await login(id);
    expect((await search('cs1')).body.error.code).toBe('quota_exceeded');
    expect((await search('cs2')).status).toBe(200);
  });
});
