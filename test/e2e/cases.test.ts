/**
 * Investigation cases over real HTTP, on every backend (issue 7, hole 3: an analyst revealed
 * full records with `"case":"abc"`). A case-backed reveal needs a case that exists, is open —
 * opened by one analyst and approved by another — and names the waybill or an account that
 * accessed it; nobody opens, approves, closes or reveals under a case about themselves, and an open
 * case is closed only by its opener or its approver (attack review 9). Every
 * step is audited with its actor, and a case lists the reveals made under it.
 *
 * Detection is off: the refusals here are on purpose.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';

const PARTY = { name: '王小明', phone: '13900001111', address: '北京市朝阳区建国路88号3号楼2单元501室' };
const W = (n: number) => `SF60000000000${n}`;

describe.each(testBackends())('investigation cases on %s', (backend) => {
  let w: TestWarden;
  const tokens: Record<string, string> = {};
  const reveal = (who: string, waybill: string, caseId?: string) =>
    w.api('POST', `/api/v1/waybills/${waybill}/reveal`, { token: tokens[who], body: { fields: ['recipient.phone'], purpose: 'audit', ...(caseId ? { case: caseId } : {}) } });
  const open = (who: string, body: Record<string, unknown>) => w.api('POST', '/api/v1/cases', { token: tokens[who], body: { title: 'customer complaint', reason: 'number leaked to a scam caller', ...body } });
  const approve = (who: string, id: string) => w.api('POST', `/api/v1/cases/${id}/approve`, { token: tokens[who] });
  const code = (r: { body: any }) => r.body?.error?.code ?? 'ok';

  beforeAll(async () => {
    w = await startTestWarden(backend, { config: { detect: false } });
    const admin = w.adminToken;
    await w.api('POST', '/api/v1/sites', { token: admin, body: { code: 'OUT-1', kind: 'outlet', city: '北京' } });
    for (const [id, role, site] of [['sa1', 'security_analyst', null], ['sa2', 'security_analyst', null], ['sa3', 'security_analyst', null], ['o1', 'outlet_staff', 'OUT-1'], ['c1', 'courier', 'OUT-1'], ['svc', 'service', null]] as const) {
      expect((await w.api('POST', '/api/v1/accounts', { token: admin, body: { id, role, site, password: `pw-${id}-secret` } })).status).toBe(201);
      if (role !== 'service') tokens[id] = (await w.api('POST', '/api/v1/sessions', { body: { account: id, password: `pw-${id}-secret`, device: `${id}-dev` } })).body.token;
    }
    const service = (await w.api('POST', '/api/v1/accounts/svc/tokens', { token: admin })).body.token;
    for (let n = 1; n <= 6; n++) {
      const r = await w.api('POST', '/api/v1/waybills', { token: service, body: { waybill: W(n), origin_site: 'OUT-1', dest_site: 'OUT-1', sender: PARTY, recipient: PARTY } });
      expect(r.status, r.text).toBe(201);
    }
    // Before any case about them existed, the suspect outlet clerk revealed W3 and looked at W4
    // (masked); the courier tried to reveal W5 and was refused.
    expect((await w.api('POST', `/api/v1/waybills/${W(3)}/reveal`, { token: tokens.o1, body: { fields: ['recipient.phone'], purpose: 'other' } })).status).toBe(200);
    expect((await w.api('GET', `/api/v1/waybills/${W(4)}`, { token: tokens.o1 })).status).toBe(200);
    expect((await w.api('POST', `/api/v1/waybills/${W(5)}/reveal`, { token: tokens.c1, body: { fields: ['recipient.phone'], purpose: 'delivery' } })).status).toBe(403);
    // Review 4: the courier printed W6's label (masked, allowed for any parcel) to pad a case about him.
    expect((await w.api('GET', `/api/v1/waybills/${W(6)}?profile=label`, { token: tokens.c1 })).status).toBe(200);
  });
  afterAll(() => w?.dispose());

  it('a made-up reference, or none, backs nothing', async () => {
    for (const ref of [undefined, 'abc', 'CASE-2026-11', 'case-00000000-0000-0000-0000-000000000000']) {
      const r = await reveal('sa1', W(1), ref);
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe('case_required');
      expect(r.text).not.toContain(PARTY.phone);
    }
  });

  it('a pending case backs nothing; the analyst who opened it cannot approve it; another can, and then it does', async () => {
    const c = await open('sa1', { waybills: [W(1)] });
    expect(c.status, c.text).toBe(201);
    expect(c.body).toMatchObject({ status: 'pending', opened_by: 'sa1', approved_by: null, waybills: [W(1)], accounts: [] });
    expect(code(await reveal('sa1', W(1), c.body.id))).toBe('case_required');
    const own = await approve('sa1', c.body.id);
    expect(own.status).toBe(403);
    expect(own.body.error.code).toBe('self_action');
    const ok = await approve('sa2', c.body.id);
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body).toMatchObject({ status: 'open', approved_by: 'sa2' });
    expect(code(await approve('sa3', c.body.id))).toBe('conflict');
    const r = await reveal('sa1', W(1), c.body.id);
    expect(r.status, r.text).toBe(200);
    expect(r.body.values['recipient.phone']).toBe(PARTY.phone);
    // The approver, or any other analyst, works the same open case.
    expect((await reveal('sa2', W(1), c.body.id)).status).toBe(200);
  });

  it('a reveal outside the case\'s waybills is refused: case_out_of_scope', async () => {
    const c = await open('sa1', { waybills: [W(2)] });
    await approve('sa2', c.body.id);
    expect((await reveal('sa1', W(2), c.body.id)).status).toBe(200);
    const r = await reveal('sa1', W(5), c.body.id);
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe('case_out_of_scope');
    expect(r.text).not.toContain(PARTY.phone);
  });

  it('a case naming an account covers the waybills it was given in full up to the approval, not others, not later ones', async () => {
    const c = await open('sa1', { accounts: ['o1'] });
    expect(c.status, c.text).toBe(201);
    await approve('sa2', c.body.id);
    // The clerk's (or an accomplice's) later reveals do not widen what the two analysts agreed on.
    expect((await w.api('POST', `/api/v1/waybills/${W(6)}/reveal`, { token: tokens.o1, body: { fields: ['recipient.phone'], purpose: 'other' } })).status).toBe(200);
    expect((await reveal('sa1', W(3), c.body.id)).status).toBe(200);
    expect(code(await reveal('sa1', W(6), c.body.id))).toBe('case_out_of_scope');
    expect(code(await reveal('sa1', W(5), c.body.id))).toBe('case_out_of_scope');
  });

  // Review 3: the suspect padded his own case's scope with free masked views and refused reveals; review 4: with label prints.
  it('masked views, label prints and refused attempts of the named account widen nothing', async () => {
    const aboutClerk = await open('sa1', { accounts: ['o1'] });
    await approve('sa2', aboutClerk.body.id);
    expect(code(await reveal('sa1', W(4), aboutClerk.body.id))).toBe('case_out_of_scope');
    const aboutCourier = await open('sa1', { accounts: ['c1'] });
    await approve('sa2', aboutCourier.body.id);
    expect(code(await reveal('sa1', W(5), aboutCourier.body.id))).toBe('case_out_of_scope');
    // Review 4, hole 2: nor does a label print (masked, and open to any parcel).
    expect(code(await reveal('sa1', W(6), aboutCourier.body.id))).toBe('case_out_of_scope');
  });

  it('nobody opens, approves or reveals under a case about themselves', async () => {
    const aboutSelf = await open('sa1', { accounts: ['sa1', 'o1'] });
    expect(aboutSelf.status).toBe(403);
    expect(aboutSelf.body.error.code).toBe('self_action');
    // sa3 revealed W5 (under a case about W5); a case about sa3 is opened and approved by others, and sa3 may not use it.
    const aboutW5 = await open('sa1', { waybills: [W(5)] });
    await approve('sa2', aboutW5.body.id);
    expect((await reveal('sa3', W(5), aboutW5.body.id)).status).toBe(200);
    const aboutSa3 = await open('sa1', { accounts: ['sa3'] });
    // Answered as a case that does not exist (review 11: a 403 confirmed the case named him).
    expect(code(await approve('sa3', aboutSa3.body.id))).toBe('not_found');
    expect((await approve('sa2', aboutSa3.body.id)).status).toBe(200);
    expect(code(await reveal('sa3', W(5), aboutSa3.body.id))).toBe('self_action');
    expect((await reveal('sa1', W(5), aboutSa3.body.id)).status).toBe(200);
    const closeOwn = await w.api('POST', `/api/v1/cases/${aboutSa3.body.id}/close`, { token: tokens.sa3, body: {} });
    expect(closeOwn.body.error.code).toBe('not_found');
  });

  it('review 7: an analyst created by a subject neither closes nor reads the case; the subject does not read it; others do', async () => {
    // An it_admin creates an analyst, then becomes the subject of a case.
    expect((await w.api('POST', '/api/v1/accounts', { token: w.adminToken, body: { id: 'it1', role: 'it_admin', password: 'pw-it1-secret' } })).status).toBe(201);
    tokens.it1 = (await w.api('POST', '/api/v1/sessions', { body: { account: 'it1', password: 'pw-it1-secret', device: 'it1-dev' } })).body.token;
    const made = await w.api('POST', '/api/v1/accounts', { token: tokens.it1, body: { id: 'p1', role: 'security_analyst', password: 'pw-p1-secret' } });
    expect(made.status, made.text).toBe(201);
    // (the test harness has the first analyst approve it, as an unaware colleague would)
    tokens.p1 = (await w.api('POST', '/api/v1/sessions', { body: { account: 'p1', password: 'pw-p1-secret', device: 'p1-dev' } })).body.token;
    const c = await open('sa1', { accounts: ['it1'], waybills: [W(1)] });
    expect(c.status, c.text).toBe(201);
    expect((await approve('sa2', c.body.id)).status).toBe(200);
    // The puppet may not close it (it was closed, with no reopen, in the review), nor list or read it.
    const closed = await w.api('POST', `/api/v1/cases/${c.body.id}/close`, { token: tokens.p1, body: { note: 'nothing here' } });
    expect(closed.status).toBe(404);
    expect(closed.body.error.code).toBe('not_found');
    const listed = await w.api('GET', '/api/v1/cases', { token: tokens.p1 });
    expect(listed.status).toBe(200);
    expect(listed.body.cases.map((x: { id: string }) => x.id)).not.toContain(c.body.id);
    expect(listed.body.cases.length).toBeGreaterThan(0);
    const read = await w.api('GET', `/api/v1/cases/${c.body.id}`, { token: tokens.p1 });
    expect(read.status).toBe(404);
    expect(read.text).not.toContain('it1');
    // The subject of an earlier case (sa3) does not read it either; an unlinked analyst does, and the case is still open.
    const aboutSa3 = (await w.api('GET', '/api/v1/cases', { token: tokens.sa1 })).body.cases.find((x: { accounts: string[] }) => x.accounts.includes('sa3'));
    expect(aboutSa3).toBeDefined();
    expect((await w.api('GET', '/api/v1/cases', { token: tokens.sa3 })).body.cases.map((x: { id: string }) => x.id)).not.toContain(aboutSa3.id);
    expect((await w.api('GET', `/api/v1/cases/${aboutSa3.id}`, { token: tokens.sa3 })).status).toBe(404);
    const other = await w.api('GET', `/api/v1/cases/${c.body.id}`, { token: tokens.sa3 });
    expect(other.status).toBe(200);
    expect(other.body).toMatchObject({ status: 'open', accounts: ['it1'] });
    // The refused reads are in the trail with their actor.
    const denied = await w.warden.db.selectFrom('audit_log').select(['account', 'detail']).where('kind', '=', 'case.viewed').where('decision', '=', 'denied').execute();
    expect(denied.map((r) => r.account).sort()).toEqual(['p1', 'sa3']);
  });

  it('a closed case backs nothing more', async () => {
    const c = await open('sa2', { waybills: [W(1), W(2)] });
    await approve('sa3', c.body.id);
    expect((await reveal('sa1', W(1), c.body.id)).status).toBe(200);
    const closed = await w.api('POST', `/api/v1/cases/${c.body.id}/close`, { token: tokens.sa3, body: { note: 'resolved with the customer' } });
    expect(closed.status, closed.text).toBe(200);
    expect(closed.body).toMatchObject({ status: 'closed', closed_by: 'sa3' });
    expect(code(await reveal('sa1', W(1), c.body.id))).toBe('case_required');
    expect(code(await w.api('POST', `/api/v1/cases/${c.body.id}/close`, { token: tokens.sa3 }))).toBe('conflict');
  });

  it('attack review 9: an open case is closed by its opener or its approver; a third analyst and its subject are refused, audited', async () => {
    const close = (who: string, id: string) => w.api('POST', `/api/v1/cases/${id}/close`, { token: tokens[who], body: { note: 'no evidence' } });
    // The review: sa2 opened a case naming the clerk, sa1 approved it, an uninvolved sa3 closed it alone (200) and there is no reopen.
    const c = await open('sa2', { accounts: ['o1'] });
    expect((await approve('sa1', c.body.id)).status).toBe(200);
    const third = await close('sa3', c.body.id);
    expect(third.status).toBe(403);
    expect(third.body.error.code).toBe('not_case_party');
    expect(third.body.error.message).toMatch(/opened it \(sa2\) or the one who approved it \(sa1\)/);
    expect((await w.api('GET', `/api/v1/cases/${c.body.id}`, { token: tokens.sa3 })).body).toMatchObject({ status: 'open', closed_by: null });
    expect((await reveal('sa2', W(3), c.body.id)).status).toBe(200);
    // The approver closes it.
    const byApprover = await close('sa1', c.body.id);
    expect(byApprover.status, byApprover.text).toBe(200);
    expect(byApprover.body).toMatchObject({ status: 'closed', closed_by: 'sa1', opened_by: 'sa2', approved_by: 'sa1' });
    expect(code(await reveal('sa2', W(3), c.body.id))).toBe('case_required');

    // The subject (an analyst it names) is refused as before, the opener closes it.
    const about = await open('sa1', { accounts: ['sa3'], waybills: [W(1)] });
    expect((await approve('sa2', about.body.id)).status).toBe(200);
    expect(code(await close('sa3', about.body.id))).toBe('not_found');
    const byOpener = await close('sa1', about.body.id);
    expect(byOpener.status, byOpener.text).toBe(200);
    expect(byOpener.body).toMatchObject({ status: 'closed', closed_by: 'sa1' });
    // A third analyst on an already closed case is still no party to it.
    expect(code(await close('sa3', c.body.id))).toBe('not_case_party');

    // A pending case grants nothing yet: another analyst may decline it (the approvals inbox's discard).
    const pending = await open('sa1', { waybills: [W(2)] });
    const declined = await close('sa3', pending.body.id);
    expect(declined.status, declined.text).toBe(200);
    expect(declined.body).toMatchObject({ status: 'closed', closed_by: 'sa3', approved_by: null });

    // Every refusal and close is audited with its actor.
    const rows = await w.warden.db.selectFrom('audit_log').select(['decision', 'reason', 'account', 'detail']).where('kind', '=', 'case.closed').orderBy('seq').execute();
    const mine = rows.map((r) => ({ ...r, detail: typeof r.detail === 'string' ? JSON.parse(r.detail) : r.detail })).filter((r) => [c.body.id, about.body.id, pending.body.id].includes(r.detail.case));
    expect(mine.map((r) => [r.detail.case, r.decision, r.reason ?? null, r.account, r.detail.actor])).toEqual([
      [c.body.id, 'denied', 'not_case_party', 'sa3', 'sa3'],
      [c.body.id, 'ok', null, 'sa1', 'sa1'],
      [about.body.id, 'denied', 'self_action', 'sa3', 'sa3'],
      [about.body.id, 'ok', null, 'sa1', 'sa1'],
      [c.body.id, 'denied', 'not_case_party', 'sa3', 'sa3'],
      [pending.body.id, 'ok', null, 'sa3', 'sa3'],
    ]);
    expect(mine[0]!.detail).toMatchObject({ opened_by: 'sa2', approved_by: 'sa1' });
  });

  it('only analysts work cases; the admin token, a courier and bad input are refused', async () => {
    expect((await w.api('POST', '/api/v1/cases', { token: w.adminToken, body: { title: 't', reason: 'because', waybills: [W(1)] } })).status).toBe(403);
    expect((await open('c1', { waybills: [W(1)] })).status).toBe(403);
    expect((await w.api('GET', '/api/v1/cases', { token: tokens.c1 })).status).toBe(403);
    expect(code(await open('sa1', {}))).toBe('validation_failed');
    // A phone typed as a waybill is refused as no identifier, and not echoed.
    const typed = await open('sa1', { waybills: [W(1), '13812345678'] });
    expect(typed.status).toBe(400);
    expect(typed.body.error.code).toBe('bad_identifier');
    expect(typed.text).not.toContain('13812345678');
    const unknown = await open('sa1', { waybills: ['SF999999999999'], accounts: ['nobody'] });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toContain('waybills');
    expect((await w.api('GET', '/api/v1/cases/case-missing', { token: tokens.sa1 })).status).toBe(404);
    expect(code(await approve('sa2', 'case-missing'))).toBe('not_found');
  });

  it('lists cases, and a case with the reveals made under it (from the audit trail)', async () => {
    const list = await w.api('GET', '/api/v1/cases?status=open', { token: tokens.sa3 });
    expect(list.status).toBe(200);
    expect(list.body.cases.length).toBeGreaterThanOrEqual(3);
    expect(list.body.cases.every((c: { status: string }) => c.status === 'open')).toBe(true);
    // Two cases name o1: the first, under which W3 was revealed, and the one whose W4 was refused.
    const named = list.body.cases.filter((c: { accounts: string[] }) => c.accounts.includes('o1'));
    expect(named.length).toBe(2);
    const reveals = [];
    for (const c of named) {
      const one = await w.api('GET', `/api/v1/cases/${c.id}`, { token: tokens.sa3 });
      expect(one.status).toBe(200);
      reveals.push(...one.body.reveals);
    }
    expect(reveals.map((r: { waybill: string }) => r.waybill)).toEqual([W(3)]);
    expect(reveals[0]).toMatchObject({ seq: expect.any(Number), account: 'sa1', fields: ['recipient.phone'] });
  });

  it('every step is audited with its actor, without the free text', async () => {
    const rows = await w.warden.db.selectFrom('audit_log').select(['kind', 'decision', 'reason', 'account', 'detail']).where('kind', 'in', ['case.opened', 'case.approved', 'case.closed']).orderBy('seq').execute();
    const kinds = rows.filter((r) => r.decision === 'ok').map((r) => r.kind);
    expect(kinds).toContain('case.opened');
    expect(kinds).toContain('case.approved');
    expect(kinds).toContain('case.closed');
    expect(rows.filter((r) => r.reason === 'self_action').length).toBeGreaterThanOrEqual(3);
    for (const r of rows) expect(JSON.stringify(r.detail)).toMatch(/"actor":"(sa[123]|p1)"/);
    expect(JSON.stringify(rows)).not.toContain('scam caller');
  });
});
