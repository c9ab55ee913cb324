/**
 * Attack review 11, over real HTTP on a real server: what a suspected analyst still read about
 * himself after review 10.
 * (1) A backtest of a detector switched off listed, in `removed`, every alert the running settings
 *     raise — his own live alert included — and wrote nothing to the trail.
 * (2) The trail showed him the reveals made under the covert case naming him (`detail.case`), and
 *     the breach reports other analysts drafted about him (`detail.ref` = his account, his case,
 *     his alert); a refused case naming him, and the admin token's refused verdict on his alert.
 * Each is now left out (his backtest also leaves out every count about him; its entry, which
 * counts what was withheld, is hidden from him); another analyst reads all of it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';
import { analystChain, approveAccount } from '../support/approve.js';

const PARTY = { name: '王小明', phone: '13900001111', address: '北京市朝阳区建国路88号3号楼2单元501室' };
const WAYBILL = 'SF110000000001';

type Entry = { seq: number; kind: string; account: string | null; decision: string; detail: Record<string, unknown> | null };
type Sample = { id: string; account?: string; device?: string; summary: string };

describe.each(testBackends())('attack review 11 (an analyst reading about himself) on %s', (backend) => {
  let w: TestWarden;
  const tokens: Record<string, string> = {};
  let caseId = '';
  let sa1Alert = '';
  let c9Alert = '';
  let it1Alert = '';
  let revealSeq = 0;

  const entries = async (who: string, query: string): Promise<Entry[]> => {
    const r = await w.api('GET', `/api/v1/audit/entries${query}`, { token: tokens[who] });
    expect(r.status, r.text).toBe(200);
    return r.body.entries as Entry[];
  };
  const backtest = (who: string) => w.api('POST', '/api/v1/detectors/backtest', { token: tokens[who], body: { detector: 'credential', settings: { enabled: false }, days: 1 } });
  const failLogins = async (account: string) => {
    for (let i = 0; i < 3; i++) expect((await w.api('POST', '/api/v1/sessions', { body: { account, password: 'not-the-password', device: `${account}-guess` } })).status).toBe(401);
  };
  /** Entries that point at sa1's detection: the case's reveal, the breach reports on him, the refusals naming him or his alert. */
  const aboutSa1 = (e: Entry) =>
    (e.detail?.case === caseId) ||
    (e.kind === 'pipl.breach_report' && [caseId, sa1Alert].includes(String(e.detail?.ref))) ||
    (e.kind === 'pipl.breach_report' && String(e.detail?.ref).split(',').includes('sa1')) ||
    (e.kind === 'case.opened' && Array.isArray(e.detail?.accounts) && (e.detail.accounts as string[]).includes('sa1')) ||
    (Array.isArray(e.detail?.alerts) && (e.detail.alerts as string[]).includes(sa1Alert));

  beforeAll(async () => {
    // Three failures raise a credential alert; no response, so the analyst keeps working.
    w = await startTestWarden(backend, { approvals: 'manual', detectConfig: { time: { reorder_window_seconds: 0 }, response: { step_up: 101, throttle: 101, suspend: 101 }, detectors: { credential: { account_failures: 3, success_after_failures: 99 } } } });
    tokens.admin = w.adminToken;
    Object.assign(tokens, (await analystChain(w, ['sa1', 'sa2', 'sa3'])).tokens);
    const admin = w.adminToken;
    expect((await w.api('POST', '/api/v1/sites', { token: admin, body: { code: 'OUT-1', kind: 'outlet', city: '北京' } })).status).toBe(201);
    for (const [id, role, site] of [['c9', 'courier', 'OUT-1'], ['svc', 'service', null]] as const) {
      const r = await w.api('POST', '/api/v1/accounts', { token: admin, body: { id, role, site, password: `pw-${id}-secret` } });
      expect(r.status, r.text).toBe(201);
    }
    const service = (await w.api('POST', '/api/v1/accounts/svc/tokens', { token: admin })).body.token as string;
    expect((await w.api('POST', '/api/v1/waybills', { token: service, body: { waybill: WAYBILL, origin_site: 'OUT-1', dest_site: 'OUT-1', sender: PARTY, recipient: PARTY } })).status).toBe(201);
    // it1 (an it_admin) creates the analyst p1, whom sa2 approves: p1 and it1 are linked by creation.
    expect((await w.api('POST', '/api/v1/accounts', { token: admin, body: { id: 'it1', role: 'it_admin', password: 'pw-it1-secret' } })).status).toBe(201);
    tokens.it1 = (await w.api('POST', '/api/v1/sessions', { body: { account: 'it1', password: 'pw-it1-secret', device: 'it1-desk' } })).body.token;
    expect((await w.api('POST', '/api/v1/accounts', { token: tokens.it1, body: { id: 'p1', role: 'security_analyst', password: 'pw-p1-secret' } })).status).toBe(201);
    const p1 = await approveAccount(w, 'p1', tokens.sa2);
    expect(p1.status).toBe(200);
    // Signs in with the approval's initial password: it1's is discarded (attack review 11 F3).
    tokens.p1 = (await w.api('POST', '/api/v1/sessions', { body: { account: 'p1', password: p1.body.initial_password, device: 'p1-desk' } })).body.token;
    await failLogins('sa1');
    await failLogins('c9');
    await failLogins('it1');
    await w.warden.audit.drain();
    await w.warden.watch!.idle();
    const live = await w.warden.db.selectFrom('alerts').select(['id', 'account']).where('detector', '=', 'credential').execute();
    sa1Alert = live.find((a) => a.account === 'sa1')!.id;
    c9Alert = live.find((a) => a.account === 'c9')!.id;
    it1Alert = live.find((a) => a.account === 'it1')!.id;

    // The covert case on sa1: opened by sa2, approved by sa3, a reveal under it.
    const c = await w.api('POST', '/api/v1/cases', { token: tokens.sa2, body: { title: 'leak 31', reason: 'hotline tip about sa1', accounts: ['sa1'], waybills: [WAYBILL] } });
    expect(c.status, c.text).toBe(201);
    caseId = c.body.id;
    expect((await w.api('POST', `/api/v1/cases/${caseId}/approve`, { token: tokens.sa3, body: {} })).status).toBe(200);
    const reveal = await w.api('POST', `/api/v1/waybills/${WAYBILL}/reveal`, { token: tokens.sa2, body: { fields: ['recipient.phone'], purpose: 'audit', case: caseId } });
    expect(reveal.status, reveal.text).toBe(200);
    // A case sa2 may not open (it names sa2 too): refused, its entry names sa1.
    expect((await w.api('POST', '/api/v1/cases', { token: tokens.sa2, body: { title: 'x', reason: 'both of us', accounts: ['sa1', 'sa2'] } })).status).toBe(403);
    // Breach reports about sa1 (by accounts, by the case, by his alert) and one about c9.
    const window = { from: new Date(Date.now() - 86_400_000).toISOString(), to: new Date(Date.now() + 60_000).toISOString() };
    for (const body of [{ accounts: ['sa1'], ...window }, { case: caseId }, { alert: sa1Alert }, { alert: c9Alert }, { accounts: ['c9', 'it1'], ...window }]) {
      const r = await w.api('POST', '/api/v1/reports/breach', { token: tokens.sa2, body });
      expect(r.status, `${JSON.stringify(body)} ${r.text}`).toBe(200);
    }
    // The admin token's refused verdict names the alert.
    expect((await w.api('PATCH', `/api/v1/alerts/${sa1Alert}`, { token: admin, body: { verdict: 'true_positive' } })).status).toBe(403);
    await w.warden.audit.drain();
    revealSeq = Number((await w.warden.db.selectFrom('audit_log').select('seq').where('kind', '=', 'access.reveal').where('decision', '=', 'allowed').where('account', '=', 'sa2').executeTakeFirstOrThrow()).seq);
  });
  afterAll(async () => {
    await w?.dispose();
  });

  it('(1) denied: his backtest leaves out his own alert — samples and counts — and is audited, the entry hidden from him', async () => {
    const r = await backtest('sa1');
    expect(r.status, r.text).toBe(200);
    const removed = r.body.removed as Sample[];
    expect(removed.map((a) => a.account)).toContain('c9');
    expect(removed.some((a) => a.account === 'sa1' || a.id === sa1Alert)).toBe(false);
    expect(r.text).not.toContain(sa1Alert);
    expect(r.text).not.toContain('Account sa1');
    // Counts match the samples: nothing to subtract from.
    expect(r.body.current.alerts).toBe(removed.length);
    expect(r.body.current.accounts).toBe(new Set(removed.map((a) => a.account ?? a.device)).size);
    expect(r.body.reader_left_out).toBe(true);
    const mine = await w.warden.db.selectFrom('audit_log').select(['seq', 'detail', 'account']).where('kind', '=', 'insight.backtest').where('account', '=', 'sa1').execute();
    expect(mine).toHaveLength(1);
    const detail = (typeof mine[0]!.detail === 'string' ? JSON.parse(mine[0]!.detail) : mine[0]!.detail) as Record<string, unknown>;
    expect(detail).toMatchObject({ actor: 'sa1', detector: 'credential', days: 1, withheld_current: 1, withheld_candidate: 0, alerts_current: removed.length, settings_sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(JSON.stringify(detail)).not.toContain('c9');
    expect(await entries('sa1', '?kind=insight.backtest')).toEqual([]);
    expect((await w.api('GET', `/api/v1/audit/entries/${mine[0]!.seq}/proof`, { token: tokens.sa1 })).status).toBe(404);
  });

  it('(1) allowed: another analyst and the admin token read his alert in the backtest, and his backtest in the trail', async () => {
    for (const who of ['sa2', 'admin']) {
      const r = await backtest(who);
      expect(r.status, r.text).toBe(200);
      expect((r.body.removed as Sample[]).map((a) => a.account)).toEqual(expect.arrayContaining(['sa1', 'c9']));
      expect(r.body.reader_left_out).toBe(who !== 'admin');
    }
    const seen = (await entries('sa3', '?kind=insight.backtest')).filter((e) => e.account !== 'p1');
    expect(seen.map((e) => e.account).sort()).toEqual([null, 'sa1', 'sa2']);
    expect(seen.find((e) => e.account === 'sa1')!.detail).toMatchObject({ withheld_current: 1 });
    // sa2 reads sa1's backtest, not his own.
    expect((await entries('sa2', '?kind=insight.backtest')).filter((e) => e.account !== 'p1').map((e) => e.account).sort()).toEqual([null, 'sa1']);
    expect((await entries('sa2', '?account=sa1&kind=insight.backtest')).length).toBe(1);
  });

  it('(2) denied: his trail search, CSV and proofs leave out the reveal under the case, the breach reports and refusals naming him', async () => {
    const all = await entries('sa1', '?limit=500');
    expect(all.filter(aboutSa1)).toEqual([]);
    expect(await entries('sa1', '?kind=access.reveal')).toEqual([]);
    const reports = await entries('sa1', '?kind=pipl.breach_report');
    expect(reports.map((e) => e.detail?.ref)).toEqual(['c9,it1', c9Alert]); // he reads the reports about others
    expect(all.some((e) => e.kind === 'auth.login' && e.account === 'sa1')).toBe(true); // his own acts stay readable
    const csv = await w.api('GET', '/api/v1/audit/entries.csv?limit=10000', { token: tokens.sa1 });
    expect(csv.status).toBe(200);
    expect(csv.text).not.toContain(caseId);
    expect(csv.text).not.toContain(sa1Alert);
    const proof = await w.api('GET', `/api/v1/audit/entries/${revealSeq}/proof`, { token: tokens.sa1 });
    expect(proof.status, proof.text).toBe(404);
    expect(proof.text).not.toContain(caseId);
  });

  it('(2) denied: the case hidden from him answers exactly as a case that does not exist', async () => {
    const hidden = await w.api('GET', `/api/v1/cases/${caseId}`, { token: tokens.sa1 });
    const missing = await w.api('GET', '/api/v1/cases/case-00000000-0000-4000-8000-000000000000', { token: tokens.sa1 });
    expect(hidden.status).toBe(404);
    expect(missing.status).toBe(404);
    expect(hidden.body.error.code).toBe(missing.body.error.code);
    expect(String(hidden.body.error.message).replace(caseId, 'ID')).toBe(String(missing.body.error.message).replace('case-00000000-0000-4000-8000-000000000000', 'ID'));
  });

  it('(2) allowed: another analyst reads all of it', async () => {
    const sa3 = await entries('sa3', '?limit=500');
    const about = sa3.filter(aboutSa1);
    expect(about.some((e) => e.kind === 'access.reveal' && e.account === 'sa2')).toBe(true);
    expect(about.filter((e) => e.kind === 'pipl.breach_report').length).toBe(3);
    expect(about.some((e) => e.kind === 'case.opened' && e.decision === 'denied')).toBe(true);
    expect(about.some((e) => e.kind === 'watch.alert_updated' && e.decision === 'denied')).toBe(true);
    expect((await w.api('GET', `/api/v1/audit/entries/${revealSeq}/proof`, { token: tokens.sa3 })).status).toBe(200);
    expect((await w.api('GET', `/api/v1/cases/${caseId}`, { token: tokens.sa3 })).status).toBe(200);
  });

  it('accounts linked by creation: p1 (made by it1) reads neither it1\'s alert in a backtest nor the breach report on it1; sa3 reads both', async () => {
    const mine = await backtest('p1');
    expect(mine.status, mine.text).toBe(200);
    const removed = (mine.body.removed as Sample[]).map((a) => a.account);
    expect(removed).toEqual(expect.arrayContaining(['c9', 'sa1']));
    expect(removed).not.toContain('it1');
    expect(mine.text).not.toContain(it1Alert);
    expect((await entries('p1', '?kind=pipl.breach_report')).map((e) => e.detail?.ref)).not.toContain('c9,it1');
    const other = await backtest('sa3');
    expect((other.body.removed as Sample[]).map((a) => a.account)).toContain('it1');
    expect((await entries('sa3', '?kind=pipl.breach_report')).map((e) => e.detail?.ref)).toContain('c9,it1');
    expect((await entries('sa3', '?account=p1&kind=insight.backtest'))[0]!.detail).toMatchObject({ withheld_current: 1 });
  });
});
