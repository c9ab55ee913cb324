/**
 * Attribution on simulated leaks: a history of accounts revealing records at very different
 * volumes, dumps cut from one or two sources' reveals, with junk rows, with records that many
 * innocents also saw, and with a low-and-slow source — read through the real CSV/XLSX reader and
 * the real events-file scanner. The true sources must come first.
 */
import { describe, expect, it, beforeAll } from 'vitest';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import ExcelJS from 'exceljs';
import { Rng } from '../../simulate/rng.js';
import { readDump } from './dump.js';
import { attribute, orderAgreement, waybillOnlyResolver, type Resolver } from './attribute.js';
import { bareRead, historyFromFile } from './events-file.js';
import { log10LR } from './score.js';

const U = 20_000;
const T0 = Date.parse('2026-06-01T00:00:00Z');
const DAY = 86_400_000;
const wb = (i: number) => `SF7${String(3_000_000_000 + i)}`;

interface Reveal { account: string; waybill: string; ts: number; device: string }

function world(seed: number) {
  const rng = new Rng(seed);
  const reveals: Reveal[] = [];
  const accounts: string[] = [];
  for (let a = 0; a < 150; a++) {
    const id = `acct-${a}`;
    accounts.push(id);
    const volume = a < 5 ? 4000 : 60 + rng.int(900);
    for (let j = 0; j < volume; j++) reveals.push({ account: id, waybill: wb(rng.int(U)), ts: T0 + rng.int(90 * DAY), device: `${id}-pda` });
  }
  return { rng, reveals, accounts };
}

