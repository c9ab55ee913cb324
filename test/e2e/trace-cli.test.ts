/**
 * Leak tracing from the operator's shell: the real `warden` bin against a real store.
 * `canary plant|list|rotate` answer in their documented shapes and are audited;
 * `warden attribute --leak ... --events ... --json out.json` names the account the dump was cut
 * from, the same from a gzip-compressed events file and in worker threads; bad input (a missing
 * file, a file that is not a CSV, a count of 0) is a clear message and a non-zero exit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { createTestStore, testBackends, type TestStore } from '../support/stores.js';
import { startTestWarden } from '../support/warden.js';
import { releaseForCli, reopen, runWarden } from '../support/cli.js';
import { zipBomb } from '../support/zip-bomb.js';

const PARTY = { name: '王小明', phone: '13900001111', address: '北京市朝阳区建国路88号3号楼2单元501室' };
const W = (n: number) => `SF7${String(3_000_000_000 + n)}`;
const FOUND = '2026-10-01T00:00:00.000Z';

/** Reveals by 40 ordinary accounts over 2,000 waybills, and a source that revealed the 150 it leaked. */
function history(): { ndjson: string; leaked: string[] } {
  const lines: string[] = [];
  let seed = 7;
  const rnd = (n: number) => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n;
  const leaked = Array.from({ length: 150 }, (_, i) => W(i * 13));
  let t = Date.parse('2026-06-01T00:00:00Z');
  const line = (account: string, waybill: string) => {
    t += 60_000;
    lines.push(JSON.stringify({ id: `e${lines.length}`, ts: new Date(t).toISOString(), type: 'access', account, role: 'courier', device: `${account}-pda`, ip: '10.1.2.3', action: 'reveal', waybill, fields: ['name', 'phone'], purpose: 'delivery', result: 'allowed' }));
  };
  for (let i = 0; i < 6000; i++) {
    line(`acct-${rnd(40)}`, W(rnd(2000)));
    if (i % 40 === 0 && leaked.length > i / 40) line('leaker', leaked[i / 40]!);
  }
  return { ndjson: lines.join('\n') + '\n', leaked };
}

