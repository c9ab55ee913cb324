/// <reference lib="dom" />
/**
 * What the browser tests stand on: the real demo (`warden demo`, the README's `npm start`) in a
 * child process, Debian's Chromium (never a downloaded browser) with a fresh profile, axe-core
 * injected into the page, and screenshots under test-results/.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { ensureBuilt } from '../support/build.js';

export const ROOT = new URL('../../', import.meta.url).pathname;
export const RESULTS = join(ROOT, 'test-results');
const CHROMIUM = '/usr/bin/chromium';
/** Seed 5 of the tiny world attacks earliest (after ~4,400 actions of history), which keeps the test short. */
export const SEED = 5;
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** dist/ (the server) and dist/web (the console) are built, as `npm ci` leaves them. */
export function ensureConsoleBuilt(): void {
  ensureBuilt(ROOT);
  if (!existsSync(join(ROOT, 'dist', 'web', 'index.html'))) {
    execFileSync(process.execPath, [join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', join(ROOT, 'web', 'vite.config.ts'), '--logLevel', 'warn'], { stdio: 'inherit' });
  }
}

export interface Demo {
  url: string;
  adminToken: string;
  analyst: { id: string; password: string; totpSecret: string | null };
  output(): string;
  stop(): void;
}

export async function startDemo(): Promise<Demo> {
  const data = mkdtempSync(join(tmpdir(), 'warden-browser-demo-'));
  const child: ChildProcess = spawn(process.execPath, [join(ROOT, 'bin', 'warden.js'), 'demo', '--port', '0', '--speed', '600', '--seed', String(SEED), '--data', data], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '' },
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const started = Date.now();
  let m: RegExpExecArray | null = null;
  while (!m && Date.now() - started < 180_000 && child.exitCode === null) {
    await new Promise((r) => setTimeout(r, 250));
    m = /console\s+(http:\/\/\S+)\/\n\s+analyst\s+(\S+) \/ (\S+)(?:\s+one-time codes: TOTP secret (\S+))?[\s\S]*admin token\s+(\S+)/.exec(out);
  }
  if (!m) {
    child.kill('SIGKILL');
    throw new Error(`the demo did not start:\n${out.slice(-3000)}`);
  }
  return {
    url: m[1]!,
    analyst: { id: m[2]!, password: m[3]!, totpSecret: m[4] ?? null },
    adminToken: m[5]!,
    output: () => out,
    stop() {
      child.kill('SIGTERM');
      setTimeout(() => {
        child.kill('SIGKILL');
        rmSync(data, { recursive: true, force: true });
      }, 5000).unref();
    },
  };
}

export async function launchChromium(): Promise<{ context: BrowserContext; page: Page; close(): Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'warden-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 800 },
    locale: 'en-US',
    timezoneId: 'Asia/Shanghai',
    // Charts draw at once (the console honours reduced motion), so screenshots show them whole.
    reducedMotion: 'reduce',
    // axe-core is injected as an inline script, which the console's CSP (rightly) refuses.
    bypassCSP: true,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

const AXE = readFileSync(join(ROOT, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

/** axe-core's WCAG 2 A/AA rules on the page as it is; returns the serious and critical violations. */
export async function seriousViolations(page: Page): Promise<string[]> {
  // A toast caught mid-fade (opacity animating) reads as low contrast: check the page between
  // animations (a toast that stays is still checked). CI once caught a success message leaving.
  await page.waitForFunction(() => document.querySelectorAll('[class*="-fade-leave"], [class*="-fade-enter"], [class*="-move-up-leave"], [class*="-move-up-enter"]').length === 0, undefined, { timeout: 10_000 }).catch(() => undefined);
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ content: AXE });
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: Document, opts: object): Promise<{ violations: Array<{ id: string; impact: string | null; help: string; nodes: Array<{ target: string[] }> }> }> } }).axe;
    const r = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact ?? 'unknown', help: v.help, targets: v.nodes.slice(0, 5).map((n) => n.target.join(' ')) }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.impact} ${v.id} (${v.help}): ${v.targets.join(' | ')}`);
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(RESULTS, { recursive: true });
  await page.screenshot({ path: join(RESULTS, `${name}.png`) });
}

/**
 * The steps the page tests share, bound to the test's page (read at call time: it opens in
 * beforeAll): an axe-core check with a screenshot, waiting for skeletons and spinners to go,
 * signing out, and going to a page by its hash until its test id shows.
 */
export function pageSteps(page: () => Page) {
  const settled = () => page().waitForFunction(() => document.querySelectorAll('.ant-skeleton, .ant-spin-spinning').length === 0, undefined, { timeout: 30_000 });
  return {
    settled,
    async accessible(name: string) {
      await page().waitForTimeout(200);
      await screenshot(page(), name);
      expect(await seriousViolations(page()), `axe-core on ${name}`).toEqual([]);
    },
    async signOut() {
      await page().getByRole('button', { name: 'Sign out' }).click();
      await page().getByLabel('Account').waitFor();
    },
    async goTo(hash: string, testId: string) {
      await page().evaluate((h) => (window.location.hash = h), hash);
      await page().getByTestId(testId).waitFor({ timeout: 30_000 });
      await settled();
    },
  };
}
