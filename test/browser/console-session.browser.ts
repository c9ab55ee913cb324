/// <reference lib="dom" />
/**
 * The console's session when the server says the account is no analyst (attack review 10, F6):
 * a non-analyst who signs in is refused on screen AND signed out on the server (the session the
 * sign-in opened answers 401 afterwards); a sign-in whose role check fails for another reason (a
 * 5xx) is shown as that, not as "not an analyst".
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
    browser = await launchChromium();
    page = browser.page;
  });
  afterAll(async () => {
    await browser?.close();
    await w?.dispose();
  });

  async function signIn(): Promise<string> {
    await page.goto(`${w.url}/`);
    await page.getByLabel('Account').fill('it9');
    await page.getByLabel('Password').fill('pw-it9-long-secret');
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
});
