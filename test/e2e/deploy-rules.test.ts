/**
 * The shipped operations files in deploy/: Prometheus rules pass `promtool check rules` and their
 * unit tests (`promtool test rules`), and every metric the rules and the Grafana dashboard name is
 * one a started Warden exports on /metrics — so a renamed metric breaks CI, not a 3 a.m. page.
 *
 * promtool comes from Debian's `prometheus` package (.ci/run installs it). Off CI a machine
 * without it skips the promtool checks with a message; under CI=true they must run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestWarden, type TestWarden } from '../support/warden.js';

const DEPLOY = join(import.meta.dirname, '../../deploy');
const ruleFiles = readdirSync(DEPLOY).filter((f) => f.endsWith('.yml')).map((f) => join(DEPLOY, f));
const ruleTests = readdirSync(join(DEPLOY, 'tests')).filter((f) => f.endsWith('.yml')).map((f) => join(DEPLOY, 'tests', f));
const dashboard = readFileSync(join(DEPLOY, 'grafana/warden-dashboard.json'), 'utf8');

function findPromtool(): string | null {
  const r = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? 'promtool' : null;
}
const promtool = findPromtool();
if (!promtool) {
  if (process.env.CI === 'true') throw new Error('promtool is missing under CI=true: .ci/run installs Debian\'s prometheus package');
  console.warn('deploy-rules.test.ts: promtool not found (apt-get install prometheus); skipping the promtool checks off CI');
}

/** PromQL expressions in the rules and the dashboard's targets. */
function expressions(): string[] {
  const out: string[] = [];
  for (const f of ruleFiles) for (const m of readFileSync(f, 'utf8').matchAll(/^\s*expr:\s*(\|\s*\n((?:\s{10,}.*\n?)+)|.*)$/gm)) out.push(m[2] ?? m[1]!);
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) (k === 'expr' || k === 'definition') && typeof x === 'string' ? out.push(x) : walk(x);
  };
  walk(JSON.parse(dashboard));
  return out;
}

describe.skipIf(!promtool)('promtool', () => {
  it('checks the shipped rules', () => {
    expect(ruleFiles.length).toBeGreaterThan(0);
    const out = execFileSync(promtool!, ['check', 'rules', ...ruleFiles], { encoding: 'utf8' });
    console.log(out.trim());
    expect(out).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('passes the rules\' unit tests', () => {
    const r = spawnSync(promtool!, ['test', 'rules', ...ruleTests], { encoding: 'utf8', cwd: join(DEPLOY, 'tests') });
    expect(r.stdout + r.stderr).toContain('SUCCESS');
    expect(r.status).toBe(0);
  });
});

describe('metrics named in deploy/ exist', () => {
  let w: TestWarden;
  beforeAll(async () => {
    w = await startTestWarden('pglite');
  });
  afterAll(async () => {
    await w?.dispose();
  });

  it('every warden_* metric in the rules and dashboard is exported by /metrics', async () => {
    const res = await w.api('GET', '/metrics');
    expect(res.status).toBe(200);
    const families = new Map<string, string>();
    for (const m of res.text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) families.set(m[1]!, m[2]!);
    const exported = (name: string): boolean => {
      if (families.has(name)) return true;
      const base = name.replace(/_(bucket|sum|count)$/, '');
      return base !== name && (families.get(base) === 'histogram' || families.get(base) === 'summary');
    };
    const exprs = expressions();
    expect(exprs.length).toBeGreaterThan(20);
    // Recording rules' outputs (warden:…) are not exported; raw names are warden_… only.
    const named = new Set(exprs.flatMap((e) => [...e.matchAll(/\bwarden_[a-z0-9_]+/g)].map((m) => m[0])));
    expect(named.size).toBeGreaterThan(10);
    const missing = [...named].filter((n) => !exported(n));
    expect(missing, `metrics named in deploy/ that Warden does not export: ${missing.join(', ')}`).toEqual([]);
    // The families the issue asks operators to watch are all covered by at least one rule or panel.
    for (const n of ['warden_records_revealed_total', 'warden_access_decisions_total', 'warden_audit_commit_duration_seconds_bucket', 'warden_audit_write_failures_total', 'warden_bus_pending_events', 'warden_detection_latency_seconds_bucket', 'warden_audit_witness_last_success_timestamp_seconds', 'warden_quota_saturation_ratio_bucket']) {
      expect(named.has(n), n).toBe(true);
    }
  });

  it('recording rules used by alerts are defined in the rules', () => {
    const text = ruleFiles.map((f) => readFileSync(f, 'utf8')).join('\n');
    const recorded = new Set([...text.matchAll(/^\s*- record: (\S+)$/gm)].map((m) => m[1]!));
    const used = new Set(expressions().flatMap((e) => [...e.matchAll(/\bwarden:[a-z0-9_:]+/g)].map((m) => m[0])));
    expect(used.size).toBeGreaterThan(0);
    for (const u of used) expect(recorded.has(u), u).toBe(true);
  });
});
