/**
 * Attack review 8, tried again through the real gateway:
 * - an it_admin's telephony token `{"events":["scan"],"sites":["OUT-BJ-1"]}` waited in the
 *   analysts' inbox as "events: scan, sites: OUT-BJ-1" — nothing said it turns virtual numbers into
 *   real phones — and once approved it routed a Shanghai courier's binding: its sites limited nothing;
 * - the admin token (whose holder set the analysts' first passwords) asked to switch a detector off
 *   and to except an account from detection, and an analyst approved each: one person, two hands.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';
import { loginAs, staff } from './trace-setup.js';
import { manualClock } from '../../src/ops/clock.js';

const party = (i: number) => ({ name: `陈小${'一二三四'[i]}`, phone: `137000001${String(i).padStart(2, '0')}`, address: `上海市静安区南京西路${20 + i}号${i}栋101室` });
const W = 'SF5100000000001';

describe.each(testBackends())('attack review 8 (tokens, two-person asks) on %s', (backend) => {
  let w: TestWarden;
  const clock = manualClock(Date.now());
  let service = '';
  let adminTel = '';
  const tokens: Record<string, string> = {};
  const issue = (by: string, account: string, body: object) => w.api('POST', `/api/v1/accounts/${account}/tokens`, { token: by, body });
  const route = (virtual_number: string, caller: string, token: string) => w.api('POST', '/api/v1/privacy-numbers/route', { token, body: { virtual_number, caller } });
  const trail = (kind: string) => w.warden.db.selectFrom('audit_log').select(['decision', 'reason', 'detail']).where('kind', '=', kind as never).orderBy('seq').execute();

  beforeAll(async () => {
    w = await startTestWarden(backend, {
      warden: { clock },
      detectConfig: { time: { reorder_window_seconds: 0 } },
      policy: { privacy_numbers: { roles: ['courier'], pool: ['17100000000-17100000009'], expiry_hours_after_delivery: 24, max_hours: 72, cooldown_hours: 24, low_water: 0, telephony_accounts: ['tel'] } },
    });
    const services = await staff(w, [{ code: 'OUT-BJ-1', city: '北京' }, { code: 'OUT-SH-1', city: '上海' }], [['sa1', 'security_analyst', null], ['sa2', 'security_analyst', null], ['it1', 'it_admin', null], ['sh1', 'courier', 'OUT-SH-1'], ['svc', 'service', null], ['tel', 'service', null]]);
    service = services.svc!;
    adminTel = services.tel!;
    expect((await w.api('POST', '/api/v1/waybills', { token: service, body: { waybill: W, origin_site: 'OUT-SH-1', dest_site: 'OUT-SH-1', sender: party(0), recipient: party(1) } })).status).toBe(201);
    expect((await w.api('POST', '/api/v1/assignments', { token: service, body: { waybill: W, account: 'sh1', task: 'delivery' } })).status).toBeLessThan(300);
    for (const a of ['sa1', 'sa2', 'it1', 'sh1']) tokens[a] = await loginAs(w, a);
  });
  afterAll(async () => {
    await w?.dispose();
  });

  describe('a telephony token is never approved blind, and names no sites', () => {
    let virtual = '';

    it('a telephony token limited to sites is refused at issue (400, field sites), by anyone', async () => {
      for (const by of [tokens.it1!, w.adminToken]) {
        const r = await issue(by, 'tel', { events: ['scan'], sites: ['OUT-BJ-1'] });
        expect(r.status, r.text).toBe(400);
        expect(r.body.error.code).toBe('validation_failed');
        expect(r.body.error.fields[0]).toMatchObject({ field: 'sites', code: 'not_applicable' });
        expect(r.body.error.message).toMatch(/telephony token .* every site/);
      }
      // Another service account's token may still name sites.
      expect((await issue(tokens.it1!, 'svc', { events: ['scan'], sites: ['OUT-BJ-1'] })).status).toBe(201);
    });

    it('the inbox and the token list say why each token waits: telephony, grants work', async () => {
      const tel = await issue(tokens.it1!, 'tel', { events: ['scan'] });
      expect(tel.status, tel.text).toBe(201);
      expect(tel.body).toMatchObject({ approval: 'pending', needs_approval_because: ['telephony'] });
      const work = await issue(tokens.it1!, 'svc', { events: ['assign'] });
      expect(work.body).toMatchObject({ approval: 'pending', needs_approval_because: ['grants_work'] });
      const pending = (await w.api('GET', '/api/v1/service-tokens/pending', { token: tokens.sa1 })).body.tokens as Array<{ id: string; needs_approval_because: string[] }>;
      expect(pending.find((t) => t.id === tel.body.id)?.needs_approval_because).toEqual(['telephony']);
      expect(pending.find((t) => t.id === work.body.id)?.needs_approval_because).toEqual(['grants_work']);
      const listed = (await w.api('GET', '/api/v1/accounts/tel/tokens', { token: tokens.it1 })).body.tokens as Array<{ id: string; needs_approval_because: string[] }>;
      expect(listed.find((t) => t.id === tel.body.id)?.needs_approval_because).toEqual(['telephony']);
      const scanOnly = (await w.api('GET', '/api/v1/accounts/svc/tokens', { token: tokens.it1 })).body.tokens as Array<{ registration: { events: string[] }; needs_approval_because: string[] }>;
      expect(scanOnly.find((t) => t.registration.events.join() === 'scan')?.needs_approval_because).toEqual([]);
      // The answer to the approval says it too.
      const approved = await w.api('POST', `/api/v1/accounts/tel/tokens/${tel.body.id}/approve`, { token: tokens.sa1 });
      expect(approved.status, approved.text).toBe(200);
      expect(approved.body).toMatchObject({ approval: 'approved', needs_approval_because: ['telephony'] });
    });

    it('a site-limited telephony token from before the fix, approved, routes nothing (403, audited); an unlimited one connects', async () => {
      virtual = (await w.api('POST', `/api/v1/waybills/${W}/reveal`, { token: tokens.sh1, body: { fields: ['recipient.phone'], purpose: 'delivery' } })).body.values['recipient.phone'];
      expect(virtual).toMatch(/^171/);
      const asked = await issue(tokens.it1!, 'tel', { events: ['scan'] });
      // What a live server may hold: a telephony token registered for Beijing only, then approved.
      // (Sealed as the upgrade to the credential seal seals rows of before: migration 0024.)
      const old = await w.warden.db.selectFrom('service_tokens').select(['id', 'token_hash', 'account']).where('id', '=', asked.body.id).executeTakeFirstOrThrow();
      const registration = JSON.stringify({ ...asked.body.registration, sites: ['OUT-BJ-1'] });
      await w.warden.db.updateTable('service_tokens').set({ registration, credential_seal: w.warden.keyring.credentialSeal.seal('service_token', { ...old, registration }) }).where('id', '=', asked.body.id).execute();
      expect((await w.api('POST', `/api/v1/accounts/tel/tokens/${asked.body.id}/approve`, { token: tokens.sa2 })).status).toBe(200);
      const r = await route(virtual, 'sh1', asked.body.token);
      expect(r.status, r.text).toBe(403);
      expect(r.body.error.code).toBe('forbidden');
      expect(r.text).not.toContain(party(1).phone);
      expect((await trail('trace.privacy_routed')).at(-1)).toMatchObject({ decision: 'denied', reason: 'token_site_limited', detail: { token_id: asked.body.id } });
      const ok = await route(virtual, 'sh1', adminTel);
      expect(ok.status, ok.text).toBe(200);
      expect(ok.body).toMatchObject({ action: 'connect', number: party(1).phone });
    });
  });

  describe('the admin token is never the first person of a two-analyst change', () => {
    const until = () => new Date(clock.now() + 7 * 86_400_000).toISOString();

    it('asking for a detector settings change with the admin token is 403, audited as denied; nothing waits', async () => {
      const r = await w.api('PUT', '/api/v1/detectors/search_harvest', { token: w.adminToken, body: { settings: { enabled: false }, reason: 'too noisy' } });
      expect(r.status, r.text).toBe(403);
      expect(r.body.error.code).toBe('forbidden');
      expect(r.body.error.message).toMatch(/admin token may not ask/);
      expect((await trail('detect.settings_requested')).at(-1)).toMatchObject({ decision: 'denied', reason: 'forbidden', detail: { detector: 'search_harvest', actor: 'admin' } });
      const list = (await w.api('GET', '/api/v1/detectors', { token: tokens.sa1 })).body;
      const detectors = (Array.isArray(list) ? list : list.detectors) as Array<{ name: string; request: unknown }>;
      expect(detectors.find((d) => d.name === 'search_harvest')?.request).toBeNull();
      expect((await w.api('POST', '/api/v1/detectors/search_harvest/approve', { token: tokens.sa1, body: { requested_at: new Date(clock.now()).toISOString() } })).status).toBe(404);
      // An analyst's own account still asks; a second analyst approves.
      const asked = await w.api('PUT', '/api/v1/detectors/search_harvest', { token: tokens.sa1, body: { settings: { enabled: false }, reason: 'too noisy' } });
      expect(asked.status, asked.text).toBe(200);
      expect((await w.api('POST', '/api/v1/detectors/search_harvest/approve', { token: tokens.sa2, body: { requested_at: asked.body.requested_at } })).status).toBe(200);
    });

    it('asking for a detection exception with the admin token is 403, audited as denied; nothing waits', async () => {
      const body = { kind: 'account', value: 'sh1', until: until(), reason: 'field audit, ticket 7' };
      const r = await w.api('POST', '/api/v1/exceptions', { token: w.adminToken, body });
      expect(r.status, r.text).toBe(403);
      expect(r.body.error.code).toBe('forbidden');
      expect(r.body.error.message).toMatch(/admin token may not ask/);
      expect((await trail('watch.exception_added')).at(-1)).toMatchObject({ decision: 'denied', reason: 'forbidden', detail: { actor: 'admin' } });
      expect((await w.api('GET', '/api/v1/exceptions', { token: tokens.sa1 })).body.exceptions).toEqual([]);
      const asked = await w.api('POST', '/api/v1/exceptions', { token: tokens.sa1, body });
      expect(asked.status, asked.text).toBe(201);
      expect((await w.api('POST', `/api/v1/exceptions/${asked.body.id}/approve`, { token: tokens.sa2 })).status).toBe(200);
    });
  });
});
