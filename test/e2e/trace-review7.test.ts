/**
 * Attack review 7, tried again through the real gateway:
 * - one it_admin issued the telephony platform a token (approved at once) and swept virtual
 *   numbers × account ids through POST /api/v1/privacy-numbers/route for real numbers, telling
 *   used numbers from unused ones by the refusal reason; no quota, no alert, and the trail named
 *   neither the token nor its issuer;
 * - routing to an erased person was audited `allowed` before a 404;
 * - a filter export whose real numbers are consecutive (no gap for a canary) failed with 500;
 * - a waybill event about a canary was answered unlike one about a real parcel.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';
import { loginAs, staff } from './trace-setup.js';
import { manualClock } from '../../src/ops/clock.js';
import { shredSubjects } from '../../src/vault/vault.js';

const party = (i: number) => ({ name: `陈小${'一二三四五六七八九十甲乙丙'[i]}`, phone: `137000000${String(i).padStart(2, '0')}`, address: `北京市西城区金融大街${20 + i}号${i}栋101室` });
// Consecutive numbers: no gap among them for an export's canaries.
const W = (i: number) => `SF5000000000${String(i).padStart(2, '0')}`;
const REAL = 12;
const ndjson = (events: object[]) => events.map((e) => JSON.stringify(e)).join('\n') + '\n';

describe.each(testBackends())('attack review 7 on %s', (backend) => {
  let w: TestWarden;
  const clock = manualClock(Date.now());
  const start = clock.now();
  let service = '';
  let adminTel = '';
  const tokens: Record<string, string> = {};
  const step = () => clock.advance(1000);
  const reveal = (account: string, i: number) => (step(), w.api)('POST', `/api/v1/waybills/${W(i)}/reveal`, { token: tokens[account], body: { fields: ['recipient.phone'], purpose: 'delivery' } });
  const route = (virtual_number: string, caller: string, token: string) => w.api('POST', '/api/v1/privacy-numbers/route', { token, body: { virtual_number, caller } });
  const issue = (by: string, account: string, body: object) => w.api('POST', `/api/v1/accounts/${account}/tokens`, { token: by, body });
  const routed = () => w.warden.db.selectFrom('audit_log').select(['decision', 'reason', 'account', 'detail', 'fields']).where('kind', '=', 'trace.privacy_routed').orderBy('seq').execute();

  beforeAll(async () => {
    w = await startTestWarden(backend, {
      warden: { clock },
      policy: { privacy_numbers: { roles: ['courier'], pool: ['17100000000-17100000009'], expiry_hours_after_delivery: 24, max_hours: 72, cooldown_hours: 24, low_water: 0, telephony_accounts: ['tel'], route_limits: { per_minute: 6 }, route_refusals_alert: 3 } },
    });
    const services = await staff(w, [{ code: 'OUT-1', city: '北京' }, { code: 'OUT-2', city: '上海' }], [['sa1', 'security_analyst', null], ['it1', 'it_admin', null], ['c1', 'courier', 'OUT-1'], ['c2', 'courier', 'OUT-1'], ['m1', 'manager', 'OUT-1'], ['svc', 'service', null], ['tel', 'service', null]]);
    service = services.svc!;
    adminTel = services.tel!; // issued by the admin token: the installation's own, two-person by setup
    for (let i = 1; i <= REAL; i++) {
      expect((await w.api('POST', '/api/v1/waybills', { token: service, body: { waybill: W(i), origin_site: 'OUT-1', dest_site: 'OUT-1', sender: party(0), recipient: party(i) } })).status).toBe(201);
    }
    for (const i of [1, 2, 3]) await w.api('POST', '/api/v1/assignments', { token: service, body: { waybill: W(i), account: 'c1', task: 'delivery' } });
    for (const a of ['sa1', 'it1', 'c1', 'm1']) tokens[a] = await loginAs(w, a);
  });
  afterAll(async () => {
    await w?.dispose();
  });

  describe('the telephony token needs two people; routing is no oracle', () => {
    let v1 = '';
    let telId = '';
    let tel = '';

    it('one it_admin’s telephony token waits for a second person and routes nothing until then', async () => {
      v1 = (await reveal('c1', 1)).body.values['recipient.phone'];
      expect(v1).toMatch(/^171/);
      const asked = await issue(tokens.it1!, 'tel', { events: ['scan'] });
      expect(asked.status, asked.text).toBe(201);
      expect(asked.body.approval).toBe('pending');
      ({ id: telId, token: tel } = asked.body);
      const refused = await route(v1, 'c1', tel);
      expect(refused.status).toBe(403);
      expect(refused.body.error.code).toBe('approval_pending');
      expect(refused.text).not.toContain(party(1).phone);
      // Not by the one who asked.
      const self = await w.api('POST', `/api/v1/accounts/tel/tokens/${telId}/approve`, { token: tokens.it1 });
      expect(self.status).toBe(403);
      expect(self.body.error.code).toBe('self_action');
      // It waits in the analysts' inbox like a token that grants work.
      expect((await w.api('GET', '/api/v1/service-tokens/pending', { token: tokens.sa1 })).body.tokens.map((t: { id: string }) => t.id)).toContain(telId);
      // Other tokens of a scan-only registration are unchanged: approved at once.
      expect((await issue(tokens.it1!, 'svc', { events: ['scan'] })).body.approval).toBe('approved');
    });

    it('approved by a second person it routes, and the trail names the token, who issued it and who approved it', async () => {
      expect((await w.api('POST', `/api/v1/accounts/tel/tokens/${telId}/approve`, { token: tokens.sa1 })).status).toBe(200);
      const r = await route(v1, 'c1', tel);
      expect(r.status, r.text).toBe(200);
      expect(r.body).toEqual({ action: 'connect', number: party(1).phone, waybill: W(1) });
      const last = (await routed()).at(-1)!;
      expect(last).toMatchObject({ decision: 'allowed', account: 'c1', detail: { platform: 'tel', token_id: telId, token_issued_by: 'it1', token_approved_by: 'sa1' } });
    });

    it('a telephony token one person issued before the fix (approved at once) is refused at the route, audited', async () => {
      const asked = await issue(tokens.it1!, 'tel', { events: ['scan'] });
      // What the live server holds: a one-person token marked approved.
      await w.warden.db.updateTable('service_tokens').set({ approval: 'approved' }).where('id', '=', asked.body.id).execute();
      const r = await route(v1, 'c1', asked.body.token);
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe('approval_pending');
      expect(r.text).not.toContain(party(1).phone);
      expect((await routed()).at(-1)).toMatchObject({ decision: 'denied', reason: 'token_not_approved', detail: { token_id: asked.body.id, token_issued_by: 'it1', token_approved_by: null } });
      // Revoked: refused, whatever the authenticator cached.
      expect((await w.api('DELETE', `/api/v1/accounts/tel/tokens/${telId}`, { token: tokens.it1 })).status).toBe(200);
      expect((await route(v1, 'c1', tel)).status).toBe(401);
    });

    it('an unknown number, another caller’s and an expired binding get one and the same answer; the trail keeps the reason', async () => {
      const v2 = (await reveal('c1', 2)).body.values['recipient.phone'];
      const unused = ['17100000000', '17100000001', '17100000002', '17100000003'].find((n) => n !== v1 && n !== v2)!;
      const before = (await routed()).length;
      const answers = [await route(unused, 'c1', adminTel), await route(v1, 'm1', adminTel)];
      // Ended: the parcel handed to someone else; then expired for good.
      await w.api('POST', '/api/v1/assignments', { token: service, body: { waybill: W(2), account: 'c2', task: 'delivery' } });
      answers.push(await route(v2, 'c1', adminTel), await route(v2, 'c1', adminTel));
      for (const a of answers) {
        expect(a.status).toBe(200);
        expect(a.text).toBe(answers[0]!.text);
      }
      expect(answers[0]!.body).toEqual({ action: 'refuse', reason: 'not_routable' });
      expect((await routed()).slice(before).map((r) => r.reason)).toEqual(['unknown_number', 'wrong_caller', 'work_ended', 'expired']);
    });

    it('a token refused again and again raises an alert for the analysts', async () => {
      await w.warden.watch!.idle();
      const alerts = (await w.api('GET', '/api/v1/alerts?detector=privacy_route_refusals', { token: tokens.sa1 })).body.alerts;
      expect(alerts).toHaveLength(1);
      expect(alerts[0].severity).toBe('high');
      expect(JSON.stringify(alerts)).not.toContain(party(1).phone);
    });

    it('each platform token is rate-limited (429, audited); another token and the next minute are not', async () => {
      clock.advance(120_000);
      const other = await issue(w.adminToken, 'tel', { events: ['scan'] });
      let r = await route(v1, 'c1', other.body.token);
      for (let i = 1; i < 6; i++) r = await route(v1, 'c1', other.body.token);
      expect(r.status, r.text).toBe(200);
      const limited = await route(v1, 'c1', other.body.token);
      expect(limited.status).toBe(429);
      expect(limited.body.error.code).toBe('rate_limited');
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(limited.text).not.toContain(party(1).phone);
      expect((await routed()).at(-1)).toMatchObject({ decision: 'denied', reason: 'rate_limited', detail: { token_id: other.body.id, token_issued_by: 'admin' } });
      expect((await route(v1, 'c1', adminTel)).body.action).toBe('connect');
      // Once the retry-after has passed, it routes again.
      clock.advance(Number(limited.headers.get('retry-after')) * 1000);
      expect((await route(v1, 'c1', other.body.token)).status).toBe(200);
    });
  });

  it('routing to an erased person is refused subject_erased, audited as denied and never as allowed', async () => {
    await w.api('POST', '/api/v1/assignments', { token: service, body: { waybill: W(3), account: 'c1', task: 'delivery' } });
    const v3 = (await reveal('c1', 3)).body.values['recipient.phone'];
    expect((await route(v3, 'c1', adminTel)).body.action).toBe('connect');
    // The person's deletion request carried out (PIPL Art. 47: src/pipl/subjects.ts shreds the same way).
    await w.warden.db.transaction().execute(async (tx) => {
      const rows = await tx.selectFrom('waybill_parties').select('subject_id').where('waybill', '=', W(3)).where('party', '=', 'recipient').execute();
      await shredSubjects(tx, rows.map((r) => Buffer.from(r.subject_id as Uint8Array)), new Date(clock.now()));
    });
    const before = (await routed()).length;
    const r = await route(v3, 'c1', adminTel);
    expect(r.status).toBe(410);
    expect(r.body.error.code).toBe('subject_erased');
    const after = (await routed()).slice(before);
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({ decision: 'denied', reason: 'subject_erased' });
  });

  it('a filter export whose real numbers leave no gap for a canary still answers, with fewer marks (none)', async () => {
    const r = await w.api('POST', '/api/v1/exports', { token: tokens.m1, body: { filter: { city: '北京', from: new Date(start - 3_600_000).toISOString(), to: new Date(clock.now() + 3_600_000).toISOString() } } });
    expect(r.status, r.text).toBe(201);
    expect(r.body.rows.map((x: { waybill: string }) => x.waybill).sort()).toEqual(Array.from({ length: REAL }, (_, i) => W(i + 1)));
    const planted = await w.warden.db.selectFrom('audit_log').select('detail').where('kind', '=', 'trace.canaries_planted').execute();
    expect(planted).toHaveLength(0);
    expect(await w.warden.db.selectFrom('trace_canaries').select('mac').execute()).toHaveLength(0);
  });

  describe('a canary under a waybill event', () => {
    let canary = '';
    const event = (waybill: string, site: string, city: string) => ({ id: `w-${waybill}-${site}-${clock.now()}`, ts: new Date(clock.now()).toISOString(), type: 'waybill', waybill, origin_site: site, dest_site: site, dest_city: city });
    const send = (events: object[]) => w.api('POST', '/api/v1/events', { token: service, raw: ndjson(events), contentType: 'application/x-ndjson' });

    it('is stored with a real route’s sites and their cities, like a real parcel', async () => {
      const planted = await w.api('POST', '/api/v1/canaries', { token: tokens.sa1, body: { count: 1 } });
      expect(planted.status, planted.text).toBe(201);
      canary = planted.body.waybills[0];
      const [real, fake] = await Promise.all([W(1), canary].map((wb) => w.warden.db.selectFrom('waybills').select(['origin_site', 'dest_site', 'origin_city', 'dest_city']).where('waybill', '=', wb).executeTakeFirstOrThrow()));
      expect(fake).toEqual(real);
    });

    it('a waybill event naming other sites never supersedes it: it stays live and watched', async () => {
      step();
      await send([event(canary, 'OUT-2', '上海')]);
      const live = (await w.api('GET', '/api/v1/canaries', { token: tokens.sa1 })).body.canaries.map((c: { waybill: string }) => c.waybill);
      expect(live).toContain(canary);
      expect(await w.warden.db.selectFrom('audit_log').select('seq').where('kind', '=', 'trace.canary_superseded').execute()).toHaveLength(0);
      expect((await w.warden.db.selectFrom('waybills').select('origin_site').where('waybill', '=', canary).executeTakeFirstOrThrow()).origin_site).toBe('OUT-1');
    });

    // Review 10 (F2): answered like a real parcel, it still told a scan of numbers which the vault
    // held. A canary is nobody's business (no producer issued it): its line is answered like an
    // unknown number's and withheld, and naming it raises an alert; a real parcel that is the
    // producer's business is still refused `waybill_conflict`.
    it('is answered exactly like a number the vault does not hold, never applied, and alerted', async () => {
      step();
      const r = await send([event(W(4), 'OUT-2', '上海'), event(canary, 'OUT-2', '上海'), event('SF500000000999', 'OUT-2', '上海')]);
      expect(r.status, r.text).toBe(200);
      expect(r.body.rejected.map((x: { line: number; code: string }) => [x.line, x.code])).toEqual([[1, 'waybill_conflict']]);
      expect(r.body.accepted).toBe(2);
      expect((await w.warden.db.selectFrom('waybills').select('origin_site').where('waybill', '=', canary).executeTakeFirstOrThrow()).origin_site).toBe('OUT-1');
      await w.warden.watch?.idle();
      expect(await w.warden.db.selectFrom('alerts').select('id').where('detector', '=', 'ingest_canary_named').execute()).toHaveLength(1);
    });
  });
});
