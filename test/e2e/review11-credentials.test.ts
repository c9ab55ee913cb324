/**
 * Attack review 11, tried again through the HTTP API on every backend.
 * dba11 (the database owner, psql on the store, no master key):
 * (1) `update accounts set password_hash = <scrypt of his own password>, mfa_secret = null` logged
 *     in as anyone, without the second factor (and so passed a step-up response, f4). The account's
 *     credentials are sealed (src/identity/credential-seal.ts): the login is refused (409
 *     `record_integrity`, audited), whatever was typed; put back, the owner logs in again. A seal
 *     replayed from before enrolment with the factor nulled is refused too (the trail says enrolled).
 * (2) a session row INSERTed with his own token's SHA-256 (mfa true), or a service token's hash
 *     rewritten to his own, authenticated as that principal: refused now (409 `record_integrity`,
 *     audited as `auth.record_integrity` with the account and the row), and a session's mfa flag
 *     rewritten too.
 * priv11 f3/f3b (an it_admin): enrolled the second factor of a privileged account he created while
 * it was pending, then held it once an honest analyst approved. Refused now (pending included);
 * the admin token still enrols, and approval drops a factor an account enrolled before.
 * Each hole: refused now, and the legitimate flow still allowed.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { Secret, TOTP } from 'otpauth';
import { testBackends } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';
import { approveAccount } from '../support/approve.js';
import { hashPassword } from '../../src/vault/crypto.js';
import { createCredentialSeal, resealCredentials, sealLegacyCredentials } from '../../src/identity/credential-seal.js';
import { masterKeyFrom } from '../../src/vault/keyring.js';
import { randomBytes } from 'node:crypto';
import { people, password } from './puppet-setup.js';
import { reconcileState } from '../../src/audit/reconcile/index.js';

const sha256 = (s: string) => createHash('sha256').update(s).digest();

describe.each(testBackends())('attack review 11: credentials against a rewritten store, and the it_admin\'s privileged accounts, on %s', (backend) => {
  let w: TestWarden;
  const { tokens, login, create, analystsAndItAdmin } = people(() => w);
  const db = () => w.warden.db;
  const dba = (statement: ReturnType<typeof sql>) => statement.execute(db());
  // One device per account (its credential kept): the daily limit of new devices stays out of the way.
  const devices: Record<string, string> = {};
  const signIn = async (account: string, pw: string, otp?: string) => {
    const r = await w.api('POST', '/api/v1/sessions', { body: { account, password: pw, device: `${account}-laptop2`, ...(devices[account] ? { device_credential: devices[account] } : {}), ...(otp ? { otp } : {}) } });
    if (r.body?.device_credential) devices[account] = r.body.device_credential;
    if (r.status === 201) {
      const row = await db().selectFrom('sessions').select('id').where('token_hash', '=', sha256(r.body.token)).executeTakeFirstOrThrow();
      r.body.session = row.id;
    }
    return r;
  };
  const readAccount = (token: string) => w.api('GET', '/api/v1/accounts/c1', { token });
  const integrityRefusal = (r: { status: number; body: any; text: string }) => {
    expect(r.status, r.text).toBe(409);
    expect(r.body.error.code).toBe('record_integrity');
    expect(r.text).not.toContain('scrypt');
  };
  const lastEntry = (kind: string) => db().selectFrom('audit_log').select(['account', 'decision', 'reason', 'detail', 'session']).where('kind', '=', kind).orderBy('seq', 'desc').executeTakeFirstOrThrow();
  let svcToken = '';
  let svcTokenId = '';

  beforeAll(async () => {
    w = await startTestWarden(backend, { approvals: 'manual', config: { detect: false } });
    await analystsAndItAdmin();
    expect((await w.api('POST', '/api/v1/sites', { token: w.adminToken, body: { code: 'OUT-1', kind: 'outlet', city: '上海' } })).status).toBe(201);
    await create(w.adminToken, 'c1', 'courier', 'OUT-1');
    await create(w.adminToken, 'svc', 'service');
    const t = await w.api('POST', '/api/v1/accounts/svc/tokens', { token: w.adminToken });
    expect(t.status, t.text).toBe(201);
    svcToken = t.body.token;
    svcTokenId = t.body.id;
  });
  afterAll(() => w?.dispose());

  describe('dba11 f1/f4: password hash and second factor rewritten', () => {
    it('allowed: the owner logs in with the password Warden sealed', async () => {
      expect((await signIn('sa2', password('sa2'))).status).toBe(201);
    });

    it('denied: a plain scrypt hash of the DBA\'s password is refused (409 record_integrity, audited); put back, the owner logs in', async () => {
      const saved = await db().selectFrom('accounts').select(['password_hash']).where('id', '=', 'sa2').executeTakeFirstOrThrow();
      await dba(sql`update accounts set password_hash = ${await hashPassword('dba-chosen')}, mfa_secret = null where id = 'sa2'`);
      integrityRefusal(await signIn('sa2', 'dba-chosen'));
      const entry = await lastEntry('auth.login');
      expect(entry).toMatchObject({ account: 'sa2', decision: 'denied', reason: 'record_integrity' });
      expect(entry.detail).toMatchObject({ integrity: 'account_mismatch' });
      // The owner's own password does not pass either while the row is changed: fail closed.
      integrityRefusal(await signIn('sa2', password('sa2')));
      await dba(sql`update accounts set password_hash = ${saved.password_hash} where id = 'sa2'`);
      expect((await signIn('sa2', password('sa2'))).status).toBe(201);
    });

    it('denied: the second factor nulled for a password-only login (f4, the step-up escape); put back, the code is asked for again', async () => {
      const beforeEnrolment = await db().selectFrom('accounts').select(['credential_seal']).where('id', '=', 'c1').executeTakeFirstOrThrow();
      const r = await w.api('POST', '/api/v1/accounts/c1/mfa', { token: w.adminToken });
      expect(r.status, r.text).toBe(201);
      const totp = new TOTP({ secret: Secret.fromBase32(r.body.secret), digits: 6, period: 30 });
      expect((await signIn('c1', password('c1'))).body.error.code).toBe('otp_required');
      const saved = await db().selectFrom('accounts').select(['mfa_secret']).where('id', '=', 'c1').executeTakeFirstOrThrow();
      await dba(sql`update accounts set mfa_secret = null where id = 'c1'`);
      integrityRefusal(await signIn('c1', password('c1')));
      // `warden audit reconcile` names it too: the trail enrolled a factor the row lacks.
      expect((await reconcileState(db())).findings.filter((f) => f.table === 'accounts' && f.key === 'c1').map((f) => f.problem)).toEqual(['second factor: the trail enrolled one, the row has none']);
      // Another account's secret copied in fails too.
      const other = await w.api('POST', '/api/v1/accounts/sa2/mfa', { token: w.adminToken });
      expect(other.status).toBe(201);
      await dba(sql`update accounts set mfa_secret = (select mfa_secret from accounts where id = 'sa2') where id = 'c1'`);
      integrityRefusal(await signIn('c1', password('c1'), new TOTP({ secret: Secret.fromBase32(other.body.secret), digits: 6, period: 30 }).generate()));
      // The row as it was before enrolment, its seal replayed: the trail says the account has a factor.
      const sealNow = await db().selectFrom('accounts').select(['credential_seal']).where('id', '=', 'c1').executeTakeFirstOrThrow();
      await dba(sql`update accounts set mfa_secret = null, credential_seal = ${beforeEnrolment.credential_seal} where id = 'c1'`);
      integrityRefusal(await signIn('c1', password('c1')));
      expect((await lastEntry('auth.login')).detail).toMatchObject({ integrity: 'mfa_removed' });
      await dba(sql`update accounts set mfa_secret = ${saved.mfa_secret}, credential_seal = ${sealNow.credential_seal} where id = 'c1'`);
      expect((await signIn('c1', password('c1'))).body.error.code).toBe('otp_required');
      const ok = await signIn('c1', password('c1'), totp.generate());
      expect(ok.status, ok.text).toBe(201);
      expect(ok.body.mfa).toBe(true);
    });

    it('denied: a live session of a rewritten account stops authenticating (409, audited as auth.record_integrity naming the account row)', async () => {
      const s = await signIn('sa1', password('sa1'));
      expect(s.status).toBe(201);
      const saved = await db().selectFrom('accounts').select(['password_hash']).where('id', '=', 'sa1').executeTakeFirstOrThrow();
      await dba(sql`update accounts set password_hash = ${await hashPassword('dba-chosen')} where id = 'sa1'`);
      integrityRefusal(await readAccount(s.body.token));
      const entry = await lastEntry('auth.record_integrity');
      expect(entry).toMatchObject({ account: 'sa1', decision: 'denied', session: s.body.session });
      expect(entry.detail).toMatchObject({ row: 'account' });
      await dba(sql`update accounts set password_hash = ${saved.password_hash} where id = 'sa1'`);
      expect((await readAccount(s.body.token)).status).toBe(200);
    });
  });

  describe('dba11 f7/f6: sessions and service tokens minted or hijacked in the store', () => {
    it('denied: a session row INSERTed with the DBA\'s own token (mfa true) authenticates as nobody; a Warden session does', async () => {
      const real = await signIn('sa1', password('sa1'));
      expect((await readAccount(real.body.token)).status).toBe(200);
      const minted = 'wdn_s_dba-minted-session-0001';
      await dba(sql`insert into sessions (id, token_hash, account, device, ip, app_hash, mfa, created_at, expires_at, revoked_at, revoked_reason)
        values ('dba-session-1', ${sha256(minted)}, 'sa1', ${real.body.device_id}, null, null, true, now(), now() + interval '1 hour', null, null)`);
      integrityRefusal(await readAccount(minted));
      const entry = await lastEntry('auth.record_integrity');
      expect(entry).toMatchObject({ account: 'sa1', decision: 'denied', session: 'dba-session-1' });
      expect(entry.detail).toMatchObject({ row: 'session' });
      expect(JSON.stringify(entry)).not.toContain(minted);
      // A Warden session's row copied with the DBA's hash (its seal with it) fails too.
      await dba(sql`update sessions set credential_seal = (select credential_seal from sessions where id = ${real.body.session}) where id = 'dba-session-1'`);
      integrityRefusal(await readAccount(minted));
    });

    it('denied: a session\'s mfa flag, or its account, rewritten', async () => {
      const s = await signIn('it1', password('it1'));
      expect(s.status).toBe(201);
      await dba(sql`update sessions set mfa = true where id = ${s.body.session}`);
      integrityRefusal(await w.api('GET', '/api/v1/accounts', { token: s.body.token }));
      await dba(sql`update sessions set mfa = false, account = 'sa1' where id = ${s.body.session}`);
      integrityRefusal(await readAccount(s.body.token));
      await dba(sql`update sessions set account = 'it1' where id = ${s.body.session}`);
      expect((await w.api('GET', '/api/v1/accounts', { token: s.body.token })).status).toBe(200);
    });

    it('denied: a service token\'s hash rewritten to the DBA\'s own token; allowed: the real token', async () => {
      const own = 'wdn_t_dba-own-token';
      const saved = await db().selectFrom('service_tokens').select(['token_hash']).where('id', '=', svcTokenId).executeTakeFirstOrThrow();
      await dba(sql`update service_tokens set token_hash = ${sha256(own)} where id = ${svcTokenId}`);
      const body = { waybill: 'SF7200000000101', origin_site: 'OUT-1', dest_site: 'OUT-1', sender: { name: '王大明', phone: '13900001111', address: '北京市朝阳区建国路88号' }, recipient: { name: '李小红', phone: '13812345678', address: '上海市浦东新区世纪大道100号' } };
      integrityRefusal(await w.api('POST', '/api/v1/waybills', { token: own, body }));
      const entry = await lastEntry('auth.record_integrity');
      expect(entry).toMatchObject({ account: 'svc', decision: 'denied' });
      expect(entry.detail).toMatchObject({ row: 'service_token', token: svcTokenId });
      expect(JSON.stringify(entry)).not.toContain('13812345678');
      await dba(sql`update service_tokens set token_hash = ${saved.token_hash} where id = ${svcTokenId}`);
      const ok = await w.api('POST', '/api/v1/waybills', { token: svcToken, body });
      expect(ok.status, ok.text).toBe(201);
    });

    it('denied: a service token re-pointed to another account, or given wider events', async () => {
      await create(w.adminToken, 'svc2', 'service');
      const t = await w.api('POST', '/api/v1/accounts/svc2/tokens', { token: w.adminToken, body: { events: ['scan'] } });
      expect(t.status, t.text).toBe(201);
      await dba(sql`update service_tokens set registration = '{"events":["assign","ticket","scan"]}'::jsonb where id = ${t.body.id}`);
      integrityRefusal(await w.api('GET', '/api/v1/accounts/svc2/tokens', { token: t.body.token }));
      await dba(sql`update service_tokens set registration = ${JSON.stringify({ events: ['scan'] })}::jsonb, account = 'svc' where id = ${t.body.id}`);
      integrityRefusal(await w.api('GET', '/api/v1/accounts/svc2/tokens', { token: t.body.token }));
    });
  });

  describe('priv11 f3/f3b: the it_admin and the second factor of a privileged account', () => {
    it('denied: an it_admin enrols the factor of a manager or analyst it created, pending (audited); allowed: the admin token, and an it_admin for a courier', async () => {
      for (const id of ['it1', 'sa1']) await login(id);
      await create('it1', 'mgr1', 'manager', 'OUT-1');
      await create('it1', 'sec-p1', 'security_analyst');
      for (const id of ['mgr1', 'sec-p1']) {
        const r = await w.api('POST', `/api/v1/accounts/${id}/mfa`, { token: tokens.it1 });
        expect(r.status, r.text).toBe(403);
        expect(r.text).not.toContain('secret"');
        expect(await lastEntry('admin.mfa_enrolled')).toMatchObject({ account: id, decision: 'denied', reason: 'privileged_account' });
      }
      await create('it1', 'cx', 'courier', 'OUT-1');
      expect((await w.api('POST', '/api/v1/accounts/cx/mfa', { token: tokens.it1 })).status).toBe(201);
      const byAdmin = await w.api('POST', '/api/v1/accounts/mgr1/mfa', { token: w.adminToken });
      expect(byAdmin.status, byAdmin.text).toBe(201);
      const approved = await approveAccount(w, 'mgr1', tokens.sa1);
      expect(approved.status).toBe(200);
      // The factor the admin token enrolled survives approval: the owner logs in with it, and with the
      // initial password the approval issued (the it_admin's is discarded: review11-first-password).
      const view = await w.api('GET', '/api/v1/accounts/mgr1', { token: tokens.sa1 });
      expect(view.body.mfa_enrolled).toBe(true);
      expect((await signIn('mgr1', password('mgr1'))).status).toBe(401);
      const ok = await signIn('mgr1', approved.body.initial_password, new TOTP({ secret: Secret.fromBase32(byAdmin.body.secret), digits: 6, period: 30 }).generate());
      expect(ok.status, ok.text).toBe(201);
    });

    it('denied: a promotion requested for an account whose factor an it_admin enrolled drops that factor at approval (audited)', async () => {
      // cx: a courier it1 created and whose factor it1 enrolled; it1 asks for its promotion to manager.
      const p = await w.api('PATCH', '/api/v1/accounts/cx', { token: tokens.it1, body: { role: 'manager' } });
      expect(p.status, p.text).toBe(200);
      expect((await w.api('POST', '/api/v1/accounts/cx/mfa', { token: tokens.it1 })).status).toBe(403);
      const ok = await approveAccount(w, 'cx', tokens.sa1);
      expect(ok.status, ok.text).toBe(200);
      expect(ok.body.mfa_enrolled).toBe(false);
      expect((await lastEntry('admin.account_approved')).detail).toMatchObject({ mfa_cleared: true, initial_password_issued: true });
      // The owner's factor is the admin token's to enrol now.
      expect((await w.api('POST', '/api/v1/accounts/cx/mfa', { token: tokens.it1 })).status).toBe(403);
      expect((await w.api('POST', '/api/v1/accounts/cx/mfa', { token: w.adminToken })).status).toBe(201);
    });
  });

  it('rows written before the seal are sealed once at start (audited with the counts); a seal removed later is never sealed again', async () => {
    // As migration 0024 leaves an existing store: rows unsealed, the count recorded.
    const before = await db().selectFrom('accounts').select(['credential_seal']).where('id', '=', 'c1').executeTakeFirstOrThrow();
    await dba(sql`update accounts set credential_seal = null where id = 'it1'`);
    await dba(sql`update credential_seal_upgrade set legacy = 1`);
    integrityRefusal(await signIn('it1', password('it1')));
    const seal = w.warden.keyring.credentialSeal;
    expect(await sealLegacyCredentials({ db: db(), seal, audit: w.warden.audit, now: new Date() })).toEqual({ accounts: 1, serviceTokens: 0 });
    const sealed = await db().selectFrom('audit_log').select(['detail']).where('kind', '=', 'auth.credentials_sealed').execute();
    expect(sealed).toHaveLength(1);
    expect(sealed[0]!.detail).toMatchObject({ accounts: 1, service_tokens: 0, migrated_rows: 1 });
    expect((await signIn('it1', password('it1'))).status).toBe(201);
    expect((await db().selectFrom('accounts').select(['credential_seal']).where('id', '=', 'c1').executeTakeFirstOrThrow()).credential_seal).toEqual(before.credential_seal);

    // The DBA tries again: a hash of his own with no seal, the count reset. Nothing is sealed.
    await dba(sql`update accounts set password_hash = ${await hashPassword('dba-chosen')}, credential_seal = null where id = 'it1'`);
    await dba(sql`update credential_seal_upgrade set legacy = 5`);
    expect(await sealLegacyCredentials({ db: db(), seal, audit: w.warden.audit, now: new Date() })).toBeNull();
    integrityRefusal(await signIn('it1', 'dba-chosen'));
    expect((await w.warden.trail.verify()).ok).toBe(true);
  });
  // Last: the rows end up sealed under a key this server does not hold.
  it('a master-key change: seals under the previous key still verify, the rotation re-seals them under the new one; a broken seal stays broken (counted)', async () => {
    const previous = masterKeyFrom(Buffer.from(w.masterKey, 'base64'));
    const next = masterKeyFrom(randomBytes(32));
    const both = createCredentialSeal([next, previous]);
    await dba(sql`update accounts set password_hash = ${await hashPassword('dba-chosen')} where id = 'svc2'`);
    const report = await resealCredentials(db(), both);
    // svc2's account row rewritten here, the session minted and svc2's token rewritten above.
    expect(report.broken).toBe(3);
    expect(report.resealed).toBeGreaterThan(5);
    const rows = await db().selectFrom('accounts').select(['id', 'password_hash', 'mfa_secret', 'credential_seal']).execute();
    for (const r of rows) {
      if (r.credential_seal === null) {
        expect(r.id).toBe('it1'); // left unsealed by the test above: never sealed again
        continue;
      }
      if (r.id === 'svc2') {
        expect(both.check('account', r, r.credential_seal)).toBe(false);
        continue;
      }
      expect(both.keyIdOf(r.credential_seal)).toBe(next.id);
      expect(createCredentialSeal([next]).check('account', r, r.credential_seal)).toBe(true);
    }
    const tokensRows = await db().selectFrom('service_tokens').select(['id', 'token_hash', 'account', 'registration', 'credential_seal']).where('id', '=', svcTokenId).execute();
    expect(createCredentialSeal([next]).check('service_token', tokensRows[0]!, tokensRows[0]!.credential_seal)).toBe(true);
  });

});
