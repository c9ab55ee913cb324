/**
 * The events-file scanner against a plain JSON.parse of every line: on lines the fast path takes
 * and on every layout it must hand to the parser (spaces, escapes, nested objects, other key
 * orders, non-ASCII accounts, broken lines), read whole, in byte ranges, and gzip-compressed.
 */
import { describe, expect, it, beforeAll } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Rng } from '../../simulate/rng.js';
import { historyFromFile } from './events-file.js';
import type { Exposure } from './score.js';

const wb = (i: number) => `SF7${String(3_000_000_000 + i)}`;

/** What a full parse of every line says: the rules of docs/trace.md, written the slow way. */
function reference(text: string, leaked: ReadonlySet<string>) {
  const volume = new Map<string, number>();
  const exposures: Exposure[] = [];
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  for (const line of lines) {
    let e: Record<string, unknown>;
    try {
      e = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    if (!e || e.type !== 'access' || (e.action !== 'reveal' && e.action !== 'export') || e.result === 'denied' || typeof e.account !== 'string') continue;
    if (e.action === 'reveal' && Array.isArray(e.fields) && e.fields.length === 0) continue;
    const list = e.action === 'export' ? (Array.isArray(e.waybills) ? e.waybills.filter((w): w is string => typeof w === 'string') : []) : typeof e.waybill === 'string' ? [e.waybill] : [];
    if (!list.length) continue;
    volume.set(e.account, (volume.get(e.account) ?? 0) + list.length);
    for (const w of list) if (leaked.has(w)) exposures.push({ account: e.account, waybill: w, ts: Date.parse(String(e.ts)), device: typeof e.device === 'string' ? e.device : null, ip: typeof e.ip === 'string' ? e.ip : null, via: e.action === 'export' ? 'export' : 'reveal' });
  }
  return { volume, exposures, lines: lines.length };
}

/** Lines in every layout a producer might write, most of them the usual one. */
function mixedFile(seed: number, n: number): string {
  const rng = new Rng(seed);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const account = rng.chance(0.05) ? `店员-${rng.int(5)}` : `acct-${rng.int(40)}`;
    const e: Record<string, unknown> = { id: `e${i}`, ts: new Date(Date.UTC(2026, 5, 1) + i * 1000).toISOString(), type: 'access', account, role: 'courier', device: `${account}-pda`, ip: '10.0.0.1', action: 'reveal', waybill: wb(rng.int(300)), fields: ['name', 'phone'], purpose: 'delivery', result: 'allowed' };
    const k = rng.int(20);
    if (k === 0) out.push(JSON.stringify(e, null, 1).replace(/\n/g, '')); // spaces after colons
    else if (k === 1) out.push(JSON.stringify({ ...e, fields: [] }));
    else if (k === 2) out.push(JSON.stringify({ ...e, result: 'denied' }));
    else if (k === 3) out.push(JSON.stringify({ ...e, action: 'view', fields: [], purpose: 'reveal' }));
    else if (k === 4) out.push(JSON.stringify({ ...e, action: 'export', waybill: undefined, waybills: [wb(rng.int(300)), wb(rng.int(300))] }));
    else if (k === 5) out.push(JSON.stringify({ result: e.result, waybill: e.waybill, action: 'reveal', fields: e.fields, account, type: 'access', ts: e.ts })); // other key order
    else if (k === 6) out.push(JSON.stringify({ ...e, meta: { account: 'someone-else', result: 'denied' } })); // a nested object
    else if (k === 7) out.push(JSON.stringify({ ...e, account: `a"quoted\\${rng.int(3)}` })); // escapes
    else if (k === 8) out.push(JSON.stringify(e).replace('"fields":["name","phone"]', '"fields":[ ]'));
    else if (k === 9) out.push(JSON.stringify(e).replace('"result":"allowed"', '"result":"allowed"').replace('"account"', '"subaccount":"x","account"'));
    else if (k === 10) out.push(JSON.stringify(e).slice(0, 60) + ' "action":"reveal" (truncated)'); // not JSON
    else if (k === 11) out.push('');
    else if (k === 12) out.push(JSON.stringify({ ...e, type: 'login', action: undefined, result: 'success' }));
    else if (k === 16) out.push(JSON.stringify({ ...e, type: 'audit' })); // a reveal, but not an access event
    else if (k === 17) out.push(JSON.stringify({ ...e, action: 'view' }).replace('"action":"view"', '"action":"view","action":"reveal"')); // JSON keeps the last
    else if (k === 18) out.push(JSON.stringify({ ...e, n: -1.5e3, ok: true, x: null, tags: ['a', 2, false] }));
    else if (k === 19) out.push(JSON.stringify(e).replace('"action":"reveal"', '"action":"re\\u0076eal"')); // an escape spelling reveal
    else out.push(JSON.stringify(e));
  }
  return out.join('\n');
}

const sorted = (xs: Exposure[]) => xs.map((x) => JSON.stringify(x)).sort();

describe('events-file scanner', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'warden-scan-'));
  });

  it('counts exactly what a JSON parse of every line counts, whatever the layout', async () => {
    const text = mixedFile(11, 4000); // no newline at the end of the file
    const path = join(dir, 'mixed.ndjson');
    writeFileSync(path, text);
    const leaked = new Set(Array.from({ length: 60 }, (_, i) => wb(i * 5)));
    const ref = reference(text, leaked);
    const got = await historyFromFile(path, leaked, { threads: 1 });
    expect(got.volume).toEqual(ref.volume);
    expect(sorted(got.exposures)).toEqual(sorted(ref.exposures));
    expect(got.exposures.length).toBeGreaterThan(100);
    expect(got.stats.lines).toBe(ref.lines);
    expect(got.stats.parsed).toBeGreaterThan(got.exposures.length); // the odd layouts went to the parser
    expect(got.stats.bad).toBeGreaterThan(0);
  });

  it('read in byte ranges (as the workers do) it gives the same history as read whole', async () => {
    const text = mixedFile(12, 3000) + '\n';
    const path = join(dir, 'ranges.ndjson');
    writeFileSync(path, text);
    const leaked = new Set(Array.from({ length: 40 }, (_, i) => wb(i * 7)));
    const whole = await historyFromFile(path, leaked, { threads: 1 });
    for (const threads of [2, 3, 7]) {
      const cut = await historyFromFile(path, leaked, { threads });
      expect(cut.volume).toEqual(whole.volume);
      expect(cut.exposures).toEqual(whole.exposures);
      expect(cut.universe).toBe(whole.universe);
      expect(cut.stats).toEqual(whole.stats);
    }
  });

  it('reads a gzip-compressed file, known by its magic bytes and not its name, to the same history', async () => {
    const text = mixedFile(13, 3000) + '\n';
    const plain = join(dir, 'plain.ndjson');
    const packed = join(dir, 'packed.ndjson'); // no .gz: the bytes decide
    writeFileSync(plain, text);
    writeFileSync(packed, gzipSync(text));
    const leaked = new Set(Array.from({ length: 40 }, (_, i) => wb(i * 3)));
    const a = await historyFromFile(plain, leaked);
    const b = await historyFromFile(packed, leaked);
    expect(b.volume).toEqual(a.volume);
    expect(b.exposures).toEqual(a.exposures);
    expect(b.universe).toBe(a.universe);
    expect(b.stats).toEqual(a.stats);
  });

  it('a corrupt gzip file is an error, not an empty history', async () => {
    const path = join(dir, 'broken.ndjson.gz');
    writeFileSync(path, gzipSync(mixedFile(14, 500)).subarray(0, 400));
    await expect(historyFromFile(path, new Set())).rejects.toThrow();
  });
});
