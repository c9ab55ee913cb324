/**
 * The breach report against the simulator's ground truth, on every backend (issue 12): a
 * simulated manager's bulk dump (attack A7 of seed 5, tiny preset) is stored as the activity
 * events upstream systems would report, beside everyone else's work in the same hours; the
 * report for that account and window lists exactly the attack's exposed waybills, its account
 * and devices, and the people behind them (counted from the simulator's own PII, independently
 * of the vault), counts an erased person without showing anything, and renders to Markdown,
 * DOCX and a PDF whose text is checked. Only the privacy roles draft it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';
import { testBackends } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';
import { createSimulation, resolveParams, parcelPii, formatAddress, type SimAction } from '../../src/simulate/index.js';
import { createVaultWriter } from '../../src/vault/vault.js';

/** What the simulator knows: the attack, its window, its exposed waybills, and everyone's allowed access in that window. */
function groundTruth() {
  const run = createSimulation(resolveParams({ seed: 5 }, 'tiny'));
  const attack = run.scenarios.find((s) => s.label.kind === 'attack' && s.label.scenario === 'manager_dump')!;
  const tagged: SimAction[] = [];
  const access: SimAction[] = [];
  for (const day of run.days()) {
    for (const a of day.actions) {
      if (a.tag === attack.tag) tagged.push(a);
      if (a.type === 'access' && a.result === 'allowed' && a.fields?.length) access.push(a);
    }
  }
  const window = { start: Math.min(...tagged.map((a) => a.t)), end: Math.max(...tagged.map((a) => a.t)) };
  const exposed = new Set(tagged.filter((a) => a.type === 'access' && a.result === 'allowed' && a.fields?.length).flatMap((a) => [a.waybill, ...(a.waybills ?? [])]).filter((w): w is string => Boolean(w)));
  // Everyone's access in the same hours: the report must pick the attacker's out of it.
  const around = access.filter((a) => a.t >= window.start - 3_600_000 && a.t <= window.end + 3_600_000);
  return { world: run.world, label: attack.label, window, exposed, around };
}

