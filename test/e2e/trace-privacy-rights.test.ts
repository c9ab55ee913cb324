/**
 * The attack: a courier keeps calling a customer through the privacy number it was shown after its
 * right to that customer ended (the parcel reassigned, the ticket closed, the account suspended).
 * The telephony platform's route must refuse it then (work_ended / account_suspended), and keep
 * connecting the caller whose work still backs the number.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';
import { loginAs, staff } from './trace-setup.js';
import { manualClock } from '../../src/ops/clock.js';

const party = (i: number) => ({ name: `李小${'一二三四五六七八'[i]}`, phone: `1380000000${i}`, address: `上海市浦东新区世纪大道${10 + i}号${i}栋301室` });
const W = (i: number) => `SF20000000000${i}`;

describe.each(testBackends())('privacy numbers end with the caller’s right on %s', (backend) => {
  let w: TestWarden;
  const clock = manualClock(Date.now());
  let service = '';
  let telephony = '';
  const tokens: Record<string, string> = {};
  const login = async (account: string) => (tokens[account] = await loginAs(w, account));
  const step = () => clock.advance(1000);
  const reveal = (account: string, i: number, purpose = 'delivery', ticket?: string) => (step(), w.api)('POST', `/api/v1/waybills/${W(i)}/reveal`, { token: tokens[account], body: { fields: ['recipient.phone'], purpose, ...(ticket ? { ticket } : {}) } });
  const route = (virtual_number: string, caller: string) => (step(), w.api)('POST', '/api/v1/privacy-numbers/route', { token: telephony, body: { virtual_number, caller } });
  const assign = (i: number, account: string) => (step(), w.api)('POST', '/api/v1/assignments', { token: service, body: { waybill: W(i), account, task: 'delivery' } });

  beforeAll(async () => {
    w = await startTestWarden(backend, {
      warden: { clock },
      policy: { privacy_numbers: { roles: ['courier', 'customer_service'], pool: ['17100000000-17100000019'], expiry_hours_after_delivery: 24, max_hours: 72, cooldown_hours: 24, low_water: 0, telephony_accounts: ['tel'] } },
    });
    const services = await staff(w, [{ code: 'OUT-SH', city: '上海' }], [['c1', 'courier', 'OUT-SH'], ['c2', 'courier', 'OUT-SH'], ['c3', 'courier', 'OUT-SH'], ['cs1', 'customer_service', 'OUT-SH'], ['svc', 'service', null], ['tel', 'service', null]]);
    service = services.svc!;
    telephony = services.tel!;
    for (let i = 1; i <= 3; i++) {
      expect((await w.api('POST', '/api/v1/waybills', { token: service, body: { waybill: W(i), origin_site: 'OUT-SH', dest_site: 'OUT-SH', sender: party(0), recipient: party(i) } })).status).toBe(201);
    }
    await assign(1, 'c1');
    await assign(3, 'c3');
    for (const a of ['c1', 'c2', 'c3', 'cs1']) await login(a);
  });
  afterAll(async () => {
    await w?.dispose();
  });

  it('a reassignment ends the first courier’s number at once; the new holder’s number connects', async () => {
    const v1 = (await reveal('c1', 1)).body.values['recipient.phone'] as string;
    expect(v1).toMatch(/^171000000\d\d$/);
    expect((await route(v1, 'c1')).body).toEqual({ action: 'connect', number: party(1).phone, waybill: W(1) });

    await assign(1, 'c2');
    const again = await reveal('c1', 1);
    expect(again.status).toBe(403);
    expect(again.body.error.code).toBe('no_work_context');
    const refused = await route(v1, 'c1');
    expect(refused.body).toEqual({ action: 'refuse', reason: 'not_routable' });
    expect(refused.text).not.toContain(party(1).phone);

    const v2 = (await reveal('c2', 1)).body.values['recipient.phone'] as string;
    expect((await route(v2, 'c2')).body).toMatchObject({ action: 'connect', number: party(1).phone });
    // Given back to c1 later: the old binding stays ended (a fresh reveal gives a fresh binding).
    await assign(1, 'c1');
    expect((await route(v1, 'c1')).body).toMatchObject({ action: 'refuse' });
    expect((await route(v2, 'c2')).body).toEqual({ action: 'refuse', reason: 'not_routable' });
  });

  it('a closed ticket ends a customer-service agent’s number', async () => {
    await w.api('POST', '/api/v1/tickets', { token: service, body: { ticket: 'T-1', waybill: W(2), account: 'cs1', status: 'open' } });
    const shown = await reveal('cs1', 2, 'customer_service', 'T-1');
    expect(shown.status).toBe(200);
    const v = shown.body.values['recipient.phone'] as string;
    expect(v).toMatch(/^171/);
    expect((await route(v, 'cs1')).body).toMatchObject({ action: 'connect', number: party(2).phone });
    await w.api('POST', '/api/v1/tickets', { token: service, body: { ticket: 'T-1', waybill: W(2), account: 'cs1', status: 'closed' } });
    expect((await route(v, 'cs1')).body).toEqual({ action: 'refuse', reason: 'not_routable' });
  });

  it('a suspended caller is refused; the refusal is audited before anything is opened', async () => {
    const v = (await reveal('c3', 3)).body.values['recipient.phone'] as string;
    expect((await route(v, 'c3')).body).toMatchObject({ action: 'connect' });
    expect((await w.api('POST', '/api/v1/accounts/c3/suspend', { token: w.adminToken, body: { reason: 'test' } })).status).toBe(200);
    expect((await route(v, 'c3')).body).toEqual({ action: 'refuse', reason: 'not_routable' });
    // Lifting the suspension does not revive the binding it ended.
    await w.api('POST', '/api/v1/accounts/c3/unsuspend', { token: w.adminToken, body: { reason: 'cleared' } });
    expect((await route(v, 'c3')).body).toEqual({ action: 'refuse', reason: 'not_routable' });
    const trail = await w.warden.db.selectFrom('audit_log').select(['decision', 'reason', 'account']).where('kind', '=', 'trace.privacy_routed').where('decision', '=', 'denied').execute();
    expect(trail.map((r) => `${r.account}:${r.reason}`).sort()).toEqual(['c1:expired', 'c1:work_ended', 'c2:work_ended', 'c3:account_suspended', 'c3:expired', 'cs1:work_ended'].sort());
  });
});
