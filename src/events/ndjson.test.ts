import { describe, expect, it } from 'vitest';
import { forEachNdjsonLine } from './ndjson.js';

async function lines(chunks: Array<Buffer | string>, maxLineBytes = 1 << 20, maxBytes = 1 << 30) {
  const out: Array<[number, string | null]> = [];
  const n = await forEachNdjsonLine(chunks, { maxBytes, maxLineBytes }, (text, no) => out.push([no, text]));
  return { out, n };
}

/** What a plain split says: the reference. */
function reference(text: string, maxLineBytes: number): Array<[number, string | null]> {
  const parts = text.split('\n');
  if (parts.at(-1) === '') parts.pop();
  return parts.map((p, i) => {
    const line = p.endsWith('\r') ? p.slice(0, -1) : p;
    return [i + 1, Buffer.byteLength(p) > maxLineBytes ? null : line];
  });
}

describe('NDJSON line cutting', () => {
  const text = '{"a":"王小明"}\r\n\n{"b":2}\nxyz-long-line-here\n{"c":"é"}';
  const bytes = Buffer.from(text);

  it('gives the same lines however the bytes are cut into chunks (every one- and two-cut split)', async () => {
    for (const max of [1 << 20, 12]) {
      const want = reference(text, max);
      for (let i = 0; i <= bytes.length; i++) {
        for (let j = i; j <= bytes.length; j++) {
          const { out, n } = await lines([bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j)], max);
          expect(out, `cut at ${i},${j}, max ${max}`).toEqual(want);
          expect(n).toBe(want.length);
        }
      }
    }
  });

  it('reports a line over the limit as null without keeping its bytes, and goes on', async () => {
    const { out } = await lines(['ok\n', 'x'.repeat(10), 'x'.repeat(10), 'x'.repeat(10), '\nafter'], 16);
    expect(out).toEqual([[1, 'ok'], [2, null], [3, 'after']]);
  });

  it('refuses a body over maxBytes with payload_too_large', async () => {
    await expect(lines(['a\n'.repeat(10), 'b\n'.repeat(10)], 100, 30)).rejects.toMatchObject({ code: 'payload_too_large' });
    expect((await lines(['a\n'.repeat(15)], 100, 30)).n).toBe(15);
  });

  it('counts blank lines and reads an empty body as none', async () => {
    expect((await lines(['\n\n'])).out).toEqual([[1, ''], [2, '']]);
    expect((await lines([])).n).toBe(0);
  });
});
