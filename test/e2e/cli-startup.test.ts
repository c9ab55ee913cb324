/**
 * Every `warden` run starts by registering all verbs; a verb's implementation (the server with
 * Fastify and PGlite, exceljs for attribution, pdfkit and docx for reports …) must load only when
 * its action runs. The bin is run under a resolve hook (test/support/resolve-log.mjs) that logs
 * every specifier the process resolves.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = new URL('../../bin/warden.js', import.meta.url).pathname;
const HOOK = new URL('../support/resolve-log.mjs', import.meta.url).pathname;
const HEAVY = ['exceljs', 'fastify', '@electric-sql/pglite', 'pg', 'kysely', 'nats', 'pdfkit', 'docx', 'pino', '@faker-js/faker'];

function resolvedBy(args: string[]): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'warden-startup-'));
  try {
    const log = join(dir, 'resolved.txt');
    const r = spawnSync(process.execPath, ['--import', HOOK, BIN, ...args], { env: { PATH: process.env.PATH ?? '', WARDEN_RESOLVE_LOG: log }, encoding: 'utf8', timeout: 30_000 });
    expect(r.status, r.stderr).toBe(0);
    return readFileSync(log, 'utf8').split('\n').filter(Boolean);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('warden startup', () => {
  it.each([[['--version']], [['detect', '--help']], [['attribute', '--help']]])('%j loads no verb implementation', (args) => {
    const resolved = resolvedBy(args);
    expect(resolved).toContain('commander'); // the hook saw the CLI's own imports
    const packages = resolved.map((s) => s.split('/').slice(0, s.startsWith('@') ? 2 : 1).join('/'));
    expect([...new Set(packages.filter((p) => HEAVY.includes(p)))]).toEqual([]);
  });
});
