/**
 * Issue 7, tried again through the HTTP API on every backend: the holes in login.
 *
 * - Hole 2: TOTP could be skipped. Enrolled means required, and a code is accepted once (also
 *   when the same code arrives twice at the same moment).
 * - Hole 8: the device was a name the client chose. Now the server enrols devices and issues a
 *   credential; sessions are bound to the enrolled device; new devices per account per day are
 *   bounded; another account's device name locks nobody out.
 * - Hole 13: a failed login stored whatever was typed as the account (it may be a password).
 *
 * Detection is off: this file fails logins on purpose (watch.test.ts covers responses).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Secret, TOTP } from 'otpauth';
import { testBackends } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';
import { manualClock } from '../../src/ops/clock.js';

const PARTY = { name: '王小明', phone: '13900001111', address: '北京市朝阳区建国路88号3号楼2单元501室' };
/** One parcel per courier that reveals: reassigning a parcel ends the previous holder's basis. */
const WB: Record<string, string> = { m1: 'SF500000000001', a1: 'SF500000000002', b1: 'SF500000000003', r1: 'SF500000000004' };
const password = (id: string) => `pw-${id}-secret`;
const POLICY = { quotas: { courier: { account: { per_minute: 100, per_hour: 1000, per_day: 4000 }, device: { per_minute: 2 }, site: { per_minute: 1000 } } } };

