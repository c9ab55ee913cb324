/**
 * The README's first command: `warden demo` brings up Warden on the embedded store, creates the
 * simulated company through the API, and an attack alert about an attacking account appears in
 * the API within minutes (here at 600× so the test stays short).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { createSimulation, resolveParams } from '../../src/simulate/index.js';

const BIN = new URL('../../bin/warden.js', import.meta.url).pathname;

describe('warden demo', () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill('SIGTERM');
  });

  it('shows an alert about an attacking account in the API within minutes', async () => {
    // Seed 5 attacks earliest (after ~4,400 actions of history instead of ~6,700 for seed 1), so the
    // test stays inside its time on a busy two-core machine.
    const run = createSimulation(resolveParams({ seed: 5 }, 'tiny'));
    const attackers = new Set(run.scenarios.filter((s) => s.label.kind === 'attack').flatMap((s) => s.label.accounts));
    const data = mkdtempSync(join(process.env.WARDEN_TEST_TMP ?? '/tmp', 'demo-'));
    child = spawn(process.execPath, [BIN, 'demo', '--port', '0', '--speed', '600', '--seed', '5', '--data', data], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '' } });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const started = Date.now();
    let url = '';
    let token = '';
    while (!url && Date.now() - started < 60_000) {
      await new Promise((r) => setTimeout(r, 250));
      url = /API\s+(http:\/\/\S+)\/api\/v1/.exec(out)?.[1] ?? '';
      token = /admin token\s+(\S+)/.exec(out)?.[1] ?? '';
    }
    expect(url, out).not.toBe('');
    let hit: { account: string; detector: string; severity: string } | undefined;
    while (!hit && Date.now() - started < 240_000) {
      await new Promise((r) => setTimeout(r, 2000));
      const res = await fetch(`${url}/api/v1/alerts?min_severity=medium&limit=500`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      const { alerts } = (await res.json()) as { alerts: Array<{ account: string; detector: string; severity: string }> };
      // A privileged account's creation raises an alert too; only detection of the attack counts here.
      hit = alerts.find((a) => attackers.has(a.account) && a.detector !== 'privileged_account_change');
    }
    expect(hit, `no alert about ${[...attackers].join(', ')} in ${Math.round((Date.now() - started) / 1000)} s\n${out.slice(-3000)}`).toBeDefined();
  }, 300_000);
});