function eventsFile(dir: string, reveals: Reveal[], name = 'events.ndjson'): string {
  const lines: string[] = [];
  const sorted = [...reveals].sort((a, b) => a.ts - b.ts);
  sorted.forEach((r, i) => {
    // Some producers write spaces after colons: the scanner must fall back, not skip.
    const e = { id: `e${i}`, ts: new Date(r.ts).toISOString(), type: 'access', account: r.account, role: 'courier', device: r.device, ip: '10.0.0.1', action: 'reveal', waybill: r.waybill, fields: ['name', 'phone'], purpose: 'delivery', result: 'allowed' };
    lines.push(i % 97 === 0 ? JSON.stringify(e, null, 1).replace(/\n/g, '') : JSON.stringify(e));
    if (i % 50 === 0) lines.push(JSON.stringify({ ...e, id: `v${i}`, action: 'view', fields: [] }), JSON.stringify({ ...e, id: `d${i}`, account: 'denied-one', result: 'denied' }));
  });
  const path = join(dir, name);
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

const leakOf = (reveals: Reveal[], account: string, n: number, rng: Rng) => {
  const own = [...new Set(reveals.filter((r) => r.account === account).map((r) => r.waybill))];
  return rng.shuffle(own).slice(0, n);
};

function csv(waybills: string[], rng: Rng, junkShare = 0): string {
  const rows = ['运单号,收件人,手机号,收货地址'];
  for (const w of waybills) rows.push(`${w},张三,138****0000,北京市朝阳区****`);
  const junk = Math.round((rows.length - 1) * junkShare / (1 - junkShare));
  for (let i = 0; i < junk; i++) {
    const at = 1 + rng.int(rows.length - 1);
    rows.splice(at, 0, rng.chance(0.5) ? `备注：第${i}页,,,` : `SF9${String(rng.int(1e11)).padStart(11, '0')},,,`);
  }
  return rows.join('\n');
}

const inUniverse: Resolver = { ...waybillOnlyResolver, existing: async (ws) => new Set(ws.filter((w) => Number(w.slice(3)) - 3_000_000_000 < U)) };

async function run(dir: string, dump: string | Buffer, events: string) {
  const parsed = await readDump(Buffer.isBuffer(dump) ? dump : Buffer.from(dump));
  return attribute(parsed, inUniverse, async (leaked) => historyFromFile(events, leaked), { foundAt: T0 + 120 * DAY });
}

describe('leak attribution on simulated leaks', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'warden-attr-'));
  });

  it('one source: the account the dump was cut from is first, with its devices and the window', async () => {
    const { rng, reveals } = world(1);
    const events = eventsFile(dir, reveals, 'one.ndjson');
    const leak = leakOf(reveals, 'acct-40', 250, rng);
    expect(leak.length).toBeGreaterThan(100);
    const out = await run(dir, csv(leak, rng), events);
    expect(out.matched).toBe(leak.length);
    expect(out.suspects[0]).toMatchObject({ account: 'acct-40', matched: leak.length, devices: ['acct-40-pda'] });
    expect(out.sources).toEqual(['acct-40']);
    expect(out.suspects[0]!.score).toBeGreaterThan(out.suspects[1]!.score + 10);
    const scores = out.suspects.map((s) => s.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    expect(Date.parse(out.window.from!)).toBeLessThanOrEqual(Date.parse(out.suspects[0]!.last!));
    expect(Object.keys(out.suspects[0]!)).toEqual(expect.arrayContaining(['account', 'matched', 'score', 'first', 'last', 'devices']));
  });

  it('two merged sources are separated and both come first', async () => {
    const { rng, reveals } = world(2);
    const events = eventsFile(dir, reveals, 'two.ndjson');
    const leak = rng.shuffle([...leakOf(reveals, 'acct-60', 200, rng), ...leakOf(reveals, 'acct-61', 120, rng)]);
    const out = await run(dir, csv(leak, rng), events);
    expect(out.suspects.slice(0, 2).map((s) => s.account).sort()).toEqual(['acct-60', 'acct-61']);
    expect(out.sources.sort()).toEqual(['acct-60', 'acct-61']);
  });

  it('20% junk rows are counted as unmatched and do not move the source', async () => {
    const { rng, reveals } = world(3);
    const events = eventsFile(dir, reveals, 'junk.ndjson');
    const leak = leakOf(reveals, 'acct-70', 200, rng);
    const out = await run(dir, csv(leak, rng, 0.2), events);
    expect(out.matched).toBe(200);
    expect(out.unmatched).toBe(50);
    expect(out.suspects[0]!.account).toBe('acct-70');
  });

  it('records also seen by many innocent accounts: the source still leads them all', async () => {
    const { rng, reveals, accounts } = world(4);
    const leak = leakOf(reveals, 'acct-80', 200, rng);
    for (const w of leak) for (let i = 0; i < 12; i++) reveals.push({ account: rng.pick(accounts), waybill: w, ts: T0 + rng.int(90 * DAY), device: 'shared-terminal' });
    const events = eventsFile(dir, reveals, 'shared.ndjson');
    const out = await run(dir, csv(leak, rng), events);
    expect(out.suspects[0]!.account).toBe('acct-80');
    expect(out.sources).toEqual(['acct-80']);
    expect(out.suspects.filter((s) => s.matched > 0).length).toBeGreaterThan(50);
  });

  it('a low-and-slow source (a few records a week for months) merged with a bulk one: both first, ahead of heavy innocents', async () => {
    const { rng, reveals } = world(5);
    for (let d = 0; d < 90; d += 3) reveals.push({ account: 'slow', waybill: wb(rng.int(U)), ts: T0 + d * DAY + rng.int(DAY), device: 'slow-phone' });
    const events = eventsFile(dir, reveals, 'slow.ndjson');
    const leak = rng.shuffle([...leakOf(reveals, 'acct-2', 400, rng), ...leakOf(reveals, 'slow', 30, rng)]);
    const out = await run(dir, csv(leak, rng), events);
    expect(out.suspects.slice(0, 2).map((s) => s.account).sort()).toEqual(['acct-2', 'slow']);
    const slow = out.suspects.find((s) => s.account === 'slow')!;
    expect(slow).toMatchObject({ source: true, devices: ['slow-phone'] });
  });

  it('reads the same leak from XLSX with English headers and header-less CSV', async () => {
    const { rng, reveals } = world(6);
    const events = eventsFile(dir, reveals, 'xlsx.ndjson');
    const leak = leakOf(reveals, 'acct-90', 120, rng);
    const book = new ExcelJS.Workbook();
    const sheet = book.addWorksheet('export');
    sheet.addRow(['Notes: pulled 2026-09']);
    sheet.addRow(['Tracking No', 'Name', 'Mobile', 'Address']);
    for (const w of leak) sheet.addRow([w, 'Li Lei', '13800000000', '上海市浦东新区****']);
    const xlsx = Buffer.from(await book.xlsx.writeBuffer());
    const fromXlsx = await run(dir, xlsx, events);
    expect(fromXlsx.matched).toBe(120);
    expect(fromXlsx.suspects[0]!.account).toBe('acct-90');
    const bare = await run(dir, leak.map((w) => `${w},李雷`).join('\n'), events);
    expect(bare.matched).toBe(120);
    expect(bare.suspects[0]!.account).toBe('acct-90');
  });

  it('the events scanner counts what a full JSON parse counts, and reads every line', async () => {
    const { rng, reveals } = world(7);
    const events = eventsFile(dir, reveals, 'scan.ndjson');
    const leak = new Set(leakOf(reveals, 'acct-9', 50, rng));
    const fast = await historyFromFile(events, leak);
    const volume = new Map<string, number>();
    let exposures = 0;
    for (const r of reveals) {
      volume.set(r.account, (volume.get(r.account) ?? 0) + 1);
      if (leak.has(r.waybill)) exposures++;
    }
    expect(fast.volume).toEqual(volume);
    expect(fast.exposures).toHaveLength(exposures);
    expect(fast.stats.lines).toBe(readFileSync(events, 'utf8').split('\n').length - 1);
    expect(bareRead(events).bytes).toBe(statSync(events).size);
    const distinct = new Set(reveals.map((r) => r.waybill)).size;
    expect(Math.abs(fast.universe - distinct) / distinct).toBeLessThan(0.02);
  });

  it('with an outside history (no vault to ask), numbers the history never shows are unmatched', async () => {
    const { rng, reveals } = world(8);
    const events = eventsFile(dir, reveals, 'seen.ndjson');
    const leak = leakOf(reveals, 'acct-20', 60, rng);
    const dump = await readDump(Buffer.from(csv([...leak, 'SF79999999999', 'SF78888888888'], rng)));
    const out = await attribute(dump, waybillOnlyResolver, async (leaked) => historyFromFile(events, leaked), { foundAt: T0 + 120 * DAY, seenOnly: true });
    expect(out.matched).toBe(leak.length);
    expect(out.unmatched).toBe(2);
    expect(out.suspects[0]!.account).toBe('acct-20');
  });

  it('the likelihood ratio is 0 at or below the base rate and grows with the excess', () => {
    expect(log10LR(1, 100, 0.01)).toBe(0);
    expect(log10LR(0, 100, 0.5)).toBe(0);
    expect(log10LR(50, 100, 0.01)).toBeGreaterThan(log10LR(20, 100, 0.01));
    expect(log10LR(100, 100, 0.99)).toBeGreaterThan(0);
    expect(orderAgreement(['a', 'b', 'c', 'd'], ['a', 'b', 'c', 'd', 'e'])).toBe(1);
    expect(orderAgreement(['d', 'c', 'b', 'a'], ['a', 'b', 'c', 'd'])).toBe(0);
  });
});
