/// <reference lib="dom" />
/**
 * The console's session when the server says the account is no analyst (attack review 10, F6):
 * a non-analyst who signs in is refused on screen AND signed out on the server (the session the
 * sign-in opened answers 401 afterwards); a sign-in whose role check fails for another reason (a
 * 5xx) is shown as that, not as "not an analyst"; an analyst demoted while the console is open is
 * signed out (the overview stream's `event: end`, then the role refusal) and the screen cleared.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startTestWarden, type TestWarden } from '../support/warden.js';
import { ensureConsoleBuilt, launchChromium } from './harness.js';

describe('console session: a non-analyst is signed out, not only refused (Chromium)', () => {
  let w: TestWarden;
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  let page: Page;

  beforeAll(async () => {
    ensureConsoleBuilt();
    w = await startTestWarden('pglite', { config: { detect: false } });
    const created = await w.api('POST', '/api/v1/accounts', { token: w.adminToken, body: { id: 'it9', role: 'it_admin', site: null, password: 'pw-it9-long-secret' } });
    expect(created.status, created.text).toBe(201);
    for (const id of ['sa1', 'sa2']) {
      const r = await w.api('POST', '/api/v1/accounts', { token: w.adminToken, body: { id, role: 'security_analyst', site: null, password: `pw-${id}-long-secret` } });
      expect(r.status, r.text).toBe(201);
    }
    browser = await launchChromium();
    page = browser.page;
  });
  afterAll(async () => {
    await browser?.close();
    await w?.dispose();
  });

  async function signIn(account = 'it9'): Promise<string> {
    await page.goto(`${w.url}/`);
    await page.getByLabel('Account').fill(account);
    await page.getByLabel('Password').fill(`pw-${account}-long-secret`);
    const session = page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/api/v1/sessions'));
    await page.getByRole('button', { name: 'Sign in' }).click();
    const res = await session;
    expect(res.status()).toBe(201);
    return ((await res.json()) as { token: string }).token;
  }

  it('refuses an it_admin on screen and ends the session it opened on the server', async () => {
    const ended = page.waitForResponse((r) => r.request().method() === 'DELETE' && r.url().endsWith('/api/v1/sessions/current'));
    const token = await signIn();
    await page.getByTestId('login-error').filter({ hasText: 'This console is for security analysts' }).waitFor({ timeout: 15_000 });
    expect((await ended).status()).toBe(204);
    const after = await w.api('GET', '/api/v1/accounts', { token });
    expect(after.status, 'the captured session no longer works').toBe(401);
    expect(await page.evaluate(() => sessionStorage.getItem('warden.session'))).toBeNull();
  });

  it('a server failure during the role check is shown as such, and the session is ended all the same', async () => {
    await page.route('**/api/v1/overview', (route) => route.fulfill({ status: 502, body: 'Bad Gateway', contentType: 'text/plain' }));
    try {
      const ended = page.waitForResponse((r) => r.request().method() === 'DELETE' && r.url().endsWith('/api/v1/sessions/current'));
      const token = await signIn();
      const error = page.getByTestId('login-error');
      await error.filter({ hasText: 'could not check' }).waitFor({ timeout: 15_000 });
      expect(await error.innerText()).not.toMatch(/This console is for security analysts/);
      expect((await ended).status()).toBe(204);
      expect((await w.api('GET', '/api/v1/accounts', { token })).status).toBe(401);
    } finally {
      await page.unroute('**/api/v1/overview');
    }
  });

  it('an analyst demoted while the console is open is signed out and the overview is no longer shown', async () => {
    const token = await signIn('sa1');
    await page.getByRole('button', { name: 'Sign out' }).waitFor({ timeout: 30_000 });
    await page.getByTestId('live-status').and(page.locator('[data-status=live]')).waitFor({ timeout: 30_000 });
    const sa2 = (await w.api('POST', '/api/v1/sessions', { body: { account: 'sa2', password: 'pw-sa2-long-secret', device: 'sa2-api' } })).body.token as string;
    const ended = page.waitForResponse((r) => r.request().method() === 'DELETE' && r.url().endsWith('/api/v1/sessions/current'), { timeout: 60_000 });
    const demoted = await w.api('PATCH', '/api/v1/accounts/sa1', { token: sa2, body: { role: 'it_admin' } });
    expect(demoted.status, demoted.text).toBe(200);
    // The next push ends the stream; the console then signs out and shows why.
    await page.getByTestId('login-error').filter({ hasText: 'may no longer use the security console' }).waitFor({ timeout: 60_000 });
    expect((await ended).status()).toBe(204);
    expect(await page.getByTestId('overview').count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Sign out' }).count()).toBe(0);
    expect((await w.api('GET', '/api/v1/accounts', { token })).status).toBe(401);
  });
});