describe.each(testBackends())('warden canary and warden attribute on %s', (backend) => {
  let t: TestStore;
  let dir = '';
  const M = randomBytes(32).toString('base64');
  // Each CLI run opens the store and the trail; on a shared machine that can take a while.
  const cli = (args: string[]) => runWarden(t, args, { WARDEN_MASTER_KEY: M }, 240_000);
  const SLOW = 900_000;

  beforeAll(async () => {
    t = await createTestStore(backend);
    const w = await startTestWarden(backend, { store: t, config: { detect: false, masterKey: M } });
    const admin = w.adminToken;
    await w.api('POST', '/api/v1/sites', { token: admin, body: { code: 'OUT-1', kind: 'outlet', city: '北京' } });
    await w.api('POST', '/api/v1/accounts', { token: admin, body: { id: 'svc', role: 'service', site: null, password: 'pw-svc-secret' } });
    const service = (await w.api('POST', '/api/v1/accounts/svc/tokens', { token: admin })).body.token;
    for (const waybill of ['SF100000000001', 'SF100000000002']) {
      expect((await w.api('POST', '/api/v1/waybills', { token: service, body: { waybill, origin_site: 'OUT-1', dest_site: 'OUT-1', sender: PARTY, recipient: PARTY } })).status).toBe(201);
    }
    await w.dispose();
    await releaseForCli(t);
    dir = mkdtempSync(join(process.env.WARDEN_TEST_TMP ?? '/tmp', 'trace-cli-'));
  }, SLOW);
  afterAll(async () => {
    await t?.dispose();
  });

  it('refuses --actor on every canary verb and attribute, saying why, before anything is read or audited (attack review 9)', () => {
    // Hole: `warden canary list --actor ana2` printed the live canaries and the trail blamed ana2.
    for (const args of [['canary', 'list', '--actor', 'ana2'], ['canary', 'list', '--actor=ana2', '--json'], ['canary', 'plant', '--count', '1', '--actor', 'ana2'], ['canary', 'rotate', '--actor'], ['attribute', '--leak', 'x.csv', '--actor', 'ana2']]) {
      const r = cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toMatch(/--actor is not accepted: the CLI records who acts as os:/);
      expect(r.out).not.toMatch(/SF\d{12}/);
    }
  }, SLOW);

  it('canary plant, list and rotate answer in their shapes; list --all keeps the retired ones', () => {
    const planted = cli(['canary', 'plant', '--count', '3']);
    expect(planted.code, planted.err).toBe(0);
    expect(planted.out).toMatch(/^planted 3 canaries \(batch \S+\)\n$/);

    const list = cli(['canary', 'list', '--json']);
    expect(list.code, list.err).toBe(0);
    const live = JSON.parse(list.out).canaries as Array<{ waybill: string; planted_at: string; retired_at: string | null }>;
    expect(live).toHaveLength(3);
    for (const c of live) {
      expect(c.waybill).toMatch(/^SF\d{12}$/);
      expect(Number.isNaN(Date.parse(c.planted_at))).toBe(false);
      expect(c.retired_at).toBeNull();
    }

    const rotated = cli(['canary', 'rotate', '--count', '2']);
    expect(rotated.code, rotated.err).toBe(0);
    expect(rotated.out).toMatch(/^retired 3, planted 2 canaries \(batch \S+\)\n$/);
    const text = cli(['canary', 'list']);
    expect(text.code).toBe(0);
    expect(text.out.trim().split('\n').map((l) => l.split('\t').at(-1))).toEqual(['live', 'live']);
    const all = JSON.parse(cli(['canary', 'list', '--all', '--json']).out).canaries as Array<{ waybill: string; retired_at: string | null }>;
    expect(all).toHaveLength(5);
    expect(all.filter((c) => c.retired_at).map((c) => c.waybill).sort()).toEqual(live.map((c) => c.waybill).sort());
  }, SLOW);

  it('canary plant refuses a count of 0 and a missing count, with a message and a non-zero exit', () => {
    const zero = cli(['canary', 'plant', '--count', '0']);
    expect(zero.code).not.toBe(0);
    expect(zero.err).toMatch(/--count must be a positive integer/);
    const missing = cli(['canary', 'plant']);
    expect(missing.code).not.toBe(0);
    expect(missing.err).toMatch(/--count/);
  }, SLOW);

  it('attribute --events --json names the source first, the same from gzip and on worker threads', () => {
    const { ndjson, leaked } = history();
    const events = join(dir, 'events.ndjson');
    const packed = join(dir, 'events.ndjson.gz');
    writeFileSync(events, ndjson);
    writeFileSync(packed, gzipSync(ndjson));
    const dump = join(dir, 'dump.csv');
    const junk = ['第1页 合计,,,', 'SF9000000000001,,,'];
    writeFileSync(dump, ['运单号,收件人,手机号,收货地址', ...leaked.map((w) => `${w},王**,138****0000,北京市朝阳区****`), ...junk].join('\n') + '\n');

    const runs = [
      ['plain', events, []],
      ['gzip', packed, []],
      ['threads', events, ['--threads', '2']],
    ] as const;
    const results = runs.map(([name, file, extra]) => {
      const out = join(dir, `out-${name}.json`);
      const r = cli(['attribute', '--leak', dump, '--events', file, '--json', out, '--found-at', FOUND, ...extra]);
      expect(r.code, `${name}: ${r.err}`).toBe(0);
      expect(r.out).toMatch(/^rows matched 150, unmatched 2 \(junk 1\); 150 records; matched by waybill 150/);
      expect(r.out).toMatch(/\nsources: leaker; leak window \S+ … 2026-10-01T00:00:00.000Z\n/);
      return JSON.parse(readFileSync(out, 'utf8'));
    });
    const [plain] = results;
    expect(plain).toMatchObject({ matched: 150, unmatched: 2, sources: ['leaker'], window: { to: FOUND } });
    expect(plain.suspects[0]).toMatchObject({ account: 'leaker', matched: 150, source: true, devices: ['leaker-pda'] });
    expect(Object.keys(plain.suspects[0])).toEqual(expect.arrayContaining(['account', 'matched', 'score', 'first', 'last', 'devices']));
    const scores = plain.suspects.map((s: { score: number }) => s.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    expect(plain.suspects[1].score).toBeLessThan(plain.suspects[0].score);
    expect(results[1]).toEqual(plain);
    expect(results[2]).toEqual(plain);
  }, SLOW);

  it('attribute without --events reads the stored trail', () => {
    const dump = join(dir, 'stored.csv');
    writeFileSync(dump, 'waybill,name\nSF100000000001,王**\nSF100000000002,王**\nSF199999999999,李**\n');
    const out = join(dir, 'stored.json');
    const r = cli(['attribute', '--leak', dump, '--json', out]);
    expect(r.code, r.err).toBe(0);
    // Two numbers the store holds, one it does not; nobody was shown them in full.
    expect(JSON.parse(readFileSync(out, 'utf8'))).toMatchObject({ matched: 2, unmatched: 1, suspects: [], sources: [] });
  }, SLOW);

  it('bad input is a clear message and exit 2: a missing file, a file that is not a CSV, a CSV of nothing', () => {
    const dump = join(dir, 'dump.csv');
    const missing = cli(['attribute', '--leak', join(dir, 'nope.csv')]);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/cannot read --leak .*nope\.csv: ENOENT/);
    const noEvents = cli(['attribute', '--leak', dump, '--events', join(dir, 'nope.ndjson')]);
    expect(noEvents.code).toBe(2);
    expect(noEvents.err).toMatch(/cannot read --events .*nope\.ndjson: ENOENT/);

    const binary = join(dir, 'photo.csv');
    writeFileSync(binary, Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]), randomBytes(2000)]));
    const notCsv = cli(['attribute', '--leak', binary]);
    expect(notCsv.code).toBe(2);
    expect(notCsv.err).toMatch(/neither CSV text nor an XLSX workbook/);

    const zip = join(dir, 'fake.xlsx');
    writeFileSync(zip, Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(100, 1)]));
    const badZip = cli(['attribute', '--leak', zip]);
    expect(badZip.code).toBe(2);
    expect(badZip.err).toMatch(/not a readable XLSX workbook/);
    const bombFile = join(dir, 'bomb.xlsx');
    writeFileSync(bombFile, zipBomb(300));
    const bomb = cli(['attribute', '--leak', bombFile]);
    expect(bomb.code).toBe(2);
    expect(bomb.err).toMatch(/unpacks to more than 256 MiB/);

    // An events file handed over as the dump: text, but no column reads as any of the five.
    const prose = join(dir, 'events-as-dump.json');
    writeFileSync(prose, '{"a": 1}\n{"b": [2, 3]}\n');
    const nothing = cli(['attribute', '--leak', prose]);
    expect(nothing.code).toBe(2);
    expect(nothing.err).toMatch(/no column of the leaked file reads as a waybill number/);
  }, SLOW);

  it('every plant, list, rotation and attribution run is in the audit trail, which verifies', async () => {
    const s = await reopen(t);
    try {
      const kinds = await s.store.db.selectFrom('audit_log').select('kind').where('kind', 'like', 'trace.%').orderBy('seq').execute();
      const count = (k: string) => kinds.filter((x) => x.kind === k).length;
      expect(count('trace.canaries_planted')).toBe(1);
      expect(count('trace.canaries_rotated')).toBe(1);
      expect(count('trace.canaries_listed')).toBe(3);
      // Three runs on the events file, one on the stored trail; refused input is not a run.
      expect(count('trace.attribution_run')).toBe(4);
      // Every act is on the operating-system account that ran the CLI, never a name from the command line.
      const details = await s.store.db.selectFrom('audit_log').select('detail').where('kind', 'like', 'trace.%').execute();
      const actors = new Set(details.map((r) => (typeof r.detail === 'string' ? JSON.parse(r.detail) : r.detail).actor));
      expect([...actors]).toEqual([`os:${userInfo().username}`]);
      // The host operator is not bound by the HTTP minimum (a 3-row file ran) and the run names the file by its SHA-256.
      const runs = await s.store.db.selectFrom('audit_log').select('detail').where('kind', '=', 'trace.attribution_run').orderBy('seq').execute();
      const stored = createHash('sha256').update(readFileSync(join(dir, 'stored.csv'))).digest('hex');
      expect(runs.map((r) => (typeof r.detail === 'string' ? JSON.parse(r.detail) : r.detail))).toContainEqual(expect.objectContaining({ sha256: stored, rows: 3, matched: 2, via: 'cli' }));
    } finally {
      await s.dispose();
    }
    await releaseForCli(t);
    const verify = cli(['audit', 'verify']);
    expect(verify.code, verify.err).toBe(0);
  }, SLOW);
});
