/**
 * Attack review 11, priv11 F3/F3b, through the HTTP API on every backend: an it_admin created a
 * manager or analyst pending approval with a password it chose; once an honest analyst approved it,
 * the it_admin signed in as that account (two such analysts: one person ran the two-person rule).
 * Now the approval discards the creator's password and answers a one-time `initial_password`
 * (for the approving analyst only), ends the account's sessions and audits that one was issued.
 * The admin token's accounts (the bootstrap path) and non-privileged roles keep their password.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { testBackends } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';
import { approveAccount } from '../support/approve.js';
import { people, password } from './puppet-setup.js';

describe.each(testBackends())('attack review 11: the first password of an it_admin\'s privileged account, on %s', (backend) => {
  let w: TestWarden;
  const { tokens, login, create, analystsAndItAdmin } = people(() => w);
  const signIn = (account: string, pw: string) => w.api('POST', '/api/v1/sessions', { body: { account, password: pw, device: `${account}-desk` } });
  const lastApproval = (account: string) =>
    w.warden.db.selectFrom('audit_log').select(['decision', 'detail']).where('kind', '=', 'admin.account_approved').where('account', '=', account).orderBy('seq', 'desc').executeTakeFirstOrThrow();

  beforeAll(async () => {
    w = await startTestWarden(backend, { approvals: 'manual', config: { detect: false } });
    await analystsAndItAdmin();
    expect((await w.api('POST', '/api/v1/sites', { token: w.adminToken, body: { code: 'OUT-1', kind: 'outlet', city: '上海' } })).status).toBe(201);
  });
  afterAll(() => w?.dispose());

  it('refused now: an analyst an it_admin created signs in only with the initial password the approval issued', async () => {
    await create('it1', 'p1', 'security_analyst');
    const r = await approveAccount(w, 'p1', tokens.sa1);
    expect(r.status, r.text).toBe(200);
    expect(r.body.role).toBe('security_analyst');
    const initial: string = r.body.initial_password;
    expect(initial).toMatch(/^[A-Z2-7]{26}$/);
    expect(initial).not.toBe(password('p1'));

    // The it_admin's password is gone.
    const old = await signIn('p1', password('p1'));
    expect(old.status, old.text).toBe(401);
    // The approving analyst's one works.
    const fresh = await signIn('p1', initial);
    expect(fresh.status, fresh.text).toBe(201);

    // Audited that one was issued, never the password; shown once (the account view has none).
    const entry = await lastApproval('p1');
    expect(entry.decision).toBe('ok');
    expect(entry.detail).toMatchObject({ actor: 'sa1', initial_password_issued: true });
    expect(JSON.stringify(entry.detail)).not.toContain(initial);
    const view = await w.api('GET', '/api/v1/accounts/p1', { token: tokens.sa1 });
    expect(view.status).toBe(200);
    expect(view.body.initial_password).toBeUndefined();
    const trail = await w.warden.db.selectFrom('audit_log').select('detail').where('account', '=', 'p1').execute();
    expect(JSON.stringify(trail)).not.toContain(initial);
  });

  it('refused now: a manager an it_admin created, and a courier it created then promoted to manager; the promoted account\'s sessions end', async () => {
    await create('it1', 'm1', 'manager', 'OUT-1');
    const m = await approveAccount(w, 'm1', tokens.sa2);
    expect(m.status, m.text).toBe(200);
    expect((await signIn('m1', password('m1'))).status).toBe(401);
    expect((await signIn('m1', m.body.initial_password)).status).toBe(201);

    // A courier the it_admin created (it chose the password), promoted later.
    await create('it1', 'c3', 'courier', 'OUT-1');
    const before = await signIn('c3', password('c3'));
    expect(before.status, before.text).toBe(201);
    const ask = await w.api('PATCH', '/api/v1/accounts/c3', { token: tokens.it1, body: { role: 'manager' } });
    expect(ask.status, ask.text).toBe(200);
    const ok = await approveAccount(w, 'c3', tokens.sa1);
    expect(ok.status, ok.text).toBe(200);
    expect(typeof ok.body.initial_password).toBe('string');
    const live = await w.warden.db.selectFrom('sessions').select(['revoked_reason']).where('account', '=', 'c3').execute();
    expect(live.map((x) => x.revoked_reason)).toEqual(['initial_password']);
    expect((await w.api('DELETE', '/api/v1/sessions/current', { token: before.body.token })).status).toBe(401);
    expect((await signIn('c3', password('c3'))).status).toBe(401);
    expect((await signIn('c3', ok.body.initial_password)).status).toBe(201);
  });

  it('allowed: a courier the admin token created keeps its password when an it_admin asks to promote it (the asker never knew it)', async () => {
    await create(w.adminToken, 'c2', 'courier', 'OUT-1');
    const before = await signIn('c2', password('c2'));
    expect(before.status, before.text).toBe(201);
    expect((await w.api('PATCH', '/api/v1/accounts/c2', { token: tokens.it1, body: { role: 'manager' } })).status).toBe(200);
    const ok = await approveAccount(w, 'c2', tokens.sa1);
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body.initial_password).toBeUndefined();
    expect((await signIn('c2', password('c2'))).status).toBe(201);
  });

  it('refused: an approval over a credential row rewritten outside Warden (409 record_integrity, audited), nothing approved nor re-sealed', async () => {
    await create('it1', 'p9', 'security_analyst');
    await sql`update accounts set password_hash = password_hash || 'x' where id = 'p9'`.execute(w.warden.db);
    const r = await approveAccount(w, 'p9', tokens.sa1);
    expect(r.status, r.text).toBe(409);
    expect(r.body.error.code).toBe('record_integrity');
    expect(r.body.initial_password).toBeUndefined();
    expect(await lastApproval('p9')).toMatchObject({ decision: 'denied' });
    expect((await w.api('GET', '/api/v1/accounts/p9', { token: tokens.sa1 })).body.status).toBe('pending');
  });

  it('allowed: an analyst the admin token created (and asked for) keeps its password; no initial password', async () => {
    await create(w.adminToken, 'sa3', 'security_analyst');
    const r = await approveAccount(w, 'sa3', tokens.sa1);
    expect(r.status, r.text).toBe(200);
    expect(r.body.initial_password).toBeUndefined();
    expect((await lastApproval('sa3')).detail).not.toHaveProperty('initial_password_issued');
    await login('sa3');
  });

  it('allowed: a courier an it_admin created keeps its password (not privileged)', async () => {
    const c = await create('it1', 'c1', 'courier', 'OUT-1');
    expect(c.status).toBe('active');
    const s = await signIn('c1', password('c1'));
    expect(s.status, s.text).toBe(201);
  });
});
