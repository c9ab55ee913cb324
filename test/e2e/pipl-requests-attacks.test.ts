/**
 * Attack review of the PIPL data-subject requests, tried again on every backend:
 * 1. an access request was a one-analyst unlimited phone lookup (filed, completed at once, the
 *    report listing the person's waybills nationwide): filing now counts against the filer's
 *    search quota (429 naming the limit, audited; exact across two servers on PostgreSQL) and the
 *    report is released only after a second analyst, not the filer nor linked by creation, approves;
 * 2. approvals were blind (an address redirected to an attacker's, approved unaware): the
 *    approver's view shows the person masked and the new value, is audited without PII, and an
 *    approval names the version it saw — a request changed since is refused, nothing applied.
 * (3, the CLI forging both signatures, is tried again in pipl-retention.test.ts with the CLI.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestStore, testBackends, type TestStore } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';
import { idNumberCheckChar } from '../../src/vault/id-number.js';

const PERSON = { name: '李小红', phone: '13812345678', address: '上海市浦东新区世纪大道100号8楼' };
const OTHER = { name: '王大明', phone: '13900001111', address: '北京市朝阳区建国路88号3号楼2单元501室' };
const ATTACKER_ADDRESS = '广东省深圳市南山区科技园路1号收货点';
const W = (n: number) => `SF71000000000${n}`;
const QUOTA = { per_hour: 6, per_day: 10 };
const POLICY = { search_quotas: { security_analyst: QUOTA } };
const ANALYSTS = ['sa1', 'sa2', 'sa3', 'sa4', 'sa5', 'sa6'];

describe.each(testBackends())('PIPL request attacks on %s', (backend) => {
  let w: TestWarden;
  let store: TestStore;
  let service = '';
  const tokens: Record<string, string> = {};
  const file = (who: string, body: Record<string, unknown>) => w.api('POST', '/api/v1/subjects/requests', { token: tokens[who], body: { identity_verified: true, ...body } });
  const view = (who: string, id: string) => w.api('GET', `/api/v1/subjects/requests/${id}`, { token: tokens[who] });
  const approve = (who: string, id: string, reviewed?: string) => w.api('POST', `/api/v1/subjects/requests/${id}/approve`, { token: tokens[who], ...(reviewed !== undefined ? { body: { reviewed } } : {}) });
  const report = (who: string, id: string) => w.api('GET', `/api/v1/subjects/requests/${id}/report`, { token: tokens[who] });
  const entries = (kind: string) => w.warden.db.selectFrom('audit_log').selectAll().where('kind', '=', kind).orderBy('seq').execute();
  const ingest = async (waybill: string, sender: typeof PERSON, recipient: typeof PERSON) => {
    const r = await w.api('POST', '/api/v1/waybills', { token: service, body: { waybill, origin_site: 'OUT-1', dest_site: 'OUT-1', sender, recipient } });
    expect(r.status, r.text).toBe(201);
  };

  beforeAll(async () => {
    store = await createTestStore(backend);
    w = await startTestWarden(backend, { store, policy: POLICY, config: { detect: false } });
    const admin = w.adminToken;
    await w.api('POST', '/api/v1/sites', { token: admin, body: { code: 'OUT-1', kind: 'outlet', city: '上海' } });
    for (const id of ANALYSTS) {
      expect((await w.api('POST', '/api/v1/accounts', { token: admin, body: { id, role: 'security_analyst', site: null, password: `pw-${id}-secret` } })).status).toBe(201);
    }
    expect((await w.api('POST', '/api/v1/accounts', { token: admin, body: { id: 'svc', role: 'service', site: null } })).status).toBe(201);
    for (const id of ANALYSTS) tokens[id] = (await w.api('POST', '/api/v1/sessions', { body: { account: id, password: `pw-${id}-secret`, device: `${id}-dev` } })).body.token;
    service = (await w.api('POST', '/api/v1/accounts/svc/tokens', { token: admin })).body.token;
    await ingest(W(1), OTHER, PERSON);
    await ingest(W(2), PERSON, OTHER);
  });
  afterAll(async () => {
    await w?.dispose();
    await store?.dispose();
  });

  it('hole 1: every filed request counts against the filer\'s search quota; over it, 429 naming the limit, audited; searches share the ledger', async () => {
    for (let i = 0; i < QUOTA.per_hour - 1; i++) {
      const kind = (['access', 'deletion', 'access'] as const)[i % 3];
      expect((await file('sa1', { kind, phone: i % 2 ? PERSON.phone : OTHER.phone })).status, `request ${i}`).toBe(201);
    }
    // The search quota and the requests are one ledger: the sixth act of the hour is this search.
    expect((await w.api('POST', '/api/v1/search', { token: tokens.sa1, body: { phone: PERSON.phone } })).status).toBe(200);
    const over = await file('sa1', { kind: 'access', phone: PERSON.phone });
    expect(over.status, over.text).toBe(429);
    expect(over.body.error.code).toBe('rate_limited');
    expect(over.body.error.message).toContain(`${QUOTA.per_hour} per hour`);
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(over.text).not.toContain(PERSON.phone);
    // The refusal is audited with the filer, never the person.
    const refused = (await entries('pipl.request_filed')).filter((e) => e.decision === 'denied');
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ account: 'sa1', reason: 'rate_limited' });
    expect(JSON.stringify(refused)).not.toContain(PERSON.phone);
    // And the other way round: the requests used up the searches.
    const search = await w.api('POST', '/api/v1/search', { token: tokens.sa1, body: { phone: OTHER.phone } });
    expect(search.status).toBe(403);
    expect(search.body.error.code).toBe('quota_exceeded');
    // Another analyst's quota is their own (allowed).
    expect((await file('sa5', { kind: 'access', phone: PERSON.phone })).status).toBe(201);
  });

  // Review 5: a correction by an ID number nobody holds was a 404 whose quota charge and entry rolled back.
  it('a lookup that finds nobody still counts and is on the trail (correction by an unknown ID number)', async () => {
    const unknownId = (n: number) => { const first17 = `11010519900101${String(100 + n)}`; return first17 + idNumberCheckChar(first17); };
    const answers = [];
    for (let i = 0; i < QUOTA.per_hour + 1; i++) answers.push((await file('sa6', { kind: 'correction', id_number: unknownId(i), correction: { field: 'address', value: '北京市东城区1号' } })).status);
    expect(answers.slice(0, QUOTA.per_hour)).toEqual(Array(QUOTA.per_hour).fill(404));
    expect(answers[QUOTA.per_hour]).toBe(429);
    const denied = (await entries('pipl.request_filed')).filter((e) => e.account === 'sa6');
    expect(denied.map((e) => e.reason)).toEqual([...Array(QUOTA.per_hour).fill('not_found'), 'rate_limited']);
    expect(JSON.stringify(denied)).not.toContain(unknownId(0));
  });

  it('hole 1: the quota holds beyond one server — exact across two servers on PostgreSQL, rebuilt after a restart on PGlite', async () => {
    if (backend === 'postgres') {
      const other = await startTestWarden(backend, { store, policy: POLICY, config: { detect: false, masterKey: w.masterKey } });
      try {
        expect((await other.api('POST', '/api/v1/subjects/requests', { token: tokens.sa1, body: { kind: 'access', phone: PERSON.phone, identity_verified: true } })).status).toBe(429);
        // Twelve at once from one fresh analyst, split over both servers: exactly the hour's quota is filed.
        const race = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? other : w).api('POST', '/api/v1/subjects/requests', { token: tokens.sa4, body: { kind: 'access', phone: OTHER.phone, identity_verified: true } })));
        expect(race.filter((r) => r.status === 201)).toHaveLength(QUOTA.per_hour);
        expect(race.filter((r) => r.status === 429)).toHaveLength(12 - QUOTA.per_hour);
      } finally {
        await other.dispose();
      }
    } else {
      const masterKey = w.masterKey;
      await w.warden.close();
      w = await startTestWarden(backend, { store, policy: POLICY, config: { detect: false, masterKey } });
      expect((await file('sa1', { kind: 'access', phone: PERSON.phone })).status).toBe(429);
    }
  });

  // A hand linked to the filer by account creation is refused too: puppet-approval.test.ts.
  it('hole 1: an access report is released only after a second analyst (not the filer) approves', async () => {
    const filed = await file('sa2', { kind: 'access', phone: PERSON.phone });
    expect(filed.status, filed.text).toBe(201);
    expect(filed.body).toMatchObject({ kind: 'access', state: 'pending_approval', requested_by: 'sa2' });
    const id = filed.body.id;
    // The attack: file, then read at once. Refused (audited), before and whoever asks.
    for (const who of ['sa2', 'sa3']) {
      const early = await report(who, id);
      expect(early.status, who).toBe(403);
      expect(early.body.error.code).toBe('approval_pending');
      expect(early.text).not.toContain(W(1));
    }
    const deniedReads = (await entries('pipl.access_report')).filter((e) => e.decision === 'denied');
    expect(deniedReads.map((e) => e.account)).toEqual(['sa2', 'sa3']);
    // The filer may not approve (audited).
    const version = (await view('sa3', id)).body.review.version;
    const self = await approve('sa2', id, version);
    expect(self.status).toBe(403);
    expect(self.body.error.code).toBe('self_action');
    expect((await entries('pipl.request_approved')).filter((e) => e.decision === 'denied').map((e) => e.account)).toEqual(['sa2']);
    // A second analyst approves: the report is released.
    const ok = await approve('sa3', id, version);
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body).toMatchObject({ state: 'completed', approved_by: 'sa3' });
    const released = await report('sa2', id);
    expect(released.status, released.text).toBe(200);
    expect(released.body.records.map((r: { waybill: string }) => r.waybill).sort()).toEqual([W(1), W(2)]);
    // A deletion's id is no way round it: only an access request has a report.
    const deletion = await file('sa2', { kind: 'deletion', phone: OTHER.phone });
    const viaDeletion = await report('sa2', deletion.body.id);
    expect(viaDeletion.status).toBe(409);
    expect(viaDeletion.text).not.toContain(W(1));
  });

  it('hole 2: the approver sees whose record and the new value (masked person, audited without PII); the filer does not get the review', async () => {
    const filed = await file('sa3', { kind: 'correction', phone: PERSON.phone, correction: { field: 'address', value: ATTACKER_ADDRESS } });
    expect(filed.status, filed.text).toBe(201);
    expect(filed.text).not.toContain(ATTACKER_ADDRESS);
    const id = filed.body.id;
    const seen = await view('sa2', id);
    expect(seen.status, seen.text).toBe(200);
    expect(seen.body.review.correction).toEqual({ field: 'address', value: ATTACKER_ADDRESS });
    expect(seen.body.review.subject).toMatchObject({ lookup: 'phone', records: 2, phones: ['138****5678'], names: ['李**'] });
    expect(seen.body.review.subject.addresses).toEqual(['上海市浦东新区****']);
    expect(seen.text).not.toContain(PERSON.phone);
    expect(seen.text).not.toContain(PERSON.name);
    expect(seen.text).not.toContain(PERSON.address);
    // The filer gets the request without the review (they cannot approve it).
    expect((await view('sa3', id)).body.review).toBeUndefined();
    // The list stays blind.
    expect(JSON.stringify((await w.api('GET', '/api/v1/subjects/requests', { token: tokens.sa2 })).body)).not.toContain(ATTACKER_ADDRESS);
    const viewed = await entries('pipl.request_viewed');
    expect(viewed.filter((e) => e.account === 'sa2' && (e.detail as { request: string }).request === id)).toHaveLength(1);
    for (const secret of [ATTACKER_ADDRESS, PERSON.phone, PERSON.name, PERSON.address, '138****5678']) expect(JSON.stringify(viewed)).not.toContain(secret);
    for (const secret of [ATTACKER_ADDRESS, PERSON.phone]) expect(w.logs()).not.toContain(secret);
  });

  it('hole 2: an approval names the version it read; missing → 400, changed since → 409 and nothing applied (both audited); re-read → applied', async () => {
    const filed = await file('sa3', { kind: 'correction', phone: OTHER.phone, correction: { field: 'name', value: '王小明' } });
    const id = filed.body.id;
    const first = (await view('sa2', id)).body.review.version as string;
    const missing = await approve('sa2', id);
    expect(missing.status).toBe(400);
    expect(missing.body.error.message).toMatch(/reviewed/);
    // The person's records change after the approver read them (a new parcel of theirs).
    await ingest(W(3), OTHER, PERSON);
    const stale = await approve('sa2', id, first);
    expect(stale.status, stale.text).toBe(409);
    expect(stale.body.error.code).toBe('conflict');
    const still = await w.warden.db.selectFrom('pipl_requests').select(['state', 'approved_by']).where('id', '=', id).executeTakeFirstOrThrow();
    expect(still).toEqual({ state: 'pending_approval', approved_by: null });
    const refused = (await entries('pipl.request_approved')).filter((e) => e.decision === 'denied' && (e.detail as { request: string }).request === id);
    expect(refused.map((e) => e.reason)).toEqual(['validation_failed', 'conflict']);
    const again = await view('sa2', id);
    expect(again.body.review.subject.records).toBe(3);
    expect(again.body.review.version).not.toBe(first);
    const ok = await approve('sa2', id, again.body.review.version);
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body).toMatchObject({ state: 'completed', approved_by: 'sa2', result: { records_corrected: 3 } });
    const approved = (await entries('pipl.request_approved')).filter((e) => e.decision === 'ok' && (e.detail as { request: string }).request === id);
    expect(approved[0]!.detail).toMatchObject({ version: again.body.review.version });
    // A decided request shows no review any more and cannot be approved again.
    expect((await view('sa4', id)).body.review).toBeUndefined();
    expect((await approve('sa4', id, again.body.review.version)).status).toBe(409);
  });
});