describe.each(testBackends())('PIPL breach report on %s', (backend) => {
  let w: TestWarden;
  const tokens: Record<string, string> = {};
  const truth = groundTruth();
  const attacker = truth.label.accounts[0]!;
  const body = (extra: Record<string, unknown> = {}) => ({ accounts: [attacker], from: new Date(truth.window.start).toISOString(), to: new Date(truth.window.end).toISOString(), ...extra });
  let expectedPeople = new Set<string>();
  let erasedPhone = '';

  beforeAll(async () => {
    w = await startTestWarden(backend, { config: { detect: false, retentionEveryMinutes: 0 } });
    const admin = w.adminToken;
    for (const [id, role] of [['sa1', 'security_analyst'], ['sa2', 'security_analyst'], ['it1', 'it_admin']] as const) {
      expect((await w.api('POST', '/api/v1/accounts', { token: admin, body: { id, role, site: null, password: `pw-${id}-secret` } })).status).toBe(201);
      tokens[id] = (await w.api('POST', '/api/v1/sessions', { body: { account: id, password: `pw-${id}-secret`, device: `${id}-dev` } })).body.token;
    }
    const writer = createVaultWriter({ db: w.warden.db, keyring: w.warden.keyring, clock: { now: () => Date.now() }, allow15DigitId: false });
    const stored = new Set<string>();
    const rows = [];
    for (const a of truth.around) {
      for (const wb of [a.waybill, ...(a.waybills ?? [])]) {
        if (!wb || stored.has(wb)) continue;
        const pii = parcelPii(truth.world, wb)!;
        await writer.ingest({ waybill: pii.waybill, origin_site: pii.origin_site, dest_site: pii.dest_site, sender: { ...pii.sender, address: formatAddress(pii.sender.address) }, recipient: { ...pii.recipient, address: formatAddress(pii.recipient.address) } });
        stored.add(wb);
      }
      const event = { type: 'access', ts: new Date(a.t).toISOString(), account: a.account, device: a.device, action: a.action, waybill: a.waybill, waybills: a.waybills, fields: a.fields, purpose: a.purpose, result: a.result };
      rows.push({ id: randomUUID(), ts: new Date(a.t), type: 'access', account: a.account!, body: JSON.stringify(event), received_at: new Date(), producer: 'test:simulator', producer_account: null, backfill: true });
    }
    for (let i = 0; i < rows.length; i += 500) await w.warden.db.insertInto('activity_events').values(rows.slice(i, i + 500)).execute();
    // The people behind the exposed fields, from the simulator's PII (not from the vault).
    const fieldsOf = new Map<string, Set<string>>();
    for (const a of truth.around) if (a.account === attacker && a.t >= truth.window.start && a.t <= truth.window.end) for (const wb of [a.waybill, ...(a.waybills ?? [])]) if (wb) for (const f of a.fields!) fieldsOf.set(wb, (fieldsOf.get(wb) ?? new Set()).add(f));
    for (const wb of truth.exposed) {
      const pii = parcelPii(truth.world, wb)!;
      expectedPeople.add(pii.recipient.phone);
      expectedPeople.add(pii.sender.phone);
      void fieldsOf;
    }
    expectedPeople = new Set([...expectedPeople]);
    // The long in-process load above may have outlived the client's idle keep-alive socket: spend it.
    await w.api('GET', '/api/v1/subjects/requests', { token: tokens.sa1 }).catch(() => undefined);
    // One of the people asked for deletion before the report.
    erasedPhone = parcelPii(truth.world, [...truth.exposed][0]!)!.recipient.phone;
    const filed = await w.api('POST', '/api/v1/subjects/requests', { token: tokens.sa1, body: { kind: 'deletion', phone: erasedPhone, identity_verified: true } });
    // The second analyst approves the version of the request they reviewed (docs/pipl.md).
    const reviewed = (await w.api('GET', `/api/v1/subjects/requests/${filed.body.id}`, { token: tokens.sa2 })).body.review.version;
    expect((await w.api('POST', `/api/v1/subjects/requests/${filed.body.id}/approve`, { token: tokens.sa2, body: { reviewed } })).status).toBe(200);
  }, 600_000);
  afterAll(() => w?.dispose());

  it('only the privacy roles draft it; a source is required', async () => {
    expect((await w.api('POST', '/api/v1/reports/breach', { token: tokens.it1, body: body() })).status).toBe(403);
    expect((await w.api('POST', '/api/v1/reports/breach', { token: w.adminToken, body: body() })).status).toBe(403);
    const none = await w.api('POST', '/api/v1/reports/breach', { token: tokens.sa1, body: {} });
    expect(none.status).toBe(400);
    const twice = await w.api('POST', '/api/v1/reports/breach', { token: tokens.sa1, body: { ...body(), case: 'case-x' } });
    expect(twice.status).toBe(400);
  });

  it('review 8: nobody drafts the report about themselves, from accounts or from a case naming them (audited); another analyst does', async () => {
    const mine = await w.api('POST', '/api/v1/reports/breach', { token: tokens.sa2, body: { accounts: ['sa2'], from: new Date(truth.window.start).toISOString(), to: new Date(truth.window.end).toISOString() } });
    expect(mine.status).toBe(403);
    expect(mine.body.error.code).toBe('self_action');
    const opened = await w.api('POST', '/api/v1/cases', { token: tokens.sa1, body: { title: 'analyst review', reason: 'covert check of an analyst', accounts: ['sa2'] } });
    expect(opened.status, opened.text).toBe(201);
    const fromCase = await w.api('POST', '/api/v1/reports/breach', { token: tokens.sa2, body: { case: opened.body.id } });
    expect(fromCase.status).toBe(403);
    expect(fromCase.text).not.toContain('covert');
    const denied = await w.warden.db.selectFrom('audit_log').select(['account', 'reason']).where('kind', '=', 'pipl.breach_report').where('decision', '=', 'denied').execute();
    expect(denied).toEqual([{ account: 'sa2', reason: 'self_action' }, { account: 'sa2', reason: 'self_action' }]);
    expect((await w.api('POST', '/api/v1/reports/breach', { token: tokens.sa1, body: { case: opened.body.id } })).status).toBe(200);
  });

  it('lists exactly the simulated leak: its records, account, devices and people, the erased one counted but not shown', async () => {
    expect(truth.exposed.size).toBeGreaterThan(100);
    const r = await w.api('POST', '/api/v1/reports/breach', { token: tokens.sa1, body: body() });
    expect(r.status, r.text.slice(0, 500)).toBe(200);
    expect(r.body.records).toBe(truth.exposed.size);
    expect(new Set(r.body.notify.map((n: any) => n.waybill))).toEqual(truth.exposed);
    expect(r.body.accounts.map((a: any) => a.account)).toEqual([attacker]);
    expect(r.body.accounts[0].records).toBe(truth.exposed.size);
    expect(r.body.devices).toEqual([...truth.label.devices].sort());
    expect(r.body.people).toBe(expectedPeople.size);
    expect(r.body.erased_people).toBe(1);
    const erased = r.body.notify.filter((n: any) => n.erased);
    expect(erased.length).toBeGreaterThanOrEqual(1);
    expect(erased.every((n: any) => n.masked_phone === null)).toBe(true);
    expect(r.text).not.toContain(erasedPhone);
    for (const p of [...expectedPeople].slice(0, 50)) expect(r.text).not.toContain(p);
    expect(r.body.notices.sms).toMatch(/可能被内部人员违规查看/);
    expect(r.body.notices.phone_script).toMatch(/诈骗/);
    const audited = await w.warden.db.selectFrom('audit_log').selectAll().where('kind', '=', 'pipl.breach_report').execute();
    expect(audited.at(-1)).toMatchObject({ account: 'sa1' });
  });

  it('renders Markdown, DOCX and a PDF whose text says what happened, in Chinese', async () => {
    const md = await w.api('POST', '/api/v1/reports/breach', { token: tokens.sa1, body: body({ format: 'md' }) });
    expect(md.text).toContain('# 个人信息安全事件报告');
    expect(md.text).toContain(`涉及运单记录：${truth.exposed.size} 条`);
    const docx = await fetch(`${w.url}/api/v1/reports/breach`, { method: 'POST', headers: { authorization: `Bearer ${tokens.sa1}`, 'content-type': 'application/json' }, body: JSON.stringify(body({ format: 'docx' })) });
    const docxBytes = Buffer.from(await docx.arrayBuffer());
    expect(docx.headers.get('content-type')).toMatch(/wordprocessingml/);
    expect(docxBytes.subarray(0, 2).toString()).toBe('PK');
    const pdf = await fetch(`${w.url}/api/v1/reports/breach`, { method: 'POST', headers: { authorization: `Bearer ${tokens.sa1}`, 'content-type': 'application/json' }, body: JSON.stringify(body({ format: 'pdf' })) });
    expect(pdf.headers.get('content-type')).toBe('application/pdf');
    const doc = await getDocument({ data: new Uint8Array(await pdf.arrayBuffer()) }).promise;
    let text = '';
    for (let p = 1; p <= doc.numPages; p++) text += (await (await doc.getPage(p)).getTextContent()).items.map((i: any) => i.str).join('') + '\n';
    expect(text).toContain('个人信息安全事件报告');
    expect(text).toContain(`涉及运单记录：${truth.exposed.size} 条`);
    expect(text).toContain(attacker);
    expect(text).toContain('电话话术');
  });
});
