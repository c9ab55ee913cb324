import { describe, expect, it } from 'vitest';
import { zipBomb } from '../../../test/support/zip-bomb.js';
import { checkUnpackedSize, readDump } from './dump.js';

describe('XLSX size guard', () => {
  it('refuses a workbook that unpacks past the cap (a 300 KiB zip bomb of 300 MiB), counting real bytes', async () => {
    const bomb = zipBomb(300);
    expect(bomb.length).toBeLessThan(2 * 1024 * 1024);
    await expect(readDump(bomb)).rejects.toMatchObject({ code: 'payload_too_large', message: expect.stringMatching(/unpacks to more than 256 MiB/) });
  });
  it('lets a workbook under the cap through, and a smaller cap refuses it', () => {
    expect(() => checkUnpackedSize(zipBomb(2))).not.toThrow();
    expect(() => checkUnpackedSize(zipBomb(2), 1024 * 1024)).toThrow(/more than 1 MiB/);
  });
});
