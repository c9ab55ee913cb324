/**
 * Single sign-on against a real OpenID Provider on loopback: the certified `oidc-provider`
 * package, with an interaction endpoint that signs in whoever the test says (the person at the
 * provider's login page). Warden is the relying party (openid-client): authorization code +
 * PKCE, state, nonce, ID token checks, then claims → account, role and site, then identity's own
 * device-bound session.
 *
 * Refusals, each with a clear error and an audit entry: a code issued to another client (wrong
 * audience), an ID token expired by Warden's clock, a replayed callback, an unmapped group, a
 * role the provider gives that the Warden account does not have. Local passwords can be off.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startProvider, type TestProvider } from '../support/oidc-test-provider.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';

const USERS: Record<string, { preferred_username: string; groups: string[] }> = {
  'u-c1': { preferred_username: 'c1', groups: ['staff', 'couriers-out1'] },
  'u-c9': { preferred_username: 'c9', groups: ['marketing'] },
  'u-c2': { preferred_username: 'c2', groups: ['counter-out1'] },
};
const MAPPING = {
  groups: { 'couriers-out1': { role: 'courier', site: 'OUT-1' }, 'counter-out1': { role: 'outlet_staff', site: 'OUT-1' } },
  mfa_acr: ['urn:warden:mfa'],
  step_up_acr: 'urn:warden:mfa',
};

/** A browser with a cookie jar: follows the provider's redirects until it is sent to Warden's callback. */
async function browse(url: string, redirectUri: string, rewrite?: (u: URL) => void): Promise<string> {
  const jar = new Map<string, string>();
  let current = new URL(url);
  rewrite?.(current);
  for (let hop = 0; hop < 15; hop++) {
    if (current.href.startsWith(redirectUri)) return current.search;
    const res = await fetch(current, { redirect: 'manual', headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      jar.set(pair!.slice(0, i), pair!.slice(i + 1));
    }
    const loc = res.headers.get('location');
    if (!loc) throw new Error(`provider stopped at ${current.pathname} with ${res.status}: ${(await res.text()).slice(0, 300)}`);
    current = new URL(loc, current);
  }
  throw new Error('too many redirects');
}

/** The single sign-on browser-binding cookie a start answer set, as a request's Cookie header. */
const browserCookie = (headers: Headers) => headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');

async function setUpAccounts(w: TestWarden): Promise<void> {
  const admin = w.adminToken;
  expect((await w.api('POST', '/api/v1/sites', { token: admin, body: { code: 'OUT-1', kind: 'outlet', city: '北京' } })).status).toBe(201);
  for (const [id, role] of [['c1', 'courier'], ['c2', 'courier']] as const) {
    expect((await w.api('POST', '/api/v1/accounts', { token: admin, body: { id, role, site: 'OUT-1', password: `pw-${id}-secret` } })).status).toBe(201);
  }
}

describe('single sign-on through a real OpenID provider', () => {
  let w: TestWarden;
  let op: TestProvider;
  let next: TestProvider['next'];
  let redirectUri = '';
  const lastDenied = async (reason: string) =>
    w.warden.db.selectFrom('audit_log').selectAll().where('kind', '=', 'auth.login').where('decision', '=', 'denied').where('reason', '=', reason).orderBy('seq', 'desc').executeTakeFirst();

  beforeAll(async () => {
    const wardenPort = await freePort();
    redirectUri = `http://127.0.0.1:${wardenPort}/api/v1/sso/callback`;
    op = await startProvider({ port: await freePort(), redirectUri, users: USERS });
    next = op.next;
    w = await startTestWarden('pglite', {
      config: { port: wardenPort, localPasswords: false, oidcIssuer: op.issuer, oidcClientId: 'warden', oidcClientSecret: 'warden-client-secret-0123456789', oidcRedirectUri: redirectUri, oidcMapping: JSON.stringify(MAPPING), detect: false },
    });
    await setUpAccounts(w);
  }, 120_000);
  afterAll(async () => {
    await w?.dispose();
    await op?.close();
  });

  const signIn = async (opts: { stepUp?: boolean; rewrite?: (u: URL) => void; credential?: string } = {}) => {
    const start = await w.api('GET', `/api/v1/sso/start?device=pda-1&format=json${opts.stepUp ? '&step_up=true' : ''}`);
    expect(start.status).toBe(200);
    const search = await browse(start.body.url, redirectUri, opts.rewrite);
    const res = await w.api('GET', `/api/v1/sso/callback${search}`);
    return { ...res, search };
  };

  it('happy path: group → courier at OUT-1, a device-bound two-factor session that works; PKCE and nonce were sent', async () => {
    next.sub = 'u-c1';
    next.acr = 'urn:warden:mfa';
    const start = await w.api('GET', '/api/v1/sso/start?device=pda-1&format=json');
    const url = new URL(start.body.url);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('nonce')).toBeTruthy();
    expect(url.searchParams.get('client_id')).toBe('warden');
    const search = await browse(start.body.url, redirectUri);
    const res = await w.api('GET', `/api/v1/sso/callback${search}`);
    expect(res.status, res.text).toBe(201);
    expect(res.body).toMatchObject({ account: 'c1', mfa: true, device_id: expect.any(String), device_credential: expect.any(String) });
    const session = await w.warden.db.selectFrom('sessions').selectAll().where('account', '=', 'c1').executeTakeFirstOrThrow();
    expect(session).toMatchObject({ device: res.body.device_id, mfa: true });
    const entry = await w.warden.db.selectFrom('audit_log').selectAll().where('kind', '=', 'auth.login').where('decision', '=', 'allowed').where('account', '=', 'c1').executeTakeFirstOrThrow();
    expect(JSON.parse(typeof entry.detail === 'string' ? entry.detail : JSON.stringify(entry.detail))).toMatchObject({ method: 'oidc', mfa: true, acr: 'urn:warden:mfa' });
    expect((await w.api('DELETE', '/api/v1/sessions/current', { token: res.body.token })).status).toBe(204);

    // Replaying the same callback (code and state) is refused and audited.
    const replay = await w.api('GET', `/api/v1/sso/callback${search}`);
    expect(replay.status).toBe(401);
    expect(replay.body.error).toMatchObject({ code: 'sso_failed', message: expect.stringMatching(/already used/) });
    expect(await lastDenied('sso_state_unknown')).toBeTruthy();
  });

  it('says how people sign in here (anonymous): single sign-on only', async () => {
    const r = await w.api('GET', '/api/v1/sign-in/methods');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ password: false, sso: true });
  });

  it('a console sign-in (return_to) lands back on its page: the session in the fragment, or the refusal as code and reason only', async () => {
    const land = async (sub: string) => {
      next.sub = sub;
      const start = await w.api('GET', '/api/v1/sso/start?device=console-1&format=json&return_to=/');
      const search = await browse(start.body.url, redirectUri);
      const res = await fetch(`${w.url}/api/v1/sso/callback${search}`, { redirect: 'manual', headers: { cookie: browserCookie(start.headers) } });
      expect(res.status).toBe(302);
      expect(res.headers.get('cache-control')).toBe('no-store');
      return new URL(res.headers.get('location')!, w.url);
    };
    const ok = await land('u-c1');
    expect(ok.pathname).toBe('/');
    const session = JSON.parse(Buffer.from(ok.hash.replace(/^#sso=/, ''), 'base64url').toString('utf8'));
    expect(session).toMatchObject({ account: 'c1', token: expect.any(String), device_id: expect.any(String) });
    expect((await w.api('DELETE', '/api/v1/sessions/current', { token: session.token })).status).toBe(204);

    const refused = await land('u-c9');
    expect(refused.pathname).toBe('/');
    expect(Object.fromEntries(new URLSearchParams(refused.hash.slice(1)))).toEqual({ sso_error: 'sso_refused', reason: 'sso_unmapped' });
    expect(await lastDenied('sso_unmapped')).toBeTruthy();
  });

  it('a console sign-in is handed back only to the browser that started it, and only to a path on this server', async () => {
    // Someone starts a sign-in and sends its provider link to a colleague: the colleague signs in,
    // but their browser lacks the starter's cookie, so no session is made or sent anywhere.
    next.sub = 'u-c1';
    const before = (await w.warden.db.selectFrom('sessions').select('id').execute()).length;
    for (const cookie of [undefined, 'warden_sso=someone-elses-secret']) {
      const start = await w.api('GET', '/api/v1/sso/start?device=console-1&format=json&return_to=/');
      expect(start.headers.getSetCookie().join(';')).toMatch(/warden_sso=[^;]+;.*HttpOnly/i);
      const search = await browse(start.body.url, redirectUri);
      const res = await fetch(`${w.url}/api/v1/sso/callback${search}`, { redirect: 'manual', ...(cookie ? { headers: { cookie } } : {}) });
      expect(res.status).toBe(302);
      const to = new URL(res.headers.get('location')!, w.url);
      expect(to.origin).toBe(w.url);
      expect(to.hash).not.toMatch(/sso=/);
    }
    expect(await lastDenied('sso_browser_mismatch')).toBeTruthy();
    expect((await w.warden.db.selectFrom('sessions').select('id').execute()).length).toBe(before);
    // Protocol-relative and backslash paths name another site: refused at the start.
    for (const to of ['//evil.example/steal', '//2130706433/x', '/\\evil.example', 'https://evil.example/']) {
      const r = await w.api('GET', `/api/v1/sso/start?device=console-1&format=json&return_to=${encodeURIComponent(to)}`);
      expect(r.status, to).toBe(400);
      expect(r.body.error.code).toBe('validation_failed');
    }
    expect((await w.api('GET', `/api/v1/sso/start?device=console-1&format=json&return_to=${encodeURIComponent('/alerts/a-1')}`)).status).toBe(200);
  });

  it('local passwords are switched off', async () => {
    const r = await w.api('POST', '/api/v1/sessions', { body: { account: 'c1', password: 'pw-c1-secret', device: 'pda-1' } });
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe('password_login_disabled');
    expect(await lastDenied('password_login_disabled')).toMatchObject({ account: 'c1' });
  });

  it('a code issued to another client (wrong audience) is refused', async () => {
    next.sub = 'u-c1';
    const r = await signIn({ rewrite: (u) => u.searchParams.set('client_id', 'other-app') });
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe('sso_failed');
    expect(r.body.error.message).toMatch(/did not pass the checks/);
    expect(await lastDenied('sso_token_invalid')).toBeTruthy();
  });

  it('an unmapped group is refused', async () => {
    next.sub = 'u-c9';
    const r = await signIn();
    expect(r.status).toBe(403);
    expect(r.body.error).toMatchObject({ code: 'sso_refused', message: expect.stringMatching(/none of your identity provider groups is mapped/) });
    expect(await lastDenied('sso_unmapped')).toBeTruthy();
  });

  it('a role from the provider that the Warden account does not have is refused', async () => {
    next.sub = 'u-c2';
    const r = await signIn();
    expect(r.status).toBe(403);
    expect(r.body.error.message).toMatch(/give role outlet_staff at OUT-1, but this Warden account is courier at OUT-1/);
    expect(await lastDenied('sso_role_mismatch')).toMatchObject({ account: 'c2' });
  });

  it('step-up asks the provider for a fresh authentication at the stronger acr, and refuses a weaker one', async () => {
    next.sub = 'u-c1';
    next.acr = 'urn:warden:mfa';
    const start = await w.api('GET', '/api/v1/sso/start?device=pda-1&format=json&step_up=true');
    expect(start.status, start.text).toBe(200);
    const url = new URL(start.body.url);
    expect(url.searchParams.get('max_age')).toBe('0');
    expect(url.searchParams.get('acr_values')).toBe('urn:warden:mfa');
    const ok = await w.api('GET', `/api/v1/sso/callback${await browse(start.body.url, redirectUri)}`);
    expect(ok.status, ok.text).toBe(201);
    expect(ok.body.mfa).toBe(true);
    next.acr = 'urn:warden:pwd';
    next.amr = ['pwd'];
    const weak = await signIn({ stepUp: true });
    expect(weak.status).toBe(403);
    expect(await lastDenied('sso_step_up_not_met')).toBeTruthy();
    next.amr = ['pwd', 'otp'];
    next.acr = 'urn:warden:mfa';
  });
});

describe('single sign-on with an expired ID token', () => {
  it('is refused when Warden\'s clock is past the token\'s expiry', async () => {
    const wardenPort = await freePort();
    const redirectUri = `http://127.0.0.1:${wardenPort}/api/v1/sso/callback`;
    const op = await startProvider({ port: await freePort(), redirectUri, users: USERS });
    const next = op.next;
    // Warden's clock runs two hours ahead: every ID token the provider issues (1 h) is expired to it.
    const w = await startTestWarden('pglite', {
      warden: { clock: { now: () => Date.now() + 2 * 3600_000 } },
      config: { port: wardenPort, oidcIssuer: op.issuer, oidcClientId: 'warden', oidcClientSecret: 'warden-client-secret-0123456789', oidcRedirectUri: redirectUri, oidcMapping: JSON.stringify(MAPPING), detect: false },
    });
    try {
      // Passwords stay on beside single sign-on unless switched off.
      expect((await w.api('GET', '/api/v1/sign-in/methods')).body).toEqual({ password: true, sso: true });
      await setUpAccounts(w);
      next.sub = 'u-c1';
      const start = await w.api('GET', '/api/v1/sso/start?device=pda-1&format=json');
      const r = await w.api('GET', `/api/v1/sso/callback${await browse(start.body.url, redirectUri)}`);
      expect(r.status).toBe(401);
      expect(r.body.error.message).toMatch(/did not pass the checks/);
      const denied = await w.warden.db.selectFrom('audit_log').select(['reason']).where('kind', '=', 'auth.login').where('decision', '=', 'denied').execute();
      expect(denied.map((d) => d.reason)).toContain('sso_token_invalid');
      expect(await w.warden.db.selectFrom('sessions').select('id').execute()).toEqual([]);
      // Sign-ins left unfinished from one address are bounded: nobody fills the table for everyone.
      const started = [];
      for (let i = 0; i < 25; i++) started.push((await w.api('GET', '/api/v1/sso/start?device=pda-1&format=json')).status);
      expect(started.filter((s) => s === 200).length).toBeLessThanOrEqual(20);
      expect(started.at(-1)).toBe(429);
    } finally {
      await w.dispose();
      await op.close();
    }
  }, 120_000);
});
