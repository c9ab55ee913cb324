/** The console's two message catalogues have the same keys, and no message is left empty. */
import { describe, expect, it } from 'vitest';
import en from '../../web/src/locales/en.js';
import zh from '../../web/src/locales/zh-CN.js';

function paths(o: unknown, prefix: string[] = []): string[][] {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return [prefix];
  return Object.entries(o).flatMap(([k, v]) => paths(v, [...prefix, k]));
}
const keys = (o: unknown) => paths(o).map((p) => p.join(' > '));
function leaves(o: unknown): unknown[] {
  return typeof o === 'object' && o !== null && !Array.isArray(o) ? Object.values(o).flatMap(leaves) : [o];
}

describe('console message catalogues', () => {
  it('zh-CN has exactly the English keys', () => {
    expect(keys(zh).sort()).toEqual(keys(en).sort());
  });
  it('every message is a non-empty string (or a list of them), and interpolations match', () => {
    for (const cat of [en, zh]) for (const v of leaves(cat)) expect(Array.isArray(v) ? v.every((x) => typeof x === 'string' && x) : typeof v === 'string' && v.length > 0).toBe(true);
    const vars = (s: unknown) => (typeof s === 'string' ? [...s.matchAll(/{{(\w+)}}/g)].map((m) => m[1]).sort() : []);
    const get = (o: unknown, path: string[]) => path.reduce<unknown>((x, k) => (x as Record<string, unknown>)[k], o);
    for (const p of paths(en)) expect(vars(get(zh, p)), p.join('.')).toEqual(vars(get(en, p)));
  });
});
