/**
 * Attack review 10, over real HTTP on a real server: what an analyst reads about himself.
 * Review 9 closed the response API, the risk page and the alert list to a suspected analyst; he
 * still learned that a covert response was set on him, and by whom, through the audit trail's
 * search (and its CSV and inclusion proofs) and his own activity timeline (which lists
 * `watch.response_applied`); read the triage of his alerts and the case naming him in the trail;
 * and saw his own alerts on the overview. Each is now left out or 404 (audited);
 * other analysts read all of it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';
import { analystChain } from '../support/approve.js';

const COVERT = 'covert: leak case 23, sa1 suspected';

type Entry = { seq: number; kind: string; account: string | null; reason: string | null; detail: Record<string, unknown> | null };

describe.each(testBackends())('attack review 10 (an analyst reading about himself) on %s', (backend) => {
  let w: TestWarden;
  const tokens: Record<string, string> = {};
  const devices: Record<string, string> = {};
  let caseId = '';
  let responseSeq = 0;

  const entries = async (who: string, query: string): Promise<Entry[]> => {
    const r = await w.api('GET', `/api/v1/audit/entries${query}`, { token: tokens[who] });
    expect(r.status, r.text).toBe(200);
    return r.body.entries as Entry[];
  };
  const aboutSa1 = (e: Entry) =>
    (e.kind.startsWith('watch.response') && e.account === 'sa1') ||
    (e.kind === 'watch.alert_updated' && ['r10-sa1', 'r10-sa1-dev'].includes(String(e.detail?.alert))) ||
    (e.kind.startsWith('case.') && e.detail?.case === caseId);

  beforeAll(async () => {
    w = await startTestWarden(backend, { approvals: 'manual' });
    const admin = w.adminToken;
    tokens.admin = admin;
    const chain = await analystChain(w, ['sa1', 'sa2', 'sa3']);
    Object.assign(tokens, chain.tokens);
    Object.assign(devices, chain.devices);
    const now = new Date();
    const row = (id: string, account: string | null, device: string | null) => {
      const body = { id, ts: now.toISOString(), detector: 'off_hours', severity: 'high', score: 70, summary: 'fixture', evidence: {}, risk: 50, ...(account ? { account } : {}), ...(device ? { device } : {}) };
      return { id, ts: now, account, device, detector: 'off_hours', severity: 'high' as const, score: 70, summary: 'fixture', incident: null, response: null, body: JSON.stringify(body), status: 'open' as const, verdict: null, note: null, updated_by: null, created_at: now, updated_at: now, assignee: null, site: null, city: null };
    };
    await w.warden.db.insertInto('alerts').values([row('r10-sa1', 'sa1', null), row('r10-sa1-dev', null, devices.sa1!), row('r10-sa2', 'sa2', null)]).execute();
    const put = await w.api('PUT', '/api/v1/accounts/sa1/response', { token: tokens.sa2, body: { action: 'throttle', reason: COVERT } });
    expect(put.status, put.text).toBe(200);
    for (const id of ['r10-sa1', 'r10-sa1-dev', 'r10-sa2']) {
      const r = await w.api('PATCH', `/api/v1/alerts/${id}`, { token: tokens.sa3, body: { status: 'acknowledged', note: 'looking' } });
      expect(r.status, r.text).toBe(200);
    }
    expect((await w.api('GET', '/api/v1/accounts/sa1/response', { token: tokens.sa3 })).status).toBe(200);
    const c = await w.api('POST', '/api/v1/cases', { token: tokens.sa2, body: { title: 'leak 23', reason: 'dump matched sa1 reveals', accounts: ['sa1'] } });
    expect(c.status, c.text).toBe(201);
    caseId = c.body.id;
    const applied = await w.warden.db.selectFrom('audit_log').select('seq').where('kind', '=', 'watch.response_applied').where('account', '=', 'sa1').executeTakeFirstOrThrow();
    responseSeq = Number(applied.seq);
  });
  afterAll(async () => {
    await w?.dispose();
  });

  it('denied: his trail search, its CSV and the proof leave out the response, triage and case about him', async () => {
    expect(await entries('sa1', '?account=sa1&kind=watch.response_applied')).toEqual([]);
    const all = await entries('sa1', '?limit=500');
    expect(all.filter(aboutSa1)).toEqual([]);
    expect(all.some((e) => e.kind === 'auth.login' && e.account === 'sa1')).toBe(true); // his own acts stay readable
    expect(all.some((e) => e.kind === 'watch.alert_updated' && e.detail?.alert === 'r10-sa2')).toBe(true);
    const csv = await w.api('GET', '/api/v1/audit/entries.csv?limit=10000', { token: tokens.sa1 });
    expect(csv.status).toBe(200);
    expect(csv.text).not.toContain('covert');
    expect(csv.text).not.toContain(caseId);
    const proof = await w.api('GET', `/api/v1/audit/entries/${responseSeq}/proof`, { token: tokens.sa1 });
    expect(proof.status, proof.text).toBe(404);
    expect(proof.text).not.toContain('covert');
  });

  it('denied: his activity, footprint and hours are 404, audited; the overview leaves out his alerts', async () => {
    for (const part of ['activity', 'footprint', 'hours']) {
      const r = await w.api('GET', `/api/v1/accounts/sa1/${part}`, { token: tokens.sa1 });
      expect(r.status, part).toBe(404);
      expect(r.text).not.toContain('covert');
    }
    const overview = await w.api('GET', '/api/v1/overview', { token: tokens.sa1 });
    expect(overview.status).toBe(200);
    const latest = (overview.body.latest_alerts as Array<{ id: string }>).map((a) => a.id);
    expect(latest).not.toContain('r10-sa1');
    expect(latest).not.toContain('r10-sa1-dev');
    expect(latest).toContain('r10-sa2');
    const refused = await w.warden.db.selectFrom('audit_log').select(['detail', 'reason']).where('kind', '=', 'watch.viewed').where('decision', '=', 'denied').where('account', '=', 'sa1').execute();
    const viewed = refused.map((r) => ((typeof r.detail === 'string' ? JSON.parse(r.detail) : r.detail) as { viewed: string }).viewed).sort();
    expect(viewed).toEqual(['activity', 'audit_entry', 'footprint', 'hours']);
    expect(refused.every((r) => r.reason === 'self_action')).toBe(true);
  });

  it('allowed: another analyst reads all of it, and he reads about others', async () => {
    const sa3 = await entries('sa3', '?limit=500');
    expect(sa3.filter(aboutSa1).length).toBe(4); // the response, two triages, the case
    const applied = sa3.find((e) => e.kind === 'watch.response_applied' && e.account === 'sa1')!;
    expect(applied).toMatchObject({ reason: 'throttle', detail: { actor: 'sa2' } });
    const proof = await w.api('GET', `/api/v1/audit/entries/${responseSeq}/proof`, { token: tokens.sa3 });
    expect(proof.status, proof.text).toBe(200);
    for (const part of ['activity', 'footprint', 'hours']) {
      expect((await w.api('GET', `/api/v1/accounts/sa1/${part}`, { token: tokens.sa3 })).status, part).toBe(200);
      expect((await w.api('GET', `/api/v1/accounts/sa2/${part}`, { token: tokens.sa1 })).status, part).toBe(200);
    }
    const latest = ((await w.api('GET', '/api/v1/overview', { token: tokens.sa3 })).body.latest_alerts as Array<{ id: string }>).map((a) => a.id);
    expect(latest).toEqual(expect.arrayContaining(['r10-sa1', 'r10-sa1-dev', 'r10-sa2']));
    expect((await entries('admin', '?account=sa1&kind=watch.response_applied')).length).toBe(1);
  });
});