describe.each(testBackends())('login holes on %s', (backend) => {
  const clock = manualClock('2026-03-02T01:00:00Z');
  let w: TestWarden;
  let service = '';

  /** A raw login: no remembered credential unless given. */
  const login = (account: string, extra: Record<string, unknown> = {}) =>
    w.api('POST', '/api/v1/sessions', { body: { account, password: password(account), device: `${account}-pda`, device_credential: undefined, ...extra } });
  /** A reveal of the parcel assigned to `courier`, by whoever holds the token. */
  const reveal = (token: string, courier: string) => w.api('POST', `/api/v1/waybills/${WB[courier]}/reveal`, { token, body: { fields: ['recipient.phone'], purpose: 'delivery' } });
  const audited = (account: string, kind = 'auth.login') =>
    w.warden.db.selectFrom('audit_log').select(['decision', 'reason', 'device', 'detail']).where('kind', '=', kind).where('account', '=', account).orderBy('seq').execute();

  beforeAll(async () => {
    w = await startTestWarden(backend, { warden: { clock }, policy: POLICY, config: { detect: false } });
    const admin = w.adminToken;
    expect((await w.api('POST', '/api/v1/sites', { token: admin, body: { code: 'OUT-1', kind: 'outlet', city: '北京' } })).status).toBe(201);
    for (const id of ['m1', 'm2', 'm3', 'd1', 'd2', 'd3', 'd4', 'a1', 'b1', 'r1', 'r2', 'q1']) {
      expect((await w.api('POST', '/api/v1/accounts', { token: admin, body: { id, role: 'courier', site: 'OUT-1', password: password(id) } })).status).toBe(201);
    }
    expect((await w.api('POST', '/api/v1/accounts', { token: admin, body: { id: 'it1', role: 'it_admin', site: null, password: password('it1') } })).status).toBe(201);
    expect((await w.api('POST', '/api/v1/accounts', { token: admin, body: { id: 'svc', role: 'service', site: null } })).status).toBe(201);
    service = (await w.api('POST', '/api/v1/accounts/svc/tokens', { token: admin })).body.token;
    for (const [a, waybill] of Object.entries(WB)) {
      expect((await w.api('POST', '/api/v1/waybills', { token: service, body: { waybill, origin_site: 'OUT-1', dest_site: 'OUT-1', sender: PARTY, recipient: PARTY } })).status).toBe(201);
      expect((await w.api('POST', '/api/v1/assignments', { token: service, body: { waybill, account: a, task: 'delivery' } })).status).toBe(201);
    }
  });
  afterAll(async () => {
    await w?.dispose();
  });

  describe('hole 2: a second factor, once enrolled, is required and each code works once', () => {
    let totp: TOTP;
    const enrol = async (account: string) => {
      const r = await w.api('POST', `/api/v1/accounts/${account}/mfa`, { token: w.adminToken });
      expect(r.status, r.text).toBe(201);
      return new TOTP({ secret: Secret.fromBase32(r.body.secret), digits: 6, period: 30 });
    };
    /**
     * Codes are checked on the wall clock, not the server's (attack review 10): the wall clock is
     * faked here (Date only, still running) and moved a step forward, with the server's clock.
     */
    const nextStep = () => {
      clock.advance(30_000);
      vi.setSystemTime(Date.now() + 30_000);
    };
    beforeAll(async () => {
      vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true, now: Date.now() });
      totp = await enrol('m1');
    });
    afterAll(() => {
      vi.useRealTimers();
    });

    it('refuses a password-only login of an enrolled account (401 otp_required, audited, no session)', async () => {
      const r = await login('m1');
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe('otp_required');
      expect(r.body.token).toBeUndefined();
      expect((await audited('m1')).at(-1)).toMatchObject({ decision: 'denied', reason: 'otp_required' });
      const sessions = await w.warden.db.selectFrom('sessions').select('id').where('account', '=', 'm1').execute();
      expect(sessions).toEqual([]);
    });

    it('accepts the current code, and the session reveals', async () => {
      nextStep();
      const r = await login('m1', { otp: totp.generate({ timestamp: Date.now() }) });
      expect(r.status, r.text).toBe(201);
      expect(r.body.mfa).toBe(true);
      expect((await reveal(r.body.token, 'm1')).status).toBe(200);
    });

    it('refuses the same code again within its window, and an older one; the next step\'s code works', async () => {
      nextStep();
      const code = totp.generate({ timestamp: Date.now() });
      const first = await login('m1', { otp: code });
      expect(first.status, first.text).toBe(201);
      const replay = await login('m1', { otp: code });
      expect(replay.status).toBe(401);
      expect(replay.body.error.code).toBe('invalid_credentials');
      expect(replay.body.error.message).toMatch(/already used/);
      const older = await login('m1', { otp: totp.generate({ timestamp: Date.now() - 30_000 }) });
      expect(older.status).toBe(401);
      expect((await audited('m1')).slice(-2).map((e) => e.reason)).toEqual(['otp_replayed', 'otp_replayed']);
      nextStep();
      expect((await login('m1', { otp: totp.generate({ timestamp: Date.now() }) })).status).toBe(201);
    });

    it('of the same code sent by several logins at once, exactly one succeeds', async () => {
      const t = await enrol('m2');
      nextStep();
      const code = t.generate({ timestamp: Date.now() });
      const results = await Promise.all(Array.from({ length: 4 }, (_, i) => login('m2', { otp: code, device: `m2-pda-${i}` })));
      expect(results.map((r) => r.status).sort()).toEqual([201, 401, 401, 401]);
      const live = await w.warden.db.selectFrom('sessions').select('id').where('account', '=', 'm2').execute();
      expect(live).toHaveLength(1);
    });

    it('counts a missing code as a failed login for throttling', async () => {
      await enrol('m3');
      for (let i = 0; i < 5; i++) expect((await login('m3')).body.error.code).toBe('otp_required');
      const locked = await login('m3');
      expect(locked.status).toBe(429);
      expect(locked.body.error.code).toBe('login_throttled');
    });

    it('an account without a second factor still logs in with its password alone', async () => {
      expect((await login('q1')).status).toBe(201);
    });
  });

  describe('hole 8: devices are enrolled by the server, not named by the client', () => {
    it('a first login enrols the device and returns its credential once; the store keeps only a hash', async () => {
      const r = await login('d1');
      expect(r.status, r.text).toBe(201);
      expect(r.body.device_id).toMatch(/^dev_/);
      expect(r.body.device_credential).toMatch(/^wdn_d_/);
      const again = await login('d1', { device_credential: r.body.device_credential });
      expect(again.status).toBe(201);
      expect(again.body.device_id).toBe(r.body.device_id);
      expect(again.body.device_credential).toBeUndefined();
      const row = await w.warden.db.selectFrom('devices').selectAll().where('id', '=', r.body.device_id).executeTakeFirstOrThrow();
      expect(row.label).toBe('d1-pda');
      expect(Buffer.from(row.credential_hash).toString('utf8')).not.toContain(r.body.device_credential);
      expect(Buffer.from(row.credential_hash)).toHaveLength(32);
      expect((await audited('d1', 'auth.device_enrolled')).map((e) => e.device)).toEqual([r.body.device_id]);
    });

    it('a credential is the device for any account that presents it (a shared terminal)', async () => {
      const a = await login('d2', { device: 'counter-terminal' });
      const b = await login('d3', { device: 'counter-terminal', device_credential: a.body.device_credential });
      expect(b.status, b.text).toBe(201);
      expect(b.body.device_id).toBe(a.body.device_id);
      expect(b.body.device_credential).toBeUndefined();
    });

    it('refuses a credential Warden never issued (401 invalid_device_credential, audited)', async () => {
      const r = await login('d2', { device_credential: 'wdn_d_' + 'A'.repeat(43) });
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe('invalid_device_credential');
      expect((await audited('d2')).at(-1)).toMatchObject({ decision: 'denied', reason: 'device_unknown' });
    });

    it('binds the session to the enrolled device: the trail records the device id, not the name', async () => {
      const r = await login('a1', { device: 'a1-pda' });
      expect((await reveal(r.body.token, 'a1')).status).toBe(200);
      const entry = await w.warden.db.selectFrom('audit_log').select('device').where('kind', '=', 'access.reveal').where('account', '=', 'a1').orderBy('seq', 'desc').executeTakeFirstOrThrow();
      expect(entry.device).toBe(r.body.device_id);
    });

    it('picking another account\'s device name shares nothing with it: its device quota is not touched', async () => {
      const owner = await login('a1', { device: 'a1-pda' });
      const intruder = await login('b1', { device: 'a1-pda' });
      expect(intruder.body.device_id).not.toBe(owner.body.device_id);
      // b1 uses up its own device's quota (2 a minute) ...
      expect((await reveal(intruder.body.token, 'b1')).status).toBe(200);
      expect((await reveal(intruder.body.token, 'b1')).status).toBe(200);
      const third = await reveal(intruder.body.token, 'b1');
      expect(third.status).toBe(403);
      expect(third.body.error.code).toBe('quota_exceeded');
      // ... and a1, on the device it enrolled under that name, is not locked out (same minute).
      const again = await login('a1', { device: 'a1-pda', device_credential: owner.body.device_credential });
      expect((await reveal(again.body.token, 'a1')).status).toBe(200);
    });

    it('bounds new devices per account per day: the 4th enrolment in 24 h is refused (429 device_limit, audited); enrolled devices keep working', async () => {
      const first = await login('d4', { device: 'd4-a' });
      expect((await login('d4', { device: 'd4-b' })).status).toBe(201);
      expect((await login('d4', { device: 'd4-c' })).status).toBe(201);
      const fourth = await login('d4', { device: 'd4-d' });
      expect(fourth.status).toBe(429);
      expect(fourth.body.error.code).toBe('device_limit');
      expect(Number(fourth.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await audited('d4')).at(-1)).toMatchObject({ decision: 'denied', reason: 'device_limit' });
      expect(await w.warden.db.selectFrom('devices').select('id').where('enrolled_by', '=', 'd4').execute()).toHaveLength(3);
      expect((await login('d4', { device: 'd4-a', device_credential: first.body.device_credential })).status).toBe(201);
      clock.advance(24 * 3_600_000);
      expect((await login('d4', { device: 'd4-d' })).status).toBe(201);
    });

    it('a revoked device ends its sessions and its credential is refused; a courier may not revoke, nor anyone their own', async () => {
      const r1 = await login('r1', { device: 'r1-pda' });
      const it1 = await login('it1', { device: 'it-desk' });
      expect((await reveal(r1.body.token, 'r1')).status).toBe(200);
      const path = `/api/v1/accounts/r1/devices/${r1.body.device_id}`;
      const byCourier = await w.api('DELETE', path, { token: (await login('r2')).body.token });
      expect(byCourier.status).toBe(403);
      const own = await w.api('DELETE', `/api/v1/accounts/it1/devices/${it1.body.device_id}`, { token: it1.body.token });
      expect(own.status).toBe(403);
      expect(own.body.error.code).toBe('self_action');
      const revoked = await w.api('DELETE', path, { token: it1.body.token });
      expect(revoked.status, revoked.text).toBe(200);
      expect(revoked.body.revoked_by).toBe('it1');
      expect((await reveal(r1.body.token, 'r1')).status).toBe(401);
      const relog = await login('r1', { device: 'r1-pda', device_credential: r1.body.device_credential });
      expect(relog.status).toBe(401);
      expect(relog.body.error.code).toBe('invalid_device_credential');
      expect((await audited('r1')).at(-1)).toMatchObject({ decision: 'denied', reason: 'device_revoked', device: r1.body.device_id });
      const entry = await w.warden.db.selectFrom('audit_log').select(['device', 'detail']).where('kind', '=', 'admin.device_revoked').where('account', '=', 'r1').executeTakeFirstOrThrow();
      expect(entry.device).toBe(r1.body.device_id);
      expect(JSON.stringify(entry.detail)).toContain('"actor":"it1"');
      expect((await w.api('DELETE', path, { token: it1.body.token })).status).toBe(409);
    });
  });

  describe('hole 13: a failed login never stores what was typed as the account', () => {
    const typed = 'Hunter2-Pa55word!';
    it('records a keyed tag that correlates repeated attempts, never the text (audit, logs, metrics)', async () => {
      for (let i = 0; i < 2; i++) {
        const r = await w.api('POST', '/api/v1/sessions', { body: { account: typed, password: 'whatever-1', device: 'kiosk' } });
        expect(r.status).toBe(401);
        expect(r.text).not.toContain(typed);
      }
      const other = await w.api('POST', '/api/v1/sessions', { body: { account: 'someone-else', password: 'whatever-1', device: 'kiosk' } });
      expect(other.status).toBe(401);
      const rows = await w.warden.db.selectFrom('audit_log').selectAll().where('kind', '=', 'auth.login').where('account', 'like', 'unknown:%').orderBy('seq').execute();
      const tags = rows.map((r) => r.account);
      expect(tags).toHaveLength(3);
      for (const t of tags) expect(t).toMatch(/^unknown:[0-9a-f]{16}$/);
      expect(tags[0]).toBe(tags[1]);
      expect(tags[2]).not.toBe(tags[0]);
      const everything = JSON.stringify(await w.warden.db.selectFrom('audit_log').selectAll().execute());
      expect(everything).not.toContain(typed);
      expect(everything).not.toContain('someone-else');
      expect(w.logs()).not.toContain(typed);
      const metrics = await w.api('GET', '/metrics');
      expect(metrics.text).not.toContain(typed);
      expect(metrics.text).toMatch(/warden_login_attempts_total\{result="invalid_credentials"\} \d+/);
    });
    it('still throttles repeated guesses on a name that does not exist', async () => {
      for (let i = 0; i < 3; i++) await w.api('POST', '/api/v1/sessions', { body: { account: typed, password: 'whatever-1', device: 'kiosk' } });
      const r = await w.api('POST', '/api/v1/sessions', { body: { account: typed, password: 'whatever-1', device: 'kiosk' } });
      expect(r.status).toBe(429);
      expect(r.body.error.code).toBe('login_throttled');
    });
  });
});
