/// <reference lib="dom" />
/**
 * The security console in a real browser against the real demo: sign in; the demo's attack alert
 * appears live (pushed, no reload); open the account; resolve the alert as a true positive;
 * suspend the account and see its next reveal refused through the API; switch language; no
 * serious or critical axe-core violation on any page; a screenshot of each page in test-results/.
 * Also measures the overview's first paint and the JavaScript the first page loads.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Secret, TOTP } from 'otpauth';
import type { Page } from 'playwright-core';
import { createSimulation, resolveParams } from '../../src/simulate/index.js';
import { SEED, ensureConsoleBuilt, launchChromium, RESULTS, ROOT, screenshot, seriousViolations, startDemo, type Demo } from './harness.js';

// Attackers the test can later log in as with a password alone: the demo checks one-time codes on
// its 600× clock, which a code computed here would not match.
const simulation = createSimulation(resolveParams({ seed: SEED }, 'tiny'));
const withoutMfa = new Set(simulation.world.accounts.filter((a) => !a.mfa).map((a) => a.id));
const attackers = new Set(simulation.scenarios.filter((s) => s.label.kind === 'attack').flatMap((s) => s.label.accounts).filter((a) => withoutMfa.has(a)));
const totp = (secret: string) => new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30 }).generate();

describe('the security console in Chromium', () => {
  let demo: Demo;
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  let page: Page;
  let attacker = '';
  const api = async (method: string, path: string, token: string, body?: unknown) => {
    const res = await fetch(`${demo.url}/api/v1${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
    return { status: res.status, body: (await res.json().catch(() => undefined)) as any };
  };
  const expectAccessible = async (name: string) => {
    await page.waitForTimeout(300);
    await screenshot(page, name);
    expect(await seriousViolations(page), `axe-core on ${name}`).toEqual([]);
  };
  /** Sessions run on the demo's accelerated clock: sign in again if this one has ended. */
  const signIn = async () => {
    await page.getByLabel('Account').fill(demo.analyst.id);
    await page.getByLabel('Password').fill(demo.analyst.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const otp = page.getByLabel('One-time code');
    await Promise.race([page.getByTestId('overview').waitFor({ timeout: 60_000 }), otp.waitFor({ timeout: 60_000 })]);
    if (await otp.isVisible()) {
      expect(demo.analyst.totpSecret, 'the server asked for a one-time code').toBeTruthy();
      await otp.fill(totp(demo.analyst.totpSecret!));
      await page.getByRole('button', { name: 'Sign in' }).click();
    }
    await page.getByTestId('overview').waitFor({ timeout: 60_000 });
  };
  /** Loaded: no skeleton or spinner left (the page keeps its event stream open, so the network never idles). */
  const settled = () => page.waitForFunction(() => document.querySelectorAll('.ant-skeleton, .ant-spin-spinning').length === 0, undefined, { timeout: 30_000 });
  const goTo = async (hash: string, testId: string) => {
    if (await page.getByRole('button', { name: 'Sign in' }).isVisible()) await signIn();
    await page.evaluate((h) => (window.location.hash = h), hash);
    await page.getByTestId(testId).waitFor({ timeout: 30_000 });
    await settled();
  };

  beforeAll(async () => {
    ensureConsoleBuilt();
    demo = await startDemo();
    browser = await launchChromium();
    page = browser.page;
  });
  afterAll(async () => {
    await browser?.close();
    demo?.stop();
  });

  it('signs in with the demo analyst (password, and the one-time code when asked)', async () => {
    await page.goto(demo.url + '/');
    await page.getByLabel('Account').waitFor();
    await expectAccessible('01-sign-in');
    await signIn();
    await page.getByTestId('live-status').and(page.locator('[data-status=live]')).waitFor({ timeout: 30_000 });
  });

  it('measures the overview: first paint and the JavaScript the first page loads', async () => {
    await page.reload();
    await page.getByTestId('overview').waitFor({ timeout: 60_000 });
    await page.waitForFunction(() => performance.getEntriesByName('warden:overview-data').length > 0, undefined, { timeout: 30_000 });
    // The first chart imports the charts chunk after the data paints; under CI load that came after
    // the snapshot once. Wait for it (what is asserted is that it loads later, not when).
    await page.waitForFunction(() => performance.getEntriesByType('resource').some((r) => /echarts/.test(r.name)), undefined, { timeout: 30_000 }).catch(() => undefined);
    const timing = await page.evaluate(() => ({
      fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null,
      data: performance.getEntriesByName('warden:overview-data')[0]!.startTime,
      scripts: performance.getEntriesByType('resource').filter((r) => r.name.endsWith('.js')).map((r) => ({ name: new URL(r.name).pathname, transferred: (r as PerformanceResourceTiming).encodedBodySize })),
    }));
    // The first page's JavaScript, gzipped (the .gz the server has for each file); charts load later.
    const firstPage = timing.scripts.filter((s) => !/echarts/.test(s.name));
    const gzip = firstPage.reduce((n, s) => n + statSync(join(ROOT, 'dist', 'web', `${s.name}.gz`)).size, 0);
    const html = readFileSync(join(ROOT, 'dist', 'web', 'index.html'), 'utf8');
    const entry = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+\.js)"/g)].map((m) => m[1]!);
    const entryGzip = entry.reduce((n, f) => n + statSync(join(ROOT, 'dist', 'web', `${f}.gz`)).size, 0);
    const report = { first_contentful_paint_ms: timing.fcp && Math.round(timing.fcp), overview_data_painted_ms: Math.round(timing.data), entry_js_gzip_bytes: entryGzip, first_page_js_gzip_bytes: gzip, first_page_js_transferred_bytes: firstPage.reduce((n, s) => n + s.transferred, 0), scripts: timing.scripts };
    mkdirSync(RESULTS, { recursive: true });
    writeFileSync(join(RESULTS, 'first-paint.json'), JSON.stringify(report, null, 2));
    console.log(`[console] first contentful paint ${report.first_contentful_paint_ms} ms, overview data painted ${report.overview_data_painted_ms} ms, first-page JS ${(gzip / 1024).toFixed(0)} KiB gzip (entry ${(entryGzip / 1024).toFixed(0)} KiB)`);
    expect(gzip).toBeLessThan(1024 * 1024);
    expect(timing.scripts.some((s) => /echarts/.test(s.name)), 'charts load after the first page').toBe(true);
    expect(entry.some((f) => /echarts/.test(f)), 'the entry does not carry the charts').toBe(false);
  });

  it('shows the demo\'s attack alert on the overview as it happens (pushed, no reload)', async () => {
    await page.evaluate(() => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true));
    const selector = [...attackers].map((a) => `[data-testid=latest-alerts] [data-account="${a}"]`).join(', ');
    await page.locator(selector).first().waitFor({ timeout: 560_000 });
    attacker = (await page.locator(selector).first().getAttribute('data-account'))!;
    expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
    await expectAccessible('02-overview');
  }, 600_000);

  it('opens the account from the alert: the investigation page', async () => {
    await page.locator(`[data-testid=latest-alerts] [data-account="${attacker}"] a`).first().click();
    await page.getByTestId('account-id').filter({ hasText: attacker }).waitFor({ timeout: 30_000 });
    await page.getByTestId('timeline').locator('tbody tr').first().waitFor();
    await settled();
    await expectAccessible('03-account');
  });

  it('resolves the attacker\'s alert as a true positive with a note', async () => {
    await goTo('#/alerts', 'alerts-page');
    await page.getByLabel('Account', { exact: true }).fill(attacker);
    // The queue shows every open alert until the filter's answer arrives: take the attacker's row.
    const tp = page.locator(`tr[data-account="${attacker}"] [data-testid^="tp-"]`).first();
    await tp.waitFor({ timeout: 30_000 });
    await expectAccessible('04-alerts');
    const alertId = (await tp.getAttribute('data-testid'))!.slice(3);
    // `tp` is re-resolved on every use: a live alert arriving on top would make it another alert.
    await page.getByTestId(`tp-${alertId}`).click();
    await page.getByTestId('note').fill('confirmed: leased account, data sold');
    // A reload that drops the row while the analyst types (a live alert, another filter) keeps the
    // dialog and its note: the dialog belongs to the page, not to the row (CI once lost it here).
    await page.getByLabel('Account', { exact: true }).fill('no-such-account', { force: true });
    await page.locator(`tr[data-account="${attacker}"]`).first().waitFor({ state: 'detached', timeout: 15_000 });
    expect(await page.getByTestId('note').inputValue()).toBe('confirmed: leased account, data sold');
    const patched = page.waitForResponse((r) => r.request().method() === 'PATCH' && r.url().includes('/api/v1/alerts/'), { timeout: 15_000 });
    await page.getByTestId('note-ok').click();
    const res = await patched;
    expect([res.status(), res.url().endsWith(`/alerts/${alertId}`)]).toEqual([200, true]);
    await expect.poll(async () => (await api('GET', `/alerts?account=${encodeURIComponent(attacker)}&status=resolved&limit=500`, demo.adminToken)).body.alerts.find((a: { id: string }) => a.id === alertId)?.verdict, { timeout: 15_000 }).toBe('true_positive');
  });

  it('suspends the account from the console, and its next reveal is refused through the API', async () => {
    // A session for the attacker to reveal with: its second factor re-enrolled so the test can log in.
    const fp = (await api('GET', `/accounts/${encodeURIComponent(attacker)}/footprint`, demo.adminToken)).body;
    const device = fp.devices[0]?.device ?? 'browser-test-device';
    await goTo(`#/accounts/${encodeURIComponent(attacker)}`, 'account-page');
    await page.getByTestId('account-id').filter({ hasText: attacker }).waitFor();
    let token = '';
    for (let attempt = 0; attempt < 3 && !token; attempt++) {
      // Detection may already have suspended it: lift first (audited), then log in as it.
      const lift = page.getByTestId('respond-lift');
      if (await lift.isEnabled()) {
        await lift.click();
        // Lifting asks first (attack review 10: one click ended a containment), with a reason (review 11).
        await page.getByTestId('lift-reason').fill('browser test: lifting before the manual suspension');
        await page.getByTestId('lift-ok').click();
        await page.getByTestId('respond-lift').and(page.locator('[disabled]')).waitFor({ timeout: 15_000 });
      }
      const login = await fetch(`${demo.url}/api/v1/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ account: attacker, password: `demo-${attacker}-pass`, device }) });
      if (login.status === 201) token = ((await login.json()) as { token: string }).token;
      else {
        console.log(`[console] attacker login answered ${login.status}: ${await login.text()}`);
        await page.reload();
        await page.getByTestId('account-id').filter({ hasText: attacker }).waitFor({ timeout: 30_000 });
      }
    }
    expect(token, 'a session for the attacker').not.toBe('');
    const suspend = page.getByTestId('respond-suspend');
    await expect.poll(() => suspend.isEnabled(), { timeout: 15_000 }).toBe(true);
    await suspend.click();
    await page.getByTestId('respond-reason').fill('leased account confirmed by the analyst');
    await page.getByTestId('respond-ok').click();
    await page.getByTestId('account-status').filter({ hasText: 'Suspended' }).waitFor({ timeout: 15_000 });
    const waybill = (await api('GET', `/accounts/${encodeURIComponent(attacker)}/activity?kind=access.reveal&limit=1`, demo.adminToken)).body.entries[0]?.waybill ?? 'WD0000000000000';
    const reveal = await api('POST', `/waybills/${waybill}/reveal`, token, { fields: ['recipient.phone'], purpose: 'delivery' });
    expect(reveal.status).toBe(403);
    expect(reveal.body.error.code).toBe('account_suspended');
    const audit = await api('GET', `/accounts/${encodeURIComponent(attacker)}/activity?kind=watch.response_applied&limit=5`, demo.adminToken);
    expect(audit.body.entries.some((e: { actor: string | null }) => e.actor === demo.analyst.id)).toBe(true);
  });

  it('audit, detectors and cases pages load (or say what the server lacks) without accessibility violations', async () => {
    await goTo('#/audit', 'audit-page');
    await page.getByRole('button', { name: 'Verify now' }).click();
    await page.getByText(/Intact|Broken/).first().waitFor({ timeout: 60_000 });
    await expectAccessible('05-audit');
    await goTo('#/detectors', 'detectors-page');
    await page.getByRole('button', { name: /credential/ }).click();
    const started = Date.now();
    // The request must leave (a click swallowed by the panel opening would wait 120 s for nothing): one retry.
    const sent = () => page.waitForRequest((r) => r.url().includes('/api/v1/detectors/backtest'), { timeout: 15_000 });
    let request = sent();
    await page.getByTestId('backtest-credential').click();
    if (!(await request.then(() => true, () => false))) {
      console.log('[console] the backtest click sent no request in 15 s; clicking again');
      request = sent();
      await page.getByTestId('backtest-credential').click();
      await request;
    }
    const failure = page.locator('.ant-collapse-content [role=alert]');
    await Promise.race([page.getByTestId('backtest-result').waitFor({ timeout: 120_000 }), failure.waitFor({ timeout: 120_000 })]);
    console.log(`[console] backtest answered in ${Date.now() - started} ms`);
    if (await failure.isVisible()) await screenshot(page, '06-detectors-error');
    expect(await failure.isVisible() ? await failure.innerText() : 'ok').toBe('ok');
    await expectAccessible('06-detectors');
    await goTo('#/cases', 'cases-page');
    await expectAccessible('07-cases');
  });

  it('switches to Chinese and back; the choice is remembered', async () => {
    await goTo('#/', 'overview');
    await page.getByTestId('language').click();
    await page.locator('.ant-select-item-option').filter({ hasText: '简体中文' }).click();
    await page.getByRole('menuitem', { name: '总览' }).waitFor();
    await expect.poll(() => page.evaluate(() => document.documentElement.lang)).toBe('zh-CN');
    await page.getByTestId('live-status').and(page.locator('[data-status=live]')).waitFor({ timeout: 30_000 });
    await expectAccessible('08-overview-zh-CN');
    await goTo(`#/accounts/${encodeURIComponent(attacker)}`, 'account-page');
    await page.getByText('活动时间线').waitFor();
    await settled();
    await expectAccessible('09-account-zh-CN');
    await page.reload();
    await page.getByRole('menuitem', { name: '总览' }).waitFor({ timeout: 30_000 });
    await page.getByTestId('language').click();
    await page.locator('.ant-select-item-option').filter({ hasText: 'English' }).click();
    await page.getByRole('menuitem', { name: 'Overview' }).waitFor();
  });
});
