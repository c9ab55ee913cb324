import { Writable } from 'node:stream';
import util from 'node:util';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Pii, REDACTED, pii } from './pii.js';

const PHONE = '13812345678';
const ID = '11010519491231002X';

function record() {
  return { waybill: 'SF1234567890123', recipient: { name: pii('王小明'), phone: pii(PHONE), id: pii(ID) } };
}

function expectNoPlaintext(text: string): void {
  expect(text).not.toContain(PHONE);
  expect(text).not.toContain(ID);
  expect(text).not.toContain('王小明');
  expect(text).toContain(REDACTED);
}

describe('Pii', () => {
  it('gives the plaintext back only through reveal()', () => {
    expect(pii(PHONE).reveal()).toBe(PHONE);
    expect(Pii.of({ a: 1 }).reveal()).toEqual({ a: 1 });
  });

  it('is redacted by JSON.stringify, also when nested', () => {
    const text = JSON.stringify(record());
    expectNoPlaintext(text);
    expect(JSON.parse(text).recipient.phone).toBe(REDACTED);
  });

  it('is redacted in template strings, String() and string concatenation', () => {
    const p = pii(PHONE);
    expectNoPlaintext(`call ${p}`);
    expectNoPlaintext(String(p));
    expectNoPlaintext('call ' + p);
  });

  it('is redacted by util.inspect and util.format in every mode', () => {
    const r = record();
    expectNoPlaintext(util.inspect(r));
    expectNoPlaintext(util.inspect(r, { showHidden: true, depth: 10 }));
    expectNoPlaintext(util.format('%s %o %O %j', r.recipient.phone, r, r, r));
    // even with custom inspection switched off, the private field is not shown
    const raw = util.inspect(r, { customInspect: false, showHidden: true, depth: 10 });
    expect(raw).not.toContain(PHONE);
    expect(raw).not.toContain(ID);
  });

  it('is redacted in pino log lines, as a field and as a nested object', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(chunk.toString('utf8'));
        cb();
      },
    });
    const log = pino({ level: 'info' }, sink);
    log.info({ phone: pii(PHONE), waybill: record() }, 'revealed');
    log.info('value %s', pii(ID));
    log.flush();
    await new Promise((r) => setImmediate(r));
    expect(lines).toHaveLength(2);
    for (const line of lines) expectNoPlaintext(line);
  });

  it('does not leak through Object.keys, spread, entries or structuredClone', () => {
    const p = pii(PHONE);
    expect(Object.keys(p)).toEqual([]);
    expect(JSON.stringify({ ...p })).not.toContain(PHONE);
    expect(JSON.stringify(Object.entries(p))).not.toContain(PHONE);
    expect(JSON.stringify(structuredClone(p))).not.toContain(PHONE);
  });

  it('cannot have its value replaced', () => {
    const p = pii(PHONE);
    expect(() => Object.assign(p, { x: 1 })).toThrow(TypeError);
    expect(p.reveal()).toBe(PHONE);
  });

  it('maps without exposing the value', () => {
    const masked = pii(PHONE).map((v) => v.slice(-4));
    expect(masked).toBeInstanceOf(Pii);
    expect(masked.reveal()).toBe('5678');
    expect(String(masked)).toBe(REDACTED);
  });

  it('recognises its own instances by brand, not by shape', () => {
    expect(Pii.isPii(pii(1))).toBe(true);
    expect(Pii.isPii({ reveal: () => 1, toJSON: () => REDACTED })).toBe(false);
    expect(Pii.isPii(null)).toBe(false);
    expect(Pii.isPii('x')).toBe(false);
  });

  it('reports itself as Pii in Object.prototype.toString', () => {
    expect(Object.prototype.toString.call(pii(1))).toBe('[object Pii]');
  });
});
