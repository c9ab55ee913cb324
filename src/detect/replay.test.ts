import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDetectionEngine } from './engine.js';
import { forEachLine, openInput, replay } from './replay.js';
import { ConfigError, loadConfigFile, resolveConfig } from './config.js';
import { parseEventLine } from '../contracts/events.js';
import { simulatedWorld } from './test-support/simulated.js';

const dir = mkdtempSync(join(tmpdir(), 'warden-detect-'));
// The simulator's small company, 4 days, with two attacks (so that there are alerts to compare).
const { lines } = simulatedWorld({ preset: 'tiny', seed: 11, days: 4, attacks: ['leased_night', 'leased_remote'], lookalikes: 'none' });
const good = `${lines.join('\n')}\n`;
const withBad = [lines[0], '{not json', lines[1], '', '{"id":"x","type":"login","account":"a"}', lines[2], '{"id":"y","ts":"2026-11-01T00:00:00.000Z","type":"teleport","account":"a"}', ...lines.slice(3)].join('\n');

async function collect(input: AsyncIterable<Buffer>): Promise<{ out: string; summary: Awaited<ReturnType<typeof replay>> }> {
  let out = '';
  const summary = await replay({ engine: createDetectionEngine({}), input, onAlertLine: (l) => (out += l) });
  return { out, summary };
}

describe('replay', () => {
  it('reports malformed lines with line numbers and reasons and keeps going', async () => {
    const { summary } = await collect(Readable.from([Buffer.from(withBad)]));
    expect(summary.rejected).toBe(3);
    expect(summary.blank_lines).toBe(1);
    expect(summary.events_read).toBe(lines.length + 3);
    expect(summary.rejected_samples).toEqual([
      { line: 2, reason: expect.stringMatching(/^invalid JSON/) },
      { line: 5, reason: 'missing required field "ts"' },
      { line: 7, reason: 'unknown event type "teleport"' },
    ]);
    expect(summary.alerts).toBeGreaterThan(0);
  });

  it('rejects a type naming an Object.prototype member (validateEvent throws on it) and keeps going', async () => {
    const odd = ['toString', 'constructor', '__proto__', 'hasOwnProperty'].map(
      (type) => `{"id":"o-${type}","ts":"2026-11-02T00:00:00.000Z","type":"${type}","account":"a"}`,
    );
    const { summary } = await collect(Readable.from([Buffer.from([lines[0], ...odd, ...lines.slice(1)].join('\n'))]));
    expect(summary.rejected).toBe(4);
    expect(summary.accepted).toBe(lines.length);
    expect(summary.rejected_samples.map((r) => r.reason)).toEqual([
      'unknown event type "toString"',
      'unknown event type "constructor"',
      'unknown event type "__proto__"',
      'unknown event type "hasOwnProperty"',
    ]);
  });

  it('accepts and rejects exactly the lines parseEventLine does, with its reasons', async () => {
    const mixed = [
      ...lines.slice(0, 50),
      '{"id":"m1","ts":"2026-11-02T00:00:00+08:00","type":"logout","account":"a"}',
      '{"id":"m2","ts":"2026-11-02T24:00:00.000Z","type":"logout","account":"a"}',
      '{"id":"m3","ts":"2026-11-02T23:59:60.000Z","type":"logout","account":"a"}',
      '{"id":"m4","ts":"2026-11-02T00:00:00.000Z","type":"access","account":"a","action":"reveal","fields":"phone"}',
      '{"id":"m5","ts":"2026-11-02T00:00:00.000Z","type":"scan","waybill":"","op":"arrive"}',
      '[1,2]',
      '"x"',
      'null',
    ];
    const { summary } = await collect(Readable.from([Buffer.from(mixed.join('\n'))]));
    const want = mixed.map((l, i) => ({ line: i + 1, r: parseEventLine(l) })).filter((x) => !x.r.ok);
    expect(summary.rejected_samples).toEqual(want.map((x) => ({ line: x.line, reason: (x.r as { reason: string }).reason })));
    expect(summary.accepted).toBe(mixed.length - want.length);
  });

  it('splits lines across chunk boundaries, CRLF and multi-byte characters intact', async () => {
    const text = '{"a":"上海"}\r\n{"b":1}\n{"c":"北京"}';
    const buf = Buffer.from(text);
    const chunks = [buf.subarray(0, 7), buf.subarray(7, 16), buf.subarray(16)];
    const got: Array<[string, number]> = [];
    await forEachLine(Readable.from(chunks), (l, n) => got.push([l, n]));
    expect(got).toEqual([['{"a":"上海"}', 1], ['{"b":1}', 2], ['{"c":"北京"}', 3]]);
  });

  it('gives the same lines however the bytes are cut into chunks', async () => {
    const text = '{"a":"上海"}\r\n\n{"b":1}\r\n\r\n{"c":"北京 😀"}\n\r\nlast\r';
    const want = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
    const buf = Buffer.from(text);
    const got = async (cuts: number[]): Promise<string[]> => {
      const chunks: Buffer[] = [];
      let at = 0;
      for (const c of [...cuts, buf.length]) {
        chunks.push(buf.subarray(at, c));
        at = c;
      }
      const out: string[] = [];
      await forEachLine(Readable.from(chunks), (l, n) => out.push(`${n}:${l}`));
      return out;
    };
    const expected = want.map((l, i) => `${i + 1}:${l}`);
    for (let i = 0; i <= buf.length; i++) {
      expect(await got([i]), `cut at ${i}`).toEqual(expected);
      for (let j = i; j <= buf.length; j += 3) expect(await got([i, j]), `cuts at ${i}, ${j}`).toEqual(expected);
    }
    expect(await got(Array.from({ length: buf.length }, (_, k) => k + 1))).toEqual(expected); // one byte per chunk
  });

  it('reads gzip input by extension and by magic bytes, with the same alerts as plain text', async () => {
    const plain = join(dir, 'a.ndjson');
    const gz = join(dir, 'a.ndjson.gz');
    writeFileSync(plain, good);
    writeFileSync(gz, gzipSync(good));
    const a = await collect(await openInput(plain));
    const b = await collect(await openInput(gz));
    const c = await collect(await openInput('-', Readable.from([gzipSync(good)])));
    expect(a.summary.events_read).toBe(lines.length);
    expect(b.out).toBe(a.out);
    expect(c.out).toBe(a.out);
  });
});

