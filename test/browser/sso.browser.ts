/// <reference lib="dom" />
/**
 * Single sign-on in the console, in Chromium: a real OpenID provider on loopback (the certified
 * `oidc-provider`, with a sign-in page a person fills in), Warden configured for it with local
 * passwords off. The login page offers only "Sign in with SSO"; the analyst signs in at the
 * provider and lands on the overview as the role the group maps to, on one enrolled device; a
 * person whose group maps to nothing is sent back to the login page with a clear refusal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { freePort, startProvider, WARDEN_CLIENT, type TestProvider } from '../support/oidc-test-provider.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';
import { ensureConsoleBuilt, launchChromium, screenshot, seriousViolations } from './harness.js';

const USERS = {
  'u-sa1': { preferred_username: 'sa1', groups: ['staff', 'security-team'] },
  'u-m9': { preferred_username: 'm9', groups: ['marketing'] },
};
const MAPPING = { groups: { 'security-team': { role: 'security_analyst', site: null } }, mfa_acr: ['urn:warden:mfa'] };

describe('single sign-on in the console (Chromium, a real OpenID provider)', () => {
  let w: TestWarden;
  let op: TestProvider;
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  let page: Page;

  const signInAtProvider = async (username: string) => {
    await page.getByTestId('sso').click();
    await page.getByLabel('Username').fill(username);
    await page.getByRole('button', { name: 'Continue' }).click();
  };
  const accessible = async (name: string) => {
    await screenshot(page, name);
    expect(await seriousViolations(page), `axe-core on ${name}`).toEqual([]);
  };

  beforeAll(async () => {
    ensureConsoleBuilt();
    const wardenPort = await freePort();
    const redirectUri = `http://127.0.0.1:${wardenPort}/api/v1/sso/callback`;
    op = await startProvider({ port: await freePort(), redirectUri, users: USERS, login: 'form' });
    w = await startTestWarden('pglite', {
      config: { port: wardenPort, localPasswords: false, oidcIssuer: op.issuer, oidcClientId: WARDEN_CLIENT.id, oidcClientSecret: WARDEN_CLIENT.secret, oidcRedirectUri: redirectUri, oidcMapping: JSON.stringify(MAPPING), detect: false },
    });
    const created = await w.api('POST', '/api/v1/accounts', { token: w.adminToken, body: { id: 'sa1', role: 'security_analyst', site: null, password: 'pw-sa1-unused-secret' } });
    expect(created.status, created.text).toBe(201);
    browser = await launchChromium();
    page = browser.page;
  });
  afterAll(async () => {
    await browser?.close();
    await w?.dispose();
    await op?.close();
  });

  it('offers only single sign-on when local passwords are off', async () => {
    await page.goto(`${w.url}/`);
    await page.getByTestId('sso').waitFor();
    expect(await page.getByTestId('sso').innerText()).toBe('Sign in with SSO');
    expect(await page.getByLabel('Password').count()).toBe(0);
    expect(await page.getByLabel('Account').count()).toBe(0);
    await page.getByText('Sign-in with a Warden password is switched off here').waitFor();
    await accessible('sso-01-login');
  });

  it('signs in at the provider and lands on the overview as the mapped role, the session out of the address bar', async () => {
    await signInAtProvider('sa1');
    await page.getByTestId('overview').waitFor({ timeout: 60_000 });
    await page.getByText('Signed in as sa1').waitFor();
    expect(new URL(page.url()).hash).not.toMatch(/sso/);
    const token = await page.evaluate(() => sessionStorage.getItem('warden.session'));
    expect(token).toBeTruthy();
    // The session is sa1's, as the security analyst its group maps to, and was opened through the provider.
    const me = await w.api('GET', '/api/v1/accounts/sa1', { token: token! });
    expect(me.status).toBe(200);
    expect(me.body.role).toBe('security_analyst');
    const login = await w.warden.db.selectFrom('audit_log').selectAll().where('kind', '=', 'auth.login').where('decision', '=', 'allowed').where('account', '=', 'sa1').executeTakeFirstOrThrow();
    expect(JSON.stringify(login.detail)).toContain('oidc');
    await accessible('sso-02-overview');
  });

  it('refuses a person whose groups map to no role, with a clear message on the login page', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByTestId('sso').waitFor();
    // A new person at the provider (its own session ended).
    await browser.context.clearCookies();
    await signInAtProvider('m9');
    const error = page.getByTestId('login-error');
    await error.waitFor({ timeout: 60_000 });
    expect(await error.innerText()).toContain('none of your groups is mapped to a Warden role');
    expect(new URL(page.url()).hash).toBe('');
    expect(await page.evaluate(() => sessionStorage.getItem('warden.session'))).toBeNull();
    const denied = await w.warden.db.selectFrom('audit_log').select('reason').where('kind', '=', 'auth.login').where('decision', '=', 'denied').execute();
    expect(denied.map((d) => d.reason)).toContain('sso_unmapped');
    await accessible('sso-03-refused');
  });

  it('signs in again from the same browser on its enrolled device (the credential goes back, no new device)', async () => {
    await browser.context.clearCookies();
    await signInAtProvider('sa1');
    await page.getByTestId('overview').waitFor({ timeout: 60_000 });
    const devices = await w.warden.db.selectFrom('account_devices').select('device').where('account', '=', 'sa1').execute();
    expect(devices).toHaveLength(1);
    const sessions = await w.warden.db.selectFrom('sessions').select('device').where('account', '=', 'sa1').execute();
    expect(sessions.length).toBe(2);
    expect(new Set(sessions.map((s) => s.device))).toEqual(new Set([devices[0]!.device]));
  });

  it('a forged sign-in in the address bar is ignored when this tab started none', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    const forged = Buffer.from(JSON.stringify({ token: 'wd_forged', account: 'attacker' })).toString('base64url');
    await page.goto('about:blank');
    await page.goto(`${w.url}/#sso=${forged}`);
    await page.getByTestId('sso').waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('warden.session'))).toBeNull();
    expect(new URL(page.url()).hash).toBe('');
  });
});
