/// <reference lib="dom" />
/**
 * The Approvals page in Chromium against a real Warden (in-process, PGlite). What analyst sa1
 * asked for (a case, a courier made an outlet clerk, a detection exception, a detector settings
 * change, a deletion request) and what it_admin it1 asked for (a service token) wait in the inbox.
 * sa1 sees their own with the reason they may not approve them, and the navigation counts only
 * it1's token; sa1 requests another exception from the page. sa2 sees the count and approves from
 * the inbox exactly what was shown (a detector request swapped after sa2 read it is refused, the
 * new one shown and approved), rejects the deletion with a reason and removes an exception.
 * English and Chinese, without serious accessibility violations.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startTestWarden, type TestWarden } from '../support/warden.js';
import { ensureConsoleBuilt, launchChromium, pageSteps } from './harness.js';

const password = (id: string) => `pw-${id}-secret`;

describe('the approvals page in Chromium', () => {
  let w: TestWarden;
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  let page: Page;
  const { accessible, settled, signOut, goTo } = pageSteps(() => page);
  const ids: Record<string, string> = {};
  const tokens: Record<string, string> = {};
  const setting = { from: 0 };

  const signIn = async (account: string) => {
    await page.getByLabel('Account').fill(account);
    await page.getByLabel('Password').fill(password(account));
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    // Signed in: back on the page the address names.
    await page.getByRole('button', { name: 'Sign out' }).waitFor({ timeout: 60_000 });
  };
  const item = (key: string) => page.locator(`tr[data-item="${key}"]`);
  const navCount = () => page.getByTestId('nav-approvals').innerText();

  beforeAll(async () => {
    ensureConsoleBuilt();
    w = await startTestWarden('pglite');
    const admin = w.adminToken;
    await w.api('POST', '/api/v1/sites', { token: admin, body: { code: 'OUT-1', kind: 'outlet', city: '杭州' } });
    for (const [id, role, site] of [['sa1', 'security_analyst', null], ['sa2', 'security_analyst', null], ['it1', 'it_admin', null], ['c1', 'courier', 'OUT-1'], ['c2', 'courier', 'OUT-1']] as const) {
      const r = await w.api('POST', '/api/v1/accounts', { token: admin, body: { id, role, site, password: password(id) } });
      expect(r.status, r.text).toBe(201);
    }
    for (const a of ['sa1', 'sa2', 'it1']) tokens[a] = (await w.api('POST', '/api/v1/sessions', { body: { account: a, password: password(a), device: `${a}-api` } })).body.token;
    // What sa1 asks for, through the API: a case, c1 made an outlet clerk (standing reveal rights), an exception for c2.
    const opened = await w.api('POST', '/api/v1/cases', { token: tokens.sa1, body: { title: 'Outlet 1 lookups', reason: 'queries of waybills not theirs', accounts: ['c2'] } });
    expect(opened.status, opened.text).toBe(201);
    ids.case = opened.body.id;
    const moved = await w.api('PATCH', '/api/v1/accounts/c1', { token: tokens.sa1, body: { role: 'outlet_staff' } });
    expect(moved.status, moved.text).toBe(200);
    expect(moved.body.pending_approval).toMatchObject({ role: 'outlet_staff', site: 'OUT-1', requested_by: 'sa1' });
    const until = new Date(Date.now() + 7 * 86_400_000).toISOString();
    const excepted = await w.api('POST', '/api/v1/exceptions', { token: tokens.sa1, body: { kind: 'account', value: 'c2', until, reason: 'night shift cover this week' } });
    expect(excepted.status, excepted.text).toBe(201);
    ids.exception = excepted.body.id;
    // A deletion a person asked for (by phone): pending until someone other than sa1 decides.
    const filed = await w.api('POST', '/api/v1/subjects/requests', { token: tokens.sa1, body: { kind: 'deletion', phone: '13900001111', identity_verified: true } });
    expect(filed.body.state, filed.text).toBe('pending_approval');
    ids.subject = filed.body.id;
    // A detector settings change: one numeric setting raised by one.
    const detectors = (await w.api('GET', '/api/v1/detectors', { token: tokens.sa1 })).body.detectors as Array<{ name: string; settings: Record<string, number | boolean> }>;
    const d = detectors.find((x) => Object.values(x.settings).some((v) => typeof v === 'number' && Number.isInteger(v)))!;
    const key = Object.keys(d.settings).find((k) => typeof d.settings[k] === 'number' && Number.isInteger(d.settings[k]))!;
    Object.assign(ids, { detector: d.name, setting: key });
    setting.from = d.settings[key] as number;
    const asked = await w.api('PUT', `/api/v1/detectors/${d.name}`, { token: tokens.sa1, body: { settings: { [key]: setting.from + 1 }, reason: 'fewer alerts at the hub' } });
    expect(asked.status, asked.text).toBe(200);
    // What it1 asks for: a service token that may send assignments (work that backs reveals).
    expect((await w.api('POST', '/api/v1/accounts', { token: tokens.it1, body: { id: 'svc', role: 'service' } })).status).toBe(201);
    const issued = await w.api('POST', '/api/v1/accounts/svc/tokens', { token: tokens.it1, body: { events: ['assign'], sites: ['OUT-1'] } });
    expect(issued.body.approval, issued.text).toBe('pending');
    ids.token = issued.body.id;
    browser = await launchChromium();
    page = browser.page;
  });
  afterAll(async () => {
    await browser?.close();
    await w?.dispose();
  });

  it('the requester sees what waits, cannot approve it and is told why; the navigation counts only what others asked for', async () => {
    await page.goto(`${w.url}/`);
    await signIn('sa1');
    await page.getByRole('menuitem', { name: /Approvals/ }).waitFor();
    await goTo('#/approvals', 'approvals-page');
    for (const key of [`case:${ids.case}`, 'account:c1', `exception:${ids.exception}`, `detector:${ids.detector}`, `subject:${ids.subject}`]) {
      await item(key).waitFor({ timeout: 30_000 });
      expect(await page.getByTestId(`approve-${key}`).isDisabled(), key).toBe(true);
      expect(await page.getByTestId(`blocked-${key}`).innerText()).toBe('You asked for this: another analyst must approve it');
    }
    expect(await item('account:c1').innerText()).toContain('c1: from courier at OUT-1 to outlet staff at OUT-1');
    expect(await item(`exception:${ids.exception}`).innerText()).toContain('Account c2 excepted from detection until');
    expect(await item(`subject:${ids.subject}`).innerText()).toContain('Deletion, person identified by Phone number');
    expect(await page.getByTestId(`discard-subject:${ids.subject}`).isDisabled()).toBe(true);
    expect(await item(`detector:${ids.detector}`).innerText()).toContain(`${ids.setting}: ${setting.from} → ${setting.from + 1}`);
    // it1's token is the one thing waiting for sa1.
    expect(await page.getByTestId(`approve-token:${ids.token}`).isDisabled()).toBe(false);
    expect(await item(`token:${ids.token}`).innerText()).toMatch(/Token for svc[\s\S]*May send: assign[\s\S]*For sites: OUT-1/);
    expect(await page.getByTestId('approvals-count').innerText()).toBe('1');
    await accessible('approvals-01-requester');

    // A second exception asked for from the page (a device), pending too.
    await page.getByTestId('exception-new').click();
    const modal = page.locator('.ant-modal:visible');
    await modal.waitFor();
    await modal.locator('.ant-select').first().click();
    await page.locator('.ant-select-item-option').filter({ hasText: 'Device' }).click();
    await page.getByTestId('exception-value').fill('dev_scanner_9');
    await page.getByTestId('exception-reason').fill('replacement scanner under test');
    await modal.getByRole('button', { name: 'Confirm' }).click();
    const row = page.getByTestId('exception-list').locator('tbody tr.ant-table-row').filter({ hasText: 'dev_scanner_9' });
    await row.waitFor({ timeout: 30_000 });
    expect(await row.innerText()).toContain('Awaiting approval');
    const stored = (await w.api('GET', '/api/v1/exceptions', { token: tokens.sa2 })).body.exceptions.find((x: { value: string }) => x.value === 'dev_scanner_9');
    expect(stored).toMatchObject({ kind: 'device', approval: 'pending', created_by: 'sa1' });
    ids.device = stored.id;
    await accessible('approvals-02-exception-requested');

    // The server refuses the requester anyway: a direct approval is a 403 and changes nothing.
    expect((await w.api('POST', `/api/v1/cases/${ids.case}/approve`, { token: tokens.sa1 })).status).toBe(403);
  });

  it('a second analyst sees the count, approves from the inbox exactly what was shown, and removes an exception', async () => {
    await signOut();
    await signIn('sa2');
    // Waiting for sa2: the case, c1's change, two exceptions, the detector change, the deletion and it1's token.
    await expect.poll(navCount, { timeout: 30_000 }).toMatch(/Approvals\s*7/);
    await goTo('#/approvals', 'approvals-page');
    const approve = async (key: string) => {
      await page.getByTestId(`approve-${key}`).click();
      await item(key).waitFor({ state: 'detached', timeout: 30_000 });
    };
    await approve(`case:${ids.case}`);
    expect((await w.api('GET', `/api/v1/cases/${ids.case}`, { token: tokens.sa2 })).body).toMatchObject({ status: 'open', approved_by: 'sa2' });
    await expect.poll(navCount, { timeout: 30_000 }).toMatch(/Approvals\s*6/);
    await approve(`token:${ids.token}`);
    const issuedTokens = (await w.api('GET', '/api/v1/accounts/svc/tokens', { token: tokens.it1 })).body.tokens;
    expect(issuedTokens).toEqual([expect.objectContaining({ id: ids.token, approval: 'approved', requested_by: 'it1', approved_by: 'sa2' })]);

    // The detector approval names the request sa2 read: sa1 swaps it meanwhile, so it is refused, not approved blind.
    const swapped = await w.api('PUT', `/api/v1/detectors/${ids.detector}`, { token: tokens.sa1, body: { settings: { [ids.setting!]: setting.from + 2 }, reason: 'fewer alerts at the hub' } });
    expect(swapped.status, swapped.text).toBe(200);
    await page.getByTestId(`approve-detector:${ids.detector}`).click();
    await page.getByTestId('approvals-refusal').waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('approvals-refusal').innerText()).toMatch(/Refused: .*replaced after you read it/);
    // Read again: the new value is shown, and that is what is approved.
    await item(`detector:${ids.detector}`).getByText(`${ids.setting}: ${setting.from} → ${setting.from + 2}`).waitFor({ timeout: 30_000 });
    await approve(`detector:${ids.detector}`);
    const after = (await w.api('GET', '/api/v1/detectors', { token: tokens.sa2 })).body.detectors.find((x: { name: string }) => x.name === ids.detector);
    expect(after.request).toBeNull();
    expect(after.saved).toMatchObject({ updated_by: 'sa1' });
    expect(after.saved.settings[ids.setting!]).toBe(setting.from + 2);
    const changed = await w.warden.db.selectFrom('audit_log').select(['detail']).where('kind', '=', 'detect.settings_changed').where('decision', '=', 'ok').execute();
    expect(changed.map((r) => r.detail)).toEqual([expect.objectContaining({ detector: ids.detector, actor: 'sa2', requested_by: 'sa1' })]);

    await approve('account:c1');
    const c1 = (await w.api('GET', '/api/v1/accounts/c1', { token: tokens.sa2 })).body;
    expect(c1).toMatchObject({ role: 'outlet_staff', site: 'OUT-1', pending_approval: null, approved_by: 'sa2' });

    await approve(`exception:${ids.exception}`);
    const inForce = page.locator(`tr[data-exception="${ids.exception}"]`);
    await inForce.getByText('In force').waitFor({ timeout: 30_000 });
    expect(await inForce.innerText()).toContain('sa2');
    await expect.poll(navCount, { timeout: 30_000 }).toMatch(/Approvals\s*2/);
    await accessible('approvals-03-second-analyst');

    // The deletion refused with a reason, from the inbox.
    await page.getByTestId(`discard-subject:${ids.subject}`).click();
    await page.getByTestId('reject-form').locator('.ant-select').click();
    await page.locator('.ant-select-item-option').filter({ hasText: 'Identity not verified' }).click();
    await page.locator('.ant-modal').getByRole('button', { name: 'Reject' }).click();
    await item(`subject:${ids.subject}`).waitFor({ state: 'detached', timeout: 30_000 });
    expect((await w.api('GET', `/api/v1/subjects/requests/${ids.subject}`, { token: tokens.sa2 })).body).toMatchObject({ state: 'rejected' });
    await expect.poll(navCount, { timeout: 30_000 }).toMatch(/Approvals\s*1/);

    // Removing the device exception (never in force): gone from the list and from the server.
    await page.getByTestId(`exception-remove-${ids.device}`).click();
    await page.locator('.ant-popover:visible').getByRole('button', { name: 'Confirm' }).click();
    await page.locator(`tr[data-exception="${ids.device}"]`).waitFor({ state: 'detached', timeout: 30_000 });
    expect((await w.api('GET', '/api/v1/exceptions', { token: tokens.sa2 })).body.exceptions.map((x: { id: string }) => x.id)).toEqual([ids.exception]);
    await expect.poll(() => page.getByTestId('approvals-count').count(), { timeout: 30_000 }).toBe(0);
    expect(await page.getByTestId('inbox-cases').innerText()).toContain('Nothing waiting');
  });

  it('in Chinese, without serious accessibility violations', async () => {
    await page.getByTestId('language').click();
    await page.locator('.ant-select-item-option').filter({ hasText: '简体中文' }).click();
    await page.getByRole('heading', { name: '待审批', level: 1 }).waitFor();
    await settled();
    await accessible('approvals-zh');
    await page.getByTestId('language').click();
    await page.locator('.ant-select-item-option').filter({ hasText: 'English' }).click();
    await page.getByRole('heading', { name: 'Approvals', level: 1 }).waitFor();
  });
});
