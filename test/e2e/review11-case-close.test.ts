/**
 * Attack review 11 (residual of review 10): closing an approved case checked the closer against
 * `cases.opened_by` / `cases.approved_by` as the row held them. The database owner rewrote
 * `approved_by` to a third analyst (or put an approved case back to `pending`, where any other
 * analyst may decline it) and that analyst ended the investigation. Both parties are now the
 * trail's (`case.opened`, `case.approved`): a row that disagrees is refused (409
 * `audit_inconsistent`, audited), and the opener or approver still closes the case.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';
import { people } from './puppet-setup.js';

describe.each(testBackends())('attack review 11: closing a case against a rewritten store on %s', (backend) => {
  let w: TestWarden;
  const { tokens, create, analystsAndItAdmin, approvedAnalyst } = people(() => w);
  const db = () => w.warden.db;
  const close = (token: string, id: string) => w.api('POST', `/api/v1/cases/${id}/close`, { token, body: { note: 'done' } });
  const status = async (id: string) => (await db().selectFrom('cases').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status;
  const lastDenied = async () => db().selectFrom('audit_log').select(['reason', 'detail']).where('kind', '=', 'case.closed').where('decision', '=', 'denied').orderBy('seq', 'desc').executeTakeFirstOrThrow();
  let id = '';

  beforeAll(async () => {
    w = await startTestWarden(backend, { approvals: 'manual' });
    await analystsAndItAdmin();
    await approvedAnalyst('sa3');
    expect((await w.api('POST', '/api/v1/sites', { token: w.adminToken, body: { code: 'OUT-1', kind: 'outlet', city: '上海' } })).status).toBe(201);
    await create(w.adminToken, 'c1', 'courier', 'OUT-1');
    const opened = await w.api('POST', '/api/v1/cases', { token: tokens.sa2, body: { title: 'c1 reveals', reason: 'volume', accounts: ['c1'] } });
    expect(opened.status, opened.text).toBe(201);
    id = opened.body.id;
    expect((await w.api('POST', `/api/v1/cases/${id}/approve`, { token: tokens.sa1 })).status).toBe(200);
  });
  afterAll(() => w?.dispose());

  it('an approver rewritten to a third analyst lets neither that analyst nor the real approver close it (409, audited)', async () => {
    await db().updateTable('cases').set({ approved_by: 'sa3' }).where('id', '=', id).execute();
    for (const who of ['sa3', 'sa1']) {
      const r = await close(tokens[who]!, id);
      expect(r.status, r.text).toBe(409);
      expect(r.body.error.code).toBe('audit_inconsistent');
      expect(r.body.error.message).toContain('cases.approved_by');
      expect((await lastDenied()).detail).toMatchObject({ inconsistent: 'cases.approved_by', actor: who });
    }
    expect(await status(id)).toBe('open');
    await db().updateTable('cases').set({ approved_by: 'sa1' }).where('id', '=', id).execute();
  });

  it('an approved case put back to pending is not declined by a third analyst (409, audited)', async () => {
    await db().updateTable('cases').set({ status: 'pending', approved_by: null, approved_at: null }).where('id', '=', id).execute();
    const r = await close(tokens.sa3!, id);
    expect(r.status, r.text).toBe(409);
    expect(r.body.error.code).toBe('audit_inconsistent');
    expect((await lastDenied()).detail).toMatchObject({ inconsistent: 'cases.approved_by', why: 'requester_differs' });
    await db().updateTable('cases').set({ status: 'open', approved_by: 'sa1', approved_at: new Date() }).where('id', '=', id).execute();
  });

  it('an opener rewritten to the third analyst does not let that analyst close it (409)', async () => {
    await db().updateTable('cases').set({ opened_by: 'sa3' }).where('id', '=', id).execute();
    const r = await close(tokens.sa3!, id);
    expect(r.status, r.text).toBe(409);
    expect(r.body.error.message).toContain('cases.opened_by');
    await db().updateTable('cases').set({ opened_by: 'sa2' }).where('id', '=', id).execute();
  });

  it('with the row as the trail recorded it: a third analyst is refused (not_case_party), the approver closes it', async () => {
    const third = await close(tokens.sa3!, id);
    expect(third.status, third.text).toBe(403);
    expect(third.body.error.code).toBe('not_case_party');
    const ok = await close(tokens.sa1!, id);
    expect(ok.status, ok.text).toBe(200);
    expect(await status(id)).toBe('closed');
  });

  it('a pending case (pending in the trail too) is still declined by another analyst', async () => {
    const opened = await w.api('POST', '/api/v1/cases', { token: tokens.sa2, body: { title: 'second', reason: 'volume', accounts: ['c1'] } });
    expect(opened.status, opened.text).toBe(201);
    const r = await close(tokens.sa3!, opened.body.id);
    expect(r.status, r.text).toBe(200);
  });
});
