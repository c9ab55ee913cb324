/**
 * Data-subject requests over real HTTP, on every backend (issue 12): access reports list the
 * person's records masked and who saw them in full; correction re-encrypts; deletion takes two
 * people and crypto-shreds the person's data key, so a copy of their rows taken before (a
 * backup) no longer decrypts, reveals answer `subject_erased`, and the audit trail still
 * verifies. Who may do this: the privacy roles only (allowed and denied tests).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';
import { toBuffer } from '../../src/store/db.js';
import { openFieldBlob } from '../../src/vault/vault.js';

const PERSON = { name: '李小红', phone: '13812345678', address: '上海市浦东新区世纪大道100号8楼', id_number: '11010519491231002X' };
const OTHER = { name: '王大明', phone: '13900001111', address: '北京市朝阳区建国路88号3号楼2单元501室' };
const THIRD = { name: '赵六', phone: '13700002222', address: '广州市天河区体育西路1号201室' };
const { id_number: _id, ...PERSON_AS_RECIPIENT } = PERSON;
const W = (n: number) => `SF70000000000${n}`;

describe.each(testBackends())('PIPL data-subject requests on %s', (backend) => {
  let w: TestWarden;
  const tokens: Record<string, string> = {};
  let caseId = '';
  const file = (who: string, body: Record<string, unknown>) => w.api('POST', '/api/v1/subjects/requests', { token: tokens[who] ?? who, body: { identity_verified: true, ...body } });
  /** A second analyst's approval: reads the request (the review), then approves the version read. */
  const approve = async (who: string, id: string) => {
    const seen = await w.api('GET', `/api/v1/subjects/requests/${id}`, { token: tokens[who] ?? who });
    return w.api('POST', `/api/v1/subjects/requests/${id}/approve`, { token: tokens[who] ?? who, body: { reviewed: seen.body.review?.version ?? 'not-reviewed' } });
  };
  const reveal = (waybill: string, field: string) => w.api('POST', `/api/v1/waybills/${waybill}/reveal`, { token: tokens.sa1, body: { fields: [field], purpose: 'audit', case: caseId } });

  beforeAll(async () => {
    w = await startTestWarden(backend, { config: { detect: false } });
    const admin = w.adminToken;
    await w.api('POST', '/api/v1/sites', { token: admin, body: { code: 'OUT-1', kind: 'outlet', city: '上海' } });
    for (const [id, role, site] of [['sa1', 'security_analyst', null], ['sa2', 'security_analyst', null], ['cs1', 'customer_service', 'OUT-1'], ['it1', 'it_admin', null], ['c1', 'courier', 'OUT-1'], ['svc', 'service', null]] as const) {
      expect((await w.api('POST', '/api/v1/accounts', { token: admin, body: { id, role, site, password: `pw-${id}-secret` } })).status).toBe(201);
      if (role !== 'service') tokens[id] = (await w.api('POST', '/api/v1/sessions', { body: { account: id, password: `pw-${id}-secret`, device: `${id}-dev` } })).body.token;
    }
    const service = (await w.api('POST', '/api/v1/accounts/svc/tokens', { token: admin })).body.token;
    const parcels = [
      { waybill: W(1), sender: OTHER, recipient: PERSON_AS_RECIPIENT },
      { waybill: W(2), sender: PERSON, recipient: OTHER },
      { waybill: W(3), sender: OTHER, recipient: THIRD },
    ];
    for (const p of parcels) {
      const r = await w.api('POST', '/api/v1/waybills', { token: service, body: { origin_site: 'OUT-1', dest_site: 'OUT-1', ...p } });
      expect(r.status, r.text).toBe(201);
    }
    const c = await w.api('POST', '/api/v1/cases', { token: tokens.sa1, body: { title: 'complaint', reason: 'customer asked who saw their number', waybills: [W(1), W(2), W(3)] } });
    caseId = c.body.id;
    expect((await w.api('POST', `/api/v1/cases/${caseId}/approve`, { token: tokens.sa2 })).status).toBe(200);
    const seen = await reveal(W(1), 'recipient.phone');
    expect(seen.status, seen.text).toBe(200);
    expect(seen.body.values['recipient.phone']).toBe(PERSON.phone);
  });
  afterAll(() => w?.dispose());

  it('only the privacy roles file requests or read reports; the admin token, staff and IT are refused', async () => {
    for (const who of ['cs1', 'it1', 'c1']) {
      const r = await file(who, { kind: 'access', phone: PERSON.phone });
      expect(r.status, who).toBe(403);
      expect(r.body.error.code).toBe('forbidden');
    }
    expect((await file(w.adminToken, { kind: 'access', phone: PERSON.phone })).status).toBe(403);
    expect((await w.api('GET', '/api/v1/subjects/requests', { token: tokens.cs1 })).status).toBe(403);
    expect((await file('sa1', { kind: 'access', phone: PERSON.phone })).status).toBe(201);
  });

  it('refuses a request without the identity check or with a bad identifier, naming the field but never the value', async () => {
    const unverified = await file('sa1', { kind: 'access', phone: PERSON.phone, identity_verified: false });
    expect(unverified.status).toBe(400);
    expect(unverified.body.error.message).toMatch(/identity_verified/);
    const bad = await file('sa1', { kind: 'access', id_number: '110105194912310021' });
    expect(bad.status).toBe(400);
    expect(bad.text).not.toContain('110105194912310021');
    expect((await file('sa1', { kind: 'access' })).status).toBe(400);
  });

  it('access: once a second analyst approves, the report lists the records masked and who saw them in full, when and why, in Chinese', async () => {
    const r = await file('sa1', { kind: 'access', id_number: PERSON.id_number });
    expect(r.status, r.text).toBe(201);
    expect(r.body).toMatchObject({ kind: 'access', lookup: 'id_number', state: 'pending_approval', requested_by: 'sa1' });
    // 15 working days: at least 19 calendar days after receipt.
    expect(new Date(r.body.due_at).getTime() - new Date(r.body.received_at).getTime()).toBeGreaterThan(19 * 86_400_000);
    const byPhone = await file('sa1', { kind: 'access', phone: PERSON.phone });
    expect((await w.api('GET', `/api/v1/subjects/requests/${byPhone.body.id}/report`, { token: tokens.sa2 })).status).toBe(403);
    const approved = await approve('sa2', byPhone.body.id);
    expect(approved.status, approved.text).toBe(200);
    const report = await w.api('GET', `/api/v1/subjects/requests/${byPhone.body.id}/report`, { token: tokens.sa2 });
    expect(report.status, report.text).toBe(200);
    expect(report.body.records.map((x: any) => `${x.waybill}/${x.party}`).sort()).toEqual([`${W(1)}/recipient`, `${W(2)}/sender`]);
    expect(report.body.records.every((x: any) => x.status === 'held' && x.masked.phone !== PERSON.phone)).toBe(true);
    expect(report.body.reveals).toHaveLength(1);
    expect(report.body.reveals[0]).toMatchObject({ account: 'sa1', role: 'security_analyst', waybill: W(1), fields: ['recipient.phone'], purpose: 'audit', case: caseId });
    const md = await w.api('GET', `/api/v1/subjects/requests/${byPhone.body.id}/report?format=md`, { token: tokens.sa2 });
    expect(md.status).toBe(200);
    expect(md.headers.get('content-type')).toMatch(/markdown/);
    expect(md.text).toContain('个人信息查阅报告');
    expect(md.text).toContain('收件人电话');
    expect(md.text).toContain('138****5678');
    for (const secret of [PERSON.phone, PERSON.name, PERSON.id_number]) expect(md.text).not.toContain(secret);
    // Reading the report is audited with its reader, never with its content.
    const audited = await w.warden.db.selectFrom('audit_log').selectAll().where('kind', '=', 'pipl.access_report').execute();
    expect(audited.some((e) => e.account === 'sa2')).toBe(true);
  });

  it('correction: the new name is stored encrypted and masked; the phone cannot be corrected', async () => {
    const r = await file('sa1', { kind: 'correction', phone: PERSON.phone, correction: { field: 'name', value: '李晓红' } });
    expect(r.status, r.text).toBe(201);
    // Hole (round-two review): one analyst rewrote a person's records alone. A second person approves.
    expect(r.body).toMatchObject({ state: 'pending_approval', correction: { field: 'name' }, result: null });
    expect(r.text).not.toContain('李晓红');
    const waiting = await w.warden.db.selectFrom('pipl_requests').selectAll().where('id', '=', r.body.id).executeTakeFirstOrThrow();
    expect(JSON.stringify(waiting)).not.toContain('李晓红');
    expect((await reveal(W(2), 'sender.name')).body.values['sender.name']).toBe(PERSON.name);
    const self = await approve('sa1', r.body.id);
    expect(self.status).toBe(403);
    expect(self.body.error.code).toBe('self_action');
    expect((await approve('cs1', r.body.id)).status).toBe(403);
    const ok = await approve('sa2', r.body.id);
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body).toMatchObject({ state: 'completed', approved_by: 'sa2', result: { records_corrected: 2 }, correction: { field: 'name' } });
    const done = await w.warden.db.selectFrom('pipl_requests').select('correction').where('id', '=', r.body.id).executeTakeFirstOrThrow();
    expect(JSON.stringify(done.correction)).not.toContain('sealed');
    const corrected = await w.warden.db.selectFrom('audit_log').selectAll().where('kind', '=', 'pipl.subject_corrected').executeTakeFirstOrThrow();
    expect(corrected.account).toBe('sa2');
    expect(JSON.stringify(corrected)).not.toContain('李晓红');
    const v = await reveal(W(2), 'sender.name');
    expect(v.body.values['sender.name']).toBe('李晓红');
    const phone = await file('sa1', { kind: 'correction', phone: PERSON.phone, correction: { field: 'phone', value: '13800000000' } });
    expect(phone.status).toBe(400);
  });

  it('rejection: someone other than the filer refuses a pending deletion with a reason; the data stays, the note stays out of the trail', async () => {
    const filed = await file('sa1', { kind: 'deletion', phone: PERSON.phone });
    expect(filed.status, filed.text).toBe(201);
    const id = filed.body.id;
    const reject = (who: string, body: Record<string, unknown>) => w.api('POST', `/api/v1/subjects/requests/${id}/reject`, { token: tokens[who] ?? who, body });
    const self = await reject('sa1', { reason: 'identity_not_verified' });
    expect(self.status).toBe(403);
    expect(self.body.error.code).toBe('self_action');
    expect((await reject('cs1', { reason: 'identity_not_verified' })).status).toBe(403);
    expect((await reject('it1', { reason: 'identity_not_verified' })).status).toBe(403);
    const bad = await reject('sa2', { reason: 'because' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/reason/);
    const note = `caller could not confirm ${PERSON.phone}`;
    const ok = await reject('sa2', { reason: 'identity_not_verified', note });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body).toMatchObject({ state: 'rejected', approved_by: 'sa2', result: { rejected: 'identity_not_verified', note } });
    // Decided once: neither a second rejection nor an approval moves it.
    expect((await reject('sa2', { reason: 'duplicate' })).status).toBe(409);
    expect((await w.api('POST', `/api/v1/subjects/requests/${id}/approve`, { token: tokens.sa2 })).status).toBe(409);
    expect((await w.api('GET', '/api/v1/subjects/requests?state=rejected', { token: tokens.sa1 })).body.requests.map((r: { id: string }) => r.id)).toEqual([id]);
    expect((await reveal(W(1), 'recipient.phone')).body.values['recipient.phone']).toBe(PERSON.phone);
    const entry = await w.warden.db.selectFrom('audit_log').selectAll().where('kind', '=', 'pipl.request_rejected').where('decision', '=', 'ok').executeTakeFirstOrThrow();
    expect(entry.account).toBe('sa2');
    expect(JSON.stringify(entry)).toContain('identity_not_verified');
    expect(JSON.stringify(entry)).not.toContain(PERSON.phone);
    expect(w.logs()).not.toContain(PERSON.phone);
  });

  it('deletion: two people; after it no copy decrypts, reveals answer subject_erased, the trail verifies', async () => {
    const subjectRows = await w.warden.db.selectFrom('waybill_parties').selectAll().where('waybill', 'in', [W(1), W(2)]).execute();
    // A backup taken before the deletion: the person's rows, ciphertext and all.
    const backup = subjectRows.filter((r) => (r.waybill === W(1) && r.party === 'recipient') || (r.waybill === W(2) && r.party === 'sender'));
    expect(backup).toHaveLength(2);
    const subjectId = toBuffer(backup[0]!.subject_id);
    const keyBefore = await w.warden.keyring.dataKeyForRead(w.warden.db, subjectId);
    expect(openFieldBlob(keyBefore!, toBuffer(backup[0]!.phone_ct!), backup[0]!.waybill, backup[0]!.party, 'phone')).toBe(PERSON.phone);

    // An earlier refusal by ID number, its note quoting the person (the one by phone is the test above's).
    const byId = await file('sa1', { kind: 'deletion', id_number: PERSON.id_number });
    expect((await w.api('POST', `/api/v1/subjects/requests/${byId.body.id}/reject`, { token: tokens.sa2, body: { reason: 'duplicate', note: `${PERSON.name} called twice` } })).status).toBe(200);
    const refusals = () => w.warden.db.selectFrom('pipl_requests').select(['id', 'result']).where('state', '=', 'rejected').orderBy('received_at').execute();
    const notesBefore = JSON.stringify(await refusals());
    expect(notesBefore).toContain(PERSON.phone);
    expect(notesBefore).toContain(PERSON.name);

    const filed = await file('sa1', { kind: 'deletion', phone: PERSON.phone });
    expect(filed.status, filed.text).toBe(201);
    expect(filed.body.state).toBe('pending_approval');
    const self = await approve('sa1', filed.body.id);
    expect(self.status).toBe(403);
    expect(self.body.error.code).toBe('self_action');
    expect((await approve('cs1', filed.body.id)).status).toBe(403);
    expect((await reveal(W(1), 'recipient.phone')).status).toBe(200);
    const ok = await approve('sa2', filed.body.id);
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body).toMatchObject({ state: 'completed', approved_by: 'sa2', result: { subjects: 1, records: 2, notes_cleared: 2 } });
    // Hole (review): the notes of the person's refused requests outlived the erasure. Cleared in its transaction; the codes stay.
    const notesAfter = await refusals();
    expect(notesAfter).toHaveLength(2);
    for (const r of notesAfter) expect(r.result).toMatchObject({ note: null, note_erased: true });
    expect(notesAfter.map((r) => (r.result as { rejected: string }).rejected)).toEqual(['identity_not_verified', 'duplicate']);
    const rows = JSON.stringify(await w.warden.db.selectFrom('pipl_requests').selectAll().execute());
    for (const secret of [PERSON.phone, PERSON.name]) expect(rows).not.toContain(secret);
    const shown = await w.api('GET', `/api/v1/subjects/requests/${byId.body.id}`, { token: tokens.sa1 });
    expect(shown.body.result).toMatchObject({ rejected: 'duplicate', note: null });

    // The backup no longer decrypts: the key hierarchy has no key for the person any more.
    w.warden.keyring.forget();
    expect(await w.warden.keyring.dataKeyForRead(w.warden.db, subjectId)).toBeNull();
    for (const row of await w.warden.db.selectFrom('subject_keys').selectAll().execute()) {
      const other = await w.warden.keyring.dataKeyForRead(w.warden.db, toBuffer(row.subject_id));
      for (const b of backup) expect(() => openFieldBlob(other!, toBuffer(b.phone_ct!), b.waybill, b.party, 'phone')).toThrow(/does not authenticate/);
    }
    // The live rows hold nothing of the person; the other parties are untouched.
    // Nor a lookup leading to them (attack review 7): no phone index, and a subject id the phone no longer gives.
    const live = await w.warden.db.selectFrom('waybill_parties').selectAll().where('waybill', 'in', [W(1), W(2)]).execute();
    const theirs = live.filter((r) => backup.some((b) => b.waybill === r.waybill && b.party === r.party));
    expect(theirs).toHaveLength(2);
    expect(theirs.every((r) => r.phone_ct === null && r.name_ct === null && r.address_ct === null && r.id_number_ct === null && r.id_bidx === null && r.phone_bidx === null && r.erased_at !== null)).toBe(true);
    expect(theirs.some((r) => toBuffer(r.subject_id).equals(subjectId))).toBe(false);

    const gone = await reveal(W(1), 'recipient.phone');
    expect(gone.status).toBe(410);
    expect(gone.body.error.code).toBe('subject_erased');
    expect(gone.text).not.toContain(PERSON.phone);
    const otherParty = await reveal(W(1), 'sender.phone');
    expect(otherParty.body.values['sender.phone']).toBe(OTHER.phone);
    const masked = await w.api('GET', `/api/v1/waybills/${W(1)}`, { token: tokens.sa1 });
    expect(masked.body.recipient).toEqual({ name: '[已删除]', phone: '[已删除]', address: '[已删除]' });

    const verified = await w.api('GET', '/api/v1/audit/verify', { token: tokens.sa1 });
    expect(verified.status, verified.text).toBe(200);
    const erasure = await w.warden.db.selectFrom('audit_log').selectAll().where('kind', '=', 'pipl.subject_erased').executeTakeFirstOrThrow();
    expect(erasure.account).toBe('sa2');
    const trail = JSON.stringify(await w.warden.db.selectFrom('audit_log').selectAll().where('kind', 'like', 'pipl.%').execute());
    for (const secret of [PERSON.phone, PERSON.name, PERSON.id_number, '李晓红', subjectId.toString('hex')]) expect(trail).not.toContain(secret);
    for (const secret of [PERSON.phone, PERSON.id_number]) expect(w.logs()).not.toContain(secret);
  });

  it('after deletion: the person is found as erased by phone and by ID number, and nothing more can be done', async () => {
    for (const lookup of [{ phone: PERSON.phone }, { id_number: PERSON.id_number }]) {
      const r = await file('sa1', { kind: 'access', ...lookup });
      expect((await approve('sa2', r.body.id)).status).toBe(200);
      const report = await w.api('GET', `/api/v1/subjects/requests/${r.body.id}/report`, { token: tokens.sa1 });
      expect(report.body.erased).toBe(true);
      // The erased parcels are no longer linked to the person (attack review 7): the report says erased, and lists none.
      expect(report.body.records).toEqual([]);
    }
    const again = await file('sa1', { kind: 'deletion', phone: PERSON.phone });
    expect(again.status).toBe(410);
    expect(again.body.error.code).toBe('subject_erased');
    const list = await w.api('GET', '/api/v1/subjects/requests?state=completed', { token: tokens.sa2 });
    expect(list.body.requests.length).toBeGreaterThanOrEqual(4);
  });
});
