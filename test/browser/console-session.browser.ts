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

describe('console (attack review 10): sessions of non-analysts end, triage says what was refused (Chromium)', () => {
  let w: TestWarden;
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  let page: Page;

  beforeAll(async () => {
    ensureConsoleBuilt();
    w = await startTestWarden('pglite');
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

  it('zh-CN: bulk triage says what was refused and why, the assignee shows and filters, Lift asks first (attack review 10, F3-F5, F9)', async () => {
    const admin = w.adminToken;
    expect((await w.api('POST', '/api/v1/sites', { token: admin, body: { code: 'OUT-1', kind: 'outlet', city: '杭州' } })).status).toBe(201);
    const sa2 = (await w.api('POST', '/api/v1/sessions', { body: { account: 'sa2', password: 'pw-sa2-long-secret', device: 'sa2-api-2' } })).body.token as string;
    // al-c1 names sa2 as who approved what it reports: not sa2's to triage (self_action), though listed.
    expect((await w.api('POST', '/api/v1/accounts', { token: admin, body: { id: 'c1', role: 'courier', site: 'OUT-1', password: 'pw-c1-long-secret' } })).status).toBe(201);
    expect((await w.api('POST', '/api/v1/accounts', { token: admin, body: { id: 'c2', role: 'courier', site: 'OUT-1', password: 'pw-c2-long-secret' } })).status).toBe(201);
    const now = new Date();
    const row = (id: string, account: string, evidence: Record<string, unknown>) => {
      const summary = `Account ${account} logged in after failed attempts (server text).`;
      const body = { id, ts: now.toISOString(), account, detector: 'credential', severity: 'high', score: 70, summary, evidence, risk: 50 };
      return { id, ts: now, account, device: null, detector: 'credential', severity: 'high' as const, score: 70, summary, incident: null, response: null, body: JSON.stringify(body), status: 'open' as const, verdict: null, note: null, updated_by: null, created_at: now, updated_at: now, assignee: null, site: null, city: null };
    };
    await w.warden.db.insertInto('alerts').values([
      row('al-c1', 'c1', { failures: 5, window_minutes: 10, approved_by: 'sa2' }),
      row('al-c2', 'c2', { failures_before: 3, first_seen_device: true, window_minutes: 10 }),
      row('al-c2b', 'c2', { failures: 4, window_minutes: 10 }),
    ]).execute();
    const assigned = await w.api('PATCH', '/api/v1/alerts/al-c2b', { token: sa2, body: { assignee: 'sa2' } });
    expect(assigned.status, assigned.text).toBe(200);

    await signIn('sa2');
    await page.getByRole('button', { name: 'Sign out' }).waitFor({ timeout: 30_000 });
    await page.evaluate(() => localStorage.setItem('warden.lang', 'zh-CN'));
    await page.goto(`${w.url}/#/alerts`);
    await page.reload(); // the language is read when the console loads
    await page.getByTestId('alerts-page').waitFor({ timeout: 30_000 });
    await page.locator('tr[data-account="c1"]').first().waitFor({ timeout: 30_000 });
    // Localized summary and detector name; the assignee column and the filter.
    expect(await page.locator('tr[data-row-key="al-c2"]').innerText()).toContain('使用的是从未用过的设备');
    expect(await page.locator('tr[data-row-key="al-c2"]').innerText()).toContain('凭据攻击');
    expect(await page.getByTestId('assignee-al-c2b').innerText()).toBe('sa2');
    await page.getByRole('combobox', { name: '处理人' }).fill('sa2');
    await page.locator('tr[data-row-key="al-c1"]').waitFor({ state: 'detached', timeout: 15_000 });
    expect(await page.locator('tr[data-row-key="al-c2b"]').count()).toBe(1);
    await page.getByRole('combobox', { name: '处理人' }).fill('');
    await page.locator('tr[data-row-key="al-c1"]').waitFor({ timeout: 15_000 });

    // Bulk: one done, one refused (self_action), and the toast says so in Chinese.
    await page.getByLabel('选择告警 al-c1').check();
    await page.getByLabel('选择告警 al-c2', { exact: true }).check();
    await page.getByRole('button', { name: '批量确认' }).click();
    const outcome = await page.getByTestId('bulk-outcome').innerText({ timeout: 15_000 });
    expect(outcome).toContain('已完成 1 条');
    expect(outcome).toContain('1 条被拒绝：不能对自己的账号');
    expect(outcome).not.toMatch(/[a-z]{4,}/);
    const alerts = (await w.api('GET', '/api/v1/alerts?account=c1', { token: admin })).body.alerts as Array<{ id: string; status: string }>;
    expect(alerts.find((a) => a.id === 'al-c1')?.status).toBe('open');

    // Lift asks first (with a reason); cancelling leaves the response in force.
    expect((await w.api('PUT', '/api/v1/accounts/c2/response', { token: sa2, body: { action: 'throttle', reason: 'testing the lift confirmation' } })).status).toBe(200);
    await page.goto(`${w.url}/#/accounts/c2`);
    await page.getByTestId('respond-lift').and(page.locator(':not([disabled])')).waitFor({ timeout: 30_000 });
    await page.getByTestId('respond-lift').click();
    expect(await page.getByTestId('lift-confirm').innerText()).toContain('限流');
    await page.getByTestId('lift-cancel').click();
    expect((await w.api('GET', '/api/v1/accounts/c2/response', { token: sa2 })).body.response?.action).toBe('throttle');
    // A lower response is no way down (the server refuses it, 409 lift_first): step-up waits for the lift.
    expect(await page.getByTestId('respond-step_up').isDisabled()).toBe(true);
    await page.getByTestId('respond-lift').click();
    // The lift takes a reason (attack review 11).
    expect(await page.getByTestId('lift-ok').isDisabled()).toBe(true);
    await page.getByTestId('lift-reason').fill('explained by the outlet manager');
    await page.getByTestId('lift-ok').click();
    await expect.poll(async () => (await w.api('GET', '/api/v1/accounts/c2/response', { token: sa2 })).body.response ?? null, { timeout: 15_000 }).toBeNull();
    // One <main> landmark on the page.
    expect(await page.locator('main').count()).toBe(1);
  });
});