describe('config', () => {
  it('merges user config over defaults', () => {
    const c = resolveConfig({ detectors: { unexplained: { medium_records: 3 } } });
    expect(c.detectors.unexplained.medium_records).toBe(3);
    expect(c.detectors.unexplained.high_records).toBe(25);
  });
  it('names every bad key', () => {
    try {
      resolveConfig({ detectors: { sharing: { new_devise: 3, off_hours: 'x' } }, risk: { severity_high: 10 } });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems).toEqual([
        'detectors.sharing.new_devise: unknown key',
        'detectors.sharing.off_hours: expected a number, got "x"',
        'risk.severity_*: expected severity_medium < severity_high < severity_critical <= 100',
      ]);
    }
  });
  it('loads the shipped default YAML and it equals the built-in defaults', () => {
    expect(loadConfigFile(join(process.cwd(), 'config', 'detect.default.yaml'))).toEqual(resolveConfig({}));
  });
});

describe('warden detect CLI', () => {
  const bin = join(process.cwd(), 'bin', 'warden.js');
  const built = (() => {
    try {
      readFileSync(join(process.cwd(), 'dist', 'cli', 'commands', 'detect.js'));
      return true;
    } catch {
      return false;
    }
  })();
  beforeAll(() => {
    writeFileSync(join(dir, 'in.ndjson'), withBad);
    writeFileSync(join(dir, 'bad.yaml'), 'detectors:\n  sharing:\n    nope: 1\n');
  });
  it.skipIf(!built)('writes alerts, a summary on stderr and JSON summary; exit 0', () => {
    const r = spawnSync(process.execPath, [bin, 'detect', '--in', join(dir, 'in.ndjson'), '--out', join(dir, 'out.ndjson'), '--summary-json', join(dir, 's.json')], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/events read .* 3 rejected/);
    expect(r.stderr).toMatch(/line 2: invalid JSON/);
    expect(r.stderr).toMatch(/events\/s/);
    const alerts = readFileSync(join(dir, 'out.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(alerts.length).toBeGreaterThan(0);
    expect(Object.keys(alerts[0]).slice(0, 9)).toEqual(['id', 'ts', 'account', 'device', 'detector', 'severity', 'score', 'summary', 'evidence']);
    expect(JSON.parse(readFileSync(join(dir, 's.json'), 'utf8')).rejected).toBe(3);
  });
  it.skipIf(!built)('reads stdin with "-" and writes stdout', () => {
    const out = execFileSync(process.execPath, [bin, 'detect', '--in', '-', '--quiet'], { input: gzipSync(good) });
    expect(out.toString().split('\n').filter(Boolean).length).toBeGreaterThan(0);
  });
  it.skipIf(!built)('exits 2 on a missing file, a bad config and a missing --in', () => {
    const missing = spawnSync(process.execPath, [bin, 'detect', '--in', join(dir, 'nope.ndjson')], { encoding: 'utf8' });
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/nope\.ndjson: cannot read \(ENOENT\)/);
    const badCfg = spawnSync(process.execPath, [bin, 'detect', '--in', join(dir, 'in.ndjson'), '--config', join(dir, 'bad.yaml')], { encoding: 'utf8' });
    expect(badCfg.status).toBe(2);
    expect(badCfg.stderr).toMatch(/detectors\.sharing\.nope: unknown key/);
    const usage = spawnSync(process.execPath, [bin, 'detect'], { encoding: 'utf8' });
    expect(usage.status).toBe(2);
  });
});
